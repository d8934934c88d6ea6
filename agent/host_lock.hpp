// One benchmark per host. Agents that share a host (CI runners often do,
// each with its own --machine name) share one lock: an exclusive flock(2)
// on `host.lock` in a folder every agent of the host uses (--lock-dir,
// default /run/yardstick, else /tmp/yardstick). An exclusive bench, a
// calibration and a deploy's probe hold it while they run, so that no two
// of them measure beside each other; the holder writes who it is into the
// file, for the log of the job that waits. The kernel releases a lock
// whose holder died.
#pragma once

#include <memory>
#include <string>

#include "common/types.hpp"

namespace yardstick {

// Held while it lives.
class HostLockHold {
 public:
  explicit HostLockHold(int fd) : fd_(fd) {}
  ~HostLockHold();
  HostLockHold(const HostLockHold&) = delete;
  HostLockHold& operator=(const HostLockHold&) = delete;

 private:
  int fd_;
};

class HostLock {
 public:
  // `dir` is made (mode 1777, as /tmp: agents of several users share it)
  // when missing. Empty: no lock (--no-host-lock): every try succeeds.
  explicit HostLock(std::string dir);

  bool enabled() const { return !dir_.empty(); }
  const std::string& path() const { return path_; }
  // Tries once, never blocks. A hold when taken, writing `who` into the
  // file; nullptr when another holds it (or, with `error` set, when the
  // file cannot be opened: the job then runs unlocked, saying so).
  std::unique_ptr<HostLockHold> try_acquire(const std::string& who, std::string* error);
  // Who holds it, as the holder wrote it ("" when unknown).
  std::string holder() const;

  // The folder agents of this host share when none is given: /run/yardstick
  // when it exists or can be made, else /tmp/yardstick.
  static std::string default_dir();

 private:
  std::string dir_, path_;
};

// Whether a job holds the host while it runs: an exclusive job (a bench by
// default, a calibration), and a deploy whose probe measures (unless the
// pipeline says probe.host_lock: false).
bool needs_host_lock(const JobAssignment& job);

// Who this host is, for `yardstick agents` to show agents that share it:
// /etc/machine-id, else the host name.
std::string host_identity();

}  // namespace yardstick
