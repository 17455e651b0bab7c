// What the SVG and terminal charts share: axis ticks, labels, and the data a chart draws.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "flowstat/query.h"

namespace flowstat::chart {

// Round value-axis ticks from 0 to at least `max` (steps of 1, 2 or 5 times a power of ten),
// about `target` of them; max 0 gives 0 and 1.
std::vector<double> ValueTicks(double max, int target);

// "950", "12.5k", "3M": short labels for axis ticks.
std::string ShortNumber(double value);
// "1,234,567": an exact figure with thousands separators.
std::string GroupedCount(Count value);

struct TimeTick {
  int64_t ms;
  std::string label;
};
// UTC ticks inside [start_ms, end_ms) on multiples of a round step (1 s to 30 d), about
// `target` of them, labelled with what changes at that step ("13:05:30", "13:05", "11-19 13:00",
// "2025-11-19").
std::vector<TimeTick> TimeTicks(int64_t start_ms, int64_t end_ms, int target);

// "abcdefgh…uvwxyz": `text` cut in the middle to at most `max_chars` characters (UTF-8 aware);
// with `ascii`, "..." marks the cut.
std::string ElideMiddle(std::string_view text, size_t max_chars, bool ascii = false);

// The number of characters (code points) of UTF-8 `text`.
size_t DisplayWidth(std::string_view text);

const char* ModeName(Mode mode);

// One mode of a Serie, ready to draw: bucket starts and values.
struct Line {
  Mode mode;
  std::vector<int64_t> times;
  std::vector<double> values;
  Count total = 0;
  double max = 0;
};
std::vector<Line> SerieLines(const std::vector<FlowStatistic>& list);

// The extremes of `values` in each of `columns` equal slices of [0, values.size()): what a pixel
// column or a terminal cell can show of a longer series. Slices with no value repeat the previous.
struct Extremes {
  std::vector<double> low, high;
};
Extremes ColumnExtremes(const std::vector<double>& values, size_t columns);

// One mode of a Repartition: its largest `top` entries (in the answer's order) and the rest.
struct Bar {
  std::string label;
  Count value = 0;
  bool other = false;  // the sum of the entries left out
};
struct Bars {
  Mode mode;
  Metric metric;
  std::vector<Bar> bars;  // the last one is "other (N entries)" when entries were left out
  Count total = 0;
  Count max = 0;  // of the entries shown: "other" may exceed it, and is then drawn off scale
};
// Labels of at most `label_chars` characters ("source → destination", "port 443"); ASCII only
// with `ascii`.
std::vector<Bars> RepartitionBars(const std::vector<FlowStatistic>& list, size_t top, size_t label_chars,
                                  bool ascii = false);

}  // namespace flowstat::chart
