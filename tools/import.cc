#include "tools/import.h"

#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>

#include "flowstat/formats.h"
#include "flowstat/store.h"
#include "tools/line_reader.h"
#include "util/memory.h"

namespace flowstat::tools {
namespace {

constexpr size_t kMaxLineBytes = 1 << 20;
constexpr int kSignalCheckMs = 200;  // the longest a read waits before looking at the stop flag
using Clock = std::chrono::steady_clock;

volatile sig_atomic_t stop_requested = 0;
void RequestStop(int) { stop_requested = 1; }

// SIGINT and SIGTERM end the import cleanly: what was read is committed and summarized. Without
// SA_RESTART, a read waiting on a pipe returns at once.
void CatchStopSignals() {
  struct sigaction sa {};
  sa.sa_handler = RequestStop;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);
}

// One input: a file or standard input, with its own CSV header.
struct Source {
  std::string path;
  std::string name;  // as printed in messages
  std::unique_ptr<LineReader> reader;
  std::string format;  // "jsonl", "csv", "hubble", "vpc", "nfdump"; "" until the first line decides
  std::optional<CsvEventParser> csv_parser;
  std::unique_ptr<FlowLogParser> log_parser;  // flow logs of other systems
  uint64_t file_generation = 0;
  std::string checkpoint;  // "follow:" + absolute path, when followed
};

std::string EncodePosition(const LineReader::Position& p) {
  return std::to_string(p.device) + " " + std::to_string(p.inode) + " " + std::to_string(p.offset) + " " +
         std::to_string(p.line);
}

bool DecodePosition(const std::string& text, LineReader::Position* p) {
  unsigned long long d, i, o, l;
  if (std::sscanf(text.c_str(), "%llu %llu %llu %llu", &d, &i, &o, &l) != 4) return false;
  *p = {d, i, o, l};
  return true;
}

class Importer {
 public:
  explicit Importer(const ImportOptions& o) : o_(o), start_(Clock::now()), last_commit_(start_) {
    show_progress_ = o.progress && ::isatty(STDERR_FILENO);
  }

  int Run() {
    if (!o_.follow) {
      // A missing input is a usage mistake, not a bad line: refuse before creating a store.
      for (const auto& input : o_.inputs) {
        struct stat st;
        if (input != "-" && ::stat(input.c_str(), &st) != 0) {
          return Fail("flowstat import: " + input + ": cannot open: " + std::strerror(errno));
        }
      }
    }
    if (RejectsFileIsAnInput()) return 2;
    OpenOptions open;
    open.cache_bytes = kWriterCacheBytes;  // no queries here
    open.dictionary_cache_bytes = o_.dictionary_cache_mb << 20;
    auto store = Store::Open(o_.db, open);
    if (!store.ok()) return Fail("flowstat import: " + store.status().message());
    store_ = std::move(*store);
    auto loader = store_->NewLoader();
    if (!loader.ok()) return Fail("flowstat import: " + loader.status().message());
    loader_ = std::move(*loader);
    if (!o_.rejects_path.empty()) {
      rejects_ = std::fopen(o_.rejects_path.c_str(), "wb");
      if (!rejects_) return Fail("flowstat import: " + o_.rejects_path + ": cannot open for writing");
    }
    CatchStopSignals();
    if (o_.follow) {
      Follow();
    } else {
      for (const auto& input : o_.inputs) {
        if (stop_requested || !ImportToEnd(input)) break;
      }
    }
    return Finish();
  }

 private:
  int Fail(const std::string& message) {
    std::fprintf(stderr, "%s\n", message.c_str());
    return 1;
  }

  int Finish() {
    AppendStats totals;
    if (write_status_.ok()) SetCheckpoints();
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
    if (stop_requested) std::fprintf(stderr, "flowstat import: stopped by a signal; everything read is committed\n");
    PrintSummary();
    if (aborted_) return 1;
    return rejected_ > 0 ? 3 : 0;
  }

  // --rejects is opened for writing, which empties it: an input named again there (another path
  // to the same file included) would be lost before a line of it is read.
  bool RejectsFileIsAnInput() const {
    struct stat rejects;
    if (o_.rejects_path.empty() || ::stat(o_.rejects_path.c_str(), &rejects) != 0) return false;
    for (const auto& input : o_.inputs) {
      struct stat st;
      if (input != "-" && ::stat(input.c_str(), &st) == 0 && st.st_dev == rejects.st_dev &&
          st.st_ino == rejects.st_ino) {
        std::fprintf(stderr, "flowstat import: --rejects %s is the input %s: it would be emptied before it is read\n",
                     o_.rejects_path.c_str(), input.c_str());
        return true;
      }
    }
    return false;
  }

  Source MakeSource(const std::string& path) {
    Source src;
    src.path = path;
    src.name = path == "-" ? "<stdin>" : path;
    src.reader = std::make_unique<LineReader>(path, kMaxLineBytes, o_.follow);
    src.format = o_.format == "auto" || o_.format.empty() ? "" : o_.format;
    return src;
  }

  // Reads one input to its end (or to a stop signal). False when the import must stop.
  bool ImportToEnd(const std::string& path) {
    Source src = MakeSource(path);
    if (!src.reader->open_error().empty()) {
      std::fprintf(stderr, "%s: %s\n", src.name.c_str(), src.reader->open_error().c_str());
      aborted_ = true;
      return false;
    }
    while (!stop_requested) {
      switch (ReadLines(src, /*max_lines=*/SIZE_MAX, NextWait())) {
        case LineReader::Result::kLine:
        case LineReader::Result::kIdle:
          if (!CommitIfDue()) return false;
          continue;
        case LineReader::Result::kEnd:
          return true;
        case LineReader::Result::kError:
          return false;
      }
    }
    return true;
  }

  // Follows every input until a stop signal, resuming each where the store says it stopped.
  void Follow() {
    std::vector<Source> sources;
    for (const auto& path : o_.inputs) {
      Source src = MakeSource(path);
      if (!src.reader->open_error().empty()) {  // it exists and cannot be read; missing is waited for
        std::fprintf(stderr, "%s: %s\n", src.name.c_str(), src.reader->open_error().c_str());
        aborted_ = true;
        return;
      }
      std::error_code ec;
      src.checkpoint = "follow:" + std::filesystem::absolute(path, ec).lexically_normal().string();
      Resume(src);
      sources.push_back(std::move(src));
    }
    while (!stop_requested) {
      bool any_line = false;
      for (Source& src : sources) {
        // A turn per source, bounded so that one busy file does not starve the others.
        const LineReader::Result r = ReadLines(src, 65536, 0);
        if (r == LineReader::Result::kError || aborted_) return;
        any_line |= r == LineReader::Result::kLine;
      }
      if (!CommitIfDue()) return;
      if (!any_line) {
        LineReader::Result r;
        // Nothing anywhere: wait on the first input (a commit or the stop flag is never late).
        r = ReadLines(sources.front(), 65536, NextWait());
        if (r == LineReader::Result::kError || aborted_) return;
      }
    }
  }

  void Resume(Source& src) {
    auto saved = store_->Checkpoint(src.checkpoint);
    LineReader::Position p;
    if (!saved.ok() || !DecodePosition(*saved, &p)) return;
    if (!src.reader->Resume(p)) {
      std::fprintf(stderr, "flowstat import: %s changed since the last run: reading it from its start\n",
                   src.name.c_str());
      return;
    }
    std::fprintf(stderr, "flowstat import: %s: resuming at line %llu\n", src.name.c_str(),
                 static_cast<unsigned long long>(p.line + 1));
    if (p.offset > 0) ReadFirstLineAgain(src);

    src.file_generation = src.reader->file_generation();
  }

  // A resumed input's first line was read in an earlier run, but it decides the format and may
  // name the columns of every line after it: read it again.
  void ReadFirstLineAgain(Source& src) {
    LineReader first(src.path, kMaxLineBytes);
    std::string_view line;
    uint64_t n;
    bool too_long;
    if (first.Next(&line, &n, &too_long) != LineReader::Result::kLine || too_long) return;
    if (src.format.empty()) src.format = DetectFormat(line);
    if (src.format == "csv") {
      src.csv_parser.emplace();
      if (!src.csv_parser->SetHeader(line).ok()) src.csv_parser.reset();
    } else if (src.format != "jsonl" && StartFlowLog(src)) {
      std::string reason;
      auto outcome = src.log_parser->ParseLine(line, &event_, &reason);
      if (!outcome.ok() || *outcome != FlowLogParser::Outcome::kHeader) src.log_parser.reset();
    }
  }

  // How long a read may wait: until the next commit is due when events are pending, else until
  // the stop flag should be looked at again.
  int NextWait() const {
    if (loader_->pending() == 0) return kSignalCheckMs;
    const auto due = last_commit_ + std::chrono::milliseconds(o_.commit_interval_ms);
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(due - Clock::now()).count();
    return static_cast<int>(std::clamp<int64_t>(left, 0, kSignalCheckMs));
  }

  // Commits when a batch is full or the commit interval has passed with events pending.
  bool CommitIfDue() {
    const bool full = loader_->pending() >= o_.batch_events;
    const bool due =
        loader_->pending() > 0 && Clock::now() - last_commit_ >= std::chrono::milliseconds(o_.commit_interval_ms);
    if (!full && !due) return true;
    SetCheckpoints();
    write_status_ = loader_->Commit();
    last_commit_ = Clock::now();
    return write_status_.ok();
  }

  void SetCheckpoints() {
    for (const auto& [name, position] : positions_) loader_->SetCheckpoint(name, position);
  }

  // Reads up to `max_lines` lines of `src` into the batch. Returns kLine when it read any.
  LineReader::Result ReadLines(Source& src, size_t max_lines, int wait_ms) {
    std::string_view line;
    uint64_t line_no = 0;
    bool too_long = false;
    bool any = false;
    for (size_t i = 0; i < max_lines && !stop_requested; ++i) {
      const LineReader::Result r = src.reader->Next(&line, &line_no, &too_long, any ? 0 : wait_ms);
      if (r != LineReader::Result::kLine) {
        if (r == LineReader::Result::kError) {
          std::fprintf(stderr, "%s: %s\n", src.name.c_str(), src.reader->read_error().c_str());
          aborted_ = true;
        }
        return any && r != LineReader::Result::kError ? LineReader::Result::kLine : r;
      }
      any = true;
      if (src.reader->file_generation() != src.file_generation) {  // rotated: a new file, a new header
        src.file_generation = src.reader->file_generation();
        src.csv_parser.reset();
        src.log_parser.reset();
      }
      if (!AddLine(src, line, line_no, too_long)) return LineReader::Result::kError;
      if (!src.checkpoint.empty()) positions_[src.checkpoint] = EncodePosition(src.reader->position());
      if (loader_->pending() >= o_.batch_events || (++lines_since_clock_ & 1023) == 0) {
        if (!CommitIfDue()) return LineReader::Result::kError;
        ShowProgress(*src.reader);
      }
    }
    return any ? LineReader::Result::kLine : LineReader::Result::kIdle;
  }

  // False when the import must stop.
  bool AddLine(Source& src, std::string_view line, uint64_t line_no, bool too_long) {
    if (too_long)
      return Reject(src.name, line_no, {}, "line longer than " + std::to_string(kMaxLineBytes) + " bytes", false);
    if (line.find_first_not_of(" \t\r") == std::string_view::npos) return true;  // blank line
    if (std::memchr(line.data(), '\0', line.size()))
      return Reject(src.name, line_no, line, "line contains a NUL byte", true);
    Status s;
    if (src.format.empty()) src.format = DetectFormat(line);
    if (src.format != "csv" && src.format != "jsonl") return AddFlowLogLine(src, line, line_no);
    if (src.format == "csv" && !src.csv_parser) {
      src.csv_parser.emplace();
      return HeaderAccepted(src, line_no, src.csv_parser->SetHeader(line));
    }
    if (src.format == "csv") {
      s = src.csv_parser->Parse(line, &event_);
      if (s.ok()) s = loader_->Add(event_);
    } else {
      s = loader_->AddJson(line);
    }
    if (!s.ok()) return Reject(src.name, line_no, line, s.message(), true);
    ++parsed_;
    return true;
  }

  // A header that cannot be read stops the import whatever --on-error says: no line of the file
  // after it could be read either.
  bool HeaderAccepted(const Source& src, uint64_t line_no, const Status& s) {
    if (s.ok()) return true;
    ++rejected_;
    aborted_ = true;
    std::fprintf(stderr, "%s:%llu: %s\n", src.name.c_str(), static_cast<unsigned long long>(line_no),
                 s.message().c_str());
    return false;
  }

  // A parser for the source's flow log format; false (the import stops) when none can be made.
  bool StartFlowLog(Source& src) {
    auto parser = NewFlowLogParser(src.format, o_.namespace_prefix, o_.time_zone);
    if (!parser.ok()) {
      std::fprintf(stderr, "flowstat import: %s\n", parser.status().message().c_str());
      aborted_ = true;
      return false;
    }
    src.log_parser = std::move(*parser);
    return true;
  }

  bool AddFlowLogLine(Source& src, std::string_view line, uint64_t line_no) {
    if (!src.log_parser && !StartFlowLog(src)) return false;
    std::string reason;
    auto outcome = src.log_parser->ParseLine(line, &event_, &reason);
    Status s = outcome.status();
    if (s.code() == Status::Code::kIncompatible) return HeaderAccepted(src, line_no, s);
    if (s.ok() && *outcome == FlowLogParser::Outcome::kHeader) return true;
    if (s.ok() && *outcome == FlowLogParser::Outcome::kSkipped) {
      skipped_[reason]++;
      if (reason == "SKIPDATA") {
        std::fprintf(stderr, "%s:%llu: warning: SKIPDATA: the source lost flow records in this interval\n",
                     src.name.c_str(), static_cast<unsigned long long>(line_no));
      }
      return true;
    }
    if (s.ok()) s = loader_->Add(event_);
    if (!s.ok()) return Reject(src.name, line_no, line, s.message(), true);
    ++parsed_;
    return true;
  }

  // Reports a bad line; false when the import must stop (abort mode).
  bool Reject(const std::string& file, uint64_t line_no, std::string_view line, const std::string& reason, bool held) {
    ++rejected_;
    if (show_progress_) std::fputs("\r\033[K", stderr);
    std::fprintf(stderr, "%s:%llu: %s\n", file.c_str(), static_cast<unsigned long long>(line_no), reason.c_str());
    if (!o_.skip_errors) {
      aborted_ = true;
      std::fprintf(stderr, "flowstat import: stopped at %s:%llu; the %llu events before it are committed\n",
                   file.c_str(), static_cast<unsigned long long>(line_no), static_cast<unsigned long long>(parsed_));
      return false;
    }
    if (rejects_ && held) {
      std::fwrite(line.data(), 1, line.size(), rejects_);
      std::fputc('\n', rejects_);
    }
    return true;
  }

  void ShowProgress(const LineReader& reader) {
    if (!show_progress_) return;
    const double secs = std::chrono::duration<double>(Clock::now() - start_).count();
    if (secs - last_progress_ < 0.5) return;
    last_progress_ = secs;
    const double mb = static_cast<double>(reader.bytes_read()) / 1e6;
    std::fprintf(stderr, "\r\033[K%llu events, %.0f events/s, %.1f MB/s", static_cast<unsigned long long>(parsed_),
                 static_cast<double>(parsed_) / secs, mb / secs);
    if (reader.size() > 0) {
      const double done = static_cast<double>(reader.bytes_read()) / static_cast<double>(reader.size());
      std::fprintf(stderr, ", %.0f%%, ETA %.0f s", done * 100, done > 0 ? secs * (1 - done) / done : 0.0);
    }
    std::fflush(stderr);
  }

  void PrintSummary() {
    if (!skipped_.empty()) {
      uint64_t total = 0;
      std::string by_reason;
      for (const auto& [reason, n] : skipped_) {
        total += n;
        by_reason += (by_reason.empty() ? "" : ", ") + reason + " " + std::to_string(n);
      }
      std::fprintf(stderr, "skipped %llu records that are not flows (%s)\n", static_cast<unsigned long long>(total),
                   by_reason.c_str());
    }
    const double secs = std::chrono::duration<double>(Clock::now() - start_).count();
    std::fprintf(
        stderr, "imported %llu events (%llu duplicates within batches), %llu rejected, %.2f s, %.0f events/s\n",
        static_cast<unsigned long long>(written_), static_cast<unsigned long long>(duplicates_),
        static_cast<unsigned long long>(rejected_), secs, secs > 0 ? static_cast<double>(written_) / secs : 0.0);
  }

  const ImportOptions& o_;
  Clock::time_point start_, last_commit_;
  bool show_progress_ = false;
  double last_progress_ = 0;
  std::unique_ptr<Store> store_;
  std::unique_ptr<Loader> loader_;
  std::FILE* rejects_ = nullptr;
  FlowEvent event_;
  std::map<std::string, std::string> positions_;  // checkpoint name -> position after the last line read
  std::map<std::string, uint64_t> skipped_;       // records that are not flows, by reason
  uint64_t parsed_ = 0, rejected_ = 0, written_ = 0, duplicates_ = 0, lines_since_clock_ = 0;
  bool aborted_ = false;
  Status write_status_;
};

}  // namespace

int RunImport(const ImportOptions& options) {
  util::LimitMallocArenas(2);  // a writing process's memory (util/memory.h)
  return Importer(options).Run();
}

}  // namespace flowstat::tools
