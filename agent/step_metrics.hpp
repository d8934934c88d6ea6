// The metrics of one job attempt's steps and benchmark runs: its
// collectors (a snapshot before the process, the difference after it) and
// the lines its commands appended to the metrics file ($YARDSTICK_METRICS).
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "agent/collectors.hpp"
#include "agent/job_log.hpp"
#include "agent/result_sink.hpp"
#include "common/secrets.hpp"

namespace yardstick {

class StepMetrics {
 public:
  // Metric names and units, which come from what the commands wrote, are
  // masked with `masker` before they are sent.
  StepMetrics(ResultSink& sink, ResultKeys& keys, JobLog& log, const SecretMasker& masker);

  // The job's metrics file; "" until the workspace exists (then nothing is read).
  void set_file(std::string path) { file_ = std::move(path); }
  const std::string& file() const { return file_; }

  // Before a step or counted run: the collectors named by `specs` take
  // their snapshot (an unknown one is a warning in the job log).
  void start(const std::vector<std::string>& specs, const std::vector<std::string>& env,
             const std::string& cwd);
  // After it: sends what the collectors and the metrics file give, for
  // `step_index` (-1 for a benchmark's run) or `variant` and `run_index`
  // (-1 for a step). What goes wrong is a warning in the job log.
  void finish(int32_t step_index, const std::string& variant, int32_t run_index);
  // Lines of the metrics file written by a command that describes no step
  // or counted run (setup, warm-ups, cleanup): read past, never sent.
  void skip();

 private:
  ResultSink& sink_;
  ResultKeys& keys_;
  JobLog& log_;
  const SecretMasker& masker_;
  std::string file_;
  size_t offset_ = 0;
  std::vector<std::unique_ptr<Collector>> collectors_;  // of the running step or run
};

}  // namespace yardstick
