// Runs one attempt of one job: its checkout step and its steps, in order,
// in a workspace; streams the output; enforces step and job timeouts and
// cancellation; and reports every result to a ResultSink.
//
// The runner does not block: the agent's loop feeds it readable fds, reaped
// children and clock ticks.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "agent/bench_plan.hpp"
#include "agent/collectors.hpp"
#include "agent/process.hpp"
#include "common/calibration.hpp"
#include "common/clock.hpp"
#include "common/deploy_spec.hpp"
#include "common/secrets.hpp"
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
};

class JobRunner {
 public:
  JobRunner(JobAssignment job, RunnerOptions options, ProcessLauncher& launcher, const Clock& clock,
            ResultSink& sink);
  ~JobRunner();

  JobRef ref() const { return {job_.job_id, job_.attempt}; }
  uint32_t slots() const { return job_.slots; }
  bool done() const { return done_; }

  // Prepares the workspace and starts the first step.
  void start();
  // The pipe fds to watch for reading.
  std::vector<int> fds() const;
  void on_readable(int fd);
  // A reaped child. Returns true when it was this runner's step process.
  bool on_exit(const ExitInfo& exit);
  // Deadlines (timeouts, kill grace) and log flushing.
  void tick();
  // Stops the job: SIGTERM, SIGKILL after the grace period; the job ends
  // with `outcome` (cancelled; lost when the agent itself is stopping).
  void cancel(const std::string& reason, JobOutcome outcome = JobOutcome::kCancelled);
  // "YARDSTICK_RUN_TAG=...": in the environment of every process of the job.
  const std::string& tag() const { return tag_; }
  // The job's workspace folder (under the agent's home).
  static std::string workspace_path(const std::string& home, uint64_t job_id, uint32_t attempt);
  // The earliest steady time (ms) at which tick() has something to do.
  int64_t next_deadline_ms() const;

 private:
  struct LogBuffer {
    std::string data;
    int64_t first_at_ms = 0;
  };
  void start_step(size_t index);
  // The shell script of the checkout step.
  std::string checkout_script() const;
  // False (job ended) when the workdir resolves outside the workspace.
  bool workdir_allowed();
  void finish_step(const ExitInfo& exit);
  // What every finished process gives: times, resources, exit code or signal.
  StepResult measured(const ExitInfo& exit, int64_t wall_ns) const;
  // Benchmark actions, after the steps.
  void start_bench();
  void next_bench_action();
  void finish_bench_action(const ExitInfo& exit, int64_t wall_ns);
  void log_bench_summary();
  // A job of kind "calibrate": refused when it carries anything to run
  // besides the agent's own micro-benchmarks; else its one step.
  bool prepare_calibration();
  // Reads the calibration step's file and reports each benchmark; false
  // (job failed) when it is missing or bad.
  bool report_calibration();
  // A job of kind "deploy": its checkout, then one step that runs `SELF
  // deploy` (agent/deploy_process.hpp); false (job ended) when it cannot.
  bool prepare_deploy();
  // Reports the deploy's new phases and its result as its events file grows.
  void read_deploy_events();
  // Spawns `command`; false (job ended) when it could not start.
  // With `direct`, the program is execve'd without a shell.
  // With `measured`, the process's run context is taken (counters, /proc).
  bool spawn(const std::string& command, std::vector<std::string> env, const std::string& cwd,
             const std::string& what, std::optional<DirectCommand> direct = std::nullopt,
             bool measured = false);
  // Reads the pipes' remaining output and closes them; kills what is left in the group.
  void drain_process();
  void start_collectors(const std::vector<std::string>& specs, const std::vector<std::string>& env,
                        const std::string& cwd);
  void finish_collectors(int32_t step_index, const std::string& variant, int32_t run_index);
  void end_job(JobOutcome outcome, const std::string& message);
  void begin_kill(const std::string& why);
  void read_fd(int& fd, LogStream stream, bool drain);
  // Closes a pipe of the running process; what its masker held goes to the log.
  void close_stream(int& fd, LogStream stream);
  // The values of the job's secrets; false (job failed) when one is missing.
  bool resolve_secrets();
  void flush(LogStream stream);
  void flush_all();
  void system_log(const std::string& line);
  ResultKey next_key() { return {job_.job_id, job_.attempt, ++seq_}; }
  std::vector<std::string> step_env(const StepSpec& step) const;
  void kill_everything(int signal);

  JobAssignment job_;
  RunnerOptions options_;
  ProcessLauncher& launcher_;
  const Clock& clock_;
  ResultSink& sink_;

  std::vector<StepSpec> steps_;  // the checkout step (when any), then the job's steps
  std::string workspace_;        // removed at the end when it was made fresh
  bool fresh_workspace_ = false;
  std::string cwd_;
  bool workdir_checked_ = false;
  std::string tag_;  // YARDSTICK_RUN_TAG=..., inherited by every process of the job
  uint64_t seq_ = 0;

  size_t step_ = 0;
  pid_t pid_ = -1;
  int out_fd_ = -1, err_fd_ = -1;
  int64_t step_start_ns_ = 0;
  int64_t step_start_us_ = 0;
  int64_t step_deadline_ms_ = 0;      // 0: none
  int64_t job_deadline_ms_ = 0;       // 0: none
  int64_t kill_at_ms_ = 0;            // SIGKILL time once SIGTERM was sent; 0: not killing
  std::optional<JobOutcome> forced_;  // timed out or cancelled
  std::string forced_message_;
  bool step_timed_out_ = false;
  LogBuffer out_buf_, err_buf_, sys_buf_;
  bool done_ = false;

  EnvVars secret_env_;                // the job's secrets, by name: in every step's environment
  SecretMasker masker_;               // every value that must not leave the agent
  SecretMasker out_mask_, err_mask_;  // the running process's streams

  std::string deploy_events_;  // a deploy job's events file
  size_t deploy_offset_ = 0;
  int64_t next_events_read_ms_ = 0;
  static constexpr int64_t kDeployEventsPollMs = 250;
  std::optional<DeployReport> deploy_report_;  // its result, once read
  std::string metrics_file_;                   // $YARDSTICK_METRICS
  size_t metrics_offset_ = 0;
  std::vector<std::unique_ptr<Collector>> collectors_;  // of the running step or run
  std::optional<BenchPlan> plan_;
  std::optional<BenchAction> action_;             // the running benchmark action
  std::optional<std::string> bench_failure_;      // set: cleaning up, then the job fails
  std::vector<bool> shell_logged_;                // per variant: how its command starts was logged
  std::vector<std::vector<double>> bench_walls_;  // per variant, counted runs, seconds
  std::vector<std::vector<double>> bench_cpu_;    // per variant, counted runs, user + sys seconds
  std::vector<std::vector<double>> bench_instr_;  // per variant, counted runs, instructions
  bool instr_missing_ = false;                    // a counted run had no instruction count
  std::vector<uint32_t> bench_contended_;         // per variant, counted runs under contention

  // Run context of the running process (when measured: a timed step or a
  // benchmark run): perf counters of its tree, and the machine before it.
  TreeCounters counters_;
  std::optional<CpuTimes> cpu_before_;
  std::optional<double> load1_before_;
  std::optional<double> mhz_before_;
  bool counters_logged_ = false;  // what the kernel refused was said in the job log
};

// Quotes `s` for /bin/sh.
std::string shell_quote(const std::string& s);

}  // namespace yardstick
