#include "common/stats.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <numeric>

namespace yardstick {

double quantile_sorted(const std::vector<double>& s, double q) {
  if (s.empty()) return 0;
  double idx = q * (s.size() - 1);
  size_t lo = static_cast<size_t>(std::floor(idx));
  size_t hi = std::min(lo + 1, s.size() - 1);
  return s[lo] + (s[hi] - s[lo]) * (idx - lo);
}

Summary summarize(std::vector<double> v) {
  Summary s;
  s.n = v.size();
  if (v.empty()) return s;
  std::sort(v.begin(), v.end());
  s.min = v.front();
  s.max = v.back();
  s.mean = std::accumulate(v.begin(), v.end(), 0.0) / v.size();
  s.median = quantile_sorted(v, 0.5);
  s.q1 = quantile_sorted(v, 0.25);
  s.q3 = quantile_sorted(v, 0.75);
  if (v.size() > 1) {
    double ss = 0;
    for (double x : v) ss += (x - s.mean) * (x - s.mean);
    s.stddev = std::sqrt(ss / (v.size() - 1));
  }
  std::vector<double> dev;
  for (double x : v) dev.push_back(std::fabs(x - s.median));
  std::sort(dev.begin(), dev.end());
  s.mad = quantile_sorted(dev, 0.5);
  return s;
}

std::vector<double> modified_z_scores(const std::vector<double>& samples) {
  Summary s = summarize(samples);
  std::vector<double> z;
  for (double x : samples) z.push_back(s.mad > 0 ? 0.6745 * (x - s.median) / s.mad : 0.0);
  return z;
}

BenchWarnings bench_warnings(const std::vector<double>& samples) {
  BenchWarnings w;
  if (samples.empty()) return w;
  for (double z : modified_z_scores(samples))
    if (std::fabs(z) > kOutlierThreshold) ++w.outliers;
  char buf[256];
  if (w.outliers) {
    std::snprintf(buf, sizeof buf,
                  "%zu statistical outlier%s (modified z-score above %.0f): other programs or "
                  "caches may have disturbed the measurement",
                  w.outliers, w.outliers == 1 ? "" : "s", kOutlierThreshold);
    w.messages.push_back(buf);
  }
  if (samples.size() >= 3) {
    std::vector<double> rest(samples.begin() + 1, samples.end());
    std::sort(rest.begin(), rest.end());
    double med = quantile_sorted(rest, 0.5);
    if (med > 0 && samples[0] > kSlowFirstRunFactor * med) {
      w.slow_first_run = true;
      std::snprintf(buf, sizeof buf,
                    "the first run took %.2fx the median of the others: caches were probably "
                    "cold; add warmup runs or a prepare command",
                    samples[0] / med);
      w.messages.push_back(buf);
    }
  }
  Summary s = summarize(samples);
  if (s.n >= 2 && s.mean > 0 && s.stddev / s.mean > kHighSpread) {
    w.high_spread = true;
    std::snprintf(buf, sizeof buf,
                  "high spread: the standard deviation is %.1f %% of the mean (above %.0f %%)",
                  100 * s.stddev / s.mean, 100 * kHighSpread);
    w.messages.push_back(buf);
  }
  return w;
}

double normal_cdf(double z) {
  return 0.5 * std::erfc(-z / std::sqrt(2.0));
}

namespace {
// Number of arrangements giving each U for sizes (m, n), no ties.
std::vector<double> u_distribution(size_t m, size_t n) {
  // f[i][j][u]: built incrementally; use the recurrence over a 2-D table of vectors.
  std::vector<std::vector<std::vector<double>>> f(m + 1, std::vector<std::vector<double>>(n + 1));
  for (size_t i = 0; i <= m; ++i)
    for (size_t j = 0; j <= n; ++j) {
      f[i][j].assign(i * j + 1, 0.0);
      if (i == 0 || j == 0) {
        f[i][j][0] = 1;
        continue;
      }
      // The largest value comes from the first sample (adds j to U) or the second.
      for (size_t u = 0; u <= i * j; ++u) {
        double a = u >= j && u - j < f[i - 1][j].size() ? f[i - 1][j][u - j] : 0;
        double b = u < f[i][j - 1].size() ? f[i][j - 1][u] : 0;
        f[i][j][u] = a + b;
      }
    }
  return f[m][n];
}
}  // namespace

MannWhitney mann_whitney(const std::vector<double>& a, const std::vector<double>& b) {
  MannWhitney r;
  const size_t n1 = a.size(), n2 = b.size();
  if (n1 == 0 || n2 == 0) return r;
  std::vector<std::pair<double, int>> all;
  for (double x : a) all.push_back({x, 0});
  for (double x : b) all.push_back({x, 1});
  std::sort(all.begin(), all.end(), [](const auto& x, const auto& y) { return x.first < y.first; });
  const size_t n = all.size();
  std::vector<double> rank(n);
  double tie_term = 0;
  bool ties = false;
  for (size_t i = 0; i < n;) {
    size_t j = i;
    while (j + 1 < n && all[j + 1].first == all[i].first) ++j;
    double avg = (i + j) / 2.0 + 1;
    for (size_t k = i; k <= j; ++k) rank[k] = avg;
    double t = j - i + 1;
    if (t > 1) ties = true;
    tie_term += t * t * t - t;
    i = j + 1;
  }
  double r1 = 0;
  for (size_t i = 0; i < n; ++i)
    if (all[i].second == 0) r1 += rank[i];
  r.u = r1 - n1 * (n1 + 1) / 2.0;
  const double mu = n1 * n2 / 2.0;
  if (std::min(n1, n2) < 8 && !ties) {
    auto dist = u_distribution(n1, n2);
    double total = std::accumulate(dist.begin(), dist.end(), 0.0);
    // Two-sided: twice the smaller tail, capped at 1.
    double u_hi = std::max(r.u, n1 * n2 - r.u);
    double tail = 0;
    for (size_t u = static_cast<size_t>(std::llround(u_hi)); u < dist.size(); ++u) tail += dist[u];
    r.p = std::min(1.0, 2 * tail / total);
    return r;
  }
  double sigma = std::sqrt(n1 * n2 / 12.0 * ((n + 1) - tie_term / (double(n) * (n - 1))));
  if (sigma == 0) {
    r.p = 1;
    return r;
  }
  double z = (std::fabs(r.u - mu) - 0.5) / sigma;  // continuity correction
  if (z < 0) z = 0;
  r.p = std::min(1.0, 2 * (1 - normal_cdf(z)));
  return r;
}

std::string to_string(Verdict v) {
  switch (v) {
    case Verdict::kFaster:
      return "faster";
    case Verdict::kSlower:
      return "slower";
    default:
      return "no change";
  }
}

double smallest_p_value(size_t n1, size_t n2) {
  if (n1 == 0 || n2 == 0) return 1;
  double c = 1;  // C(n1 + n2, n1), as a double: exact far past any run count
  for (size_t i = 1; i <= n1; ++i) c = c * static_cast<double>(n2 + i) / static_cast<double>(i);
  return std::min(1.0, 2 / c);
}

Comparison compare(const std::vector<double>& baseline, const std::vector<double>& variant,
                   double alpha, double noise_floor) {
  Comparison c;
  if (baseline.empty() || variant.empty()) return c;
  Summary sa = summarize(baseline), sb = summarize(variant);
  c.ratio = sa.median > 0 ? sb.median / sa.median : 1;
  c.p = mann_whitney(baseline, variant).p;
  // Moses interval: order statistics of the pairwise differences of log times.
  std::vector<double> d;
  for (double x : baseline)
    for (double y : variant)
      if (x > 0 && y > 0) d.push_back(std::log(y) - std::log(x));
  if (!d.empty()) {
    std::sort(d.begin(), d.end());
    const double n1 = baseline.size(), n2 = variant.size();
    const double z = 1.959963984540054;  // 97.5 % quantile of the normal
    double k = n1 * n2 / 2.0 - z * std::sqrt(n1 * n2 * (n1 + n2 + 1) / 12.0);
    long ki = static_cast<long>(std::floor(k));
    if (ki < 0) ki = 0;
    long lo = ki, hi = static_cast<long>(d.size()) - 1 - ki;
    if (lo > hi) std::swap(lo, hi);
    c.ci_low = std::exp(d[lo]);
    c.ci_high = std::exp(d[hi]);
  }
  if (c.p < alpha && std::fabs(c.ratio - 1) > noise_floor)
    c.verdict = c.ratio < 1 ? Verdict::kFaster : Verdict::kSlower;
  return c;
}

}  // namespace yardstick
