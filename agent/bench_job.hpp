// The benchmark of a job (its `bench:` section), after the job's steps:
// runs the plan's actions one at a time (setup, prepare, warm-ups, counted
// runs, conclude, cleanup of each variant), reports each counted run as a
// sample with its metrics, logs a summary as the coordinator will judge
// it, and ends the job.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "agent/bench_plan.hpp"
#include "agent/job_context.hpp"

namespace yardstick {

class BenchJob {
 public:
  // `context.job.bench` must be set.
  explicit BenchJob(JobContext& context);

  // Logs the plan and starts its first action; the job ends when the plan
  // is done, or at once when it cannot start.
  void start();
  // A benchmark command is running (started and not yet finished).
  bool running() const { return action_.has_value(); }
  // The running command ended; `run` is what the executor measured. Starts
  // the next action, or ends the job.
  void finish(StepResult run);

 private:
  void next_action();
  void log_summary();

  JobContext& ctx_;
  std::vector<Variant> variants_;  // the job's, or one "default" variant
  std::optional<BenchPlan> plan_;
  std::optional<BenchAction> action_;       // the running benchmark action
  std::optional<std::string> failure_;      // set: cleaning up, then the job fails
  std::vector<bool> shell_logged_;          // per variant: how its command starts was logged
  std::vector<std::vector<double>> walls_;  // per variant, counted runs, seconds
  std::vector<std::vector<double>> cpu_;    // per variant, counted runs, user + sys seconds
  std::vector<std::vector<double>> instr_;  // per variant, counted runs, instructions
  bool instr_missing_ = false;              // a counted run had no instruction count
  std::vector<uint32_t> contended_;         // per variant, counted runs under contention
};

}  // namespace yardstick
