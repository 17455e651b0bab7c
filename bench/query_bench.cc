// Times FlowStatistic queries in-process on an existing store: each query of a --batch file
// once cold, then RUNS warm runs; prints the median, min and max milliseconds, the median with the
// FlowStatisticsList JSON formatted as well (what --batch and the HTTP server add), and the counters.
// Each line is labelled by its "name" member when it has one (Q1 ... otherwise).
// usage: flowstat_query_bench DB QUERIES.jsonl [RUNS]
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

#include "flowstat/store.h"
#include "util/memory.h"

int main(int argc, char** argv) {
  if (argc < 3) {
    std::fprintf(stderr, "usage: %s DB QUERIES.jsonl [RUNS]\n", argv[0]);
    return 2;
  }
  const int runs = argc > 3 ? std::max(1, std::atoi(argv[3])) : 9;
  // As `flowstat query` does: without it, the queries run before decided whether a query's large
  // buffers were fresh pages each run (glibc raises its mapping threshold only once a large block
  // is freed): at 32M events Q4 alone took 1.5 ms, after Q3 0.4 ms.
  flowstat::util::KeepFreedMemory();
  flowstat::OpenOptions options;
  options.read_only = true;
  auto store = flowstat::Store::Open(argv[1], options);
  if (!store.ok()) {
    std::fprintf(stderr, "%s\n", store.status().message().c_str());
    return 1;
  }
  std::ifstream in(argv[2]);
  std::string line;
  int n = 0;
  while (std::getline(in, line)) {
    if (line.empty()) continue;
    ++n;
    flowstat::Query q;
    flowstat::Status s = flowstat::ParseQueryJson(line, &q);
    if (!s.ok()) {
      std::fprintf(stderr, "line %d: %s\n", n, s.message().c_str());
      return 1;
    }
    char numbered[16];
    std::snprintf(numbered, sizeof numbered, "Q%d", n);
    std::string label = numbered;
    if (const size_t at = line.find("\"name\":\""); at != std::string::npos) {
      const size_t from = at + 8, to = line.find('"', from);
      if (to != std::string::npos) label = line.substr(from, to - from);
    }
    std::vector<double> ms, with_json_ms;
    size_t json_bytes = 0;
    flowstat::QueryStats stats;
    for (int r = 0; r <= runs; ++r) {
      stats = flowstat::QueryStats();
      auto t0 = std::chrono::steady_clock::now();
      auto result = (*store)->Query(q, &stats);
      auto t1 = std::chrono::steady_clock::now();
      if (!result.ok()) {
        std::fprintf(stderr, "line %d: %s\n", n, result.status().message().c_str());
        return 1;
      }
      json_bytes = flowstat::FormatStatisticsJson(*result).size();  // what --batch and HTTP add
      auto t2 = std::chrono::steady_clock::now();
      if (r > 0) ms.push_back(std::chrono::duration<double, std::milli>(t1 - t0).count());
      if (r > 0) with_json_ms.push_back(std::chrono::duration<double, std::milli>(t2 - t0).count());
    }
    std::sort(ms.begin(), ms.end());
    std::sort(with_json_ms.begin(), with_json_ms.end());
    std::printf(
        "%s median_ms=%.2f min_ms=%.2f max_ms=%.2f with_json_ms=%.2f json_bytes=%zu chunks=%llu bytes=%llu "
        "examined=%llu matched=%llu\n",
        label.c_str(), ms[ms.size() / 2], ms.front(), ms.back(), with_json_ms[with_json_ms.size() / 2], json_bytes,
        static_cast<unsigned long long>(stats.chunks_read), static_cast<unsigned long long>(stats.bytes_read),
        static_cast<unsigned long long>(stats.events_examined), static_cast<unsigned long long>(stats.events_matched));
  }
  return 0;
}
