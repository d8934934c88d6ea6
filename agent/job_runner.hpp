// Runs one attempt of one job: its checkout step and its steps, in order,
// in a workspace, then its benchmark; streams the output; enforces step and
// job timeouts and cancellation; and reports every result to a ResultSink.
//
// The runner holds the job's lifecycle (validation, secrets, workspace,
// steps in order, timeouts, the end); the checkout script, the processes,
// the metrics and each job kind's own part live in their units
// (agent/checkout, step_executor, step_metrics, bench_job, calibrate_job,
// deploy_job), sharing the job's JobContext.
//
// The runner does not block: the agent's loop feeds it readable fds, reaped
// children and clock ticks.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "agent/checkout.hpp"
#include "agent/job_context.hpp"
#include "agent/process.hpp"
#include "agent/result_sink.hpp"
#include "common/clock.hpp"
#include "common/types.hpp"

namespace yardstick {

class BenchJob;
class DeployJob;

class JobRunner {
 public:
  JobRunner(JobAssignment job, RunnerOptions options, ProcessLauncher& launcher, const Clock& clock,
            ResultSink& sink);
  ~JobRunner();

  JobRef ref() const { return {ctx_.job.job_id, ctx_.job.attempt}; }
  uint32_t slots() const { return ctx_.job.slots; }
  bool done() const { return done_; }

  // Prepares the workspace and starts the first step; a job that measures
  // first takes its host's lock, and waits (saying so in its log) while
  // another holds it.
  void start();
  bool waiting_for_host() const { return waiting_host_; }
  // The pipe fds to watch for reading.
  std::vector<int> fds() const { return ctx_.executor.fds(); }
  void on_readable(int fd) { ctx_.executor.on_readable(fd); }
  // A reaped child. Returns true when it was this runner's step process.
  bool on_exit(const ExitInfo& exit);
  // Deadlines (timeouts, kill grace) and log flushing.
  void tick();
  // Stops the job: SIGTERM, SIGKILL after the grace period; the job ends
  // with `outcome` (cancelled; lost when the agent itself is stopping).
  void cancel(const std::string& reason, JobOutcome outcome = JobOutcome::kCancelled);
  // "YARDSTICK_RUN_TAG=...": in the environment of every process of the job.
  const std::string& tag() const { return ctx_.tag; }
  // The job's workspace folder (under the agent's home).
  static std::string workspace_path(const std::string& home, uint64_t job_id, uint32_t attempt);
  // The earliest steady time (ms) at which tick() has something to do.
  int64_t next_deadline_ms() const;

 private:
  // False (the job ended) when the repository, revision or workdir is
  // refused, a secret is missing, or the workspace cannot be made.
  bool prepare();
  // The values of the job's secrets; false (job failed) when one is missing.
  bool resolve_secrets();
  // Takes the host's lock when the job needs it; false while another holds it.
  bool take_host(int64_t now_ms);
  // Prepares the workspace and starts the first step (the host is ours).
  void begin();
  void start_step(size_t index);
  void finish_step(const ExitInfo& exit);
  // After the last step: the benchmark, when the job has one; else the end.
  void start_bench();
  void end_job(JobOutcome outcome, const std::string& message);

  JobContext ctx_;
  std::vector<StepSpec> steps_;   // the checkout step (when any), then the job's steps
  bool fresh_workspace_ = false;  // the workspace is removed at the end when made fresh
  std::unique_ptr<BenchJob> bench_;
  std::unique_ptr<DeployJob> deploy_;
  size_t step_ = 0;
  int64_t step_deadline_ms_ = 0;  // 0: none
  int64_t job_deadline_ms_ = 0;   // 0: none
  bool step_timed_out_ = false;
  bool done_ = false;
  // The host's lock: held from the job's start to its end by a job that
  // measures; while another holds it, the job waits before it starts.
  std::unique_ptr<HostLockHold> host_hold_;
  bool waiting_host_ = false;
  int64_t waiting_since_ms_ = 0, next_host_try_ms_ = 0;
  static constexpr int64_t kHostTryMs = 100;
};

}  // namespace yardstick
