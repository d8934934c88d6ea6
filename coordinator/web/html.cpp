#include "coordinator/web/html.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>

namespace yardstick::web {

std::string esc(const std::string& text) {
  std::string out;
  out.reserve(text.size() + 16);
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
      case '\'':
        out += "&#39;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

std::string url_encode(const std::string& text) {
  static const char* hex = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : text) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += hex[c >> 4];
      out += hex[c & 15];
    }
  }
  return out;
}

namespace {
constexpr const char* kStyle = R"(
body{font:14px/1.4 system-ui,sans-serif;margin:0;color:#1d232a;background:#f6f7f9}
header{background:#1d3557;color:#fff;padding:8px 16px;display:flex;gap:18px;align-items:center}
header a{color:#fff;text-decoration:none}header b{margin-right:12px}
main{padding:12px 16px}h1{font-size:20px;margin:4px 0 12px}h2{font-size:16px;margin:18px 0 6px}
table{border-collapse:collapse;background:#fff;margin-bottom:8px}
th,td{border:1px solid #d7dbe0;padding:3px 8px;text-align:left;vertical-align:top}
th{background:#eef1f4}td.n{text-align:right;font-variant-numeric:tabular-nums}
.ok{color:#1a7f37}.bad{color:#c62828}.run{color:#1565c0}.skip{color:#777}
.mark-bad{color:#c62828;font-weight:bold}.mark-ok{color:#1a7f37;font-weight:bold}
pre.log{background:#0f1419;color:#e6e6e6;padding:8px;max-height:600px;overflow:auto;
white-space:pre-wrap;word-break:break-all}.stderr{color:#ffb4a9}.system{color:#9ecbff}
form{margin:6px 0 12px}input,select{font:inherit}svg{background:#fff;border:1px solid #d7dbe0}
.summary{border:1px dashed #8a94a0;padding:6px 10px;background:#fff;margin:8px 0}
.error{background:#fdecea;border:1px solid #c62828;padding:10px}
)";
}  // namespace

std::string page(const std::string& title, const std::string& body) {
  return "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>" + esc(title) +
         " · yardstick</title><style>" + kStyle +
         "</style></head><body><header><b>yardstick</b><a href=\"/\">Pipelines</a>"
         "<a href=\"/trends\">Trends</a><a href=\"/machines\">Machines</a>"
         "<a href=\"/deploys\">Deploys</a><a href=\"/reports\">Reports</a>"
         "<a href=\"/metrics\">Metrics</a></header><main><h1>" +
         esc(title) + "</h1>\n" + body + "</main></body></html>\n";
}

std::string duration(std::optional<double> s) {
  if (!s || !std::isfinite(*s)) return "—";
  char buf[64];
  const double v = *s;
  if (v < 1)
    std::snprintf(buf, sizeof buf, "%.0f ms", v * 1000);
  else if (v < 60)
    std::snprintf(buf, sizeof buf, "%.2f s", v);
  else if (v < 3600)
    std::snprintf(buf, sizeof buf, "%dm %02ds", static_cast<int>(v / 60),
                  static_cast<int>(std::fmod(v, 60)));
  else
    std::snprintf(buf, sizeof buf, "%dh %02dm", static_cast<int>(v / 3600),
                  static_cast<int>(std::fmod(v, 3600) / 60));
  return buf;
}

std::string num(double v, int digits) {
  if (!std::isfinite(v)) return "—";
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*g", digits, v);
  return buf;
}

std::string change_pct(double ratio) {
  if (!std::isfinite(ratio)) return "—";
  char buf[64];
  const double pct = (ratio - 1) * 100;
  std::snprintf(buf, sizeof buf, "%s%.1f %%", pct < 0 ? "−" : "+", std::fabs(pct));
  return buf;
}

std::string colour(size_t i) {
  static const char* palette[] = {"#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd",
                                  "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"};
  return palette[i % 10];
}

std::string state_class(const std::string& state) {
  if (state == "succeeded") return "ok";
  if (state == "failed" || state == "timed_out" || state == "cancelled") return "bad";
  if (state == "skipped") return "skip";
  return "run";
}

namespace {

// A round step for an axis spanning `range`.
double nice_step(double range, int ticks) {
  if (range <= 0) return 1;
  const double raw = range / ticks;
  const double mag = std::pow(10, std::floor(std::log10(raw)));
  for (double m : {1.0, 2.0, 2.5, 5.0, 10.0})
    if (raw <= m * mag) return m * mag;
  return 10 * mag;
}

std::string f(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f", v);
  return buf;
}

}  // namespace

std::string line_chart(const std::vector<std::string>& x_labels,
                       const std::vector<ChartSeries>& series, std::optional<double> budget,
                       const std::string& y_unit) {
  const double W = 860, H = 340, L = 70, R = 150, T = 16, B = 70;
  double lo = 0, hi = 0;
  bool any = false;
  for (const auto& s : series)
    for (const auto& p : s.points) {
      hi = any ? std::max(hi, p.y) : p.y;
      any = true;
    }
  if (budget) hi = std::max(hi, *budget);
  if (!any && !budget) hi = 1;
  hi = hi <= 0 ? 1 : hi * 1.1;
  const double n = std::max<size_t>(x_labels.size(), 1);
  auto X = [&](double i) { return L + (n <= 1 ? (W - L - R) / 2 : i * (W - L - R) / (n - 1)); };
  auto Y = [&](double v) { return T + (H - T - B) * (1 - (v - lo) / (hi - lo)); };
  std::string out = "<svg class=\"chart line-chart\" width=\"" + f(W) + "\" height=\"" + f(H) +
                    "\" viewBox=\"0 0 " + f(W) + " " + f(H) + "\" role=\"img\">";
  const double step = nice_step(hi - lo, 5);
  for (double v = 0; v <= hi + 1e-12; v += step)
    out += "<line x1=\"" + f(L) + "\" x2=\"" + f(W - R) + "\" y1=\"" + f(Y(v)) + "\" y2=\"" +
           f(Y(v)) + "\" stroke=\"#e3e6ea\"/><text x=\"" + f(L - 6) + "\" y=\"" + f(Y(v) + 4) +
           "\" text-anchor=\"end\" font-size=\"11\">" + esc(num(v, 3)) + "</text>";
  out += "<text x=\"12\" y=\"" + f(T + 8) + "\" font-size=\"11\">" + esc(y_unit) + "</text>";
  const size_t every = std::max<size_t>(1, x_labels.size() / 12);
  for (size_t i = 0; i < x_labels.size(); i += every)
    out += "<text class=\"x-label\" font-size=\"10\" transform=\"translate(" + f(X(i)) + "," +
           f(H - B + 12) + ") rotate(35)\">" + esc(x_labels[i]) + "</text>";
  if (budget)
    out += "<line class=\"budget\" x1=\"" + f(L) + "\" x2=\"" + f(W - R) + "\" y1=\"" +
           f(Y(*budget)) + "\" y2=\"" + f(Y(*budget)) +
           "\" stroke=\"#c62828\" stroke-dasharray=\"6 4\" stroke-width=\"1.5\"><title>budget " +
           esc(num(*budget)) + " " + esc(y_unit) + "</title></line><text x=\"" + f(W - R + 4) +
           "\" y=\"" + f(Y(*budget) + 4) + "\" font-size=\"11\" fill=\"#c62828\">budget</text>";
  for (size_t s = 0; s < series.size(); ++s) {
    const std::string c = colour(s);
    std::string pts;
    for (const auto& p : series[s].points) pts += f(X(p.x)) + "," + f(Y(p.y)) + " ";
    out += "<g class=\"series\" data-machine=\"" + esc(series[s].name) + "\">";
    if (series[s].points.size() > 1)
      out += "<polyline fill=\"none\" stroke=\"" + c + "\" stroke-width=\"2\" points=\"" + pts +
             "\"/>";
    for (const auto& p : series[s].points) {
      if (!p.mark.empty())
        out += "<circle class=\"mark mark-" + esc(p.mark) + "\" cx=\"" + f(X(p.x)) + "\" cy=\"" +
               f(Y(p.y)) + "\" r=\"8\" fill=\"none\" stroke=\"" +
               (p.mark == "slower" ? "#c62828" : "#1a7f37") + "\" stroke-width=\"2\"><title>" +
               esc(p.mark) + " than the revision before</title></circle>";
      out += "<circle class=\"point\" cx=\"" + f(X(p.x)) + "\" cy=\"" + f(Y(p.y)) +
             "\" r=\"4\" fill=\"" + c + "\"><title>" + esc(p.title) + "</title></circle>";
    }
    out += "</g><rect x=\"" + f(W - R + 8) + "\" y=\"" + f(T + 18 * s + 20) +
           "\" width=\"10\" height=\"10\" fill=\"" + c + "\"/><text x=\"" + f(W - R + 22) +
           "\" y=\"" + f(T + 18 * s + 29) + "\" font-size=\"11\">" + esc(series[s].name) +
           "</text>";
  }
  return out + "</svg>";
}

std::string bar_chart(const std::vector<Bar>& bars, const std::string& unit) {
  const double W = 760, L = 230, R = 40, row = 26, T = 10;
  const double H = T * 2 + row * bars.size() + 20;
  double hi = 0;
  for (const auto& b : bars) hi = std::max({hi, b.value, b.high.value_or(0)});
  hi = hi <= 0 ? 1 : hi * 1.08;
  auto X = [&](double v) { return L + (W - L - R) * v / hi; };
  static const std::map<std::string, std::string> fill = {
      {"base", "#7f8c9a"}, {"faster", "#2ca02c"}, {"slower", "#d62728"}, {"same", "#1f77b4"}};
  std::string out = "<svg class=\"chart bar-chart\" width=\"" + f(W) + "\" height=\"" + f(H) +
                    "\" viewBox=\"0 0 " + f(W) + " " + f(H) + "\" role=\"img\">";
  const double step = nice_step(hi, 5);
  for (double v = 0; v <= hi + 1e-12; v += step)
    out += "<line x1=\"" + f(X(v)) + "\" x2=\"" + f(X(v)) + "\" y1=\"" + f(T) + "\" y2=\"" +
           f(H - 20) + "\" stroke=\"#e3e6ea\"/><text x=\"" + f(X(v)) + "\" y=\"" + f(H - 6) +
           "\" text-anchor=\"middle\" font-size=\"10\">" + esc(num(v, 3)) + "</text>";
  for (size_t i = 0; i < bars.size(); ++i) {
    const Bar& b = bars[i];
    const double y = T + row * i;
    auto it = fill.find(b.css);
    out += "<text x=\"" + f(L - 6) + "\" y=\"" + f(y + 16) +
           "\" text-anchor=\"end\" font-size=\"11\">" + esc(b.label) + "</text>";
    out += "<rect class=\"bar bar-" + esc(b.css) + "\" x=\"" + f(L) + "\" y=\"" + f(y + 4) +
           "\" width=\"" + f(std::max(1.0, X(b.value) - L)) + "\" height=\"" + f(row - 8) +
           "\" fill=\"" + (it == fill.end() ? "#1f77b4" : it->second) + "\"><title>" +
           esc(b.title) + "</title></rect>";
    if (b.low && b.high)
      out += "<g class=\"whisker\" stroke=\"#1d232a\" stroke-width=\"1.5\"><line x1=\"" +
             f(X(*b.low)) + "\" x2=\"" + f(X(*b.high)) + "\" y1=\"" + f(y + row / 2) + "\" y2=\"" +
             f(y + row / 2) + "\"/><line x1=\"" + f(X(*b.low)) + "\" x2=\"" + f(X(*b.low)) +
             "\" y1=\"" + f(y + 7) + "\" y2=\"" + f(y + row - 7) + "\"/><line x1=\"" +
             f(X(*b.high)) + "\" x2=\"" + f(X(*b.high)) + "\" y1=\"" + f(y + 7) + "\" y2=\"" +
             f(y + row - 7) + "\"/></g>";
  }
  out += "<text x=\"" + f(W - R) + "\" y=\"" + f(H - 6) + "\" font-size=\"10\">" + esc(unit) +
         "</text>";
  return out + "</svg>";
}

std::string timeline(const std::vector<Span>& spans, double origin_s) {
  std::vector<std::string> rows;
  double end = 0;
  for (const auto& s : spans) {
    if (std::find(rows.begin(), rows.end(), s.row) == rows.end()) rows.push_back(s.row);
    end = std::max(end, s.end_s - origin_s);
  }
  if (end <= 0) end = 1;
  const double W = 860, L = 160, R = 20, row = 28, T = 6;
  const double H = T + row * rows.size() + 22;
  auto X = [&](double s) { return L + (W - L - R) * std::max(0.0, s - origin_s) / end; };
  static const std::map<std::string, std::string> fill = {
      {"ok", "#2ca02c"}, {"bad", "#d62728"}, {"run", "#1f77b4"}, {"skip", "#b0b7bf"}};
  std::string out = "<svg class=\"chart timeline\" width=\"" + f(W) + "\" height=\"" + f(H) +
                    "\" viewBox=\"0 0 " + f(W) + " " + f(H) + "\" role=\"img\">";
  const double step = nice_step(end, 6);
  for (double v = 0; v <= end + 1e-12; v += step)
    out += "<line x1=\"" + f(X(origin_s + v)) + "\" x2=\"" + f(X(origin_s + v)) + "\" y1=\"" +
           f(T) + "\" y2=\"" + f(H - 18) + "\" stroke=\"#e3e6ea\"/><text x=\"" +
           f(X(origin_s + v)) + "\" y=\"" + f(H - 5) +
           "\" text-anchor=\"middle\" font-size=\"10\">" + esc(duration(v)) + "</text>";
  for (size_t r = 0; r < rows.size(); ++r)
    out += "<text x=\"" + f(L - 6) + "\" y=\"" + f(T + row * r + 18) +
           "\" text-anchor=\"end\" font-size=\"11\">" + esc(rows[r]) + "</text>";
  for (const auto& s : spans) {
    const size_t r = std::find(rows.begin(), rows.end(), s.row) - rows.begin();
    auto it = fill.find(s.css);
    std::string rect = "<rect class=\"span span-" + esc(s.css) + "\" x=\"" + f(X(s.start_s)) +
                       "\" y=\"" + f(T + row * r + 4) + "\" width=\"" +
                       f(std::max(2.0, X(s.end_s) - X(s.start_s))) + "\" height=\"" + f(row - 8) +
                       "\" fill=\"" + (it == fill.end() ? "#1f77b4" : it->second) +
                       "\" fill-opacity=\"0.85\"><title>" + esc(s.title) + "</title></rect>";
    if (!s.href.empty()) rect = "<a href=\"" + esc(s.href) + "\">" + rect + "</a>";
    out += rect;
  }
  return out + "</svg>";
}

}  // namespace yardstick::web
