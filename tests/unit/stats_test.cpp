// Benchmark statistics against reference values computed independently with
// numpy 1.24 and scipy 1.10 (Debian 12's python3-numpy and python3-scipy):
//
//   v = np.array(A); med = np.median(v)
//   v.mean(), v.std(ddof=1), np.median(abs(v - med)), np.percentile(v, 25), np.percentile(v, 75)
//   scipy.stats.mannwhitneyu(A, B, alternative='two-sided', method='auto')
//   Moses interval, the inversion of that test, as R's wilcox.test(conf.int = TRUE):
//     d = sorted(log(y) - log(x) for x in A for y in B)
//     qu = max(1, smallest q with P(U <= q) >= 0.025), the distribution of U
//       counted by enumerating itertools.combinations(range(1, n1 + n2 + 1), n1)
//     exp(d[qu - 1]), exp(d[-qu])
//   checked by brute force in plain Python: the closure of the shifts t
//   (between neighbouring d) at which the test of log(A) against log(B) - t
//   gives p >= 0.05 (the same bounds); the ratio exp(statistics.median(d)),
//   the Hodges-Lehmann estimate.
#include <gtest/gtest.h>

#include "common/stats.hpp"

namespace yardstick {
namespace {

const std::vector<double> A = {1.02, 0.98, 1.01, 1.05, 0.99, 1.00, 1.03, 0.97, 1.04, 1.10};
const std::vector<double> B = {0.91, 0.95, 0.93, 0.90, 0.94, 0.92, 0.96, 0.89, 0.97, 0.93};
const std::vector<double> X = {3.1, 2.9, 3.3, 3.0, 3.2};
const std::vector<double> Y = {2.5, 2.7, 2.6, 2.8};
const std::vector<double> C = {1.0, 1.0, 1.01, 0.99, 1.0, 1.02, 0.98, 1.0, 5.0, 1.01};

TEST(Stats, SummaryMatchesNumpy) {
  Summary s = summarize(A);
  EXPECT_EQ(s.n, 10u);
  EXPECT_DOUBLE_EQ(s.min, 0.97);
  EXPECT_DOUBLE_EQ(s.max, 1.10);
  EXPECT_NEAR(s.mean, 1.019, 1e-12);
  EXPECT_NEAR(s.median, 1.0150000000000001, 1e-12);
  EXPECT_NEAR(s.stddev, 0.0384274207652123, 1e-12);
  EXPECT_NEAR(s.mad, 0.025000000000000022, 1e-12);
  EXPECT_NEAR(s.q1, 0.9924999999999999, 1e-12);
  EXPECT_NEAR(s.q3, 1.0375, 1e-12);
}

TEST(Stats, SummaryOfOneAndNone) {
  Summary one = summarize({2.5});
  EXPECT_EQ(one.n, 1u);
  EXPECT_EQ(one.median, 2.5);
  EXPECT_EQ(one.stddev, 0);
  EXPECT_EQ(summarize({}).n, 0u);
}

TEST(Stats, ModifiedZScoresMatchReference) {
  auto z = modified_z_scores(A);
  EXPECT_NEAR(z[9], 2.293, 1e-3);
  EXPECT_NEAR(z[7], -1.214, 1e-3);
  auto zc = modified_z_scores(C);
  EXPECT_NEAR(zc[8], 269.8, 0.05);
}

TEST(Stats, OutlierIsWarnedAbout) {
  BenchWarnings w = bench_warnings(C);
  EXPECT_EQ(w.outliers, 1u);
  EXPECT_TRUE(w.high_spread);
  EXPECT_FALSE(w.slow_first_run);
  ASSERT_FALSE(w.messages.empty());
  EXPECT_NE(w.messages[0].find("1 statistical outlier"), std::string::npos);
  EXPECT_EQ(bench_warnings(A).outliers, 0u);
}

TEST(Stats, SlowFirstRunIsWarnedAbout) {
  BenchWarnings w = bench_warnings({2.0, 1.0, 1.01, 0.99, 1.0});
  EXPECT_TRUE(w.slow_first_run);
  EXPECT_FALSE(bench_warnings({1.0, 1.0, 1.01, 0.99, 1.0}).slow_first_run);
}

TEST(Stats, HighSpreadIsWarnedAbout) {
  EXPECT_TRUE(bench_warnings({1.0, 1.2, 0.8, 1.1, 0.9}).high_spread);
  EXPECT_FALSE(bench_warnings(A).high_spread);  // 3.8 %
}

TEST(Stats, MannWhitneyAsymptoticWithTiesMatchesScipy) {
  MannWhitney r = mann_whitney(A, B);  // 0.97 is in both: ties, normal approximation
  EXPECT_DOUBLE_EQ(r.u, 99.5);
  EXPECT_NEAR(r.p, 0.0002098614483023182, 1e-9);
}

TEST(Stats, MannWhitneyExactMatchesScipy) {
  MannWhitney r = mann_whitney(X, Y);  // small, no ties: exact
  EXPECT_DOUBLE_EQ(r.u, 20.0);
  EXPECT_NEAR(r.p, 0.015873015873015872, 1e-12);
}

TEST(Stats, MannWhitneyExactAtEightRunsAsScipy) {
  // scipy 1.10 uses the exact distribution when either sample has at most 8 values:
  //   mannwhitneyu(E, F, alternative='two-sided', method='auto') -> U 15, p 0.08298368298368297
  //   (method='asymptotic' would give 0.08312293695990333)
  const std::vector<double> E = {1.00, 1.02, 1.04, 1.06, 1.08, 1.10, 1.12, 1.14};
  const std::vector<double> F = {1.05, 1.07, 1.09, 1.11, 1.13, 1.15, 1.17, 1.19};
  MannWhitney r = mann_whitney(E, F);
  EXPECT_DOUBLE_EQ(r.u, 15.0);
  EXPECT_NEAR(r.p, 0.08298368298368297, 1e-12);
}

TEST(Stats, LopsidedSamplesStayCheap) {
  // 3 runs against 100,000 (blocks, adaptive counts): the exact table would
  // need billions of entries; the approximation answers at once.
  std::vector<double> many;
  for (int i = 0; i < 100000; ++i) many.push_back(2.0 + i * 1e-6);
  const std::vector<double> few = {1.0, 1.1, 1.2};
  MannWhitney r = mann_whitney(few, many);
  EXPECT_DOUBLE_EQ(r.u, 0.0);
  EXPECT_LT(r.p, 0.01);
  Comparison c = compare(few, many);
  EXPECT_GT(c.ratio, 1.5);
  EXPECT_LE(c.ci_low, c.ci_high);
  // 100,000 against 100,000: 10^10 pairwise differences, never formed.
  std::vector<double> faster;
  for (double x : many) faster.push_back(x * 0.9);
  Comparison big = compare(many, faster);
  EXPECT_NEAR(big.ratio, 0.9, 1e-9);
  EXPECT_LE(big.ci_low, 0.9 + 1e-9);
  EXPECT_GE(big.ci_high, 0.9 - 1e-9);
  EXPECT_EQ(big.verdict, Verdict::kFaster);
}

TEST(Stats, MannWhitneyOfNearlyEqualSamples) {
  std::vector<double> shifted;
  for (double x : A) shifted.push_back(x + 0.001);
  MannWhitney r = mann_whitney(A, shifted);
  EXPECT_DOUBLE_EQ(r.u, 45.0);
  EXPECT_NEAR(r.p, 0.7337299956962472, 1e-9);
}

TEST(Stats, ComparisonGivesRatioIntervalAndVerdict) {
  Comparison c = compare(A, B);
  EXPECT_NEAR(c.ratio, 0.9159043110074021, 1e-12);
  EXPECT_NEAR(c.ci_low, 0.8846153846153846, 1e-12);  // qu = 24
  EXPECT_NEAR(c.ci_high, 0.9417475728155339, 1e-12);
  EXPECT_NEAR(c.p, 0.0002098614483023182, 1e-9);
  EXPECT_EQ(c.verdict, Verdict::kFaster);
  Comparison back = compare(B, A);
  EXPECT_EQ(back.verdict, Verdict::kSlower);

  Comparison xy = compare(X, Y);
  EXPECT_NEAR(xy.ratio, 0.8552499374980315, 1e-12);
  EXPECT_NEAR(xy.ci_low, 0.78125, 1e-12);  // qu = 2
  EXPECT_NEAR(xy.ci_high, 0.9333333333333331, 1e-12);
}

TEST(Stats, NoChangeBelowSignificanceWithinNoiseBelowTheFloor) {
  std::vector<double> shifted;
  for (double x : A) shifted.push_back(x + 0.001);
  EXPECT_EQ(compare(A, shifted).verdict, Verdict::kNoChange);  // p = 0.73
  // Significant but only 0.5 % apart: under the 1 % noise floor, within noise.
  std::vector<double> base(20), tiny(20);
  for (int i = 0; i < 20; ++i) {
    base[i] = 1.0 + i * 1e-5;
    tiny[i] = 1.005 + i * 1e-5;
  }
  Comparison c = compare(base, tiny);
  EXPECT_LT(c.p, 0.05);
  EXPECT_GT(c.ci_low, 1);  // the test saw it: not "no change", which the interval would contradict
  EXPECT_EQ(c.verdict, Verdict::kWithinNoise);
  EXPECT_EQ(compare(base, tiny, 0.05, 0.001).verdict, Verdict::kSlower);
}

}  // namespace
}  // namespace yardstick
