#include "common/change_points.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>
#include <optional>

#include "common/stats.hpp"

namespace yardstick {

namespace {

// The continued fraction of the regularized incomplete beta function
// (modified Lentz), convergent for x < (a + 1) / (a + b + 2).
double beta_fraction(double a, double b, double x) {
  constexpr double kTiny = 1e-300, kEpsilon = 1e-15;
  double c = 1, d = 1 - (a + b) * x / (a + 1);
  if (std::fabs(d) < kTiny) d = kTiny;
  d = 1 / d;
  double h = d;
  for (int m = 1; m <= 500; ++m) {
    const double m2 = 2.0 * m;
    double aa = m * (b - m) * x / ((a + m2 - 1) * (a + m2));
    d = 1 + aa * d;
    if (std::fabs(d) < kTiny) d = kTiny;
    c = 1 + aa / c;
    if (std::fabs(c) < kTiny) c = kTiny;
    d = 1 / d;
    h *= d * c;
    aa = -(a + m) * (a + b + m) * x / ((a + m2) * (a + m2 + 1));
    d = 1 + aa * d;
    if (std::fabs(d) < kTiny) d = kTiny;
    c = 1 + aa / c;
    if (std::fabs(c) < kTiny) c = kTiny;
    d = 1 / d;
    const double step = d * c;
    h *= step;
    if (std::fabs(step - 1) < kEpsilon) break;
  }
  return h;
}

// I_x(a, b).
double incomplete_beta(double a, double b, double x) {
  if (x <= 0) return 0;
  if (x >= 1) return 1;
  const double front = std::exp(std::lgamma(a + b) - std::lgamma(a) - std::lgamma(b) +
                                a * std::log(x) + b * std::log1p(-x));
  if (x < (a + 1) / (a + b + 2)) return front * beta_fraction(a, b, x) / a;
  return 1 - front * beta_fraction(b, a, 1 - x) / b;
}

double median_of(std::vector<double> v) {
  return v.empty() ? 0 : summarize(std::move(v)).median;
}

// |t| of two groups given their sums and sums of squares (pooled variance,
// `df` degrees of freedom); infinite when both are constant and differ.
double two_group_t(double s1, double q1, double n1, double s2, double q2, double n2, double df) {
  const double within = std::max(0.0, (q1 - s1 * s1 / n1) + (q2 - s2 * s2 / n2));
  const double diff = std::fabs(s2 / n2 - s1 / n1);
  const double variance = within / df * (1 / n1 + 1 / n2);
  if (variance > 1e-24) return diff / std::sqrt(variance);
  return diff > 1e-12 ? std::numeric_limits<double>::infinity() : 0;
}

// The points a pair of splits is searched among (see Search::segment).
constexpr size_t kPairWindow = 300;

struct Split {
  size_t index;
  double p;
};

class Search {
 public:
  Search(const std::vector<double>& y, const std::vector<bool>& boundary,
         const ChangeOptions& options)
      : y_(y), boundary_(boundary), o_(options) {}

  // Splits [lo, hi) at its best boundary while the split is significant.
  void segment(size_t lo, size_t hi) {
    const size_t n = hi - lo, min = std::max<size_t>(o_.min_segment, 1);
    if (n < 2 * min || n < 3) return;
    std::vector<double> sum(n + 1, 0), squares(n + 1, 0);
    for (size_t i = 0; i < n; ++i) {
      sum[i + 1] = sum[i] + y_[lo + i];
      squares[i + 1] = squares[i] + y_[lo + i] * y_[lo + i];
    }
    const double df = static_cast<double>(n) - 2;
    double best_t = -1;
    size_t best = 0, tried = 0;
    for (size_t k = min; k + min <= n; ++k) {
      if (!boundary_.empty() && !boundary_[lo + k]) continue;
      ++tried;
      const double n1 = static_cast<double>(k), n2 = static_cast<double>(n - k);
      const double t =
          two_group_t(sum[k], squares[k], n1, sum[n] - sum[k], squares[n] - squares[k], n2, df);
      if (t > best_t) {
        best_t = t;
        best = k;
      }
    }
    if (tried == 0) return;
    // Half of alpha for one split, half for a pair (below).
    const double p = std::min(1.0, static_cast<double>(tried) * student_t_two_sided_p(best_t, df));
    if (best_t > 0 && p < o_.alpha / 2) {
      splits_.push_back({lo + best, p});
      segment(lo, lo + best);
      segment(lo + best, hi);
      return;
    }
    // A change that comes back (up for a while, then down again) leaves no
    // single split that stands out: the best pair of splits, the middle
    // against both ends, O(w^2) for the newest w = kPairWindow points of
    // the segment (a long segment's recent past is where a change that
    // came and went matters).
    if (n < 3 * min) return;
    double pair_t = -1;
    size_t first = 0, second = 0, pairs = 0;
    const size_t window_start = n > kPairWindow ? n - kPairWindow : 0;
    for (size_t i = std::max(min, window_start); i + 2 * min <= n; ++i) {
      if (!boundary_.empty() && !boundary_[lo + i]) continue;
      for (size_t j = i + min; j + min <= n; ++j) {
        if (!boundary_.empty() && !boundary_[lo + j]) continue;
        ++pairs;
        const double n2 = static_cast<double>(j - i), n1 = static_cast<double>(n) - n2;
        const double s2 = sum[j] - sum[i], q2 = squares[j] - squares[i];
        const double t = two_group_t(sum[n] - s2, squares[n] - q2, n1, s2, q2, n2, df);
        if (t > pair_t) {
          pair_t = t;
          first = i;
          second = j;
        }
      }
    }
    if (pairs == 0 || pair_t <= 0) return;
    const double pair_p =
        std::min(1.0, static_cast<double>(pairs) * student_t_two_sided_p(pair_t, df));
    if (!(pair_p < o_.alpha / 2)) return;
    splits_.push_back({lo + first, pair_p});
    splits_.push_back({lo + second, pair_p});
    segment(lo, lo + first);
    segment(lo + first, lo + second);
    segment(lo + second, hi);
  }

  std::vector<Split> take() {
    std::sort(splits_.begin(), splits_.end(),
              [](const Split& a, const Split& b) { return a.index < b.index; });
    return std::move(splits_);
  }

 private:
  const std::vector<double>& y_;
  const std::vector<bool>& boundary_;
  const ChangeOptions& o_;
  std::vector<Split> splits_;
};

}  // namespace

double student_t_two_sided_p(double t, double df) {
  if (std::isnan(t) || df <= 0) return 1;
  if (std::isinf(t)) return 0;
  return incomplete_beta(df / 2, 0.5, df / (df + t * t));
}

double student_t_quantile(double p, double df) {
  if (p <= 0) return -std::numeric_limits<double>::infinity();
  if (p >= 1) return std::numeric_limits<double>::infinity();
  if (p < 0.5) return -student_t_quantile(1 - p, df);
  // Upper half: find t >= 0 with P(T > t) = 1 - p by bisection.
  const double tail = 2 * (1 - p);  // two-sided p-value of t
  double lo = 0, hi = 1;
  while (student_t_two_sided_p(hi, df) > tail && hi < 1e12) hi *= 2;
  for (int i = 0; i < 200 && hi - lo > 1e-12 * hi; ++i) {
    const double mid = (lo + hi) / 2;
    (student_t_two_sided_p(mid, df) > tail ? lo : hi) = mid;
  }
  return (lo + hi) / 2;
}

std::vector<ChangePoint> find_change_points(const std::vector<double>& values,
                                            const std::vector<bool>& boundary,
                                            const ChangeOptions& options) {
  std::vector<ChangePoint> out;
  if (values.size() < 3) return out;
  if (!boundary.empty() && boundary.size() != values.size()) return out;
  std::vector<double> y;
  y.reserve(values.size());
  for (double v : values) {
    if (!(v > 0) || !std::isfinite(v)) return out;
    y.push_back(std::log(v));
  }
  // Centred, so that the sums of squares keep their precision.
  double mean = 0;
  for (double v : y) mean += v / static_cast<double>(y.size());
  for (double& v : y) v -= mean;

  // The search sees the log values clipped at 5 robust standard deviations
  // from the series' median: a run 5 times as slow as the rest (a machine
  // that paused) weighs as a slow run, not as a change, while a step of any
  // size still stands 5 deviations out. What is reported comes from the
  // values as they are.
  std::vector<double> clipped = y;
  {
    const Summary s = summarize(y);
    const double width = 5 * 1.482602218505602 * s.mad;
    if (width > 0)
      for (double& v : clipped) v = std::clamp(v, s.median - width, s.median + width);
  }
  Search search(clipped, boundary, options);
  search.segment(0, y.size());
  std::vector<Split> splits = search.take();
  // Each change is judged again between its neighbours (the segments it
  // separates in the end), and one whose interval there holds no change is
  // dropped, the least significant first, until every one left stands: a
  // split made on a long segment may not survive its final neighbours.
  auto judged = [&](size_t i) {
    const size_t lo = i == 0 ? 0 : splits[i - 1].index, at = splits[i].index;
    const size_t hi = i + 1 == splits.size() ? y.size() : splits[i + 1].index;
    ChangePoint c;
    c.index = at;
    c.p = splits[i].p;
    c.n_before = at - lo;
    c.n_after = hi - at;
    c.median_before = median_of({values.begin() + lo, values.begin() + at});
    c.median_after = median_of({values.begin() + at, values.begin() + hi});
    double m1 = 0, m2 = 0;
    for (size_t k = lo; k < at; ++k) m1 += y[k] / static_cast<double>(c.n_before);
    for (size_t k = at; k < hi; ++k) m2 += y[k] / static_cast<double>(c.n_after);
    double within = 0;
    for (size_t k = lo; k < at; ++k) within += (y[k] - m1) * (y[k] - m1);
    for (size_t k = at; k < hi; ++k) within += (y[k] - m2) * (y[k] - m2);
    const double df = static_cast<double>(c.n_before + c.n_after) - 2;
    const double sd = df > 0 ? std::sqrt(within / df) : 0;
    const double scale = sd * std::sqrt(1.0 / c.n_before + 1.0 / c.n_after);
    const double tq = df > 0 ? student_t_quantile(1 - options.alpha / 2, df) : 0;
    c.ratio = std::exp(m2 - m1);
    c.ci_low = std::exp(m2 - m1 - tq * scale);
    c.ci_high = std::exp(m2 - m1 + tq * scale);
    c.detectable = std::exp((tq + normal_quantile(options.power)) * scale) - 1;
    return c;
  };
  for (;;) {
    std::optional<size_t> weakest;
    double weakest_margin = 0;
    for (size_t i = 0; i < splits.size(); ++i) {
      const ChangePoint c = judged(i);
      // How far the interval stays from 1, in log units; <= 0: it holds 1.
      const double margin = c.ratio > 1 ? std::log(c.ci_low) : -std::log(c.ci_high);
      if (margin <= 0 && (!weakest || margin < weakest_margin)) {
        weakest = i;
        weakest_margin = margin;
      }
    }
    if (!weakest) break;
    splits.erase(splits.begin() + static_cast<std::ptrdiff_t>(*weakest));
  }
  for (size_t i = 0; i < splits.size(); ++i) {
    const ChangePoint c = judged(i);
    if (std::fabs(c.ratio - 1) >= options.noise_floor) out.push_back(c);
  }
  return out;
}

std::string ratio_percent(double ratio) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%+.1f %%", 100 * (ratio - 1));
  return buf;
}

}  // namespace yardstick
