#include "tools/query_cmd.h"

#include <fcntl.h>
#include <sys/stat.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <iterator>

#include "flowstat/partial.h"
#include "flowstat/store.h"
#include "tools/cli_checks.h"
#include "tools/line_reader.h"
#include "tools/output.h"
#include "util/memory.h"

namespace flowstat::tools {
namespace {

constexpr size_t kMaxBatchLine = 1 << 20;

// Registers a flag whose text goes to the API parameter `param` (repeatable when `multi`).
void AddParam(CLI::App* cmd, QueryFlags* flags, const std::string& flag, const std::string& param,
              const std::string& help, bool multi = false) {
  auto* opt = cmd->add_option_function<std::vector<std::string>>(
      flag,
      [flags, param](const std::vector<std::string>& values) {
        for (const auto& v : values) flags->params.emplace_back(param, v);
      },
      help);
  opt->allow_extra_args(false);
  if (multi)
    opt->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
  else
    opt->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);
}

Status BuildQuery(const QueryFlags& flags, Query* q) {
  Status s = SetQueryParameter(q, "namespace", flags.namespace_);
  if (s.ok() && flags.no_recursive) s = SetQueryParameter(q, "recursive", "false");
  for (const auto& [name, value] : flags.params) {
    if (!s.ok()) break;
    s = SetQueryParameter(q, name, value);
  }
  if (s.ok() && flags.limit_set) q->limit = flags.limit;
  if (s.ok()) s = ValidateQuery(q);
  return s;
}

// The block cache a reading process starts with. One pass (a query, a dump, a verify) reads each
// block once, so a larger cache only holds what it will not read again, in fresh memory whose
// page faults it pays for: a week's raw scan (Q3 on W2M) decompresses ~113 MB of blocks, and
// one-shot it took 0.8x the time with this cache. A --batch has the cache of --cache-mb from the
// start when its input holds a second query, else from its second query on.
constexpr size_t kOnePassCacheBytes = size_t{32} << 20;

Result<std::unique_ptr<Store>> OpenForReading(const std::string& db, size_t cache_bytes = kOnePassCacheBytes) {
  OpenOptions o;
  o.read_only = true;
  o.cache_bytes = cache_bytes;
  return Store::Open(db, o);
}

// Answers are written whole, and a pipe holds 64 KB by default: a larger answer (a week of
// minutes is ~600 KB) waited for the reader to drain it, the next query not started meanwhile.
// With room for an answer, the reader drains it while the next one is computed. Best effort: a
// pipe keeps its size where the system's limit is lower.
void RoomForAnswersInPipe(int fd) {
#ifdef F_SETPIPE_SZ
  struct stat st;
  if (fstat(fd, &st) != 0 || !S_ISFIFO(st.st_mode)) return;
  for (int bytes = 1 << 20; bytes > 1 << 16; bytes /= 2) {
    if (fcntl(fd, F_SETPIPE_SZ, bytes) >= 0) return;
  }
#else
  (void)fd;
#endif
}

int RunBatch(Store& store, const std::string& path, size_t cache_bytes) {
  RoomForAnswersInPipe(fileno(stdout));
  LineReader reader(path, kMaxBatchLine);
  if (!reader.open_error().empty()) {
    std::fprintf(stderr, "flowstat query: %s: %s\n", path.c_str(), reader.open_error().c_str());
    return 1;
  }
  std::string_view line;
  uint64_t number;
  bool too_long;
  std::string out;
  uint64_t queries = 0;
  while (reader.Next(&line, &number, &too_long) == LineReader::Result::kLine) {
    if (!too_long && line.find_first_not_of(" \t\r") == std::string_view::npos) continue;
    // Answers stay exact without it: no status to act on.
    if (++queries == 2 || (queries == 1 && reader.MoreBuffered())) (void)store.SetCacheBytes(cache_bytes);
    Query q;
    Status s = too_long ? Status::InvalidArgument("line too long") : ParseQueryJson(line, &q);
    Result<std::vector<FlowStatistic>> result = s.ok() ? store.Query(q) : Result<std::vector<FlowStatistic>>(s);
    out = result.ok() ? FormatStatisticsJson(*result) : ErrorJson(result.status().message());
    out.push_back('\n');
    std::fwrite(out.data(), 1, out.size(), stdout);
  }
  std::fflush(stdout);
  return 0;
}

}  // namespace

void AddQueryFlags(CLI::App* cmd, QueryFlags* f, bool for_query) {
  cmd->add_option("--db", f->db, "store directory")->required();
  auto* ns = cmd->add_option("--namespace", f->namespace_, "namespace to query, e.g. /acme/prod");
  cmd->add_flag("--no-recursive", f->no_recursive, "only the namespace itself, not those below it");
  AddParam(cmd, f, "--start", "startAbsolute", "window start, RFC 3339 or epoch ms (inclusive)");
  AddParam(cmd, f, "--end", "endAbsolute", "window end, RFC 3339 or epoch ms (exclusive)");
  AddParam(cmd, f, "--start-relative", "startRelative", "start = end - D (e.g. 1h, 7d)");
  AddParam(cmd, f, "--end-relative", "endRelative", "end = now - D");
  AddParam(cmd, f, "--flow-offset", "flowOffset", "duration added to both bounds, may be negative [0]");
  AddParam(cmd, f, "--source-tag", "sourceTags", "K=V the source must carry (repeatable)", true);
  AddParam(cmd, f, "--destination-tag", "destinationTags", "K=V the destination must carry (repeatable)", true);
  AddParam(cmd, f, "--source-id", "sourceID", "only these source IDs (repeatable)", true);
  AddParam(cmd, f, "--destination-id", "destinationID", "only these destination IDs (repeatable)", true);
  AddParam(cmd, f, "--action", "action", "accept|reject|any [any]");
  AddParam(cmd, f, "--flow-mode", "flowMode", "applied|observed|all [applied]");
  AddParam(cmd, f, "--now", "now", "the clock for relative windows (RFC 3339 or epoch ms) [system clock]");
  cmd->add_option("--limit", f->limit,
                  for_query ? "Repartition: keep the first N entries [all]" : "print at most N events [all]")
      ->check(WholeNumber(0))
      ->each([f](const std::string&) { f->limit_set = true; });
  if (for_query) {
    cmd->add_option("--cache-mb", f->cache_mb, "MiB of decompressed blocks kept while answering; 0: none [256]")
        ->check(CLI::Range(0, 1 << 20));
    AddParam(cmd, f, "--interval", "averageInterval", "Serie bucket width, whole seconds [1h]");
    AddParam(cmd, f, "--metric", "metric", "Flows|Ports [Flows]");
    AddParam(cmd, f, "--type", "type", "Serie|Repartition [Serie]");
    AddParam(cmd, f, "--user-identifier", "userIdentifier", "echoed in every returned object [\"\"]");
    cmd->add_option("--format", f->format,
                    "json|table|csv, or svg (an SVG picture) or chart (drawn in the terminal) [json]")
        ->check(CLI::IsMember({"json", "table", "csv", "svg", "chart"}));
    cmd->add_option("--output", f->output, "write to FILE instead of standard output");
    cmd->add_flag("--ascii", f->ascii, "--format chart: plain ASCII instead of Unicode blocks");
    cmd->add_flag("--partial", f->partial,
                  "write this store's share of the answer (binary, doc/partial-format.md) for `flowstat merge`");
    auto* batch = cmd->add_option("--batch", f->batch,
                                  "FILE|-: one JSON parameter object per line in, one FlowStatisticsList per line out");
    batch->excludes(ns);
    cmd->callback([f, cmd] {
      if (f->batch.empty() && f->namespace_.empty()) throw CLI::RequiredError("--namespace");
      if (f->batch.empty()) return;
      // Each line of a batch carries its parameters and its answer goes to standard output as
      // JSON: a flag of the one-query form would be ignored without a word.
      for (const CLI::Option* option : cmd->get_options()) {
        const std::string name = option->get_name();
        if (option->count() > 0 && name != "--db" && name != "--batch" && name != "--cache-mb") {
          throw CLI::ValidationError(name,
                                     "does not apply to --batch (each line holds its parameters; answers "
                                     "go to standard output as JSON)");
        }
      }
    });
  } else {
    ns->required();
  }
}

// The end of a query process, its store left open: the store was opened read-only, so closing it
// would write nothing, and the kernel takes the process's memory back at once where closing and
// the libraries' exit handlers gave it back block by block (~6% of a one-shot query's time).
[[noreturn]] void ExitLeavingStoreOpen(int code) {
  std::fflush(stdout);
  std::fflush(stderr);
  std::_Exit(code);
}

int Answer(Store& store, const QueryFlags& flags, const Query& q) {
  if (!flags.batch.empty()) return RunBatch(store, flags.batch, flags.cache_mb << 20);
  if (flags.partial) {
    auto partial = store.QueryPartial(q);
    if (!partial.ok()) {
      std::fprintf(stderr, "flowstat query: %s\n", partial.status().message().c_str());
      return partial.status().code() == Status::Code::kInvalidArgument ? 2 : 1;
    }
    return WriteOutput(EncodePartial(*partial), flags.output);
  }
  auto result = store.Query(q);
  if (!result.ok()) {
    std::fprintf(stderr, "flowstat query: %s\n", result.status().message().c_str());
    return result.status().code() == Status::Code::kInvalidArgument ? 2 : 1;
  }
  const std::string out = flags.format == "svg" || flags.format == "chart"
                              ? DrawStatistics(*result, q, flags.format, flags.ascii, flags.output.empty())
                              : FormatStatistics(*result, flags.format);
  return WriteOutput(out, flags.output);
}

int RunQuery(const QueryFlags& flags) {
  util::KeepFreedMemory();
  Query q;
  if (flags.batch.empty()) {
    Status s = BuildQuery(flags, &q);
    // One clock for the answer and a chart's title.
    const bool picture = flags.format == "svg" || flags.format == "chart";
    if (s.ok() && picture && !q.now_ms) {
      q.now_ms =
          std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
              .count();
    }
    if (!s.ok()) {
      std::fprintf(stderr, "flowstat query: %s\n", s.message().c_str());
      return 2;
    }
  }
  auto store = OpenForReading(flags.db, std::min(flags.cache_mb << 20, kOnePassCacheBytes));
  if (!store.ok()) {
    std::fprintf(stderr, "flowstat query: %s\n", store.status().message().c_str());
    return 1;
  }
  ExitLeavingStoreOpen(Answer(**store, flags, q));
}

int RunMerge(const std::vector<std::string>& files, const std::string& format) {
  std::vector<Partial> partials;
  for (const std::string& file : files) {
    std::ifstream in(file, std::ios::binary);
    std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    if (!in.good() && !in.eof()) {
      std::fprintf(stderr, "flowstat merge: %s: cannot read\n", file.c_str());
      return 1;
    }
    auto partial = DecodePartial(bytes);
    if (!partial.ok()) {
      std::fprintf(stderr, "flowstat merge: %s: %s\n", file.c_str(), partial.status().message().c_str());
      return 1;
    }
    partials.push_back(std::move(*partial));
  }
  auto merged = MergePartials(partials);
  if (!merged.ok()) {
    std::fprintf(stderr, "flowstat merge: %s\n", merged.status().message().c_str());
    return 1;
  }
  const auto list = FinishPartial(*merged);
  const std::string out = format == "svg" || format == "chart"
                              ? DrawStatistics(list, merged->query, format, false, true)
                              : FormatStatistics(list, format);
  return WriteOutput(out, "");
}

int RunDump(const QueryFlags& flags) {
  Query q;
  Status s = BuildQuery(flags, &q);
  if (!s.ok()) {
    std::fprintf(stderr, "flowstat dump: %s\n", s.message().c_str());
    return 2;
  }
  auto store = OpenForReading(flags.db);
  if (!store.ok()) {
    std::fprintf(stderr, "flowstat dump: %s\n", store.status().message().c_str());
    return 1;
  }
  std::string line;
  s = (*store)->ScanEvents(q, flags.limit_set ? flags.limit : 0, [&](const FlowEvent& e) {
    line = FormatEventJson(e);
    line.push_back('\n');
    return std::fwrite(line.data(), 1, line.size(), stdout) == line.size();
  });
  std::fflush(stdout);
  if (!s.ok()) {
    std::fprintf(stderr, "flowstat dump: %s\n", s.message().c_str());
    return 1;
  }
  return 0;
}

int RunCompact(const std::string& db) {
  OpenOptions o;
  o.create_if_missing = false;
  auto store = Store::Open(db, o);
  Status s = store.ok() ? (*store)->Compact() : store.status();
  if (!s.ok()) {
    std::fprintf(stderr, "flowstat compact: %s\n", s.message().c_str());
    return 1;
  }
  return 0;
}

int RunVerify(const std::string& db) {
  auto store = OpenForReading(db);
  std::vector<std::string> problems;
  uint64_t keys = 0;
  Status s = store.ok() ? (*store)->Verify(&problems, &keys) : store.status();
  if (!s.ok()) {
    std::fprintf(stderr, "flowstat verify: %s\n", s.message().c_str());
    return 1;
  }
  for (const auto& p : problems) std::fprintf(stderr, "flowstat verify: %s: %s\n", db.c_str(), p.c_str());
  std::printf("%s: %llu keys checked, %zu problems\n", db.c_str(), static_cast<unsigned long long>(keys),
              problems.size());
  return problems.empty() ? 0 : 1;
}

}  // namespace flowstat::tools
