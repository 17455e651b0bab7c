// The FlowStatisticsList JSON of doc/queries.md.
#include <algorithm>
#include <cstdint>
#include <string>
#include <string_view>

#include "flowstat/event.h"
#include "flowstat/query.h"
#include "schema/time_text.h"
#include "util/json_text.h"

namespace flowstat {
namespace {

using util::AppendJsonString;

// The decimal digits of `v`, written backwards from `end`; returns where they start.
char* DigitsBefore(char* end, Count v) {
  // In 64 bits once the value fits (nearly always): dividing a 128-bit value calls the runtime.
  for (; v > UINT64_MAX; v /= 10) *--end = static_cast<char>('0' + static_cast<int>(v % 10));
  auto small = static_cast<uint64_t>(v);
  do {
    *--end = static_cast<char>('0' + static_cast<int>(small % 10));
    small /= 10;
  } while (small != 0);
  return end;
}

constexpr size_t kMaxCountDigits = 39;  // 2^128 - 1 has 39

void AppendCount(std::string* out, Count v) {
  char buf[kMaxCountDigits];
  const char* first = DigitsBefore(buf + sizeof buf, v);
  out->append(first, static_cast<size_t>(buf + sizeof buf - first));
}

// About the bytes of `list`'s JSON, so that the text is mostly allocated once: a Serie's point
// takes 45 bytes and its value's digits (64 holds 18 of them: one regrowth would copy the whole
// text, and pages reserved but never written cost nothing), a Repartition's ~50 (ports) to ~100
// (two 24-character IDs), an ID its length and 3.
size_t JsonBytesEstimate(const std::vector<FlowStatistic>& list) {
  size_t bytes = 2;
  for (const FlowStatistic& s : list) {
    const bool pairs = s.type == StatisticType::kRepartition && s.metric == Metric::kFlows;
    bytes += 256 + s.id.size() + s.user_identifier.size() + s.data_points.size() * (pairs ? 100 : 64);
    for (const auto* ids : {&s.source_ids, &s.destination_ids}) {
      for (const std::string& id : *ids) bytes += id.size() + 3;
    }
  }
  return bytes;
}

void AppendStrings(std::string* out, const std::vector<std::string>& items) {
  out->push_back('[');
  for (size_t i = 0; i < items.size(); ++i) {
    if (i) out->push_back(',');
    AppendJsonString(out, items[i]);
  }
  out->push_back(']');
}

// Selectors "key=value" as a JSON object {"key": "value"} in the order given.
void AppendSelectors(std::string* out, const std::vector<std::string>& tags) {
  out->push_back('{');
  for (size_t i = 0; i < tags.size(); ++i) {
    if (i) out->push_back(',');
    const size_t eq = tags[i].find('=');
    AppendJsonString(out, std::string_view(tags[i]).substr(0, eq));
    out->push_back(':');
    AppendJsonString(out, eq == std::string::npos ? std::string_view() : std::string_view(tags[i]).substr(eq + 1));
  }
  out->push_back('}');
}

// A Serie's point, composed in one buffer and appended once: a Serie of a week of minutes has
// 10,080 of them, and appending piece by piece checked the string's room six times a point.
void AppendSeriePoint(std::string* out, const DataPoint& p) {
  static constexpr std::string_view kHead = "{\"timestamp\":\"", kMiddle = "\",\"value\":";
  char text[kHead.size() + schema::kTimeSecondsTextMax + kMiddle.size() + kMaxCountDigits + 1];
  char* at = std::copy(kHead.begin(), kHead.end(), text);
  char time[schema::kTimeSecondsTextMax];  // digits, '-', ':', 'T', 'Z': nothing to escape
  at = std::copy_n(time, schema::FormatTimeSecondsTo(p.timestamp_ms, time), at);
  at = std::copy(kMiddle.begin(), kMiddle.end(), at);
  char digits[kMaxCountDigits];
  const char* first = DigitsBefore(digits + sizeof digits, p.value);
  at = std::copy(first, static_cast<const char*>(digits + sizeof digits), at);
  *at++ = '}';
  out->append(text, static_cast<size_t>(at - text));
}

void AppendPoint(std::string* out, const FlowStatistic& s, const DataPoint& p) {
  if (s.type == StatisticType::kSerie) return AppendSeriePoint(out, p);
  if (s.metric == Metric::kFlows) {
    out->append("{\"sourceID\":");
    AppendJsonString(out, p.source_id);
    out->append(",\"destinationID\":");
    AppendJsonString(out, p.destination_id);
  } else {
    out->append("{\"port\":");
    out->append(std::to_string(p.port));
  }
  out->append(",\"value\":");
  AppendCount(out, p.value);
  out->push_back('}');
}

}  // namespace

std::string FormatCount(Count v) {
  std::string out;
  AppendCount(&out, v);
  return out;
}

std::string FormatStatisticsJson(const std::vector<FlowStatistic>& list) {
  std::string out;
  out.reserve(JsonBytesEstimate(list));
  out.push_back('[');
  for (size_t i = 0; i < list.size(); ++i) {
    const FlowStatistic& s = list[i];
    if (i) out.push_back(',');
    out.append("{\"ID\":");
    AppendJsonString(&out, s.id);
    out.append(",\"dataPoints\":[");
    for (size_t j = 0; j < s.data_points.size(); ++j) {
      if (j) out.push_back(',');
      AppendPoint(&out, s, s.data_points[j]);
    }
    out.append("],\"destinationIDs\":");
    AppendStrings(&out, s.destination_ids);
    out.append(",\"destinationTags\":");
    AppendSelectors(&out, s.destination_tags);
    out.append(s.metric == Metric::kFlows ? ",\"metric\":\"Flows\"" : ",\"metric\":\"Ports\"");
    out.append(s.mode == Mode::kAccepted ? ",\"mode\":\"Accepted\"" : ",\"mode\":\"Rejected\"");
    out.append(",\"sourceIDs\":");
    AppendStrings(&out, s.source_ids);
    out.append(",\"sourceTags\":");
    AppendSelectors(&out, s.source_tags);
    out.append(s.type == StatisticType::kSerie ? ",\"type\":\"Serie\"" : ",\"type\":\"Repartition\"");
    out.append(",\"userIdentifier\":");
    AppendJsonString(&out, s.user_identifier);
    out.push_back('}');
  }
  out.push_back(']');
  return out;
}

}  // namespace flowstat
