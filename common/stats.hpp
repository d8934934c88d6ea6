// Benchmark statistics: summaries, warnings and the comparison of a variant
// against a baseline. Pure functions; every number is in the unit of the
// samples (seconds for wall times).
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
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
// with tie and continuity correction, never below the exact floor
// smallest_p_value(n1, n2) (no arrangement of the runs is rarer).
struct MannWhitney {
  double u = 0;  // U of the first sample
  double p = 1;
};
MannWhitney mann_whitney(const std::vector<double>& a, const std::vector<double>& b);

// kWithinNoise: the test saw a change (the interval excludes 1) but the
// estimate is within the noise floor, as criterion.rs's "change within
// noise threshold". kNoChange always means the interval includes 1.
enum class Verdict { kFaster, kSlower, kNoChange, kWithinNoise };
std::string to_string(Verdict v);  // "faster", "slower", "no change", "within noise"

// The test a comparison uses, chosen from the design (the run counts, whether
// runs were interleaved by round, alpha), never from the data:
//   kSignedRank: interleaved rounds, paired: the Wilcoxon signed-rank test of
//     the rounds' log ratios, where the rounds let it reach alpha (6 at 0.05);
//   kRankSumOfRounds: interleaved rounds too few for it (4 or 5 at 0.05): the
//     exact Mann-Whitney test of the two samples, rounds unpaired (the order
//     within each round is shuffled, so no variant holds a position);
//   kRankSum: runs in blocks, unequal counts, revisions: Mann-Whitney;
//   kNone: no test can reach alpha with these runs (3 each at 0.05).
enum class Method { kSignedRank, kRankSumOfRounds, kRankSum, kNone };
// As stored (bench_results.method): "wilcoxon-signed-rank",
// "mann-whitney-exact", "mann-whitney", "none".
std::string to_string(Method m);
// In words, for the job log: "paired by round", "Mann-Whitney, exact, rounds
// unpaired", "Mann-Whitney", "no test: too few runs".
std::string describe(Method m);
Method choose_method(size_t n_baseline, size_t n_variant, bool interleaved, double alpha);

// The smallest change a comparison could have detected (see detectable_*).
struct Detectable {
  // Relative (0.061: 6.1 %), at the comparison's alpha and `power`; at least
  // the noise floor (a smaller ratio is "within noise" by rule). nullopt:
  // with these runs no difference could be significant, however large.
  std::optional<double> mde;
  double power = 0.8;
  // Runs per variant that would make the MDE 2 %; nullopt: none would (the
  // noise floor is 2 % or more).
  std::optional<uint32_t> runs_for_2pct;
  double spread = 0;  // the noise: robust standard deviation of the log times (or log ratios)
  size_t n = 0;       // runs per variant the MDE is for (the smaller sample when unpaired)
};

struct Comparison {
  // exp of the Hodges-Lehmann estimate of the log shift: the median of the
  // pairwise differences of log times (unpaired) or of the Walsh averages of
  // the rounds' log ratios (paired). It lies within the interval.
  double ratio = 1;
  // The interval of the ratio at confidence 1 - alpha: the inversion of the
  // very test that gives p (same statistic, same exact or approximate
  // distribution). It excludes 1 exactly when the verdict is faster, slower
  // or within noise. 0 and infinity when no test can decide.
  double ci_low = 1, ci_high = 1;
  double p = 1;
  Verdict verdict = Verdict::kNoChange;
  std::string method = "mann-whitney";  // to_string(Method) of the test used
  Detectable detectable;                // the minimum detectable effect of this comparison
};

// The smallest two-sided p-value the exact Mann-Whitney test can give for
// samples of n1 and n2 runs without ties: 2 / C(n1 + n2, n1). Above alpha,
// no difference can be significant however large (3 runs each: 0.1).
double smallest_p_value(size_t n1, size_t n2);

// The same for a paired comparison of n rounds: the smallest two-sided
// p-value of the exact signed-rank test is 2 / 2^n (5 rounds: 0.0625).
double smallest_paired_p_value(size_t n);

// The rule of what a run count can decide, one for every place that asks
// (the verdict at job end, the warning at submit): some test can decide
// between n1 and n2 runs at alpha when the exact unpaired test can
// (smallest_p_value(n1, n2) < alpha; the paired test needs more rounds, and
// below them the unpaired one is used). runs_to_decide: the fewest runs per
// variant that can (4 at 0.05); 0 when no count up to 64 can (alpha 0).
bool can_decide(size_t n1, size_t n2, double alpha);
size_t runs_to_decide(double alpha);

// The warning a comparison of n1 against n2 runs (`interleaved`: rounds)
// carries when no test can decide at alpha; "" otherwise.
std::string too_few_runs_warning(size_t n1, size_t n2, bool interleaved, double alpha);

// "95% CI" for alpha 0.05: the interval's confidence, in words.
std::string interval_label(double alpha);

// Compares `variant` with `baseline` by the test choose_method gives for
// their counts: interleaved variants with as many runs as the baseline as
// rounds (compare_paired, or the exact unpaired test below the rounds it
// needs), others as two samples (compare). The verdict: when the interval
// excludes 1, faster or slower if the ratio differs from 1 by more than
// `noise_floor`, else within noise; otherwise no change.
Comparison compare_runs(const std::vector<double>& baseline, const std::vector<double>& variant,
                        double alpha, double noise_floor, bool interleaved);

// Compares two independent samples with the Mann-Whitney test on log times
// (kRankSum; kNone, with an unbounded interval, when no test can decide);
// the interval is Moses' distribution-free interval for a shift, the
// inversion of that test, exponentiated into a ratio. Times <= 0 are left out.
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
// (d_i + d_j) / 2, i <= j; the interval at 1 - alpha inverts the
// signed-rank test (order statistics of the Walsh averages, as R's
// wilcox.test(paired = TRUE, conf.int = TRUE)); p is the signed-rank test's.
// Always this test, at any count (compare_runs chooses); the verdict rule is
// compare_runs'. Pairs beyond the shorter sample, and pairs with a time <= 0,
// are left out.
Comparison compare_paired(const std::vector<double>& baseline, const std::vector<double>& variant,
                          double alpha = 0.05, double noise_floor = 0.01);

// The interval of compare_paired's ratio at confidence 1 - alpha; nullopt
// without a pair.
std::optional<std::pair<double, double>> paired_ratio_interval(const std::vector<double>& baseline,
                                                               const std::vector<double>& variant,
                                                               double alpha);

// The standard normal cumulative distribution function.
double normal_cdf(double z);
// Its inverse, for p in (0, 1) (Acklam's approximation and one Halley step:
// relative error below 1e-12).
double normal_quantile(double p);

// The power at which a minimum detectable effect is stated.
constexpr double kMdePower = 0.8;
// Asymptotic relative efficiency of the rank tests (Mann-Whitney, Wilcoxon
// signed-rank) against the t-test for normal data: 3 / pi. The MDE of a rank
// test is the t-test's computed with n * 3 / pi runs.
constexpr double kRankTestEfficiency = 0.954929658551372;

// Robust standard deviation of `x`: 1.4826 MAD (consistent for normal data);
// the sample standard deviation when the MAD is 0 (more than half the values
// equal); 0 with fewer than two values.
double robust_sd(const std::vector<double>& x);

// The shift of log times a two-sided rank test at `alpha` detects with
// probability `power`, by the normal approximation: (z(1 - alpha / 2) +
// z(power)) sd sqrt(1 / (e n1) + 1 / (e n2)) unpaired (sd of log times of
// each sample, pooled), (z(1 - alpha / 2) + z(power)) sd / sqrt(e n) paired
// (sd of the rounds' log ratios), e the efficiency above.
double detectable_log_shift(double sd, size_t n1, size_t n2, double alpha, double power);
double detectable_log_shift_paired(double sd, size_t n, double alpha, double power);

// The minimum detectable effect of comparing `variant` with `baseline` as
// `compare` does (unpaired) or as `compare_paired` does (paired by round):
// exp(shift) - 1 from the noise the samples show, at least `noise_floor`;
// nullopt when the exact test's smallest p-value at these counts is not
// below alpha. runs_for_2pct: per variant, at least the count whose
// smallest p-value is below alpha.
Detectable detectable(const std::vector<double>& baseline, const std::vector<double>& variant,
                      double alpha, double noise_floor, double power = kMdePower);
Detectable detectable_paired(const std::vector<double>& baseline,
                             const std::vector<double>& variant, double alpha, double noise_floor,
                             double power = kMdePower);

// The verdict with what the comparison could see, in words:
//   "no change (could not have seen less than 6.1 % with 20 runs; about 180 runs would see 2 %)"
//   "slower (could see 1.2 % or more with 300 runs)"
//   "within noise (could see 1.0 % or more with 300 runs)"
//   "no change (could not have seen any change with 3 runs; about 14 runs would see 2 %)"
std::string verdict_phrase(Verdict verdict, const Detectable& d);

}  // namespace yardstick
