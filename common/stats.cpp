#include "common/stats.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <numeric>
#include <tuple>

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
// Number of arrangements giving each U for sizes (m, n), no ties, by the
// recurrence f(i, j) = f(i - 1, j) shifted by j + f(i, j - 1), keeping only
// two rows of i: memory m n^2 / 2 values at most (kExactMax bounds n).
std::vector<double> u_distribution(size_t m, size_t n) {
  std::vector<std::vector<double>> prev(n + 1), cur(n + 1);
  for (size_t j = 0; j <= n; ++j) prev[j] = {1.0};  // i = 0: U is 0
  for (size_t i = 1; i <= m; ++i) {
    cur[0] = {1.0};  // j = 0: U is 0
    for (size_t j = 1; j <= n; ++j) {
      cur[j].assign(i * j + 1, 0.0);
      // The largest value comes from the first sample (adds j to U) or the second.
      for (size_t u = 0; u <= i * j; ++u) {
        double a = u >= j && u - j < prev[j].size() ? prev[j][u - j] : 0;
        double b = u < cur[j - 1].size() ? cur[j - 1][u] : 0;
        cur[j][u] = a + b;
      }
    }
    std::swap(prev, cur);
  }
  return prev[n];
}

// Exact p-values for a sample of at most 8 (as scipy) against one of at most
// this many; beyond it the normal approximation, which is close there.
constexpr size_t kExactMax = 400;

// The smallest value v in [lo, hi] with count_le(v) > k, where count_le
// counts the candidates at or below a value (non-decreasing): the k-th
// smallest candidate (from 0), by bisection on the value until no double lies
// between the bounds.
template <typename CountLe>
double kth_by_bisection(double lo, double hi, long k, const CountLe& count_le) {
  if (count_le(lo) > k) return lo;
  // Invariant: count_le(lo) <= k < count_le(hi).
  for (int i = 0; i < 2000; ++i) {
    double mid = lo + (hi - lo) / 2;
    if (mid <= lo || mid >= hi) break;
    (count_le(mid) > k ? hi : lo) = mid;
  }
  return hi;
}

// The k-th smallest (from 0) of the n1 n2 differences b[j] - a[i] of two
// sorted samples, without forming them (runs can number 100,000s): bisection
// on the value, counting the differences at or below it in O(n1 + n2).
double kth_difference(const std::vector<double>& a, const std::vector<double>& b, long k) {
  auto count_le = [&](double t) {
    long count = 0;
    size_t j = 0;  // b[0..j) - a[i] <= t; j only grows as a[i] grows
    for (double x : a) {
      while (j < b.size() && b[j] - x <= t) ++j;
      count += static_cast<long>(j);
    }
    return count;
  };
  return kth_by_bisection(b.front() - a.back(), b.back() - a.front(), k, count_le);
}

// Whether u_distribution(min, max) stays within a few MB and milliseconds.
bool exact_is_cheap(size_t n1, size_t n2) {
  return (std::min(n1, n2) <= 8 && std::max(n1, n2) <= kExactMax) || std::max(n1, n2) <= 50;
}
}  // namespace

namespace {

// The null distribution of a two-sided rank statistic S (U of the first
// sample of Mann-Whitney, or T+ of the signed-rank test), symmetric about
// `mean`, as the p-value of each value of S: from a table of counts by
// integer value (exact), or the normal approximation with continuity
// correction, never below `floor`. One function gives the test's p and, by
// its inversion, the interval: they cannot disagree.
struct RankNull {
  double mean = 0;
  std::vector<double> cum;  // exact: cum[k] = arrangements with S <= k; empty: normal
  double sd = 0;            // normal
  double floor = 0;         // normal: the exact test's smallest p at these counts

  // P(|S - mean| >= |s - mean|), capped at 1. A mid-rank s (ties) between
  // two values of the table counts as the less extreme one.
  double p(double s) const {
    const double dev = std::fabs(s - mean);
    if (!cum.empty()) {
      const double at = std::ceil(mean - dev - 1e-9);
      if (at < 0) return 0;
      const size_t k = std::min(static_cast<size_t>(at), cum.size() - 1);
      return std::min(1.0, 2 * cum[k] / cum.back());
    }
    if (!(sd > 0)) return 1;
    const double z = std::max(0.0, (dev - 0.5) / sd);
    return std::clamp(2 * (1 - normal_cdf(z)), floor, 1.0);
  }
};

std::vector<double> cumulative(std::vector<double> counts) {
  for (size_t k = 1; k < counts.size(); ++k) counts[k] += counts[k - 1];
  return counts;
}

// Mann-Whitney's U of samples of n1 and n2 values; `tie_term` the sum of
// t^3 - t over the groups of equal values in the pooled data.
RankNull rank_sum_null(size_t n1, size_t n2, bool exact, double tie_term) {
  RankNull null;
  null.mean = n1 * n2 / 2.0;
  if (exact) {
    null.cum = cumulative(u_distribution(std::min(n1, n2), std::max(n1, n2)));
    return null;
  }
  const double n = static_cast<double>(n1 + n2);
  null.sd = std::sqrt(n1 * n2 / 12.0 * ((n + 1) - tie_term / (n * (n - 1))));
  null.floor = smallest_p_value(n1, n2);
  return null;
}

// Wilcoxon's T+ of n differences (none zero); `tie_term` the sum of t^3 - t
// over the groups of equal absolute values.
RankNull signed_rank_null(size_t n, bool exact, double tie_term) {
  RankNull null;
  null.mean = n * (n + 1) / 4.0;
  if (exact) {
    null.cum = cumulative(signed_rank_distribution(n));
    return null;
  }
  const double var = n * (n + 1.0) * (2 * n + 1.0) / 24.0 - tie_term / 48.0;
  null.sd = var > 0 ? std::sqrt(var) : 0;
  // No arrangement of n signs, tied or not, is rarer than 2 / 2^n: the
  // approximation may not claim more (all ties at n = 5 would give 0.037).
  null.floor = smallest_paired_p_value(n);
  return null;
}

// The largest integer s in [0, mean] whose p is below alpha; -1 when none
// (no value of the statistic is significant). p rises towards the mean.
long rejection_bound(const RankNull& null, double alpha) {
  if (!(null.p(0) < alpha)) return -1;
  long lo = 0, hi = static_cast<long>(std::floor(null.mean));  // p(lo) < alpha <= p(hi)
  if (null.p(static_cast<double>(hi)) < alpha) return hi;
  while (hi - lo > 1) {
    const long mid = lo + (hi - lo) / 2;
    (null.p(static_cast<double>(mid)) < alpha ? lo : hi) = mid;
  }
  return lo;
}

// Sum of t^3 - t over the groups of equal values of sorted `x`.
double tie_term_of(const std::vector<double>& sorted) {
  double term = 0;
  for (size_t i = 0; i < sorted.size();) {
    size_t j = i;
    while (j + 1 < sorted.size() && sorted[j + 1] == sorted[i]) ++j;
    const double t = static_cast<double>(j - i + 1);
    term += t * t * t - t;
    i = j + 1;
  }
  return term;
}

// U of `a` (ties count one half) and the pooled tie term.
struct RankSumStatistic {
  double u = 0;
  double tie_term = 0;
};
RankSumStatistic rank_sum_statistic(const std::vector<double>& a, const std::vector<double>& b) {
  RankSumStatistic r;
  const size_t n1 = a.size();
  std::vector<std::pair<double, int>> all;
  for (double x : a) all.push_back({x, 0});
  for (double x : b) all.push_back({x, 1});
  std::sort(all.begin(), all.end(), [](const auto& x, const auto& y) { return x.first < y.first; });
  const size_t n = all.size();
  double r1 = 0;
  for (size_t i = 0; i < n;) {
    size_t j = i;
    while (j + 1 < n && all[j + 1].first == all[i].first) ++j;
    const double avg = (i + j) / 2.0 + 1;
    for (size_t k = i; k <= j; ++k)
      if (all[k].second == 0) r1 += avg;
    const double t = static_cast<double>(j - i + 1);
    r.tie_term += t * t * t - t;
    i = j + 1;
  }
  r.u = r1 - n1 * (n1 + 1) / 2.0;
  return r;
}

// scipy's method='auto': the exact distribution for a sample of at most 8
// (the other bounded) without ties.
bool mann_whitney_exact(size_t n1, size_t n2, bool ties) {
  return std::min(n1, n2) <= 8 && std::max(n1, n2) <= kExactMax && !ties;
}

// A shift of log times with its interval at 1 - alpha, in logs: -infinity
// and infinity when no shift is significant. `p` is the test's at shift 0.
struct ShiftInterval {
  double estimate = 0, low = 0, high = 0, p = 1;
};

// Mann-Whitney on the log times of sorted `la`, `lb` and its inversion. At
// a shift d not among the n1 n2 differences lb[j] - la[i], U of la is the
// count of differences below d and the pooled ties are those within each
// sample: the test's null there is one and the same, so the shifts it does
// not reject are those between the (c + 1)-th smallest difference and the
// (c + 1)-th largest, c the rejection bound. `always_exact`: the exact
// table even with ties (mid-ranks: conservative), where it is cheap.
ShiftInterval rank_sum_shift(const std::vector<double>& la, const std::vector<double>& lb,
                             bool always_exact, double alpha) {
  ShiftInterval r;
  const size_t n1 = la.size(), n2 = lb.size();
  const auto at_zero = rank_sum_statistic(la, lb);
  const double within = tie_term_of(la) + tie_term_of(lb);
  const bool cheap = exact_is_cheap(n1, n2);
  const bool exact_at_zero =
      always_exact ? cheap : mann_whitney_exact(n1, n2, at_zero.tie_term > 0);
  const bool exact_between = always_exact ? cheap : mann_whitney_exact(n1, n2, within > 0);
  r.p = rank_sum_null(n1, n2, exact_at_zero, at_zero.tie_term).p(at_zero.u);
  const long pairs = static_cast<long>(n1 * n2);
  r.estimate =
      pairs % 2 ? kth_difference(la, lb, pairs / 2)
                : (kth_difference(la, lb, pairs / 2 - 1) + kth_difference(la, lb, pairs / 2)) / 2;
  const long c = rejection_bound(rank_sum_null(n1, n2, exact_between, within), alpha);
  r.low = c < 0 ? -INFINITY : kth_difference(la, lb, c);
  r.high = c < 0 ? INFINITY : kth_difference(la, lb, pairs - 1 - c);
  return r;
}

std::vector<double> sorted_logs(const std::vector<double>& x) {
  std::vector<double> out;
  for (double v : x)
    if (v > 0) out.push_back(std::log(v));
  std::sort(out.begin(), out.end());
  return out;
}

// The comparison's ratio, interval and verdict from a shift in logs. The
// interval is the set of shifts the test does not reject, closed; when zero
// is itself one of the differences (two runs of the same time), the test at
// zero sees that tie and the shifts around it do not, so zero is added to
// the interval if the test does not reject it, and a change is reported
// only when the interval excludes zero and the test rejects it.
void judge(const ShiftInterval& s, double alpha, double noise_floor, Comparison* c) {
  double low = s.low, high = s.high;
  if (!(s.p < alpha)) {
    low = std::min(low, 0.0);
    high = std::max(high, 0.0);
  }
  const bool seen = s.p < alpha && (low > 0 || high < 0);
  c->p = s.p;
  c->ratio = std::exp(s.estimate);
  c->ci_low = std::exp(low);
  c->ci_high = std::exp(high);
  // exp may round a shift of 1e-17 to a ratio of exactly 1: keep the side.
  if (low > 0 && c->ci_low <= 1) c->ci_low = std::nextafter(1.0, 2.0);
  if (high < 0 && c->ci_high >= 1) c->ci_high = std::nextafter(1.0, 0.0);
  if (!seen)
    c->verdict = Verdict::kNoChange;
  else if (std::fabs(c->ratio - 1) <= noise_floor)
    c->verdict = Verdict::kWithinNoise;
  else
    c->verdict = s.estimate < 0 ? Verdict::kFaster : Verdict::kSlower;
}

}  // namespace

MannWhitney mann_whitney(const std::vector<double>& a, const std::vector<double>& b) {
  MannWhitney r;
  const size_t n1 = a.size(), n2 = b.size();
  if (n1 == 0 || n2 == 0) return r;
  const auto stat = rank_sum_statistic(a, b);
  r.u = stat.u;
  const bool exact = mann_whitney_exact(n1, n2, stat.tie_term > 0);
  r.p = rank_sum_null(n1, n2, exact, stat.tie_term).p(r.u);
  return r;
}

std::string to_string(Verdict v) {
  switch (v) {
    case Verdict::kFaster:
      return "faster";
    case Verdict::kSlower:
      return "slower";
    case Verdict::kWithinNoise:
      return "within noise";
    default:
      return "no change";
  }
}

std::string to_string(Method m) {
  switch (m) {
    case Method::kSignedRank:
      return "wilcoxon-signed-rank";
    case Method::kRankSumOfRounds:
      return "mann-whitney-exact";
    case Method::kNone:
      return "none";
    default:
      return "mann-whitney";
  }
}

std::string describe(Method m) {
  switch (m) {
    case Method::kSignedRank:
      return "paired by round";
    case Method::kRankSumOfRounds:
      return "Mann-Whitney, exact, rounds unpaired";
    case Method::kNone:
      return "no test: too few runs";
    default:
      return "Mann-Whitney";
  }
}

double smallest_p_value(size_t n1, size_t n2) {
  if (n1 == 0 || n2 == 0) return 1;
  double c = 1;  // C(n1 + n2, n1), as a double: exact far past any run count
  for (size_t i = 1; i <= n1; ++i) c = c * static_cast<double>(n2 + i) / static_cast<double>(i);
  return std::min(1.0, 2 / c);
}

double smallest_paired_p_value(size_t n) {
  return std::min(1.0, 2 / std::ldexp(1.0, static_cast<int>(std::min<size_t>(n, 1000))));
}

bool can_decide(size_t n1, size_t n2, double alpha) {
  return smallest_p_value(n1, n2) < alpha;
}

size_t runs_to_decide(double alpha) {
  for (size_t n = 1; n <= 64; ++n)
    if (can_decide(n, n, alpha)) return n;
  return 0;
}

Method choose_method(size_t n_baseline, size_t n_variant, bool interleaved, double alpha) {
  if (!can_decide(n_baseline, n_variant, alpha)) return Method::kNone;
  if (!interleaved || n_baseline != n_variant) return Method::kRankSum;
  return smallest_paired_p_value(n_baseline) < alpha ? Method::kSignedRank
                                                     : Method::kRankSumOfRounds;
}

std::string too_few_runs_warning(size_t n1, size_t n2, bool interleaved, double alpha) {
  if (can_decide(n1, n2, alpha)) return "";
  const size_t enough = runs_to_decide(alpha);
  char counts[80];
  if (interleaved && n1 == n2)
    std::snprintf(counts, sizeof counts, "%zu interleaved round%s", n1, n1 == 1 ? "" : "s");
  else
    std::snprintf(counts, sizeof counts, "%zu and %zu runs", n1, n2);
  char buf[300];
  std::snprintf(buf, sizeof buf,
                "too few runs to tell: with %s no test can decide at alpha %.3g (the smallest "
                "possible p-value is %.3g); %s",
                counts, alpha, smallest_p_value(n1, n2),
                enough ? ("give both at least " + std::to_string(enough) + " runs").c_str()
                       : "no run count can at this alpha");
  return buf;
}

std::string interval_label(double alpha) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.4g%% CI", 100 * (1 - alpha));
  return buf;
}

namespace {
Comparison compare_unpaired(const std::vector<double>& baseline, const std::vector<double>& variant,
                            double alpha, double noise_floor, Method method) {
  Comparison c;
  c.method = to_string(method);
  const auto la = sorted_logs(baseline), lb = sorted_logs(variant);
  if (la.empty() || lb.empty()) return c;
  judge(rank_sum_shift(la, lb, method == Method::kRankSumOfRounds, alpha), alpha, noise_floor, &c);
  c.detectable = detectable(baseline, variant, alpha, noise_floor);
  return c;
}
}  // namespace

Comparison compare(const std::vector<double>& baseline, const std::vector<double>& variant,
                   double alpha, double noise_floor) {
  const size_t n1 = sorted_logs(baseline).size(), n2 = sorted_logs(variant).size();
  return compare_unpaired(baseline, variant, alpha, noise_floor,
                          choose_method(n1, n2, false, alpha));
}

Comparison compare_runs(const std::vector<double>& baseline, const std::vector<double>& variant,
                        double alpha, double noise_floor, bool interleaved) {
  const Method m = choose_method(baseline.size(), variant.size(), interleaved, alpha);
  if (m == Method::kSignedRank) return compare_paired(baseline, variant, alpha, noise_floor);
  Comparison c = compare_unpaired(baseline, variant, alpha, noise_floor, m);
  // Rounds: more of them would be judged paired, so the runs that would see
  // 2 % are the paired test's.
  if (interleaved && baseline.size() == variant.size())
    c.detectable.runs_for_2pct =
        detectable_paired(baseline, variant, alpha, noise_floor).runs_for_2pct;
  return c;
}

}  // namespace yardstick

namespace yardstick {

std::vector<double> signed_rank_distribution(size_t n) {
  const size_t max_t = n * (n + 1) / 2;
  std::vector<double> f(max_t + 1, 0.0);
  f[0] = 1;
  // Adding rank r: each subset either leaves it out or adds r to its sum.
  for (size_t r = 1; r <= n; ++r)
    for (size_t t = r * (r + 1) / 2; t >= r; --t) f[t] += f[t - r];
  return f;
}

namespace {
constexpr size_t kSignedRankExactMax = 25;

// The k-th smallest (from 0) Walsh average (d_i + d_j) / 2, i <= j, of
// sorted `d`, without forming the n (n + 1) / 2 of them: bisection on the
// value, counting the averages at or below it in O(n).
double kth_walsh_average(const std::vector<double>& d, long k) {
  auto count_le = [&](double t) {
    long count = 0;
    long j = static_cast<long>(d.size()) - 1;  // largest j with d[i] + d[j] <= 2t; shrinks
    for (long i = 0; i < static_cast<long>(d.size()); ++i) {
      while (j >= 0 && d[i] + d[j] > 2 * t) --j;
      if (j < i) break;
      count += j - i + 1;
    }
    return count;
  };
  return kth_by_bisection(d.front(), d.back(), k, count_le);
}
}  // namespace

namespace {
// The signed-rank test of `d` (differences of logs, any order) and its
// inversion, as R's wilcox.test(paired = TRUE, conf.int = TRUE). At a shift
// t that is not a Walsh average, no difference is t and no two are the same
// distance from it on either side, so T+ is the count of Walsh averages
// above t and the only ties are equal differences: the test's null there is
// one and the same, and the shifts it does not reject are those between the
// (c + 1)-th smallest Walsh average and the (c + 1)-th largest.
ShiftInterval signed_rank_shift(std::vector<double> d, double alpha) {
  ShiftInterval r;
  r.p = wilcoxon_signed_rank(d).p;
  std::sort(d.begin(), d.end());
  const size_t n = d.size();
  const long walsh = static_cast<long>(n * (n + 1) / 2);
  r.estimate = walsh % 2
                   ? kth_walsh_average(d, walsh / 2)
                   : (kth_walsh_average(d, walsh / 2 - 1) + kth_walsh_average(d, walsh / 2)) / 2;
  const double ties = tie_term_of(d);
  const long c =
      rejection_bound(signed_rank_null(n, n <= kSignedRankExactMax && ties == 0, ties), alpha);
  r.low = c < 0 ? -INFINITY : kth_walsh_average(d, c);
  r.high = c < 0 ? INFINITY : kth_walsh_average(d, walsh - 1 - c);
  return r;
}

std::vector<double> round_log_ratios(const std::vector<double>& baseline,
                                     const std::vector<double>& variant) {
  std::vector<double> d;
  for (size_t i = 0; i < std::min(baseline.size(), variant.size()); ++i)
    if (baseline[i] > 0 && variant[i] > 0)
      d.push_back(std::log(variant[i]) - std::log(baseline[i]));
  return d;
}
}  // namespace

std::optional<std::pair<double, double>> paired_ratio_interval(const std::vector<double>& baseline,
                                                               const std::vector<double>& variant,
                                                               double alpha) {
  const auto d = round_log_ratios(baseline, variant);
  if (d.empty()) return std::nullopt;
  Comparison c;
  judge(signed_rank_shift(d, alpha), alpha, 0, &c);
  return std::make_pair(c.ci_low, c.ci_high);
}

SignedRank wilcoxon_signed_rank(const std::vector<double>& d) {
  SignedRank r;
  std::vector<double> nz;
  bool zeros = false;
  for (double x : d) {
    if (x == 0)
      zeros = true;
    else
      nz.push_back(x);
  }
  const size_t n = nz.size();
  r.n = n;
  if (n == 0) return r;
  std::sort(nz.begin(), nz.end(), [](double a, double b) { return std::fabs(a) < std::fabs(b); });
  bool ties = false;
  double tie_term = 0;
  for (size_t i = 0; i < n;) {
    size_t j = i;
    while (j + 1 < n && std::fabs(nz[j + 1]) == std::fabs(nz[i])) ++j;
    const double avg = (i + j) / 2.0 + 1;
    for (size_t k = i; k <= j; ++k) (nz[k] > 0 ? r.t_plus : r.t_minus) += avg;
    const double t = j - i + 1;
    if (t > 1) ties = true;
    tie_term += t * t * t - t;
    i = j + 1;
  }
  r.exact = n <= kSignedRankExactMax && !ties && !zeros;
  r.p = signed_rank_null(n, r.exact, tie_term).p(r.t_plus);
  return r;
}

Comparison compare_paired(const std::vector<double>& baseline, const std::vector<double>& variant,
                          double alpha, double noise_floor) {
  Comparison c;
  c.method = to_string(Method::kSignedRank);
  const auto d = round_log_ratios(baseline, variant);
  if (d.empty()) return c;
  judge(signed_rank_shift(d, alpha), alpha, noise_floor, &c);
  c.detectable = detectable_paired(baseline, variant, alpha, noise_floor);
  return c;
}

double normal_quantile(double p) {
  if (p <= 0) return -INFINITY;
  if (p >= 1) return INFINITY;
  // Acklam's rational approximations, central region and tails.
  static const double a[] = {-3.969683028665376e+01, 2.209460984245205e+02,  -2.759285104469687e+02,
                             1.383577518672690e+02,  -3.066479806614716e+01, 2.506628277459239e+00};
  static const double b[] = {-5.447609879822406e+01, 1.615858368580409e+02, -1.556989798598866e+02,
                             6.680131188771972e+01, -1.328068155288572e+01};
  static const double c[] = {-7.784894002430293e-03, -3.223964580411365e-01, -2.400758277161838e+00,
                             -2.549732539343734e+00, 4.374664141464968e+00,  2.938163982698783e+00};
  static const double d[] = {7.784695709041462e-03, 3.224671290700398e-01, 2.445134137142996e+00,
                             3.754408661907416e+00};
  const double low = 0.02425;
  double x;
  if (p < low) {
    const double q = std::sqrt(-2 * std::log(p));
    x = (((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5]) /
        ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1);
  } else if (p <= 1 - low) {
    const double q = p - 0.5, r = q * q;
    x = (((((a[0] * r + a[1]) * r + a[2]) * r + a[3]) * r + a[4]) * r + a[5]) * q /
        (((((b[0] * r + b[1]) * r + b[2]) * r + b[3]) * r + b[4]) * r + 1);
  } else {
    const double q = std::sqrt(-2 * std::log(1 - p));
    x = -(((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5]) /
        ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1);
  }
  // One step of Halley's method on Phi(x) - p.
  const double e = normal_cdf(x) - p;
  const double u = e * std::sqrt(2 * M_PI) * std::exp(x * x / 2);
  return x - u / (1 + x * u / 2);
}

double robust_sd(const std::vector<double>& x) {
  if (x.size() < 2) return 0;
  Summary s = summarize(x);
  return s.mad > 0 ? 1.482602218505602 * s.mad : s.stddev;
}

double detectable_log_shift(double sd, size_t n1, size_t n2, double alpha, double power) {
  if (n1 == 0 || n2 == 0) return INFINITY;
  const double z = normal_quantile(1 - alpha / 2) + normal_quantile(power);
  return z * sd * std::sqrt((1.0 / n1 + 1.0 / n2) / kRankTestEfficiency);
}

double detectable_log_shift_paired(double sd, size_t n, double alpha, double power) {
  if (n == 0) return INFINITY;
  const double z = normal_quantile(1 - alpha / 2) + normal_quantile(power);
  return z * sd / std::sqrt(n * kRankTestEfficiency);
}

namespace {
std::vector<double> logs_of(const std::vector<double>& x) {
  std::vector<double> out;
  for (double v : x)
    if (v > 0) out.push_back(std::log(v));
  return out;
}

// The runs per variant that make `shift_at(n)` at most log(1.02): the
// shift falls as 1 / sqrt(n), so n = n0 (shift(n0) / log 1.02)^2, then at
// least `smallest` (the exact test's floor).
std::optional<uint32_t> runs_for(double shift_at_one, size_t smallest, double noise_floor) {
  if (noise_floor >= 0.02) return std::nullopt;
  const double want = std::log(1.02);
  double n = std::ceil(shift_at_one * shift_at_one / (want * want) - 1e-9);
  n = std::max(n, static_cast<double>(smallest));
  return static_cast<uint32_t>(std::min(n, 1e9));
}
}  // namespace

Detectable detectable(const std::vector<double>& baseline, const std::vector<double>& variant,
                      double alpha, double noise_floor, double power) {
  Detectable d;
  d.power = power;
  const auto la = logs_of(baseline), lb = logs_of(variant);
  d.n = std::min(la.size(), lb.size());
  if (la.empty() || lb.empty()) return d;
  const double sa = robust_sd(la), sb = robust_sd(lb);
  d.spread = std::sqrt((sa * sa + sb * sb) / 2);
  const size_t smallest = std::max<size_t>(runs_to_decide(alpha), 2);
  // Equal counts n: the shift is shift(1, 1) / sqrt(n).
  d.runs_for_2pct =
      runs_for(detectable_log_shift(d.spread, 1, 1, alpha, power), smallest, noise_floor);
  if (!can_decide(la.size(), lb.size(), alpha)) return d;
  const double shift = detectable_log_shift(d.spread, la.size(), lb.size(), alpha, power);
  d.mde = std::max(std::expm1(shift), noise_floor);
  return d;
}

Detectable detectable_paired(const std::vector<double>& baseline,
                             const std::vector<double>& variant, double alpha, double noise_floor,
                             double power) {
  Detectable d;
  d.power = power;
  std::vector<double> r;
  for (size_t i = 0; i < std::min(baseline.size(), variant.size()); ++i)
    if (baseline[i] > 0 && variant[i] > 0) r.push_back(std::log(variant[i] / baseline[i]));
  d.n = r.size();
  if (r.empty()) return d;
  d.spread = robust_sd(r);
  size_t smallest = 2;
  while (smallest < 64 && smallest_paired_p_value(smallest) >= alpha) ++smallest;
  d.runs_for_2pct =
      runs_for(detectable_log_shift_paired(d.spread, 1, alpha, power), smallest, noise_floor);
  if (smallest_paired_p_value(r.size()) >= alpha) return d;
  d.mde = std::max(std::expm1(detectable_log_shift_paired(d.spread, r.size(), alpha, power)),
                   noise_floor);
  return d;
}

std::string verdict_phrase(Verdict verdict, const Detectable& d) {
  char buf[200];
  const std::string runs = std::to_string(d.n) + (d.n == 1 ? " run" : " runs");
  std::string would;
  if (d.runs_for_2pct && *d.runs_for_2pct > d.n)
    would = "; about " + std::to_string(*d.runs_for_2pct) + " runs would see 2 %";
  else if (!d.runs_for_2pct && verdict == Verdict::kNoChange)
    would = "; no run count would see 2 % (noise floor)";
  if (!d.mde) {
    std::snprintf(buf, sizeof buf, "%s (could not have seen any change with %s%s)",
                  to_string(verdict).c_str(), runs.c_str(), would.c_str());
  } else if (verdict == Verdict::kNoChange) {
    std::snprintf(buf, sizeof buf, "no change (could not have seen less than %.1f %% with %s%s)",
                  100 * *d.mde, runs.c_str(), would.c_str());
  } else {
    std::snprintf(buf, sizeof buf, "%s (could see %.1f %% or more with %s)",
                  to_string(verdict).c_str(), 100 * *d.mde, runs.c_str());
  }
  return buf;
}

}  // namespace yardstick
