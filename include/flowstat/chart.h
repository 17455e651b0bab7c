// flowstat/chart.h — FlowStatistics as pictures: a self-contained SVG, or text for a terminal.
//
// A Serie becomes a line per mode over a UTC time axis, a Repartition horizontal bars of its
// largest entries with the rest summed as "other". Drawing may thin a long Serie to the points a
// pixel column (or a terminal cell) can show — its minimum and maximum — but the figures printed
// (totals, axis ranges) are the exact ones of the statistics.
#pragma once

#include <string>
#include <vector>

#include "flowstat/query.h"

namespace flowstat {

struct ChartOptions {
  int width = 960;     // SVG: pixels; terminal: columns (callers pass COLUMNS or the tty's width)
  int height = 360;    // SVG: pixels of the plot area; terminal: rows of each mode's plot
  size_t top = 10;     // Repartition: entries drawn before "other"
  bool ascii = false;  // terminal: only ASCII characters
  bool color = false;  // terminal: ANSI colours
};

// "Flows of /acme (recursive), 2025-11-13 00:00 to 2025-11-20 00:00 UTC, every 1h, ..." — what
// was asked, for a chart's title. `window` is the query's resolved window.
std::string ChartTitle(const Query& query, const Window& window);

// An SVG document (UTF-8, no external references) of `list`, the answer to `query` over `window`.
std::string RenderSvg(const std::vector<FlowStatistic>& list, const Query& query, const Window& window,
                      const ChartOptions& options = {});

// Lines of text (each at most options.width columns, '\n'-terminated) drawing `list`.
std::string RenderTerminal(const std::vector<FlowStatistic>& list, const Query& query, const Window& window,
                           const ChartOptions& options);

}  // namespace flowstat
