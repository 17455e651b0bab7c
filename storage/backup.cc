// Copying a store that another process is writing (Store::CopyBesideWriter).
//
// RocksDB's checkpoints need the writer's own handle. From outside, the files are copied as they
// are: table files are immutable once named in the MANIFEST (hard links keep them even when the
// writer deletes them next), logs only grow at their end, and a flush or compaction that
// finishes during the copy shows as a changed MANIFEST stamp — then the copy starts over. The
// copy is finally opened, which replays the log prefix it holds (a torn last record is dropped
// whole: RocksDB's point-in-time recovery), and verified.
#include <algorithm>
#include <cerrno>
#include <filesystem>
#include <thread>

#include "storage/event_store.h"

namespace flowstat::storage {
namespace {

namespace fs = std::filesystem;

// Links or copies every file of the store; false when a file vanished under it (a race).
bool CopyFiles(const fs::path& from, const fs::path& to, Status* error) {
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(from, ec)) {
    const std::string name = entry.path().filename().string();
    if (name == "LOCK" || name.rfind("LOG", 0) == 0) continue;  // the writer's, not the store's
    const fs::path target = to / name;
    std::error_code link_ec;
    if (entry.path().extension() == ".sst") fs::create_hard_link(entry.path(), target, link_ec);
    if (entry.path().extension() != ".sst" || link_ec) {
      std::error_code copy_ec;
      fs::copy_file(entry.path(), target, fs::copy_options::overwrite_existing, copy_ec);
      if (copy_ec == std::errc::no_such_file_or_directory) return false;
      if (copy_ec) {
        *error = Status::IOError(target.string() + ": " + copy_ec.message());
        return true;
      }
    }
  }
  if (ec) *error = Status::IOError(from.string() + ": " + ec.message());
  return true;
}

}  // namespace

Status CheckBackupTarget(const std::string& path, const std::string& dir) {
  std::error_code ec;
  if (fs::exists(dir, ec)) return Status::InvalidArgument(dir + ": already exists (a backup goes to a new directory)");
  const fs::path store = fs::weakly_canonical(path, ec);
  const fs::path target = fs::weakly_canonical(dir, ec);
  if (ec) return Status::InvalidArgument(dir + ": " + ec.message());
  if (std::mismatch(store.begin(), store.end(), target.begin(), target.end()).first == store.end()) {
    return Status::InvalidArgument(dir + ": inside the store " + path + " (a backup goes outside it)");
  }
  return Status::Ok();
}

Status CopyBesideWriter(const std::string& path, const std::string& dir) {
  std::error_code ec;
  if (!fs::exists(fs::path(path) / "CURRENT", ec)) return Status::NotFound(path + ": no flowstat store here");
  if (Status s = CheckBackupTarget(path, dir); !s.ok()) return s;
  constexpr int kAttempts = 50;
  for (int attempt = 0; attempt < kAttempts; ++attempt) {
    fs::remove_all(dir, ec);
    if (attempt > 0) std::this_thread::sleep_for(std::chrono::milliseconds(std::min(20 * attempt, 500)));
    if (!fs::create_directories(dir, ec)) return Status::IOError(dir + ": cannot create: " + ec.message());
    const std::string before = ManifestStamp(path);
    Status error;
    const bool whole = CopyFiles(path, dir, &error);
    if (!error.ok()) {
      fs::remove_all(dir, ec);
      return error;
    }
    if (!whole || ManifestStamp(path) != before) continue;
    // Open the copy as a store of its own: it replays its log, then must verify clean.
    auto copy = EventStore::Open(dir, OpenOptions{});
    if (!copy.ok()) continue;
    std::vector<std::string> problems;
    Status s = (*copy)->Verify(&problems, nullptr);
    if (s.ok() && problems.empty()) return Status::Ok();
  }
  fs::remove_all(dir, ec);
  return Status::Busy(
      "the store's files kept changing while they were copied: try again, or back up from the "
      "process that writes it (POST /backup of flowstat serve)");
}

}  // namespace flowstat::storage
