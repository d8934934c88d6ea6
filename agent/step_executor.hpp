// Runs the processes of one job attempt, one at a time: spawns each with
// its pipes, reads and masks what it writes into the job's log, takes its
// run context when it is measured, and stops it (SIGTERM to its group and
// to every process carrying the job's run tag, SIGKILL after the grace
// period, again every grace period while anything is left).
//
// The executor never reaps: the agent's loop does and hands the exit to the
// job's runner, which calls finish().
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "agent/job_log.hpp"
#include "agent/process.hpp"
#include "agent/run_probe.hpp"
#include "common/clock.hpp"
#include "common/command.hpp"
#include "common/secrets.hpp"
#include "common/types.hpp"

namespace yardstick {

// One process to start.
struct ProcessSpec {
  std::string command;  // run with /bin/sh -c unless `direct` is set
  std::vector<std::string> env;
  std::string cwd;
  std::string what;                     // "step build", "run 3 of variant a": for messages
  std::optional<DirectCommand> direct;  // set: execve'd without a shell
  // Measured (a timed step, a benchmark run): perf counters of its tree, and
  // the machine's load, frequency and CPU times before it.
  bool measured = false;
  int64_t started_at_us = 0;  // unix time reported as its start
};

class StepExecutor {
 public:
  // `tag` ("YARDSTICK_RUN_TAG=...") is in the environment of every process
  // of the job. `bench`: the job is a benchmark, whose log says once what
  // this machine cannot count. `masker` is copied for each process's
  // streams at its start.
  StepExecutor(ProcessLauncher& launcher, const Clock& clock, JobLog& log,
               const SecretMasker& masker, std::string tag, uint64_t kill_grace_ms, bool bench);
  ~StepExecutor();
  StepExecutor(const StepExecutor&) = delete;
  StepExecutor& operator=(const StepExecutor&) = delete;

  // Starts `spec`. False, with `error` set, when it could not start.
  bool spawn(ProcessSpec spec, std::string* error);
  // A process is running (spawned and not yet finished).
  bool running() const { return pid_ >= 0; }
  // True when `pid` is the running process.
  bool owns(pid_t pid) const { return pid_ >= 0 && pid == pid_; }

  // The pipe fds to watch for reading.
  std::vector<int> fds() const;
  void on_readable(int fd);

  // The running process was reaped: reads what is left in its pipes, closes
  // them, kills what is left in its group, and returns what it measured
  // (times, resources, exit code or signal, run context). No process runs
  // afterwards.
  StepResult finish(const ExitInfo& exit);

  // SIGTERM now, SIGKILL once the grace period is over (tick). Once per job:
  // later calls do nothing.
  void begin_kill(const std::string& why);
  // Sends SIGKILL again to whatever is left once each grace period is over.
  void tick(int64_t now_ms);
  // The steady time (ms) of the next SIGKILL; INT64_MAX when none is due.
  int64_t next_kill_ms() const;
  // Sends `signal` to the running process's group and to every process of the job.
  void kill_everything(int signal);
  // At the job's end: SIGKILL to every process of the job until none is
  // left (20 rounds, 1 ms apart): not the group, not a setsid daemon outlives it.
  void kill_leftovers();

  const std::string& tag() const { return tag_; }

 private:
  void read_fd(int& fd, LogStream stream, bool drain);
  // Closes a pipe of the running process; what its masker held goes to the log.
  void close_stream(int& fd, LogStream stream);

  ProcessLauncher& launcher_;
  const Clock& clock_;
  JobLog& log_;
  const SecretMasker& masker_;
  std::string tag_;
  uint64_t kill_grace_ms_;
  bool bench_;

  pid_t pid_ = -1;
  int out_fd_ = -1, err_fd_ = -1;
  SecretMasker out_mask_, err_mask_;  // the running process's streams
  int64_t start_ns_ = 0;              // steady
  int64_t started_at_us_ = 0;         // unix
  int64_t kill_at_ms_ = 0;            // SIGKILL time once SIGTERM was sent; 0: not killing

  // Run context of the running process (when measured): perf counters of
  // its tree, and the machine before it.
  TreeCounters counters_;
  std::optional<CpuTimes> cpu_before_;
  std::optional<uint64_t> pressure_before_;  // /proc/pressure/cpu, microseconds
  std::optional<double> load1_before_;
  std::optional<double> mhz_before_;
  bool counters_logged_ = false;  // what the kernel refused was said in the job log
};

}  // namespace yardstick
