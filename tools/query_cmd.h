// `flowstat query` and `flowstat dump`: thin layers over Store::Query and Store::ScanEvents.
#pragma once

#include <CLI/CLI.hpp>

#include <string>
#include <utility>
#include <vector>

#include "flowstat/loader.h"

namespace flowstat::tools {

// The flags shared by query and dump, kept as (API parameter name, text) pairs.
struct QueryFlags {
  std::string db;
  std::string namespace_;
  bool no_recursive = false;
  std::vector<std::pair<std::string, std::string>> params;
  std::string format = "json";  // json|table|csv, or a picture: svg|chart
  std::string output;           // --output FILE instead of standard output
  bool ascii = false;           // --format chart: ASCII characters only
  bool partial = false;         // --partial: this store's share, to merge with others' (flowstat merge)
  std::string batch;
  unsigned long long limit = 0;
  bool limit_set = false;
  size_t cache_mb = kDefaultCacheBytes >> 20;  // decompressed blocks kept while answering, MiB
};

// Declares the flags of `query` (with_output) or `dump` on `cmd`.
void AddQueryFlags(CLI::App* cmd, QueryFlags* flags, bool for_query);

int RunQuery(const QueryFlags& flags);
// `flowstat merge FILE...`: the FlowStatisticsList of partials written by `query --partial`.
int RunMerge(const std::vector<std::string>& files, const std::string& format);
int RunDump(const QueryFlags& flags);
int RunCompact(const std::string& db);
// Exit 0 when the store is sound, 1 when a problem was found or the check could not run.
int RunVerify(const std::string& db);

}  // namespace flowstat::tools
