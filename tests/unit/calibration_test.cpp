// Machine calibration: the summary of a micro-benchmark's times (speed and
// noise), the calibration file, the speed index's interval, and the runner
// side of a job of kind "calibrate".
#include "common/calibration.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>

#include "agent/calibration.hpp"

namespace yardstick {
namespace {

TEST(CalibrationSummary, MedianIsTheSpeedAndNoiseTheRobustLogSpread) {
  // Log times ln(0.010) + {-2, -1, 0, 1, 2} x 0.01: deviations from the
  // median log 0, 0.01, 0.01, 0.02, 0.02 -> MAD 0.01 -> noise 0.014826.
  std::vector<double> times;
  for (int k : {-2, -1, 0, 1, 2}) times.push_back(0.010 * std::exp(0.01 * k));
  auto s = summarize_calibration({"cpu", times});
  ASSERT_TRUE(s);
  EXPECT_EQ(s->benchmark, "cpu");
  EXPECT_EQ(s->runs, 5u);
  EXPECT_NEAR(s->median_s, 0.010, 1e-12);
  EXPECT_NEAR(s->noise, 1.4826 * 0.01, 1e-9);
}

TEST(CalibrationSummary, OneWildRepetitionDoesNotMakeAMachineNoisy) {
  std::vector<double> times(14, 0.020);
  times.push_back(0.200);  // a neighbour woke up once
  auto s = summarize_calibration({"memory", times});
  ASSERT_TRUE(s);
  EXPECT_DOUBLE_EQ(s->median_s, 0.020);
  EXPECT_DOUBLE_EQ(s->noise, 0.0);
}

TEST(CalibrationSummary, NoiseScalesWithTheSpreadNotWithTheSpeed) {
  // The same relative spread on a machine ten times slower: the same noise.
  std::vector<double> fast, slow;
  for (double f : {0.97, 1.0, 1.02, 0.99, 1.05, 1.0, 0.96}) {
    fast.push_back(0.001 * f);
    slow.push_back(0.010 * f);
  }
  auto a = summarize_calibration({"io", fast});
  auto b = summarize_calibration({"io", slow});
  ASSERT_TRUE(a && b);
  EXPECT_NEAR(a->noise, b->noise, 1e-12);
  EXPECT_GT(a->noise, 0.01);
  EXPECT_NEAR(b->median_s / a->median_s, 10.0, 1e-9);
}

TEST(CalibrationSummary, BadTimesAreLeftOutAndNoneLeftIsNoSummary) {
  auto s = summarize_calibration({"spawn", {0.002, -1, 0, NAN, 0.004}});
  ASSERT_TRUE(s);
  EXPECT_EQ(s->runs, 2u);
  EXPECT_NEAR(s->median_s, 0.003, 1e-12);
  EXPECT_FALSE(summarize_calibration({"spawn", {0, -2, INFINITY}}));
}

TEST(CalibrationSummary, MachineNoiseIsTheMedianOfItsBenchmarks) {
  std::vector<CalibrationSummary> s = {{"cpu", 0.01, 0.01, 15},
                                       {"memory", 0.02, 0.03, 15},
                                       {"spawn", 0.003, 0.02, 15},
                                       {"io", 0.004, 0.50, 15}};  // fsync on a VM
  EXPECT_NEAR(*machine_noise(s), 0.025, 1e-12);
  EXPECT_FALSE(machine_noise({}));
}

TEST(CalibrationFile, RoundTripsAndNamesTheBadLine) {
  std::vector<CalibrationTimes> all = {{"cpu", {0.0123456789, 0.0124}}, {"io", {0.5}}};
  std::string error;
  auto back = parse_calibration_file(format_calibration_file(all), &error);
  ASSERT_TRUE(back) << error;
  ASSERT_EQ(back->size(), 2u);
  EXPECT_EQ((*back)[0].benchmark, "cpu");
  EXPECT_NEAR((*back)[0].times_s[0], 0.0123456789, 1e-15);
  EXPECT_EQ((*back)[1].times_s, std::vector<double>{0.5});

  EXPECT_FALSE(parse_calibration_file("cpu 0.1 0.2\nmemory 0.1 fast\n", &error));
  EXPECT_NE(error.find("line 2"), std::string::npos) << error;
  EXPECT_NE(error.find("fast"), std::string::npos) << error;
  EXPECT_FALSE(parse_calibration_file("cpu\n", &error));
  EXPECT_NE(error.find("no times"), std::string::npos) << error;
}

TEST(SpeedIndexInterval, IsTheTIntervalOfTheMeanLogRatio) {
  // Log ratios 0.1, 0.2, 0.3: mean 0.2, s = 0.1, se = 0.1 / sqrt(3),
  // t(0.975, 2) = 4.303.
  auto s = speed_index({0.1, 0.2, 0.3});
  ASSERT_TRUE(s.has_interval);
  EXPECT_EQ(s.units, 3u);
  EXPECT_NEAR(s.index, std::exp(0.2), 1e-12);
  const double half = 4.303 * 0.1 / std::sqrt(3.0);
  EXPECT_NEAR(s.low, std::exp(0.2 - half), 1e-9);
  EXPECT_NEAR(s.high, std::exp(0.2 + half), 1e-9);
  EXPECT_LT(s.low, 1.0);  // three units this spread cannot tell 22 % apart
  EXPECT_TRUE(no_clear_difference(s, std::nullopt, std::nullopt));
}

TEST(SpeedIndexInterval, ConsistentRatiosNameAWinner) {
  auto s = speed_index({0.29, 0.30, 0.31, 0.30, 0.30});
  ASSERT_TRUE(s.has_interval);
  EXPECT_GT(s.low, 1.3);
  EXPECT_FALSE(no_clear_difference(s, 0.01, 0.02));
}

TEST(SpeedIndexInterval, OneUnitHasNoIntervalAndNamesNoWinner) {
  auto s = speed_index({0.5});
  EXPECT_FALSE(s.has_interval);
  EXPECT_NEAR(s.index, std::exp(0.5), 1e-12);
  EXPECT_TRUE(no_clear_difference(s, std::nullopt, std::nullopt));
}

TEST(SpeedIndexInterval, ADifferenceWithinTheCalibratedNoiseIsNoClearDifference) {
  // 3 % apart, very consistently, on machines whose runs spread by 3 % each.
  auto s = speed_index({0.030, 0.029, 0.031, 0.030});
  ASSERT_TRUE(s.has_interval);
  EXPECT_GT(s.low, 1.0);
  EXPECT_TRUE(no_clear_difference(s, 0.03, 0.03));
  EXPECT_FALSE(no_clear_difference(s, 0.005, 0.005));
}

TEST(SpeedIndexInterval, TQuantilesMatchTheTable) {
  EXPECT_DOUBLE_EQ(t_quantile_95(1), 12.706);
  EXPECT_DOUBLE_EQ(t_quantile_95(10), 2.228);
  EXPECT_DOUBLE_EQ(t_quantile_95(30), 2.042);
  EXPECT_NEAR(t_quantile_95(60), 2.000, 0.002);
  EXPECT_NEAR(t_quantile_95(1000), 1.962, 0.002);
}

TEST(CalibrationRun, EveryBenchmarkGetsEveryRepetitionInItsOwnFolder) {
  const std::string dir = ::testing::TempDir() + "/ys-calibration-unit";
  std::filesystem::create_directories(dir);
  std::string error;
  auto times = run_calibration(dir, 3, &error);
  ASSERT_EQ(times.size(), 4u) << error;
  const char* names[] = {"cpu", "memory", "spawn", "io"};
  for (size_t i = 0; i < 4; ++i) {
    EXPECT_EQ(times[i].benchmark, names[i]);
    ASSERT_EQ(times[i].times_s.size(), 3u);
    for (double t : times[i].times_s) EXPECT_GT(t, 0);
  }
  EXPECT_TRUE(std::filesystem::is_empty(dir));  // the io files are removed
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace yardstick
