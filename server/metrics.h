// The counters behind GET /metrics, written in the Prometheus text exposition format (0.0.4).
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <utility>

namespace flowstat::server {

class Metrics {
 public:
  // Counts one request to `path` (a known route, else "other") answered with `status` in `seconds`.
  void CountRequest(const std::string& path, int status, double seconds);
  void CountReports(uint64_t accepted, uint64_t duplicates);

  // Every metric, with HELP and TYPE lines; `store_bytes` is the store's size on disk.
  std::string Exposition(uint64_t store_bytes) const;

  // Upper bounds of the latency histogram buckets, seconds.
  static constexpr std::array<double, 12> kLatencyBounds{0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
                                                         0.05,   0.1,   0.25,   0.5,   1,    2.5};

 private:
  struct Histogram {
    std::array<uint64_t, kLatencyBounds.size()> buckets{};  // not cumulative here
    uint64_t count = 0;
    double sum = 0;
  };
  mutable std::mutex mu_;
  std::map<std::pair<std::string, int>, uint64_t> requests_;  // guarded by mu_
  std::map<std::string, Histogram> latency_;                  // guarded by mu_
  std::atomic<uint64_t> events_accepted_{0};
  std::atomic<uint64_t> events_duplicates_{0};
};

}  // namespace flowstat::server
