// RenderTerminal (flowstat/chart.h): block characters, one cell an eighth at a time.
#include <algorithm>
#include <array>

#include "chart/scales.h"
#include "flowstat/chart.h"

namespace flowstat {
namespace {

using chart::DisplayWidth;

// Eighths of a cell, rising from the bottom and growing from the left.
constexpr std::array<const char*, 9> kRising = {" ", "▁", "▂", "▃", "▄", "▅", "▆", "▇", "█"};
constexpr std::array<const char*, 9> kGrowing = {"", "▏", "▎", "▍", "▌", "▋", "▊", "▉", "█"};
constexpr std::array<const char*, 9> kRisingAscii = {" ", ".", ".", ".", ":", ":", ":", ":", "#"};

const char* AnsiColour(Mode mode) { return mode == Mode::kAccepted ? "\x1b[34m" : "\x1b[38;5;208m"; }
constexpr const char* kAnsiReset = "\x1b[0m";

std::string Pad(std::string text, size_t width, bool right_align) {
  const size_t w = DisplayWidth(text);
  if (w >= width) return text;
  return right_align ? std::string(width - w, ' ') + text : text + std::string(width - w, ' ');
}

std::string Painted(const std::string& text, Mode mode, const ChartOptions& o) {
  return o.color ? AnsiColour(mode) + text + kAnsiReset : text;
}

std::string SerieText(const std::vector<chart::Line>& lines, const Query& query, const Window& window,
                      const ChartOptions& o) {
  const size_t width = static_cast<size_t>(std::max(o.width, 20));
  const int rows = std::max(o.height, 2);
  std::string out = chart::ElideMiddle(ChartTitle(query, window), width, o.ascii) + "\n";
  double max = 0;
  for (const auto& l : lines) max = std::max(max, l.max);
  if (lines.empty() || max == 0) {
    return out + (query.metric == Metric::kPorts ? "No ports in this window\n" : "No flows in this window\n");
  }
  // Each mode on its own scale: rejected flows are often a few percent of the accepted ones.
  for (const auto& l : lines) {
    const double y_max = chart::ValueTicks(l.max, 4).back();
    const size_t label_width = DisplayWidth(chart::ShortNumber(y_max));
    const size_t plot_width = width - label_width - 2;
    out += Painted(chart::ElideMiddle(std::string(chart::ModeName(l.mode)) +
                                          (query.metric == Metric::kPorts
                                               ? ": up to " + chart::ShortNumber(l.max) + " distinct ports per bucket"
                                               : ": " + chart::GroupedCount(l.total) + " flows"),
                                      width, o.ascii),
                   l.mode, o) +
           "\n";
    const auto columns = chart::ColumnExtremes(l.values, std::min(plot_width, l.values.size()));
    for (int row = rows - 1; row >= 0; --row) {
      const bool labelled = row == rows - 1 || row == 0;
      std::string line = Pad(labelled ? chart::ShortNumber(row == 0 ? 0 : y_max) : "", label_width, true) +
                         (o.ascii ? (labelled ? " +" : " |") : (labelled ? " ┤" : " │"));
      std::string cells;
      for (double high : columns.high) {
        const int eighths = static_cast<int>(high / y_max * rows * 8 + 0.5) - row * 8;
        cells += (o.ascii ? kRisingAscii : kRising)[static_cast<size_t>(std::clamp(eighths, 0, 8))];
      }
      out += line + Painted(cells, l.mode, o) + "\n";
    }
    // The time axis under the plot: a label where it fits.
    const size_t used = columns.high.size();
    std::string axis(label_width + 2, ' ');
    std::string labels = axis;
    axis += o.ascii ? std::string(used, '-') : [&] {
      std::string s;
      for (size_t i = 0; i < used; ++i) s += "─";
      return s;
    }();
    const int64_t t0 = l.times.front(), t1 = l.times.back() + query.average_interval_ms;
    size_t next_free = 0;
    for (const auto& tick : chart::TimeTicks(t0, t1, static_cast<int>(std::max<size_t>(used / 14, 1)))) {
      const size_t column = static_cast<size_t>(static_cast<double>(tick.ms - t0) / static_cast<double>(t1 - t0) *
                                                static_cast<double>(used));
      if (column < next_free || column + tick.label.size() > used) continue;
      labels += std::string(column - next_free, ' ') + tick.label;
      next_free = column + tick.label.size() + 2;
      labels += "  ";
    }
    while (!labels.empty() && labels.back() == ' ') labels.pop_back();
    out += axis + "\n" + labels + "\n";
  }
  return out;
}

// A third of the width for "source → destination" labels.
size_t RepartitionLabelWidth(const ChartOptions& o) {
  return std::max<size_t>(static_cast<size_t>(std::max(o.width, 30)) / 3, 10);
}

std::string RepartitionText(const std::vector<chart::Bars>& modes, const Query& query, const Window& window,
                            const ChartOptions& o) {
  const size_t width = static_cast<size_t>(std::max(o.width, 30));
  const size_t label_width = RepartitionLabelWidth(o);
  std::string out = chart::ElideMiddle(ChartTitle(query, window), width, o.ascii) + "\n";
  if (modes.empty())
    return out + (query.metric == Metric::kPorts ? "No ports in this window\n" : "No flows in this window\n");
  for (const auto& m : modes) {
    const std::string heading =
        std::string(chart::ModeName(m.mode)) +
        (m.metric == Metric::kPorts ? " flows by destination port" : " flows by source and destination") + " (total " +
        chart::GroupedCount(m.total) + ")";
    out += Painted(chart::ElideMiddle(heading, width, o.ascii), m.mode, o) + "\n";
    if (m.bars.empty()) out += "  none\n";
    size_t value_width = 0;
    for (const auto& bar : m.bars) value_width = std::max(value_width, chart::GroupedCount(bar.value).size());
    const size_t room = width > label_width + value_width + 6 ? width - label_width - value_width - 6 : 1;
    for (const auto& bar : m.bars) {
      const double share = m.max == 0 ? 1 : static_cast<double>(bar.value) / static_cast<double>(m.max);
      const double eighths_total = std::min(share, 1.0) * static_cast<double>(room) * 8;  // "other" may be off scale
      const size_t eighths = static_cast<size_t>(eighths_total + 0.5);
      std::string cells;
      if (o.ascii) {
        cells = std::string(std::max<size_t>(eighths / 8, bar.value > 0 ? 1 : 0), '#');
      } else {
        for (size_t i = 0; i < eighths / 8; ++i) cells += kGrowing[8];
        cells += kGrowing[eighths % 8];
        if (cells.empty() && bar.value > 0) cells = kGrowing[1];
      }
      out += Pad(chart::ElideMiddle(bar.label, label_width - 2, o.ascii), label_width, false) +
             (bar.other ? cells : Painted(cells, m.mode, o)) + " " + chart::GroupedCount(bar.value) +
             (share > 1 ? (o.ascii ? " >" : " \u00bb") : "") + "\n";
    }
  }
  return out;
}

}  // namespace

std::string RenderTerminal(const std::vector<FlowStatistic>& list, const Query& query, const Window& window,
                           const ChartOptions& options) {
  if (query.type == StatisticType::kRepartition) {
    const size_t label_width = RepartitionLabelWidth(options);
    return RepartitionText(chart::RepartitionBars(list, options.top, label_width - 2, options.ascii), query, window,
                           options);
  }
  return SerieText(chart::SerieLines(list), query, window, options);
}

}  // namespace flowstat
