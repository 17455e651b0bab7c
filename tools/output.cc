#include "tools/output.h"

#include <algorithm>

#include "flowstat/event.h"
#include "util/json_text.h"

namespace flowstat::tools {
namespace {

using Row = std::vector<std::string>;

const char* ModeName(Mode m) { return m == Mode::kAccepted ? "Accepted" : "Rejected"; }

// "2025-11-19 13:00:00" (UTC)
std::string HumanTime(int64_t ms) {
  std::string t = FormatTimeSeconds(ms);
  t[10] = ' ';
  t.pop_back();
  return t;
}

Row Header(const FlowStatistic& s) {
  if (s.type == StatisticType::kSerie) return {"mode", "timestamp", s.metric == Metric::kFlows ? "flows" : "ports"};
  if (s.metric == Metric::kFlows) return {"mode", "sourceID", "destinationID", "flows"};
  return {"mode", "port", "flows"};
}

Row Cells(const FlowStatistic& s, const DataPoint& p, bool human) {
  const std::string value = FormatCount(p.value);
  if (s.type == StatisticType::kSerie) {
    return {ModeName(s.mode), human ? HumanTime(p.timestamp_ms) : FormatTimeSeconds(p.timestamp_ms), value};
  }
  if (s.metric == Metric::kFlows) return {ModeName(s.mode), p.source_id, p.destination_id, value};
  return {ModeName(s.mode), std::to_string(p.port), value};
}

std::string CsvCell(const std::string& s) {
  if (s.find_first_of(",\"\n\r") == std::string::npos) return s;
  std::string out = "\"";
  for (char c : s) out += c == '"' ? std::string("\"\"") : std::string(1, c);
  return out + "\"";
}

std::string Table(const std::vector<Row>& rows) {
  std::vector<size_t> width;
  for (const Row& r : rows) {
    width.resize(std::max(width.size(), r.size()));
    for (size_t i = 0; i < r.size(); ++i) width[i] = std::max(width[i], r[i].size());
  }
  std::string out;
  for (const Row& r : rows) {
    for (size_t i = 0; i < r.size(); ++i) {
      const bool numeric = i + 1 == r.size();  // the value column is right-aligned
      std::string pad(width[i] - r[i].size(), ' ');
      out += numeric ? pad + r[i] : r[i] + (i + 1 < r.size() ? pad : "");
      if (i + 1 < r.size()) out += "  ";
    }
    out += '\n';
  }
  return out;
}

}  // namespace

std::string FormatStatistics(const std::vector<FlowStatistic>& list, const std::string& format) {
  if (format == "json") return FormatStatisticsJson(list) + "\n";
  const bool human = format == "table";
  std::vector<Row> rows;
  if (!list.empty()) rows.push_back(Header(list.front()));
  for (const FlowStatistic& s : list) {
    for (const DataPoint& p : s.data_points) rows.push_back(Cells(s, p, human));
  }
  if (human) return Table(rows);
  std::string out;
  for (const Row& r : rows) {
    for (size_t i = 0; i < r.size(); ++i) {
      if (i) out += ',';
      out += CsvCell(r[i]);
    }
    out += '\n';
  }
  return out;
}

std::string ErrorJson(const std::string& message) {
  std::string out = "{\"error\":";
  util::AppendJsonString(&out, message);
  out.push_back('}');
  return out;
}

}  // namespace flowstat::tools
