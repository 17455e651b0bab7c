#include "tools/lifecycle_cmd.h"

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <functional>

#include "flowstat/store.h"
#include "tools/output.h"
#include "util/files.h"
#include "util/json_text.h"

namespace flowstat::tools {
namespace {

int Fail(const char* command, const Status& s) {
  std::fprintf(stderr, "flowstat %s: %s\n", command, s.message().c_str());
  if (s.code() == Status::Code::kBusy) {
    std::fprintf(stderr,
                 "flowstat %s: the store is open for writing in another process (flowstat serve or import): "
                 "stop it first%s\n",
                 command, std::string_view(command) == "backup" ? ", or ask the server: POST /backup?to=DIR" : "");
  }
  return s.code() == Status::Code::kInvalidArgument ? 2 : 1;
}

Result<std::unique_ptr<Store>> OpenExisting(const std::string& db, bool read_only) {
  OpenOptions o;
  o.read_only = read_only;
  o.create_if_missing = false;
  return Store::Open(db, o);
}

std::string TimeText(const std::optional<int64_t>& ms) {
  return ms ? FormatTimeSeconds(*ms) + " (" + std::to_string(*ms) + " ms)" : std::string("-");
}

std::string JsonTime(const std::optional<int64_t>& ms) { return ms ? std::to_string(*ms) : std::string("null"); }

// Removes, then compacts so that the space returns to the file system, and says how much did.
int RemoveAndCompact(const char* command, const std::string& db, Store& store,
                     const std::function<Status(Store&)>& remove) {
  using Clock = std::chrono::steady_clock;
  const uint64_t before = util::DirectoryBytes(db);
  const auto t0 = Clock::now();
  Status s = remove(store);
  const auto t1 = Clock::now();
  if (s.ok()) s = store.Compact();
  if (!s.ok()) return Fail(command, s);
  const auto t2 = Clock::now();
  const uint64_t after = util::DirectoryBytes(db);
  auto secs = [](auto d) { return std::chrono::duration<double>(d).count(); };
  std::printf(
      "%s: removed in %.2f s (queries see it from then on); compacted in %.2f s: %llu bytes before, %llu after\n",
      db.c_str(), secs(t1 - t0), secs(t2 - t1), static_cast<unsigned long long>(before),
      static_cast<unsigned long long>(after));
  return 0;
}

// Per namespace subtree expired: the instant before which each resolution is gone, or null.
std::string HorizonsJson(const StoreInfo& i) {
  std::string out;
  for (const auto& h : i.horizons) {
    if (!out.empty()) out += ',';
    const std::string rollups = JsonTime(h.rollups_before_ms);
    out += "{\"namespace\":";
    util::AppendJsonString(&out, h.namespace_);
    out += ",\"raw\":" + JsonTime(h.raw_before_ms) + ",\"hour\":" + rollups + ",\"day\":" + rollups + "}";
  }
  return out;
}

std::string HorizonsText(const StoreInfo& i) {
  if (i.horizons.empty()) return "expiry horizons  none (nothing expired)\n";
  std::string out;
  for (const auto& h : i.horizons) {
    out += "expiry horizons  " + h.namespace_ + ": raw events before " + TimeText(h.raw_before_ms) +
           ", hour and day rollups before " + TimeText(h.rollups_before_ms) + "\n";
  }
  return out;
}

}  // namespace

int RunInfo(const std::string& db, const std::string& format) {
  auto store = OpenExisting(db, /*read_only=*/true);
  if (!store.ok()) return Fail("info", store.status());
  auto info = (*store)->Info();
  if (!info.ok()) return Fail("info", info.status());
  const StoreInfo& i = *info;
  if (format == "json") {
    std::printf(
        "{\"events\":%llu,\"namespaces\":%llu,\"firstMs\":%s,\"lastMs\":%s,\"bytes\":{\"events\":%llu,"
        "\"rollups\":%llu,\"dictionary\":%llu,\"other\":%llu},\"formatVersion\":%d,"
        "\"horizons\":[%s]}\n",
        static_cast<unsigned long long>(i.events), static_cast<unsigned long long>(i.namespaces),
        JsonTime(i.first_ms).c_str(), JsonTime(i.last_ms).c_str(), static_cast<unsigned long long>(i.bytes_events),
        static_cast<unsigned long long>(i.bytes_rollups), static_cast<unsigned long long>(i.bytes_dictionary),
        static_cast<unsigned long long>(i.bytes_other), i.format_version, HorizonsJson(i).c_str());
    return 0;
  }
  std::printf(
      "store            %s\nformat version   %d\nevents           %llu\nnamespaces       %llu\n"
      "first event      %s\nlast event       %s\nbytes: events    %llu\nbytes: rollups   %llu\n"
      "bytes: dictionary %llu\nbytes: other     %llu\n%s",
      db.c_str(), i.format_version, static_cast<unsigned long long>(i.events),
      static_cast<unsigned long long>(i.namespaces), TimeText(i.first_ms).c_str(), TimeText(i.last_ms).c_str(),
      static_cast<unsigned long long>(i.bytes_events), static_cast<unsigned long long>(i.bytes_rollups),
      static_cast<unsigned long long>(i.bytes_dictionary), static_cast<unsigned long long>(i.bytes_other),
      HorizonsText(i).c_str());
  return 0;
}

int RunExpire(const std::string& db, const std::string& before, const std::string& namespace_, bool keep_rollups) {
  auto t = ParseTime(before);
  if (!t.ok()) {
    std::fprintf(stderr, "flowstat expire: --before: %s\n", t.status().message().c_str());
    return 2;
  }
  auto store = OpenExisting(db, /*read_only=*/false);
  if (!store.ok()) return Fail("expire", store.status());
  return RemoveAndCompact("expire", db, **store, [&](Store& s) { return s.Expire(*t, namespace_, keep_rollups); });
}

int RunDelete(const std::string& db, const std::string& namespace_) {
  auto store = OpenExisting(db, /*read_only=*/false);
  if (!store.ok()) return Fail("delete", store.status());
  return RemoveAndCompact("delete", db, **store, [&](Store& s) { return s.DeleteNamespace(namespace_); });
}

int RunBackup(const std::string& db, const std::string& to) {
  auto store = OpenExisting(db, /*read_only=*/false);
  if (!store.ok() && store.status().code() == Status::Code::kBusy) {
    // Another process writes the store (an import, flowstat serve): copy its files from outside.
    Status s = Store::CopyBesideWriter(db, to);
    if (!s.ok()) return Fail("backup", s);
    std::printf("%s: a consistent copy of %s, taken beside the process writing it\n", to.c_str(), db.c_str());
    return 0;
  }
  if (!store.ok()) return Fail("backup", store.status());
  Status s = (*store)->Backup(to);
  if (!s.ok()) return Fail("backup", s);
  std::printf("%s: a consistent copy of %s\n", to.c_str(), db.c_str());
  return 0;
}

}  // namespace flowstat::tools
