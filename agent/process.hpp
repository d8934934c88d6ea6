// Starting and stopping the processes of a job. The agent reaps every child
// itself (it is a child subreaper and waits on SIGCHLD), so a launcher only
// starts processes and signals them.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "agent/run_probe.hpp"

namespace yardstick {

// The monotonic clock in nanoseconds: what every measured wall time is read from.
inline int64_t steady_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

struct SpawnRequest {
  std::string command;           // run with /bin/sh -c, unless `program` is set
  std::vector<std::string> env;  // complete environment, "NAME=value"
  std::string cwd;
  std::string program;            // when set: execve this file directly with `argv`
  std::vector<std::string> argv;  // with `program`
  // Measured: the child is forked and waits until perf counters are open on
  // it (they count its whole tree from its exec), then execs. Otherwise it
  // is started with posix_spawn and not counted.
  bool count = false;
};

struct Spawned {
  pid_t pid = -1;   // also the process group id: the child leads its own session
  int out_fd = -1;  // read ends, non-blocking, owned by the caller
  int err_fd = -1;
  TreeCounters counters;   // with SpawnRequest::count
  int64_t started_ns = 0;  // with count: steady clock when the child was let go to exec; else 0
};

class ProcessLauncher {
 public:
  virtual ~ProcessLauncher() = default;
  // Starts `request.command` in its own session and process group with stdin
  // from /dev/null. Returns nullopt and sets `error` when it cannot start.
  virtual std::optional<Spawned> spawn(const SpawnRequest& request, std::string* error) = 0;
  // Sends `signal` to process group `pgid`. Harmless when the group is gone.
  virtual void signal_group(pid_t pgid, int signal) = 0;
  // Sends `signal` to every process whose environment holds `tag`
  // ("NAME=value"): this reaches the processes that left the group (setsid
  // daemons). Returns how many were signalled. Looks among this process's
  // descendants when it is their subreaper and the kernel lists children.
  virtual int signal_tagged(const std::string& tag, int signal) = 0;
  // The same among every process of the host: for what an earlier run of
  // the agent left (its orphans went to init, not to this process).
  virtual int signal_tagged_anywhere(const std::string& tag, int signal) {
    return signal_tagged(tag, signal);
  }
};

class PosixLauncher final : public ProcessLauncher {
 public:
  std::optional<Spawned> spawn(const SpawnRequest& request, std::string* error) override;
  void signal_group(pid_t pgid, int signal) override;
  int signal_tagged(const std::string& tag, int signal) override;
  int signal_tagged_anywhere(const std::string& tag, int signal) override;
};

// Makes this process a child subreaper and blocks SIGCHLD so that a
// signalfd can report it. Call before any thread is started. Returns the
// signalfd, or -1 with errno set.
int become_subreaper_with_signalfd();

// Reaps every child that has exited. For each, calls `on_exit(pid, status,
// rusage)`. Never blocks.
struct ExitInfo {
  pid_t pid;
  int status;
  uint64_t user_us;
  uint64_t sys_us;
  uint64_t max_rss_kb;
  uint64_t vol_ctx = 0;    // ru_nvcsw: of the process and its reaped descendants
  uint64_t invol_ctx = 0;  // ru_nivcsw
};
std::vector<ExitInfo> reap_children();

}  // namespace yardstick
