// Where the results of a job attempt go, and the sequence that orders them.
#pragma once

#include <cstdint>
#include <string>

#include "agent/collectors.hpp"
#include "common/calibration.hpp"
#include "common/deploy_spec.hpp"
#include "common/types.hpp"

namespace yardstick {

enum class LogStream { kStdout, kStderr, kSystem };

// Receives results in the order they happen; each carries its (job, attempt, seq).
class ResultSink {
 public:
  virtual ~ResultSink() = default;
  virtual void step_started(const ResultKey& key, uint32_t index, const std::string& name,
                            int64_t started_at_us) = 0;
  virtual void step_finished(const ResultKey& key, const StepResult& step) = 0;
  virtual void log_chunk(const ResultKey& key, LogStream stream, int32_t step_index,
                         const std::string& data, int64_t at_us) = 0;
  virtual void job_finished(const ResultKey& key, JobOutcome outcome, const std::string& message,
                            int64_t at_us) = 0;
  // One counted benchmark run of variant `variant` (index `variant_index`).
  virtual void sample(const ResultKey& key, const std::string& variant, uint32_t variant_index,
                      uint32_t run_index, const StepResult& run) = 0;
  // A metric from a collector or the metrics file; step_index -1 for a benchmark run.
  virtual void metric(const ResultKey& key, int32_t step_index, const std::string& variant,
                      int32_t run_index, const CollectedMetric& metric) = 0;
  // One micro-benchmark's times of a job of kind "calibrate".
  virtual void calibration(const ResultKey& key, const CalibrationTimes& times) = 0;
  // A phase of a job of kind "deploy", once it ended; and how the deploy
  // ended, sent before the job's end.
  virtual void deploy_phase(const ResultKey& key, const DeployPhase& phase) = 0;
  virtual void deploy_result(const ResultKey& key, const DeployReport& report) = 0;
};

// The keys of one job attempt's results: seq 1, 2, 3, ... in the order the
// results are made. Every unit of the attempt takes its keys from one.
class ResultKeys {
 public:
  explicit ResultKeys(JobRef ref) : ref_(ref) {}
  ResultKey next() { return {ref_.job_id, ref_.attempt, ++seq_}; }

 private:
  JobRef ref_;
  uint64_t seq_ = 0;
};

}  // namespace yardstick
