#include "tools/import.h"

#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <memory>
#include <optional>

#include "flowstat/store.h"
#include "tools/line_reader.h"

namespace flowstat::tools {
namespace {

constexpr size_t kMaxLineBytes = 1 << 20;
using Clock = std::chrono::steady_clock;

class Importer {
 public:
  explicit Importer(const ImportOptions& o) : o_(o), start_(Clock::now()) {
    show_progress_ = o.progress && ::isatty(STDERR_FILENO);
  }

  int Run() {
    auto store = Store::Open(o_.db, OpenOptions{});
    if (!store.ok()) return Fail("flowstat import: " + store.status().message());
    store_ = std::move(*store);
    auto loader = store_->NewLoader();
    if (!loader.ok()) return Fail("flowstat import: " + loader.status().message());
    loader_ = std::move(*loader);
    if (!o_.rejects_path.empty()) {
      rejects_ = std::fopen(o_.rejects_path.c_str(), "wb");
      if (!rejects_) return Fail("flowstat import: " + o_.rejects_path + ": cannot open for writing");
    }
    for (const auto& input : o_.inputs) {
      if (!ImportFile(input)) break;
    }
    AppendStats totals;
    Status s = write_status_.ok() ? loader_->Finish(&totals) : write_status_;
    written_ = totals.accepted;
    duplicates_ = totals.duplicates;
    loader_.reset();
    if (rejects_ && std::fclose(rejects_) != 0 && s.ok()) s = Status::IOError(o_.rejects_path + ": write failed");
    if (show_progress_) std::fputs("\r\033[K", stderr);
    if (!s.ok()) {
      std::fprintf(stderr, "flowstat import: %s\n", s.message().c_str());
      return 1;
    }
    PrintSummary();
    if (aborted_) return 1;
    return rejected_ > 0 ? 3 : 0;
  }

 private:
  int Fail(const std::string& message) {
    std::fprintf(stderr, "%s\n", message.c_str());
    return 1;
  }

  // Reports a bad line; false when the import must stop (abort mode).
  bool Reject(const std::string& file, uint64_t line_no, std::string_view line, const std::string& reason,
              bool held) {
    ++rejected_;
    if (show_progress_) std::fputs("\r\033[K", stderr);
    std::fprintf(stderr, "%s:%llu: %s\n", file.c_str(), static_cast<unsigned long long>(line_no), reason.c_str());
    if (!o_.skip_errors) {
      aborted_ = true;
      std::fprintf(stderr, "flowstat import: stopped at %s:%llu; the %llu events before it are committed\n",
                   file.c_str(), static_cast<unsigned long long>(line_no),
                   static_cast<unsigned long long>(parsed_));
      return false;
    }
    if (rejects_ && held) {
      std::fwrite(line.data(), 1, line.size(), rejects_);
      std::fputc('\n', rejects_);
    }
    return true;
  }

  bool ImportFile(const std::string& path) {
    const std::string name = path == "-" ? "<stdin>" : path;
    LineReader reader(path, kMaxLineBytes);
    if (!reader.open_error().empty()) {
      ++rejected_;
      std::fprintf(stderr, "%s: %s\n", name.c_str(), reader.open_error().c_str());
      if (!o_.skip_errors) aborted_ = true;
      return o_.skip_errors;
    }
    const bool csv = o_.format == "csv" || (o_.format.empty() && path.size() > 4 &&
                                            path.compare(path.size() - 4, 4, ".csv") == 0);
    std::optional<CsvEventParser> csv_parser;
    std::string_view line;
    uint64_t line_no = 0;
    bool too_long = false;
    FlowEvent event;
    while (reader.Next(&line, &line_no, &too_long)) {
      if (too_long) {
        if (!Reject(name, line_no, {}, "line longer than " + std::to_string(kMaxLineBytes) + " bytes", false)) {
          return false;
        }
        continue;
      }
      if (line.find_first_not_of(" \t\r") == std::string_view::npos) continue;  // blank line
      if (std::memchr(line.data(), '\0', line.size())) {
        if (!Reject(name, line_no, line, "line contains a NUL byte", true)) return false;
        continue;
      }
      Status s;
      if (csv && !csv_parser) {
        csv_parser.emplace();
        s = csv_parser->SetHeader(line);
        if (!s.ok()) {
          ++rejected_;
          aborted_ = true;
          std::fprintf(stderr, "%s:%llu: %s\n", name.c_str(), static_cast<unsigned long long>(line_no),
                       s.message().c_str());
          return false;
        }
        continue;
      }
      if (csv) {
        s = csv_parser->Parse(line, &event);
        if (s.ok()) s = loader_->Add(event);
      } else {
        s = loader_->AddJson(line);
      }
      if (!s.ok()) {
        if (!Reject(name, line_no, line, s.message(), true)) return false;
        continue;
      }
      ++parsed_;
      if (loader_->pending() >= o_.batch_events) {
        write_status_ = loader_->Commit();
        if (!write_status_.ok()) return false;
        ShowProgress(reader);
      }
    }
    if (!reader.read_error().empty()) {
      std::fprintf(stderr, "%s: %s\n", name.c_str(), reader.read_error().c_str());
      aborted_ = true;
      return false;
    }
    return true;
  }

  void ShowProgress(const LineReader& reader) {
    if (!show_progress_) return;
    const double secs = std::chrono::duration<double>(Clock::now() - start_).count();
    if (secs - last_progress_ < 0.5) return;
    last_progress_ = secs;
    const double mb = static_cast<double>(reader.bytes_read()) / 1e6;
    std::fprintf(stderr, "\r\033[K%llu events, %.0f events/s, %.1f MB/s",
                 static_cast<unsigned long long>(parsed_), static_cast<double>(parsed_) / secs, mb / secs);
    if (reader.size() > 0) {
      const double done = static_cast<double>(reader.bytes_read()) / static_cast<double>(reader.size());
      std::fprintf(stderr, ", %.0f%%, ETA %.0f s", done * 100, done > 0 ? secs * (1 - done) / done : 0.0);
    }
    std::fflush(stderr);
  }

  void PrintSummary() {
    const double secs = std::chrono::duration<double>(Clock::now() - start_).count();
    std::fprintf(stderr,
                 "imported %llu events (%llu duplicates within batches), %llu rejected, %.2f s, %.0f events/s\n",
                 static_cast<unsigned long long>(written_),
                 static_cast<unsigned long long>(duplicates_), static_cast<unsigned long long>(rejected_),
                 secs, secs > 0 ? static_cast<double>(written_) / secs : 0.0);
  }

  const ImportOptions& o_;
  Clock::time_point start_;
  bool show_progress_ = false;
  double last_progress_ = 0;
  std::unique_ptr<Store> store_;
  std::unique_ptr<Loader> loader_;
  std::FILE* rejects_ = nullptr;
  uint64_t parsed_ = 0, rejected_ = 0, written_ = 0, duplicates_ = 0;
  bool aborted_ = false;
  Status write_status_;
};

}  // namespace

int RunImport(const ImportOptions& options) { return Importer(options).Run(); }

}  // namespace flowstat::tools
