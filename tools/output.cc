#include "tools/output.h"

#include <sys/ioctl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "flowstat/chart.h"
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

namespace {

// COLUMNS when set, else the width of the terminal on standard output, else 80.
int TerminalColumns() {
  if (const char* columns = std::getenv("COLUMNS")) {
    const int n = std::atoi(columns);
    if (n > 0) return n;
  }
  struct winsize size {};
  if (::ioctl(STDOUT_FILENO, TIOCGWINSZ, &size) == 0 && size.ws_col > 0) return size.ws_col;
  return 80;
}

}  // namespace

std::string DrawStatistics(const std::vector<FlowStatistic>& list, const Query& query, const std::string& format,
                           bool ascii, bool to_terminal) {
  auto window = ResolveWindow(query);
  const Window w = window.ok() ? *window : Window{};
  ChartOptions options;
  if (format == "svg") return RenderSvg(list, query, w, options);
  options.width = TerminalColumns();
  options.height = 8;
  options.ascii = ascii;
  options.color = to_terminal && ::isatty(STDOUT_FILENO) && std::getenv("NO_COLOR") == nullptr;
  return RenderTerminal(list, query, w, options);
}

int WriteOutput(const std::string& text, const std::string& path) {
  std::FILE* out = path.empty() ? stdout : std::fopen(path.c_str(), "wb");
  if (!out) {
    std::fprintf(stderr, "flowstat query: %s: cannot open for writing: %s\n", path.c_str(), std::strerror(errno));
    return 1;
  }
  const bool written = std::fwrite(text.data(), 1, text.size(), out) == text.size();
  const bool closed = path.empty() ? std::fflush(out) == 0 : std::fclose(out) == 0;
  if (!written || !closed) {
    std::fprintf(stderr, "flowstat query: %s: write failed\n", path.empty() ? "<stdout>" : path.c_str());
    return 1;
  }
  return 0;
}

}  // namespace flowstat::tools
