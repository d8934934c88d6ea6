// Change points (common/change_points.hpp): Student's t against closed
// forms and printed tables, and the detector on series built with a known
// change, or none (A/A series, counted against alpha).
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <random>

#include "common/change_points.hpp"

namespace yardstick {
namespace {

TEST(StudentT, MatchesClosedFormsAndTables) {
  // df = 1: p = 1 - 2 atan(t) / pi; df = 2: p = 1 - t / sqrt(2 + t^2).
  for (double t : {0.1, 0.7, 1.0, 3.0, 12.706, 40.0}) {
    EXPECT_NEAR(student_t_two_sided_p(t, 1), 1 - 2 * std::atan(t) / M_PI, 1e-10) << t;
    EXPECT_NEAR(student_t_two_sided_p(t, 2), 1 - t / std::sqrt(2 + t * t), 1e-10) << t;
  }
  // Two-sided 5 % and 1 % points of printed t tables.
  EXPECT_NEAR(student_t_two_sided_p(2.228, 10), 0.05, 2e-4);
  EXPECT_NEAR(student_t_two_sided_p(2.306, 8), 0.05, 2e-4);
  EXPECT_NEAR(student_t_two_sided_p(3.355, 8), 0.01, 1e-4);
  EXPECT_NEAR(student_t_quantile(0.975, 18), 2.101, 1e-3);
  EXPECT_NEAR(student_t_quantile(0.995, 8), 3.355, 1e-3);
  EXPECT_NEAR(student_t_quantile(0.025, 18), -2.101, 1e-3);
  EXPECT_DOUBLE_EQ(student_t_two_sided_p(0, 5), 1);
  EXPECT_DOUBLE_EQ(student_t_two_sided_p(INFINITY, 5), 0);
}

// `before` points at 1.0 then `after` at `ratio`, each times exp(noise).
std::vector<double> shifted(std::mt19937_64& rng, size_t before, size_t after, double ratio,
                            double noise) {
  std::normal_distribution<double> n(0, noise);
  std::vector<double> v;
  for (size_t i = 0; i < before + after; ++i)
    v.push_back((i < before ? 1.0 : ratio) * std::exp(n(rng)));
  return v;
}

TEST(ChangePoints, AStepIsFoundWhereItIsWithItsSizeInsideTheInterval) {
  std::mt19937_64 rng(7);
  const auto v = shifted(rng, 10, 10, 1.25, 0.02);
  const auto found = find_change_points(v, {});
  ASSERT_EQ(found.size(), 1u);
  EXPECT_EQ(found[0].index, 10u);
  EXPECT_EQ(found[0].n_before, 10u);
  EXPECT_EQ(found[0].n_after, 10u);
  EXPECT_LT(found[0].ci_low, 1.25);
  EXPECT_GT(found[0].ci_high, 1.25);
  EXPECT_NEAR(found[0].ratio, 1.25, 0.03);
  EXPECT_LT(found[0].p, 0.01);
  EXPECT_GT(found[0].detectable, 0);
  EXPECT_LT(found[0].detectable, 0.1);
}

TEST(ChangePoints, TwoPointsAfterTheChangeAreEnoughWhenTheNoiseIsSmall) {
  // Eight pipelines, the last two after a 25 % slowdown.
  std::mt19937_64 rng(11);
  const auto v = shifted(rng, 6, 2, 1.25, 0.01);
  const auto found = find_change_points(v, {});
  ASSERT_EQ(found.size(), 1u);
  EXPECT_EQ(found[0].index, 6u);
  // One point after is never a change (an outlier is not a change).
  const std::vector<double> one(v.begin(), v.end() - 1);
  EXPECT_TRUE(find_change_points(one, {}).empty());
}

TEST(ChangePoints, ASplitFallsOnlyBetweenRevisions) {
  // Pairs of points share a revision; the values move inside the fourth
  // revision's pair: the split falls on a boundary, either side of it.
  std::vector<double> v;
  for (int i = 0; i < 14; ++i) v.push_back(i < 7 ? 1.0 + 0.002 * (i % 3) : 1.3 + 0.002 * (i % 3));
  std::vector<bool> boundary(v.size(), false);
  for (size_t i = 2; i < v.size(); i += 2) boundary[i] = true;
  EXPECT_EQ(find_change_points(v, {}).at(0).index, 7u);
  ChangeOptions o;
  o.alpha = 0.05;
  const auto found = find_change_points(v, boundary, o);
  ASSERT_EQ(found.size(), 1u);
  EXPECT_TRUE(found[0].index == 6 || found[0].index == 8) << found[0].index;
}

TEST(ChangePoints, AStepUpAndBackDownAreTwoChanges) {
  std::mt19937_64 rng(3);
  auto v = shifted(rng, 10, 10, 1.3, 0.02);
  const auto back = shifted(rng, 10, 0, 1.0, 0.02);
  v.insert(v.end(), back.begin(), back.end());
  const auto found = find_change_points(v, {});
  ASSERT_EQ(found.size(), 2u);
  EXPECT_EQ(found[0].index, 10u);
  EXPECT_GT(found[0].ratio, 1.2);
  EXPECT_EQ(found[1].index, 20u);
  EXPECT_LT(found[1].ratio, 0.85);
}

TEST(ChangePoints, AChangeWithinTheNoiseFloorIsNotReported) {
  std::vector<double> v;
  for (int i = 0; i < 20; ++i) v.push_back(i < 10 ? 1.0 + 1e-4 * (i % 3) : 1.005 + 1e-4 * (i % 3));
  EXPECT_TRUE(find_change_points(v, {}).empty());
  ChangeOptions no_floor;
  no_floor.noise_floor = 0;
  EXPECT_EQ(find_change_points(v, {}, no_floor).size(), 1u);
}

TEST(ChangePoints, ValuesThatAreNotPositiveOrTooFewGiveNone) {
  EXPECT_TRUE(find_change_points({1, 1, 1, 0, 2, 2, 2}, {}).empty());
  EXPECT_TRUE(find_change_points({1, 1, 1, NAN, 2, 2, 2}, {}).empty());
  EXPECT_TRUE(find_change_points({1, 2}, {}).empty());
  EXPECT_TRUE(find_change_points({1, 1, 2, 2}, {true, true}).empty());  // sizes differ
  // Constant segments: an infinite t, found.
  EXPECT_EQ(find_change_points({1, 1, 1, 2, 2, 2}, {}).size(), 1u);
  EXPECT_TRUE(find_change_points({1, 1, 1, 1, 1, 1}, {}).empty());
}

// The false-alarm rate on series with no change is at most alpha: 4,000
// A/A series of 30 points (normal log noise, and heavier-tailed noise), at
// alpha 0.05 and 0.01. The binomial standard error of 4,000 series at
// 0.05 is 0.0034: the bound allows three of them.
TEST(ChangePoints, FalseAlarmsOnAASeriesStayWithinAlpha) {
  for (double alpha : {0.05, 0.01}) {
    ChangeOptions o;
    o.alpha = alpha;
    o.noise_floor = 0;
    std::mt19937_64 rng(42);
    std::normal_distribution<double> normal(0, 0.02);
    std::student_t_distribution<double> heavy(5);
    int normal_alarms = 0, heavy_alarms = 0;
    const int series = 4000;
    for (int s = 0; s < series; ++s) {
      std::vector<double> a, b;
      for (int i = 0; i < 30; ++i) {
        a.push_back(std::exp(normal(rng)));
        b.push_back(std::exp(0.02 * heavy(rng)));
      }
      normal_alarms += !find_change_points(a, {}, o).empty();
      heavy_alarms += !find_change_points(b, {}, o).empty();
    }
    const double bound = alpha + 3 * std::sqrt(alpha * (1 - alpha) / series);
    std::printf("alpha %.2f: false alarms %.4f (normal), %.4f (t, 5 df)\n", alpha,
                normal_alarms / double(series), heavy_alarms / double(series));
    EXPECT_LE(normal_alarms / double(series), bound) << "alpha " << alpha;
    // Heavier tails than the t test assumes: within half as much again.
    EXPECT_LE(heavy_alarms / double(series), 1.5 * bound) << "alpha " << alpha;
  }
}

TEST(ChangePoints, A25PercentShiftIsFoundInNearlyEverySeries) {
  std::mt19937_64 rng(5);
  int found = 0, near_the_change = 0;
  for (int s = 0; s < 500; ++s) {
    const auto c = find_change_points(shifted(rng, 8, 8, 1.25, 0.05), {});
    found += !c.empty();
    near_the_change += c.size() == 1 && c[0].index >= 7 && c[0].index <= 9;
  }
  EXPECT_GE(found, 495);
  EXPECT_GE(near_the_change, 480);
}

TEST(ChangePoints, RatioPercentReadsAsAChange) {
  EXPECT_EQ(ratio_percent(1.073), "+7.3 %");
  EXPECT_EQ(ratio_percent(0.9), "-10.0 %");
}

}  // namespace
}  // namespace yardstick
