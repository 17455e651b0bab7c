#include "chart/scales.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdio>
#include <ctime>

namespace flowstat::chart {
namespace {

constexpr int64_t kSecond = 1000, kMinute = 60 * kSecond, kHour = 60 * kMinute, kDay = 24 * kHour;

std::string FormatUtc(int64_t ms, const char* format) {
  const std::time_t seconds = static_cast<std::time_t>(ms >= 0 ? ms / 1000 : (ms - 999) / 1000);
  std::tm tm{};
  gmtime_r(&seconds, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, format, &tm);
  return buf;
}

bool IsContinuation(char c) { return (static_cast<unsigned char>(c) & 0xC0) == 0x80; }

}  // namespace

std::vector<double> ValueTicks(double max, int target) {
  if (!(max > 0)) return {0, 1};
  const double raw = max / std::max(target, 1);
  const double magnitude = std::pow(10.0, std::floor(std::log10(raw)));
  double step = magnitude;
  for (double m : {1.0, 2.0, 5.0, 10.0}) {
    step = m * magnitude;
    if (step >= raw) break;
  }
  step = std::max(step, 1.0);  // counts are whole numbers
  std::vector<double> ticks;
  for (double v = 0;; v += step) {
    ticks.push_back(v);
    if (v >= max) break;
  }
  return ticks;
}

std::string ShortNumber(double value) {
  struct Unit {
    double size;
    const char* suffix;
  };
  for (Unit u : {Unit{1e12, "T"}, Unit{1e9, "G"}, Unit{1e6, "M"}, Unit{1e3, "k"}}) {
    if (value >= u.size) {
      char buf[32];
      const double scaled = value / u.size;
      // One decimal where it is not noise: 12.5k, but 125k.
      std::snprintf(buf, sizeof buf, scaled < 100 && scaled != std::floor(scaled) ? "%.1f%s" : "%.0f%s", scaled,
                    u.suffix);
      return buf;
    }
  }
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.0f", value);
  return buf;
}

std::string GroupedCount(Count value) {
  const std::string digits = FormatCount(value);
  std::string out;
  for (size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0) out += ',';
    out += digits[i];
  }
  return out;
}

std::vector<TimeTick> TimeTicks(int64_t start_ms, int64_t end_ms, int target) {
  static constexpr std::array<int64_t, 23> kSteps = {
      kSecond,     2 * kSecond,  5 * kSecond,  10 * kSecond, 15 * kSecond, 30 * kSecond, kMinute,   2 * kMinute,
      5 * kMinute, 10 * kMinute, 15 * kMinute, 30 * kMinute, kHour,        2 * kHour,    3 * kHour, 6 * kHour,
      12 * kHour,  kDay,         2 * kDay,     7 * kDay,     14 * kDay,    30 * kDay,    365 * kDay};
  const int64_t span = std::max<int64_t>(end_ms - start_ms, 1);
  int64_t step = kSteps.back();
  for (int64_t s : kSteps) {
    if (span / s <= std::max(target, 1)) {
      step = s;
      break;
    }
  }
  const char* format = step >= kDay ? "%Y-%m-%d" : step >= kMinute ? "%H:%M" : "%H:%M:%S";
  std::vector<TimeTick> ticks;
  int64_t first = start_ms / step * step;
  if (first < start_ms) first += step;
  for (int64_t t = first; t < end_ms; t += step) {
    std::string label = FormatUtc(t, format);
    // Within a day, the date shows at midnight and on the first tick, so the reader knows which day.
    if (step < kDay && (ticks.empty() || t % kDay == 0)) label = FormatUtc(t, "%m-%d ") + label;
    ticks.push_back({t, std::move(label)});
  }
  return ticks;
}

size_t DisplayWidth(std::string_view text) {
  return static_cast<size_t>(std::count_if(text.begin(), text.end(), [](char c) { return !IsContinuation(c); }));
}

std::string ElideMiddle(std::string_view text, size_t max_chars, bool ascii) {
  const size_t width = DisplayWidth(text);
  const std::string_view mark = ascii ? "..." : "\u2026";
  const size_t mark_chars = ascii ? 3 : 1;
  if (width <= max_chars || max_chars < mark_chars + 2) return std::string(text);
  const size_t keep = max_chars - mark_chars, head = (keep + 1) / 2, tail = keep - head;
  auto byte_of = [&](size_t chars) {  // the byte where character number `chars` starts
    size_t seen = 0;
    for (size_t i = 0; i < text.size(); ++i) {
      if (!IsContinuation(text[i]) && seen++ == chars) return i;
    }
    return text.size();
  };
  std::string out(text.substr(0, byte_of(head)));
  out += mark;
  out += text.substr(byte_of(width - tail));
  return out;
}

const char* ModeName(Mode mode) { return mode == Mode::kAccepted ? "Accepted" : "Rejected"; }

std::vector<Line> SerieLines(const std::vector<FlowStatistic>& list) {
  std::vector<Line> lines;
  for (const FlowStatistic& s : list) {
    if (s.type != StatisticType::kSerie) continue;
    Line line{s.mode, {}, {}, 0, 0};
    line.times.reserve(s.data_points.size());
    line.values.reserve(s.data_points.size());
    for (const DataPoint& p : s.data_points) {
      line.times.push_back(p.timestamp_ms);
      line.values.push_back(static_cast<double>(p.value));
      line.total += p.value;
      line.max = std::max(line.max, line.values.back());
    }
    lines.push_back(std::move(line));
  }
  return lines;
}

Extremes ColumnExtremes(const std::vector<double>& values, size_t columns) {
  Extremes e;
  if (values.empty() || columns == 0) return e;
  e.low.resize(columns);
  e.high.resize(columns);
  for (size_t c = 0; c < columns; ++c) {
    size_t begin = c * values.size() / columns, end = (c + 1) * values.size() / columns;
    if (end <= begin) {  // more columns than values: the value under this column
      begin = std::min(values.size() - 1, c * values.size() / columns);
      end = begin + 1;
    }
    const auto [lo, hi] = std::minmax_element(values.begin() + static_cast<std::ptrdiff_t>(begin),
                                              values.begin() + static_cast<std::ptrdiff_t>(end));
    e.low[c] = *lo;
    e.high[c] = *hi;
  }
  return e;
}

std::vector<Bars> RepartitionBars(const std::vector<FlowStatistic>& list, size_t top, size_t label_chars, bool ascii) {
  const std::string arrow = ascii ? " -> " : " \u2192 ";
  std::vector<Bars> out;
  for (const FlowStatistic& s : list) {
    if (s.type != StatisticType::kRepartition) continue;
    Bars b{s.mode, s.metric, {}, 0, 0};
    Count other = 0;
    for (size_t i = 0; i < s.data_points.size(); ++i) {
      const DataPoint& p = s.data_points[i];
      b.total += p.value;
      if (i >= top) {
        other += p.value;
        continue;
      }
      std::string label = s.metric == Metric::kPorts
                              ? "port " + std::to_string(p.port)
                              : ElideMiddle(p.source_id, label_chars / 2, ascii) + arrow +
                                    ElideMiddle(p.destination_id, label_chars - label_chars / 2 - 4, ascii);
      b.bars.push_back({std::move(label), p.value, false});
    }
    if (s.data_points.size() > top) {
      b.bars.push_back({"other (" + std::to_string(s.data_points.size() - top) + " entries)", other, true});
    }
    for (const Bar& bar : b.bars) {
      if (!bar.other) b.max = std::max(b.max, bar.value);
    }
    out.push_back(std::move(b));
  }
  return out;
}

}  // namespace flowstat::chart
