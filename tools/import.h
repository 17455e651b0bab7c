// `flowstat import`: streams JSON Lines, CSV or flow logs of other systems into a store (doc/input.md, doc/cli.md).
#pragma once

#include <string>
#include <vector>

#include "flowstat/loader.h"

namespace flowstat::tools {

struct ImportOptions {
  std::string db;
  std::string format = "auto";    // "jsonl", "csv", "hubble", "vpc", "nfdump", or "auto" (from the first line)
  std::string namespace_prefix;   // for flow logs of other systems; "" = the format's default
  std::string time_zone = "UTC";  // --timezone: where nfdump's local times were written
  bool skip_errors = false;       // --on-error skip
  std::string rejects_path;       // --rejects
  std::vector<std::string> inputs;
  size_t batch_events = 131072;
  int64_t commit_interval_ms = 1000;  // commit at least this often while events are pending
  bool follow = false;                // --follow: keep reading the files as they grow, like tail -F
  bool progress = true;               // shown only when stderr is a terminal
  size_t dictionary_cache_mb = kDefaultDictionaryCacheBytes >> 20;  // addresses and details kept, MiB
};

// Exit codes (doc/cli.md): 0 success, 1 aborted (bad input or I/O), 3 completed with skipped lines.
int RunImport(const ImportOptions& options);

}  // namespace flowstat::tools
