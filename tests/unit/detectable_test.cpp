// The minimum detectable effect: its formula, and a simulation that shows
// it means what it says — at the MDE, the test finds the shift about
// `power` of the time; at a third of it, seldom.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <random>

#include "common/stats.hpp"

namespace yardstick {
namespace {

TEST(Detectable, NormalQuantileInvertsTheCdf) {
  EXPECT_NEAR(normal_quantile(0.975), 1.959963984540054, 1e-9);
  EXPECT_NEAR(normal_quantile(0.8), 0.8416212335729143, 1e-9);
  EXPECT_NEAR(normal_quantile(0.5), 0, 1e-12);
  EXPECT_NEAR(normal_quantile(0.001), -3.090232306167813, 1e-9);
  for (double p : {1e-6, 0.01, 0.3, 0.7, 0.99, 1 - 1e-6})
    EXPECT_NEAR(normal_cdf(normal_quantile(p)), p, 1e-12 + 1e-9 * p);
}

TEST(Detectable, FormulaIsTheTTestsWithTheRankTestsEfficiency) {
  // (1.95996 + 0.84162) * 0.05 / sqrt(20 * 3 / pi) = 0.032056
  EXPECT_NEAR(detectable_log_shift_paired(0.05, 20, 0.05, 0.8), 0.032056, 1e-5);
  // Unpaired: sqrt(1/20 + 1/20) in place of 1 / sqrt(20).
  EXPECT_NEAR(detectable_log_shift(0.05, 20, 20, 0.05, 0.8), 0.032056 * std::sqrt(2.0), 1e-5);
  // Four times the runs halve it.
  EXPECT_NEAR(detectable_log_shift_paired(0.05, 80, 0.05, 0.8), 0.032056 / 2, 1e-5);
}

std::vector<double> lognormal(std::mt19937_64& rng, size_t n, double sd, double shift = 0) {
  std::normal_distribution<double> noise(0, sd);
  std::vector<double> out;
  for (size_t i = 0; i < n; ++i) out.push_back(0.030 * std::exp(shift + noise(rng)));
  return out;
}

TEST(Detectable, PairedTestFindsAShiftAtItsMdeAboutPowerOfTheTime) {
  // Each round shares a drift (which pairing cancels) and each run has its
  // own noise: the log ratio's sd is sqrt(2) 0.03.
  const size_t n = 30;
  const double run_sd = 0.03, ratio_sd = run_sd * std::sqrt(2.0);
  const double shift = detectable_log_shift_paired(ratio_sd, n, 0.05, kMdePower);
  std::mt19937_64 rng(20261129);
  std::normal_distribution<double> drift(0, 0.1);
  auto detection_rate = [&](double s, int trials) {
    int seen = 0;
    for (int t = 0; t < trials; ++t) {
      std::vector<double> a = lognormal(rng, n, run_sd), b = lognormal(rng, n, run_sd, s);
      for (size_t i = 0; i < n; ++i) {
        const double d = std::exp(drift(rng));
        a[i] *= d;
        b[i] *= d;
      }
      seen += compare_paired(a, b, 0.05, 0).verdict == Verdict::kSlower;
    }
    return seen / double(trials);
  };
  const double at_mde = detection_rate(shift, 2000), at_third = detection_rate(shift / 3, 2000);
  std::printf("paired, 30 rounds: a shift at the MDE found %.3f of the time, a third of it %.3f\n",
              at_mde, at_third);
  EXPECT_GT(at_mde, 0.74);
  EXPECT_LT(at_mde, 0.86);
  EXPECT_LT(at_third, 0.3);
}

TEST(Detectable, UnpairedTestFindsAShiftAtItsMdeAboutPowerOfTheTime) {
  const size_t n = 30;
  const double sd = 0.04;
  const double shift = detectable_log_shift(sd, n, n, 0.05, kMdePower);
  std::mt19937_64 rng(7);
  int seen = 0;
  const int trials = 2000;
  for (int t = 0; t < trials; ++t)
    seen += compare(lognormal(rng, n, sd), lognormal(rng, n, sd, shift), 0.05, 0).verdict ==
            Verdict::kSlower;
  std::printf("unpaired, 30 runs each: a shift at the MDE found %.3f of the time\n",
              seen / double(trials));
  EXPECT_GT(seen / double(trials), 0.74);
  EXPECT_LT(seen / double(trials), 0.86);
}

TEST(Detectable, EstimatedFromTheSamplesItIsCloseToTheTrueOne) {
  // From the measured noise (robust sd of the log ratios), over many
  // benchmarks: the median estimate within 10 % of the MDE the true sd gives.
  std::mt19937_64 rng(11);
  const size_t n = 40;
  const double sd = 0.05;
  const double truth = std::expm1(detectable_log_shift_paired(sd * std::sqrt(2.0), n, 0.05, 0.8));
  std::vector<double> estimates;
  for (int t = 0; t < 400; ++t) {
    auto c = compare_paired(lognormal(rng, n, sd), lognormal(rng, n, sd), 0.05, 0.01);
    ASSERT_TRUE(c.detectable.mde);
    EXPECT_EQ(c.detectable.n, n);
    EXPECT_DOUBLE_EQ(c.detectable.power, 0.8);
    estimates.push_back(*c.detectable.mde);
  }
  EXPECT_NEAR(summarize(estimates).median / truth, 1, 0.1);
}

TEST(Detectable, RunsFor2PercentMakeTheMde2Percent) {
  std::mt19937_64 rng(3);
  auto a = lognormal(rng, 20, 0.05), b = lognormal(rng, 20, 0.05);
  Detectable d = detectable_paired(a, b, 0.05, 0.01);
  ASSERT_TRUE(d.mde && d.runs_for_2pct);
  EXPECT_GT(*d.mde, 0.02);
  const uint32_t n2 = *d.runs_for_2pct;
  EXPECT_GT(n2, 20u);
  EXPECT_LE(std::expm1(detectable_log_shift_paired(d.spread, n2, 0.05, 0.8)), 0.02 + 1e-12);
  EXPECT_GT(std::expm1(detectable_log_shift_paired(d.spread, n2 - 1, 0.05, 0.8)), 0.02);
}

TEST(Detectable, TooFewRunsSeeNothingAndANoiseFloorOf2PercentNeverSees2Percent) {
  Detectable d = detectable_paired({1, 1.1, 1.05, 0.98}, {1.02, 1.0, 1.1, 1.0}, 0.05, 0.01);
  EXPECT_FALSE(d.mde);  // 4 rounds: the smallest p is 0.125
  ASSERT_TRUE(d.runs_for_2pct);
  EXPECT_GE(*d.runs_for_2pct, 6u);  // the exact test needs 6 rounds at 0.05
  EXPECT_EQ(verdict_phrase(Verdict::kNoChange, d)
                .rfind("no change (could not have seen any change with 4 runs; about ", 0),
            0u);
  Detectable floor =
      detectable_paired({1, 1, 1, 1, 1, 1, 1, 1}, {1, 1, 1, 1, 1, 1, 1, 1}, 0.05, 0.03);
  ASSERT_TRUE(floor.mde);
  EXPECT_DOUBLE_EQ(*floor.mde, 0.03);  // no noise at all: the noise floor is the limit
  EXPECT_FALSE(floor.runs_for_2pct);
}

TEST(Detectable, PhraseSaysWhatTheComparisonCouldSee) {
  Detectable d;
  d.mde = 0.061;
  d.n = 20;
  d.runs_for_2pct = 180;
  EXPECT_EQ(verdict_phrase(Verdict::kNoChange, d),
            "no change (could not have seen less than 6.1 % with 20 runs; about 180 runs would "
            "see 2 %)");
  d.mde = 0.012;
  d.n = 300;
  d.runs_for_2pct = 110;
  EXPECT_EQ(verdict_phrase(Verdict::kSlower, d), "slower (could see 1.2 % or more with 300 runs)");
  EXPECT_EQ(verdict_phrase(Verdict::kWithinNoise, d),
            "within noise (could see 1.2 % or more with 300 runs)");
  EXPECT_EQ(verdict_phrase(Verdict::kNoChange, d),
            "no change (could not have seen less than 1.2 % with 300 runs)");
}

}  // namespace
}  // namespace yardstick
