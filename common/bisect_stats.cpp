#include "common/bisect_stats.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

#include "common/change_points.hpp"

namespace yardstick {

namespace {
double mean(const std::vector<double>& v) {
  double s = 0;
  for (double x : v) s += x;
  return v.empty() ? 0 : s / static_cast<double>(v.size());
}

double variance(const std::vector<double>& v) {
  if (v.size() < 2) return 0;
  const double m = mean(v);
  double s = 0;
  for (double x : v) s += (x - m) * (x - m);
  return s / static_cast<double>(v.size() - 1);
}
}  // namespace

double median_of(std::vector<double> v) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  const size_t n = v.size();
  return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

double robust_spread(const std::vector<double>& a, const std::vector<double>& b) {
  std::vector<double> deviations;
  for (const auto* v : {&a, &b}) {
    const double m = median_of(*v);
    for (double x : *v) deviations.push_back(std::abs(x - m));
  }
  const double mad = 1.4826 * median_of(deviations);
  if (mad > 0) return mad;
  const double na = static_cast<double>(a.size()), nb = static_cast<double>(b.size());
  if (na + nb < 3) return 0;
  return std::sqrt(((na - 1) * variance(a) + (nb - 1) * variance(b)) / (na + nb - 2));
}

MedianDifference median_difference(const std::vector<double>& a, const std::vector<double>& b) {
  MedianDifference d;
  const double na = static_cast<double>(a.size()), nb = static_cast<double>(b.size());
  d.diff = median_of(b) - median_of(a);
  d.df = na + nb - 2;
  if (d.df < 1) return d;
  d.se = std::sqrt(M_PI / 2) * robust_spread(a, b) * std::sqrt(1 / na + 1 / nb);
  if (d.se > 0)
    d.p = student_t_two_sided_p(d.diff / d.se, d.df);
  else
    d.p = d.diff == 0 ? 1 : 0;
  return d;
}

double detect_z() {
  return student_t_quantile(0.975, 1e6) + student_t_quantile(0.8, 1e6);
}

double runs_for_half(double spread, double change) {
  if (change == 0) return std::numeric_limits<double>::infinity();
  return M_PI * std::pow(detect_z() * spread / (std::abs(change) / 2), 2);
}

double smallest_visible(double spread, double runs) {
  return detect_z() * spread * std::sqrt(M_PI / runs);
}

}  // namespace yardstick
