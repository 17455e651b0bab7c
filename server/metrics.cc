#include "server/metrics.h"

#include <cstdio>

namespace flowstat::server {
namespace {

std::string Number(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%g", v);
  return buf;
}

void Header(std::string* out, const char* name, const char* type, const char* help) {
  *out += "# HELP ";
  *out += name;
  *out += ' ';
  *out += help;
  *out += "\n# TYPE ";
  *out += name;
  *out += ' ';
  *out += type;
  *out += '\n';
}

}  // namespace

void Metrics::CountRequest(const std::string& path, int status, double seconds) {
  std::lock_guard lock(mu_);
  requests_[{path, status}]++;
  Histogram& h = latency_[path];
  size_t i = 0;
  while (i < kLatencyBounds.size() && seconds > kLatencyBounds[i]) ++i;
  if (i < kLatencyBounds.size()) h.buckets[i]++;
  h.count++;
  h.sum += seconds;
}

void Metrics::CountReports(uint64_t accepted, uint64_t duplicates) {
  events_accepted_ += accepted;
  events_duplicates_ += duplicates;
}

std::string Metrics::Exposition(uint64_t store_bytes) const {
  std::string out;
  std::lock_guard lock(mu_);
  Header(&out, "flowstat_http_requests_total", "counter", "HTTP requests answered, by path and status code.");
  for (const auto& [key, n] : requests_) {
    out += "flowstat_http_requests_total{path=\"" + key.first + "\",code=\"" + std::to_string(key.second) + "\"} " +
           std::to_string(n) + "\n";
  }
  Header(&out, "flowstat_http_request_duration_seconds", "histogram", "Time from request read to response ready.");
  for (const auto& [path, h] : latency_) {
    const std::string label = "flowstat_http_request_duration_seconds_bucket{path=\"" + path + "\",le=\"";
    uint64_t cumulative = 0;
    for (size_t i = 0; i < kLatencyBounds.size(); ++i) {
      cumulative += h.buckets[i];
      out += label + Number(kLatencyBounds[i]) + "\"} " + std::to_string(cumulative) + "\n";
    }
    out += label + "+Inf\"} " + std::to_string(h.count) + "\n";
    out += "flowstat_http_request_duration_seconds_sum{path=\"" + path + "\"} " + Number(h.sum) + "\n";
    out += "flowstat_http_request_duration_seconds_count{path=\"" + path + "\"} " + std::to_string(h.count) + "\n";
  }
  Header(&out, "flowstat_events_accepted_total", "counter", "Events accepted by POST /flowreports.");
  out += "flowstat_events_accepted_total " + std::to_string(events_accepted_.load()) + "\n";
  Header(&out, "flowstat_events_duplicates_total", "counter",
         "Accepted events that repeated another event of the same request.");
  out += "flowstat_events_duplicates_total " + std::to_string(events_duplicates_.load()) + "\n";
  Header(&out, "flowstat_store_bytes", "gauge", "Bytes of the store's files on disk.");
  out += "flowstat_store_bytes " + std::to_string(store_bytes) + "\n";
  return out;
}

}  // namespace flowstat::server
