// Machine calibration: what the shipped micro-benchmarks of an agent
// (agent/calibration.hpp) measured, summarised the one way the coordinator,
// the CLI and the docs speak of it, and the interval of a machine's speed
// index in cross-machine comparisons. Pure functions.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace yardstick {

// The micro-benchmarks, in the order they run within each repetition.
inline constexpr const char* kCalibrationBenchmarks[] = {"cpu", "memory", "spawn", "io"};

// One micro-benchmark's timings, seconds, one per repetition.
struct CalibrationTimes {
  std::string benchmark;
  std::vector<double> times_s;
};

struct CalibrationSummary {
  std::string benchmark;
  double median_s = 0;  // the machine's speed at this work: lower is faster
  // Robust relative spread: 1.4826 x the median absolute deviation of the
  // natural logs of the times from their median. For normal log times it
  // estimates their standard deviation, i.e. about the relative standard
  // deviation of the times (0.02: runs typically 2 % apart). One outlier
  // among 15 repetitions does not move it.
  double noise = 0;
  size_t runs = 0;
};

// Summary of one benchmark's times; times <= 0 or not finite are left out
// (runs counts those kept). nullopt when none is left.
std::optional<CalibrationSummary> summarize_calibration(const CalibrationTimes& times);

// A machine's noise level: the median of its benchmarks' noise (a single
// erratic benchmark, typically fsync on a VM, does not decide it).
// nullopt without summaries.
std::optional<double> machine_noise(const std::vector<CalibrationSummary>& summaries);

// The calibration file the agent's `calibrate` mode writes and the runner
// reads back: one line per benchmark, "NAME t1 t2 ...", times in seconds.
std::string format_calibration_file(const std::vector<CalibrationTimes>& all);
// Parses it; on a bad line, nullopt and `error` says which line and why.
std::optional<std::vector<CalibrationTimes>> parse_calibration_file(std::string_view text,
                                                                    std::string* error);

// Two-sided Student t quantile t_{1 - (1 - confidence) / 2, df} for
// confidence 0.95 (the value sql/reports/compare_machines.sql uses; df >= 1).
double t_quantile_95(size_t df);

// The speed index of a machine against a reference: exp(mean of the log
// ratios, one per benchmark and pipeline both machines ran), with the 95 %
// t-interval of that mean, exponentiated. Fewer than two ratios: no interval
// (low = high = index, has_interval false).
struct SpeedIndex {
  double index = 1;
  double low = 1, high = 1;
  size_t units = 0;
  bool has_interval = false;
};
SpeedIndex speed_index(const std::vector<double>& log_ratios);

// Whether a speed index says nothing about which machine is faster: no
// interval, an interval that holds 1, or |log index| within the two
// machines' calibrated noise combined (sqrt(a^2 + b^2)), when known.
bool no_clear_difference(const SpeedIndex& s, std::optional<double> noise,
                         std::optional<double> reference_noise);

}  // namespace yardstick
