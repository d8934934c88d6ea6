// The statistics `yardstick bisect` judges commits by (docs/change-points.md,
// Bisection): medians of the runs' logarithms, a spread that one disturbed
// run does not inflate, and the runs a revision needs.
#pragma once

#include <vector>

namespace yardstick {

double median_of(std::vector<double> v);

// The spread of two samples, robustly: the median absolute deviation of
// each value from its own sample's median, scaled to a normal's standard
// deviation, so that one run a busy machine disturbed does not count as
// noise. When it is 0 (most values equal), the pooled standard deviation.
double robust_spread(const std::vector<double>& a, const std::vector<double>& b);

// b's median minus a's, its standard error, degrees of freedom and
// two-sided p: Student's t with the robust spread, the standard error of a
// median being sqrt(pi / 2) times a mean's.
struct MedianDifference {
  double diff = 0, se = 0, df = 0, p = 1;
};
MedianDifference median_difference(const std::vector<double>& a, const std::vector<double>& b);

// z(0.975) + z(0.8): alpha 0.05 two-sided, power 0.8.
double detect_z();
// The runs a revision needs for the smallest change it can show to be half
// of `change`, with noise `spread` (both on logarithms):
// pi (z spread / (change / 2))^2, a median's variance being pi / 2 times a
// mean's. Infinite for a change of 0.
double runs_for_half(double spread, double change);
// The smallest change (on logarithms) `runs` runs a revision can show.
double smallest_visible(double spread, double runs);

}  // namespace yardstick
