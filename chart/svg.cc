// RenderSvg and ChartTitle (flowstat/chart.h).
#include <fmt/format.h>

#include <algorithm>
#include <ctime>
#include <iterator>

#include "chart/scales.h"
#include "flowstat/chart.h"

namespace flowstat {
namespace {

using chart::Bars;
using chart::Line;

// Okabe–Ito colours, told apart by colour-blind readers too; Rejected is also dashed.
const char* Colour(Mode mode) { return mode == Mode::kAccepted ? "#0072B2" : "#D55E00"; }
const char* Dashes(Mode mode) { return mode == Mode::kAccepted ? "" : " stroke-dasharray=\"7 4\""; }

constexpr int kLeft = 70, kRight = 24, kTitleHeight = 44, kAxisHeight = 44, kLegendHeight = 30;

std::string Escape(std::string_view text) {
  std::string out;
  for (char c : text) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      default:
        // XML 1.0 allows no control characters but tab and newline.
        if (static_cast<unsigned char>(c) >= 0x20 || c == '\t' || c == '\n') out += c;
    }
  }
  return out;
}

std::string FormatUtc(int64_t ms) {
  const std::time_t seconds = static_cast<std::time_t>(ms / 1000);
  std::tm tm{};
  gmtime_r(&seconds, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, tm.tm_sec ? "%Y-%m-%d %H:%M:%S" : "%Y-%m-%d %H:%M", &tm);
  return buf;
}

std::string Duration(int64_t ms) {
  struct Unit {
    int64_t size;
    const char* name;
  };
  for (Unit u : {Unit{86400000, "d"}, Unit{3600000, "h"}, Unit{60000, "m"}, Unit{1000, "s"}}) {
    if (ms % u.size == 0) return std::to_string(ms / u.size) + u.name;
  }
  return std::to_string(ms) + "ms";
}

std::string Header(int width, int height, const std::string& title) {
  return fmt::format(
      "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
      "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{0}\" height=\"{1}\" viewBox=\"0 0 {0} {1}\" "
      "font-family=\"DejaVu Sans, Verdana, sans-serif\" font-size=\"12\">\n<title>{2}</title>\n"
      "<rect width=\"100%\" height=\"100%\" fill=\"#ffffff\"/>\n"
      "<text x=\"{3}\" y=\"24\" font-size=\"14\" font-weight=\"bold\">{2}</text>\n",
      width, height, Escape(title), kLeft);
}

std::string Message(int x, int y, const std::string& text) {
  return fmt::format(
      "<text class=\"empty\" x=\"{}\" y=\"{}\" text-anchor=\"middle\" font-size=\"16\" fill=\"#555555\">{}</text>\n", x,
      y, Escape(text));
}

std::string EmptyMessage(const Query& query) {
  return query.metric == Metric::kPorts ? "No ports in this window" : "No flows in this window";
}

std::string SerieSvg(const std::vector<Line>& lines, const Query& query, const Window& window, const ChartOptions& o) {
  const int plot_width = std::max(o.width - kLeft - kRight, 50), plot_height = std::max(o.height, 60);
  const int top = kTitleHeight, bottom = top + plot_height;
  std::string svg = Header(o.width, bottom + kAxisHeight + kLegendHeight, ChartTitle(query, window));
  auto out = std::back_inserter(svg);

  // The time axis spans the buckets, which may stick out of the window.
  int64_t t0 = window.start_ms, t1 = window.end_ms;
  for (const Line& l : lines) {
    if (!l.times.empty()) {
      t0 = std::min(t0, l.times.front());
      t1 = std::max(t1, l.times.back() + query.average_interval_ms);
    }
  }
  auto x_of = [&](double t) {
    return kLeft + (t - static_cast<double>(t0)) / static_cast<double>(t1 - t0) * plot_width;
  };
  double max = 0;
  for (const Line& l : lines) max = std::max(max, l.max);
  const std::vector<double> ticks = chart::ValueTicks(max, 5);
  const double y_max = ticks.back();
  auto y_of = [&](double v) { return bottom - v / y_max * plot_height; };

  fmt::format_to(out, "<g class=\"y-axis\" stroke=\"#e0e0e0\">\n");
  for (double v : ticks) {
    fmt::format_to(out, "<line x1=\"{}\" x2=\"{}\" y1=\"{:.1f}\" y2=\"{:.1f}\"/>\n", kLeft, kLeft + plot_width, y_of(v),
                   y_of(v));
  }
  fmt::format_to(out, "</g>\n<g class=\"y-labels\" text-anchor=\"end\" fill=\"#333333\">\n");
  for (double v : ticks) {
    fmt::format_to(out, "<text x=\"{}\" y=\"{:.1f}\">{}</text>\n", kLeft - 6, y_of(v) + 4, chart::ShortNumber(v));
  }
  fmt::format_to(out,
                 "</g>\n<g class=\"x-axis\" stroke=\"#333333\">\n<line x1=\"{}\" x2=\"{}\" y1=\"{}\" y2=\"{}\"/>\n",
                 kLeft, kLeft + plot_width, bottom, bottom);
  const auto time_ticks = chart::TimeTicks(t0, t1, std::max(2, plot_width / 110));
  for (const auto& tick : time_ticks) {
    const double x = x_of(static_cast<double>(tick.ms));
    fmt::format_to(out, "<line x1=\"{:.1f}\" x2=\"{:.1f}\" y1=\"{}\" y2=\"{}\"/>\n", x, x, bottom, bottom + 5);
  }
  fmt::format_to(out, "</g>\n<g class=\"x-labels\" text-anchor=\"middle\" fill=\"#333333\">\n");
  for (const auto& tick : time_ticks) {
    fmt::format_to(out, "<text x=\"{:.1f}\" y=\"{}\">{}</text>\n", x_of(static_cast<double>(tick.ms)), bottom + 20,
                   Escape(tick.label));
  }
  fmt::format_to(out, "</g>\n<text x=\"{}\" y=\"{}\" text-anchor=\"end\" fill=\"#777777\">UTC</text>\n",
                 kLeft + plot_width, bottom + 36);

  if (max == 0) svg += Message(kLeft + plot_width / 2, top + plot_height / 2, EmptyMessage(query));
  const double half_bucket = static_cast<double>(query.average_interval_ms) / 2;
  for (const Line& l : lines) {
    if (l.values.empty() || max == 0) continue;
    std::string points;
    auto point = std::back_inserter(points);
    size_t drawn = 0;
    if (l.values.size() <= static_cast<size_t>(plot_width)) {
      for (size_t i = 0; i < l.values.size(); ++i) {
        fmt::format_to(point, "{:.1f},{:.1f} ", x_of(static_cast<double>(l.times[i]) + half_bucket), y_of(l.values[i]));
      }
      drawn = l.values.size();
    } else {  // more buckets than pixel columns: each column's minimum and maximum
      const auto columns = chart::ColumnExtremes(l.values, static_cast<size_t>(plot_width));
      for (size_t c = 0; c < columns.low.size(); ++c) {
        const double x = kLeft + static_cast<double>(c) + 0.5;
        fmt::format_to(point, "{0:.1f},{1:.1f} {0:.1f},{2:.1f} ", x, y_of(columns.high[c]), y_of(columns.low[c]));
      }
      drawn = 2 * columns.low.size();
    }
    fmt::format_to(out,
                   "<polyline class=\"serie\" data-mode=\"{}\" data-points=\"{}\" fill=\"none\" stroke=\"{}\" "
                   "stroke-width=\"1.8\"{} points=\"{}\"/>\n",
                   chart::ModeName(l.mode), drawn, Colour(l.mode), Dashes(l.mode), points);
    if (l.values.size() <= 64) {  // few points: mark each, so that a single one shows
      fmt::format_to(out, "<g fill=\"{}\">\n", Colour(l.mode));
      for (size_t i = 0; i < l.values.size(); ++i) {
        fmt::format_to(out, "<circle class=\"point\" cx=\"{:.1f}\" cy=\"{:.1f}\" r=\"3\"/>\n",
                       x_of(static_cast<double>(l.times[i]) + half_bucket), y_of(l.values[i]));
      }
      svg += "</g>\n";
    }
  }
  int x = kLeft;
  const int legend_y = bottom + kAxisHeight + 14;
  for (const Line& l : lines) {
    const std::string label = fmt::format(
        "{}: {}", chart::ModeName(l.mode),
        query.metric == Metric::kPorts ? fmt::format("up to {} distinct ports per bucket", chart::ShortNumber(l.max))
                                       : fmt::format("{} flows", chart::GroupedCount(l.total)));
    fmt::format_to(out,
                   "<g class=\"legend\"><line x1=\"{0}\" x2=\"{1}\" y1=\"{2}\" y2=\"{2}\" stroke=\"{3}\" "
                   "stroke-width=\"3\"{4}/><text x=\"{5}\" y=\"{6}\">{7}</text></g>\n",
                   x, x + 24, legend_y - 4, Colour(l.mode), Dashes(l.mode), x + 30, legend_y, Escape(label));
    x += 60 + 7 * static_cast<int>(label.size());
  }
  return svg + "</svg>\n";
}

std::string RepartitionSvg(const std::vector<Bars>& modes, const Query& query, const Window& window,
                           const ChartOptions& o) {
  constexpr int kBarHeight = 22, kLabelWidth = 300, kSectionGap = 34;
  const bool empty = std::all_of(modes.begin(), modes.end(), [](const Bars& m) { return m.bars.empty(); });
  int height = kTitleHeight + 30;
  for (const Bars& m : modes) {
    height += kSectionGap + kBarHeight * static_cast<int>(std::max<size_t>(m.bars.size(), 1));
  }
  if (empty) height += 60;
  std::string svg = Header(o.width, height, ChartTitle(query, window));
  auto out = std::back_inserter(svg);
  if (empty) svg += Message(o.width / 2, height - 40, EmptyMessage(query));
  const int bar_left = kLeft + kLabelWidth + 8, bar_room = std::max(o.width - bar_left - 110, 40);
  int y = kTitleHeight + 10;
  for (const Bars& m : modes) {
    y += kSectionGap;
    fmt::format_to(
        out, "<text class=\"section\" x=\"{}\" y=\"{}\" font-weight=\"bold\" fill=\"{}\">{} {} (total {})</text>\n",
        kLeft, y - 10, Colour(m.mode), chart::ModeName(m.mode),
        m.metric == Metric::kPorts ? "flows by destination port" : "flows by source and destination",
        chart::GroupedCount(m.total));
    if (m.bars.empty()) {
      fmt::format_to(out, "<text x=\"{}\" y=\"{}\" fill=\"#555555\">none</text>\n", bar_left, y + 15);
      y += kBarHeight;
      continue;
    }
    for (const auto& bar : m.bars) {
      const double share = m.max == 0 ? 1 : static_cast<double>(bar.value) / static_cast<double>(m.max);
      const double length = std::max(std::min(share, 1.0) * bar_room, 1.0);  // "other" may be off scale
      fmt::format_to(out,
                     "<text x=\"{0}\" y=\"{1}\" text-anchor=\"end\">{2}</text>\n"
                     "<rect class=\"bar\" x=\"{3}\" y=\"{4}\" width=\"{5:.1f}\" height=\"{6}\" fill=\"{7}\"/>\n"
                     "<text x=\"{8:.1f}\" y=\"{1}\">{9}{10}</text>\n",
                     bar_left - 8, y + 15, Escape(bar.label), bar_left, y + 3, length, kBarHeight - 6,
                     bar.other ? "#9a9a9a" : Colour(m.mode), bar_left + length + 6, chart::GroupedCount(bar.value),
                     share > 1 ? " \u00bb" : "");
      y += kBarHeight;
    }
  }
  return svg + "</svg>\n";
}

}  // namespace

std::string ChartTitle(const Query& query, const Window& window) {
  std::string title = fmt::format(
      "{} of {}{}, {} to {} UTC", query.metric == Metric::kPorts ? "Distinct ports" : "Flows", query.namespace_,
      query.recursive ? " and below" : "", FormatUtc(window.start_ms), FormatUtc(window.end_ms));
  if (query.type == StatisticType::kSerie) title += fmt::format(", every {}", Duration(query.average_interval_ms));
  if (query.action != ActionFilter::kAny) title += query.action == ActionFilter::kAccept ? ", accepted" : ", rejected";
  if (query.flow_mode != FlowMode::kApplied)
    title += query.flow_mode == FlowMode::kObserved ? ", observed" : ", applied+observed";
  auto list = [&](const char* name, const std::vector<std::string>& items) {
    if (items.empty()) return;
    fmt::format_to(std::back_inserter(title), ", {}", name);
    for (const std::string& item : items)
      fmt::format_to(std::back_inserter(title), " {}", chart::ElideMiddle(item, 40));
  };
  list("source", query.source_tags);
  list("destination", query.destination_tags);
  list("source ID", query.source_ids);
  list("destination ID", query.destination_ids);
  return title;
}

std::string RenderSvg(const std::vector<FlowStatistic>& list, const Query& query, const Window& window,
                      const ChartOptions& options) {
  if (query.type == StatisticType::kRepartition) {
    return RepartitionSvg(chart::RepartitionBars(list, options.top, 44), query, window, options);
  }
  return SerieSvg(chart::SerieLines(list), query, window, options);
}

}  // namespace flowstat
