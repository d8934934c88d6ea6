// HTML and SVG text for the dashboard's pages: escaping, the page frame,
// number formats and the charts, drawn on the server as SVG (no script, no
// request leaving the machine). Everything that came from the database or
// the request passes through esc() before it is written.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace yardstick::web {

// Text for HTML element content and attribute values.
std::string esc(const std::string& text);
// A query-string component.
std::string url_encode(const std::string& text);

// The whole page: head, navigation, `title` (escaped here) and `body`.
std::string page(const std::string& title, const std::string& body);

// Seconds as "850 ms", "12.3 s", "4m 05s"; "—" for none.
std::string duration(std::optional<double> seconds);
// A number with `digits` significant digits.
std::string num(double v, int digits = 4);
// A ratio 0.87 as "−13.0 %".
std::string change_pct(double ratio);
// A colour for series `i` (distinct for the first ten).
std::string colour(size_t i);
// The CSS class of a job state ("ok", "bad", "run", "skip").
std::string state_class(const std::string& state);

// A line chart: one series per machine of (x index, y) points, x labels,
// an optional horizontal line (the budget) and marked points.
struct ChartPoint {
  size_t x = 0;
  double y = 0;
  std::string title;  // tooltip
  std::string mark;   // "slower", "faster" or "" — drawn as a ring of its own colour
};
struct ChartSeries {
  std::string name;
  std::vector<ChartPoint> points;
};
std::string line_chart(const std::vector<std::string>& x_labels,
                       const std::vector<ChartSeries>& series, std::optional<double> budget,
                       const std::string& y_unit);

// Horizontal bars with whiskers: one bar per row.
struct Bar {
  std::string label;
  double value = 0;
  std::optional<double> low, high;  // the whisker; none for a baseline
  std::string css;                  // "base", "faster", "slower", "same"
  std::string title;
};
std::string bar_chart(const std::vector<Bar>& bars, const std::string& unit);

// A timeline: rows of spans on one time axis (seconds from `origin_s`).
struct Span {
  std::string row;
  double start_s = 0, end_s = 0;
  std::string label, css, title, href;
};
std::string timeline(const std::vector<Span>& spans, double origin_s);

}  // namespace yardstick::web
