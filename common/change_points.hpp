// Change points in a series of timings: where a series of pipelines'
// results (a step's wall time, a benchmark variant's median, a metric)
// moved and stayed moved. Pure functions; docs/change-points.md says why
// this method and these parameters.
//
// The method is successive bisection (binary segmentation), as Chromium's
// dashboard does: in a segment, every split at a revision boundary that
// leaves at least `min_segment` points each side is scored by Student's
// two-sample t statistic of the log values (pooled variance); the best
// split is a change point when its p-value, multiplied by the number of
// splits tried (Bonferroni), is below alpha; then both halves are searched
// the same way. A series with no change is flagged with probability at most
// alpha (independent points with normal log noise; the unit tests measure
// it on A/A series). Rank tests were not chosen: with two points after a
// change, no rank test can reach alpha, whatever the change.
//
// The search clips the log values at 5 robust standard deviations (MAD)
// from the series' median, so that a lone run far off the rest is not a
// change; what is reported is computed from the values as they are.
//
// When no single split stands out, the best pair of splits (a middle
// segment against both ends, a change that came and went) is tried among
// the segment's newest 300 points; alpha is shared half and half.
//
// Cost: O(n) per segment for single splits (prefix sums), O(min(n, 300)^2)
// for the pair search of a segment with no single change.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

namespace yardstick {

struct ChangeOptions {
  double alpha = 0.01;        // false alarms per series searched, at most
  size_t min_segment = 2;     // points each side of a change
  double noise_floor = 0.01;  // a smaller relative change is not reported (still split on)
  double power = 0.8;         // of `detectable`
};

struct ChangePoint {
  size_t index = 0;                  // the first point after the change
  size_t n_before = 0, n_after = 0;  // points of the segments either side
  double median_before = 0, median_after = 0;
  double ratio = 1;                // after / before: exp of the mean log shift
  double ci_low = 1, ci_high = 1;  // its interval at 1 - alpha (Student's t)
  double p = 1;                    // Bonferroni-adjusted p-value of the split
  // The smallest relative change these segments could have shown at alpha
  // and `power` (0.05: 5 %), from their pooled noise.
  double detectable = 0;
};

// The change points of `values` (each > 0; others make the series
// unsearchable and give none), in order. boundary[i] (i in 1..n-1) allows a
// split between points i-1 and i (they are of different revisions); an
// empty `boundary` allows every split.
std::vector<ChangePoint> find_change_points(const std::vector<double>& values,
                                            const std::vector<bool>& boundary,
                                            const ChangeOptions& options = {});

// Two-sided p-value of Student's t with `df` degrees of freedom.
double student_t_two_sided_p(double t, double df);
// The quantile of Student's t at probability p (0 < p < 1).
double student_t_quantile(double p, double df);

// "+25.0 %" style text of a ratio.
std::string ratio_percent(double ratio);

}  // namespace yardstick
