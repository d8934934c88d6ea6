// What the parts of one job attempt share: the job, the agent's options,
// the keys and sink of its results, its log, its process executor, its
// metrics, and the way to end it. Its JobRunner owns it; the units of the
// job kinds (bench_job, calibrate_job, deploy_job) work through it.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "agent/host_lock.hpp"
#include "agent/job_log.hpp"
#include "agent/process.hpp"
#include "agent/result_sink.hpp"
#include "agent/step_executor.hpp"
#include "agent/step_metrics.hpp"
#include "common/clock.hpp"
#include "common/secrets.hpp"
#include "common/types.hpp"

namespace yardstick {

struct RunnerOptions {
  std::string home;  // the agent's home: repos/ and work/ live here
  std::string agent_name;
  uint64_t kill_grace_ms = 10'000;      // SIGTERM, then SIGKILL after this
  uint64_t log_flush_ms = 200;          // a log chunk is sent at least this often...
  size_t log_chunk_bytes = 64 * 1024;   // ...or when it reaches this size
  bool allow_absolute_workdir = false;  // else a job's workdir stays inside its workspace
  // What every step gets of the agent's environment (the allow-list and --pass-env).
  EnvVars inherited;
  // Where the values of the job's `secrets:` are found: the secrets file
  // first (every value of it is masked in the job's output, asked for or
  // not), then the agent's whole environment.
  EnvVars secrets_file;
  EnvVars environment;
  // This agent's program: a job of kind "calibrate" runs `SELF calibrate`.
  std::string self_exe;
  // The host's lock (agent/host_lock.hpp), held by the jobs that measure;
  // null: none.
  HostLock* host_lock = nullptr;
};

// Ends the job with `outcome` and `message` (masked before it is sent).
using JobEnd = std::function<void(JobOutcome outcome, const std::string& message)>;

struct JobContext {
  JobContext(JobAssignment job, RunnerOptions options, ProcessLauncher& launcher,
             const Clock& clock, ResultSink& sink, JobEnd end);
  JobContext(const JobContext&) = delete;
  JobContext& operator=(const JobContext&) = delete;

  // The environment of a step (or of a benchmark command, as a step with
  // the variant's env): the allowed part of the agent's, the job's own
  // YARDSTICK_* values, the job's and the step's env, the job's secrets,
  // and the run tag.
  std::vector<std::string> step_env(const StepSpec& step) const;
  // False (the job ended) when the workdir leads out of the workspace
  // through a symbolic link; checked once, after the checkout.
  bool workdir_allowed();
  // Starts a process of the job; false (the job ended, failed) when it could not.
  bool spawn(ProcessSpec spec);
  ResultKey next_key() { return keys.next(); }

  JobAssignment job;
  const RunnerOptions options;
  const Clock& clock;
  ResultSink& sink;
  ResultKeys keys;
  const std::string tag;  // YARDSTICK_RUN_TAG=..., inherited by every process of the job
  SecretMasker masker;    // every value that must not leave the agent
  EnvVars secret_env;     // the job's secrets, by name: in every step's environment
  std::string workspace;  // "" until made
  std::string cwd;        // where the job's steps run
  // Set once the job is stopping: timed out, cancelled, lost.
  std::optional<JobOutcome> forced;
  std::string forced_message;
  JobLog log;
  StepExecutor executor;
  StepMetrics metrics;
  const JobEnd end;

 private:
  bool workdir_checked_ = false;
};

}  // namespace yardstick
