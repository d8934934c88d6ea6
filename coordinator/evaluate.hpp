// What the coordinator works out when a job ends: budget breaches and the
// benchmark results of each variant against the baseline. Pure functions.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "common/stats.hpp"
#include "common/types.hpp"

namespace yardstick {

// A breach as people read it, one way everywhere (the job's message,
// `status`): "wall <= 0.011s (actual 0.0110423)", the actual value exact,
// so that a breach never looks like none.
std::string breach_text(const std::string& budget, std::optional<double> actual);

struct BudgetBreach {
  std::optional<int> step_index;  // nullopt: the job's budget
  std::string subject;            // "wall" or the metric's name
  std::string budget;             // "wall <= 420s", "ccache.hit_rate >= 0.8"
  std::optional<double> actual;   // nullopt: the metric was never reported
  bool fails_job = false;
};

// Checks `budget` against a wall time (seconds) and the metrics reported
// (last value of each name). A metric never reported breaches its bound.
std::vector<BudgetBreach> check_budget(const Budget& budget, std::optional<int> step_index,
                                       double wall_s, const std::map<std::string, double>& metrics);

struct VariantResult {
  std::string variant;
  Summary summary;
  std::optional<Comparison> vs_baseline;  // unset for the baseline itself
  std::vector<std::string> warnings;
  std::string measure = "wall";  // what summary and comparison are of: wall, cpu, instructions
  size_t contended = 0;          // samples taken under contention (samples.contended)
};

// A benchmark's wall budget holds for the median of each variant's counted
// runs (the figure its users read), not for the job's whole time.
std::vector<BudgetBreach> check_bench_wall_budget(const Budget& budget,
                                                  const std::vector<VariantResult>& results);

// `walls[i]` are the counted runs of variant i in run order; variant 0 is the
// baseline. Each variant is compared with the baseline by compare_runs, the
// test chosen from the counts and alpha alone: `interleaved` (run i of every
// variant was taken in round i, in a shuffled order) with as many runs as
// the baseline, round by round where the rounds let the paired test reach
// alpha, else the exact unpaired test; otherwise, or when the counts
// differ, as two independent samples (Mann-Whitney). A count at which no
// test can decide gets a warning saying which would.
std::vector<VariantResult> evaluate_bench(const std::vector<std::string>& names,
                                          const std::vector<std::vector<double>>& walls,
                                          double alpha, double noise_floor,
                                          bool interleaved = false);

// One counted run as stored (samples): wall and CPU seconds, instructions
// when counted (NULL: not counted), whether taken under contention.
struct RunValues {
  double wall_s = 0;
  double cpu_s = 0;  // user + sys
  std::optional<double> instructions;
  bool contended = false;
};
struct VariantRuns {
  std::string name;
  std::vector<RunValues> runs;  // by counted run index
};

// Each variant's values of `measure` ("wall", "cpu", "instructions"), the
// contended runs left out when `drop_contended` (interleaved: the whole
// round, so that the rest stay paired). nullopt, with `why_not` set, when
// the samples cannot give that measure: instructions that some run lacks
// (never judged on zeros), an unknown measure.
std::optional<std::vector<std::vector<double>>> measure_values(const std::vector<VariantRuns>& runs,
                                                               const std::string& measure,
                                                               bool interleaved,
                                                               bool drop_contended,
                                                               std::string* why_not);

// The verdicts of a bench job in every measure its samples allow (wall and
// cpu always, instructions when every run has them), each as
// evaluate_bench, with the count of contended samples per variant (the
// dropped ones when `drop_contended`). `notes` gets why a measure was left
// out when it is `spec.measure` (instructions the samples lack).
std::vector<VariantResult> evaluate_measures(const std::vector<VariantRuns>& runs,
                                             const BenchSpec& spec, bool drop_contended,
                                             std::vector<std::string>* notes);

}  // namespace yardstick
