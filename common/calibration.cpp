#include "common/calibration.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <sstream>

#include "common/stats.hpp"

namespace yardstick {

namespace {
double median_of(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return quantile_sorted(v, 0.5);
}
}  // namespace

std::optional<CalibrationSummary> summarize_calibration(const CalibrationTimes& times) {
  std::vector<double> kept, logs;
  for (double t : times.times_s)
    if (std::isfinite(t) && t > 0) {
      kept.push_back(t);
      logs.push_back(std::log(t));
    }
  if (kept.empty()) return std::nullopt;
  CalibrationSummary s;
  s.benchmark = times.benchmark;
  s.runs = kept.size();
  s.median_s = median_of(kept);
  const double center = median_of(logs);
  std::vector<double> dev;
  for (double l : logs) dev.push_back(std::fabs(l - center));
  s.noise = 1.4826 * median_of(dev);
  return s;
}

std::optional<double> machine_noise(const std::vector<CalibrationSummary>& summaries) {
  if (summaries.empty()) return std::nullopt;
  std::vector<double> noise;
  for (const auto& s : summaries) noise.push_back(s.noise);
  return median_of(noise);
}

std::string format_calibration_file(const std::vector<CalibrationTimes>& all) {
  std::string out;
  for (const auto& b : all) {
    out += b.benchmark;
    for (double t : b.times_s) {
      char buf[40];
      std::snprintf(buf, sizeof buf, " %.9g", t);
      out += buf;
    }
    out += '\n';
  }
  return out;
}

std::optional<std::vector<CalibrationTimes>> parse_calibration_file(std::string_view text,
                                                                    std::string* error) {
  std::vector<CalibrationTimes> out;
  std::istringstream in{std::string(text)};
  std::string line;
  int number = 0;
  while (std::getline(in, line)) {
    ++number;
    if (line.empty()) continue;
    std::istringstream words(line);
    CalibrationTimes b;
    words >> b.benchmark;
    std::string word;
    while (words >> word) {
      char* end = nullptr;
      const double t = std::strtod(word.c_str(), &end);
      if (end == word.c_str() || *end != '\0' || !std::isfinite(t) || t <= 0) {
        if (error)
          *error = "line " + std::to_string(number) + ": '" + word +
                   "' is not a time in seconds (benchmark " + b.benchmark + ")";
        return std::nullopt;
      }
      b.times_s.push_back(t);
    }
    if (b.times_s.empty()) {
      if (error)
        *error =
            "line " + std::to_string(number) + ": benchmark '" + b.benchmark + "' has no times";
      return std::nullopt;
    }
    out.push_back(std::move(b));
  }
  return out;
}

double t_quantile_95(size_t df) {
  static constexpr double kTable[] = {12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306,
                                      2.262,  2.228, 2.201, 2.179, 2.160, 2.145, 2.131, 2.120,
                                      2.110,  2.101, 2.093, 2.086, 2.080, 2.074, 2.069, 2.064,
                                      2.060,  2.056, 2.052, 2.048, 2.045, 2.042};
  if (df == 0) return INFINITY;
  if (df <= 30) return kTable[df - 1];
  // Cornish-Fisher's first term: within 0.003 of the exact value beyond 30.
  return 1.95996 + 2.372 / static_cast<double>(df);
}

SpeedIndex speed_index(const std::vector<double>& log_ratios) {
  SpeedIndex s;
  s.units = log_ratios.size();
  if (log_ratios.empty()) return s;
  double mean = 0;
  for (double l : log_ratios) mean += l;
  mean /= static_cast<double>(log_ratios.size());
  s.index = s.low = s.high = std::exp(mean);
  if (log_ratios.size() < 2) return s;
  double ss = 0;
  for (double l : log_ratios) ss += (l - mean) * (l - mean);
  const double n = static_cast<double>(log_ratios.size());
  const double se = std::sqrt(ss / (n - 1) / n);
  const double half = t_quantile_95(log_ratios.size() - 1) * se;
  s.low = std::exp(mean - half);
  s.high = std::exp(mean + half);
  s.has_interval = true;
  return s;
}

bool no_clear_difference(const SpeedIndex& s, std::optional<double> noise,
                         std::optional<double> reference_noise) {
  if (!s.has_interval) return true;
  if (s.low <= 1 && s.high >= 1) return true;
  if (noise && reference_noise) {
    const double combined = std::hypot(*noise, *reference_noise);
    if (std::fabs(std::log(s.index)) <= combined) return true;
  }
  return false;
}

}  // namespace yardstick
