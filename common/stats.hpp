// Benchmark statistics: summaries, warnings and the comparison of a variant
// against a baseline. Pure functions; every number is in the unit of the
// samples (seconds for wall times).
#pragma once

#include <cstddef>
#include <string>
#include <vector>

namespace yardstick {

struct Summary {
  size_t n = 0;
  double min = 0, max = 0, mean = 0, median = 0;
  double stddev = 0;      // sample standard deviation (n - 1); 0 when n < 2
  double mad = 0;         // median absolute deviation from the median, unscaled
  double q1 = 0, q3 = 0;  // quartiles, linear interpolation (numpy's default)
};

Summary summarize(std::vector<double> samples);

// Quantile q in [0, 1] of sorted data, linear interpolation between order statistics.
double quantile_sorted(const std::vector<double>& sorted, double q);

// Modified z-scores (0.6745 (x - median) / MAD), as hyperfine computes them.
std::vector<double> modified_z_scores(const std::vector<double>& samples);
constexpr double kOutlierThreshold = 14.0;  // hyperfine's

struct BenchWarnings {
  size_t outliers = 0;          // |modified z| above kOutlierThreshold
  bool slow_first_run = false;  // first counted run > 1.5 x the median of the rest
  bool high_spread = false;     // stddev / mean above kHighSpread
  std::vector<std::string> messages;
};
constexpr double kSlowFirstRunFactor = 1.5;
constexpr double kHighSpread = 0.05;

// `samples` in run order.
BenchWarnings bench_warnings(const std::vector<double>& samples);

// Two-sided Mann-Whitney U test. Exact distribution when a sample has at
// most 8 values and there are no ties (as scipy's method='auto'), and the
// other at most 400 (bounded memory); otherwise the normal approximation
// with tie and continuity correction.
struct MannWhitney {
  double u = 0;  // U of the first sample
  double p = 1;
};
MannWhitney mann_whitney(const std::vector<double>& a, const std::vector<double>& b);

enum class Verdict { kFaster, kSlower, kNoChange };
std::string to_string(Verdict v);

struct Comparison {
  double ratio = 1;                // median(variant) / median(baseline)
  double ci_low = 1, ci_high = 1;  // 95 % confidence interval of the ratio
  double p = 1;
  Verdict verdict = Verdict::kNoChange;
  std::string method = "mann-whitney";  // or "wilcoxon-signed-rank" (paired by round)
};

// The smallest two-sided p-value the exact Mann-Whitney test can give for
// samples of n1 and n2 runs without ties: 2 / C(n1 + n2, n1). Above alpha,
// no difference can be significant however large (3 runs each: 0.1).
double smallest_p_value(size_t n1, size_t n2);

// The warning a comparison of n1 against n2 runs carries when even the
// largest difference could not be significant at alpha; "" otherwise.
std::string too_few_runs_warning(size_t n1, size_t n2, double alpha);

// The same for a paired comparison of n rounds: the smallest two-sided
// p-value of the exact signed-rank test is 2 / 2^n (5 rounds: 0.0625).
double smallest_paired_p_value(size_t n);
std::string too_few_pairs_warning(size_t n, double alpha);

// Compares `variant` with `baseline`. The interval inverts the Mann-Whitney
// test on log times (Moses' distribution-free interval for a shift,
// exponentiated into a ratio). The verdict is faster or slower when
// p < alpha and the ratio differs from 1 by more than `noise_floor`.
Comparison compare(const std::vector<double>& baseline, const std::vector<double>& variant,
                   double alpha = 0.05, double noise_floor = 0.01);

// Two-sided Wilcoxon signed-rank test of paired differences `d` against a
// median of 0. Zeros are dropped (Wilcoxon's method, scipy's default
// zero_method='wilcox'); ties get average ranks. Exact distribution when at
// most 25 differences remain and there were neither ties nor zeros (as
// scipy's method='auto' before 1.13); otherwise the normal approximation
// with tie correction and continuity correction.
struct SignedRank {
  double t_plus = 0;  // sum of the ranks of the positive differences
  double t_minus = 0;
  size_t n = 0;  // differences that are not zero
  bool exact = false;
  double p = 1;
};
SignedRank wilcoxon_signed_rank(const std::vector<double>& d);

// The number of subsets of {1..n} summing to each t in [0, n (n + 1) / 2]:
// the null distribution of the signed-rank statistic, times 2^n.
std::vector<double> signed_rank_distribution(size_t n);

// Compares `variant` with `baseline` run by run: run i of each was taken in
// the same round of an interleaved benchmark, so the drift of the machine
// cancels in d_i = log(variant_i) - log(baseline_i). The ratio is
// exp(Hodges-Lehmann estimate of d), the median of the Walsh averages
// (d_i + d_j) / 2, i <= j; the 95 % interval inverts the signed-rank test
// (order statistics of the Walsh averages, as R's wilcox.test(paired = TRUE,
// conf.int = TRUE)); p is the signed-rank test's. The verdict rule is
// compare's. Pairs beyond the shorter sample, and pairs with a time <= 0,
// are left out.
Comparison compare_paired(const std::vector<double>& baseline, const std::vector<double>& variant,
                          double alpha = 0.05, double noise_floor = 0.01);

// The standard normal cumulative distribution function.
double normal_cdf(double z);

}  // namespace yardstick
