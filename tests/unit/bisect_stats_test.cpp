// The statistics `yardstick bisect` judges commits by (common/bisect_stats.hpp).
#include "common/bisect_stats.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>

namespace yardstick {
namespace {

TEST(BisectStats, OneDisturbedRunNeitherInflatesTheSpreadNorHidesTheChange) {
  const std::vector<double> good = {1.00, 1.01, 0.99, 1.00, 1.02};
  std::vector<double> bad = {1.25, 1.24, 1.26, 1.25, 1.23};
  const double quiet = robust_spread(good, bad);
  bad[2] = 2.5;  // one run a busy machine doubled
  EXPECT_NEAR(robust_spread(good, bad), quiet, 1e-12);
  const auto d = median_difference(good, bad);
  EXPECT_NEAR(d.diff, 0.25, 1e-12);  // medians: 1.00 and 1.25
  EXPECT_LT(d.p, 1e-6);
  EXPECT_EQ(d.df, 8);
}

TEST(BisectStats, EqualValuesAreNoChangeAndExactValuesThatDifferAreCertain) {
  EXPECT_EQ(median_difference({0.2, 0.2, 0.2}, {0.2, 0.2, 0.2}).p, 1);
  const auto d = median_difference({0.2, 0.2, 0.2}, {0.25, 0.25, 0.25});
  EXPECT_LT(d.p, 1e-12);  // a spread of rounding error only
  EXPECT_NEAR(d.diff, 0.05, 1e-12);
  // Too few runs to judge: no p below 1.
  EXPECT_EQ(median_difference({1.0}, {2.0}).p, 1);
}

TEST(BisectStats, RunsForHalfTheChangeFollowTheFormulaAndMatchWhatTheyCanSee) {
  const double z = detect_z();
  EXPECT_NEAR(z, 1.959964 + 0.841621, 1e-4);
  // pi (z s / (d / 2))^2
  EXPECT_NEAR(runs_for_half(0.05, 0.2), M_PI * std::pow(z * 0.05 / 0.1, 2), 1e-9);
  EXPECT_NEAR(runs_for_half(0.05, -0.2), runs_for_half(0.05, 0.2), 1e-12);
  EXPECT_EQ(runs_for_half(0.05, 0), std::numeric_limits<double>::infinity());
  // With exactly the runs it asks for, the smallest visible change is half of it.
  const double n = runs_for_half(0.03, 0.1);
  EXPECT_NEAR(smallest_visible(0.03, n), 0.05, 1e-12);
  // Four times the noise, sixteen times the runs.
  EXPECT_NEAR(runs_for_half(0.12, 0.1) / n, 16, 1e-9);
}

}  // namespace
}  // namespace yardstick
