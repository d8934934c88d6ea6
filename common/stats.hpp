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
};

// The smallest two-sided p-value the exact Mann-Whitney test can give for
// samples of n1 and n2 runs without ties: 2 / C(n1 + n2, n1). Above alpha,
// no difference can be significant however large (3 runs each: 0.1).
double smallest_p_value(size_t n1, size_t n2);

// The warning a comparison of n1 against n2 runs carries when even the
// largest difference could not be significant at alpha; "" otherwise.
std::string too_few_runs_warning(size_t n1, size_t n2, double alpha);

// Compares `variant` with `baseline`. The interval inverts the Mann-Whitney
// test on log times (Moses' distribution-free interval for a shift,
// exponentiated into a ratio). The verdict is faster or slower when
// p < alpha and the ratio differs from 1 by more than `noise_floor`.
Comparison compare(const std::vector<double>& baseline, const std::vector<double>& variant,
                   double alpha = 0.05, double noise_floor = 0.01);

// The standard normal cumulative distribution function.
double normal_cdf(double z);

}  // namespace yardstick
