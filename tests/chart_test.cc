// Charts (flowstat/chart.h): axis ticks, labels, and what the SVG and terminal renderers draw for
// fixed inputs. The SVG is parsed as XML and compared with golden files in tests/chart_test.py.
#include <catch2/catch.hpp>

#include <algorithm>
#include <regex>
#include <sstream>

#include "chart/scales.h"
#include "flowstat/chart.h"

namespace flowstat::testing {
namespace {

constexpr int64_t kStart = 1763510400000;  // 2025-11-19T00:00:00Z
constexpr int64_t kMinute = 60000, kHour = 3600000, kDay = 86400000;

Query SerieQuery(int64_t interval) {
  Query q;
  q.namespace_ = "/acme";
  q.average_interval_ms = interval;
  q.start_absolute = kStart;
  q.end_absolute = kStart + kDay;
  return q;
}

FlowStatistic Serie(Mode mode, const std::vector<Count>& values, int64_t interval) {
  FlowStatistic s;
  s.type = StatisticType::kSerie;
  s.mode = mode;
  for (size_t i = 0; i < values.size(); ++i) {
    DataPoint p;
    p.timestamp_ms = kStart + static_cast<int64_t>(i) * interval;
    p.value = values[i];
    s.data_points.push_back(p);
  }
  return s;
}

size_t Count(const std::string& text, const std::string& what) {
  size_t n = 0;
  for (size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
  return n;
}

std::vector<std::string> LinesOf(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

}  // namespace

TEST_CASE("value ticks are round and cover the maximum", "[chart]") {
  CHECK(chart::ValueTicks(0, 5) == std::vector<double>{0, 1});
  CHECK(chart::ValueTicks(1, 5) == std::vector<double>{0, 1});
  CHECK(chart::ValueTicks(7, 5) == std::vector<double>{0, 2, 4, 6, 8});
  CHECK(chart::ValueTicks(100, 5) == std::vector<double>{0, 20, 40, 60, 80, 100});
  CHECK(chart::ValueTicks(44513, 5) == std::vector<double>{0, 10000, 20000, 30000, 40000, 50000});
  CHECK(chart::ShortNumber(950) == "950");
  CHECK(chart::ShortNumber(12500) == "12.5k");
  CHECK(chart::ShortNumber(3000000) == "3M");
  CHECK(chart::GroupedCount(1234567) == "1,234,567");
  CHECK(chart::GroupedCount(static_cast<flowstat::Count>(1) << 64) == "18,446,744,073,709,551,616");
}

TEST_CASE("time ticks fall on round UTC instants for windows from seconds to weeks", "[chart]") {
  auto labels = [](int64_t start, int64_t end, int target) {
    std::vector<std::string> out;
    for (const auto& t : chart::TimeTicks(start, end, target)) out.push_back(t.label);
    return out;
  };
  CHECK(labels(kStart + 13 * kHour, kStart + 13 * kHour + 10000, 5) ==
        std::vector<std::string>{"11-19 13:00:00", "13:00:02", "13:00:04", "13:00:06", "13:00:08"});
  CHECK(labels(kStart + 13 * kHour, kStart + 14 * kHour, 4) ==
        std::vector<std::string>{"11-19 13:00", "13:15", "13:30", "13:45"});
  CHECK(labels(kStart - 2 * kHour, kStart + 10 * kHour, 4) ==
        std::vector<std::string>{"11-19 00:00", "03:00", "06:00", "09:00"});  // 22:00 is not a multiple of 3h
  CHECK(labels(kStart - 6 * kDay, kStart + kDay, 7) ==
        std::vector<std::string>{"2025-11-13", "2025-11-14", "2025-11-15", "2025-11-16", "2025-11-17", "2025-11-18",
                                 "2025-11-19"});
  for (int64_t span : {int64_t{1000}, kMinute, kHour, kDay, 30 * kDay, 400 * kDay}) {
    const auto ticks = chart::TimeTicks(kStart + 7, kStart + 7 + span, 8);
    INFO(span);
    CHECK(!ticks.empty());
    CHECK(ticks.size() <= 9);
    for (const auto& t : ticks) CHECK(t.ms % 1000 == 0);
  }
}

TEST_CASE("long labels are cut in the middle, by characters", "[chart]") {
  CHECK(chart::ElideMiddle("short", 10) == "short");
  CHECK(chart::ElideMiddle("69a8ee81d40c72f7ad95cae8", 11) == "69a8e\u20265cae8");
  CHECK(chart::DisplayWidth(chart::ElideMiddle("69a8ee81d40c72f7ad95cae8", 11)) == 11);
  CHECK(chart::ElideMiddle("69a8ee81d40c72f7ad95cae8", 11, true) == "69a8...cae8");
  CHECK(chart::ElideMiddle("\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9", 4) == "\u00e9\u00e9\u2026\u00e9");
}

TEST_CASE("a long Serie is drawn as each pixel column's minimum and maximum", "[chart]") {
  std::vector<flowstat::Count> week;
  for (int i = 0; i < 10080; ++i) week.push_back(static_cast<flowstat::Count>(i % 1440 == 700 ? 5000 : i % 17));
  Query q = SerieQuery(kMinute);
  q.end_absolute = kStart + 7 * kDay;
  const std::string svg = RenderSvg({Serie(Mode::kAccepted, week, kMinute)}, q, {kStart, kStart + 7 * kDay});
  std::smatch m;
  REQUIRE(std::regex_search(svg, m, std::regex("data-points=\"(\\d+)\"")));
  const int drawn = std::stoi(m[1]);
  CHECK(drawn == 2 * (960 - 70 - 24));  // two per column of the plot area
  CHECK(svg.size() < 2 * 1024 * 1024);
  // The daily spikes survive the thinning: the peak's y is the top of the scale (5000 of 5000).
  CHECK(svg.find(",44.0 ") != std::string::npos);
  CHECK(svg.find("Accepted: 115,580 flows") != std::string::npos);  // the exact total, not the drawn one
}

TEST_CASE("empty answers and single points render sensibly", "[chart]") {
  const Query q = SerieQuery(kHour);
  const Window w{kStart, kStart + kDay};
  const std::string none = RenderSvg({}, q, w);
  CHECK(none.find("No flows in this window") != std::string::npos);
  CHECK(Count(none, "<polyline") == 0);
  const std::string zeros = RenderSvg({Serie(Mode::kAccepted, std::vector<flowstat::Count>(24, 0), kHour)}, q, w);
  CHECK(zeros.find("No flows in this window") != std::string::npos);
  const std::string one = RenderSvg({Serie(Mode::kRejected, {7}, kDay)}, SerieQuery(kDay), w);
  CHECK(Count(one, "<circle class=\"point\"") == 1);
  CHECK(one.find("Rejected: 7 flows") != std::string::npos);
  CHECK(one.find("stroke-dasharray") != std::string::npos);  // Rejected is dashed, not only coloured

  ChartOptions terminal;
  terminal.width = 40;
  CHECK(RenderTerminal({}, q, w, terminal).find("No flows in this window") != std::string::npos);
}

TEST_CASE("a Repartition is its top entries and the rest as other", "[chart]") {
  FlowStatistic s;
  s.type = StatisticType::kRepartition;
  s.mode = Mode::kAccepted;
  for (int i = 0; i < 15; ++i) {
    DataPoint p;
    p.source_id = "source-" + std::string(40, 'a') + std::to_string(i);
    p.destination_id = "d" + std::to_string(i);
    p.value = static_cast<flowstat::Count>(100 - i);
    s.data_points.push_back(p);
  }
  Query q = SerieQuery(kHour);
  q.type = StatisticType::kRepartition;
  const std::string svg = RenderSvg({s}, q, {kStart, kStart + kDay});
  CHECK(Count(svg, "<rect class=\"bar\"") == 11);
  CHECK(svg.find("other (5 entries)") != std::string::npos);
  CHECK(svg.find(">440 \u00bb<") != std::string::npos);  // 96+95+94+93+92, off the scale of the top 10
  CHECK(svg.find("source-aaa") != std::string::npos);
  CHECK(svg.find("\u2026") != std::string::npos);  // long IDs elided in the middle

  for (int width : {30, 60, 100, 200}) {
    ChartOptions o;
    o.width = width;
    for (bool ascii : {false, true}) {
      o.ascii = ascii;
      const std::string text = RenderTerminal({s}, q, {kStart, kStart + kDay}, o);
      INFO(width << " " << ascii << "\n" << text);
      for (const std::string& line : LinesOf(text)) CHECK(chart::DisplayWidth(line) <= static_cast<size_t>(width));
      CHECK(text.find(width >= 60 ? "other (5 entries)" : "oth") != std::string::npos);
      CHECK(text.find('\x1b') == std::string::npos);  // no colour unless asked
      if (ascii)
        CHECK(std::all_of(text.begin(), text.end(), [](char c) { return static_cast<unsigned char>(c) < 0x80; }));
    }
  }
}

TEST_CASE("terminal Series fit the width and are coloured only when asked", "[chart]") {
  std::vector<flowstat::Count> day;
  for (int i = 0; i < 1440; ++i) day.push_back(static_cast<flowstat::Count>(1000 + (i * 37) % 500));
  const Query q = SerieQuery(kMinute);
  const Window w{kStart, kStart + kDay};
  const std::vector<FlowStatistic> list = {Serie(Mode::kAccepted, day, kMinute),
                                           Serie(Mode::kRejected, {3, 0, 1}, kMinute)};
  for (int width : {20, 50, 80, 133}) {
    ChartOptions o;
    o.width = width;
    o.height = 6;
    const std::string text = RenderTerminal(list, q, w, o);
    INFO(width << "\n" << text);
    for (const std::string& line : LinesOf(text)) CHECK(chart::DisplayWidth(line) <= static_cast<size_t>(width));
    if (width >= 50) CHECK(text.find("Accepted: 1,798,960 flows") != std::string::npos);
    CHECK(text.find("Rejected: 4 flows") != std::string::npos);
    CHECK(text.find('\x1b') == std::string::npos);
    o.color = true;
    CHECK(RenderTerminal(list, q, w, o).find("\x1b[34m") != std::string::npos);
  }
}

}  // namespace flowstat::testing
