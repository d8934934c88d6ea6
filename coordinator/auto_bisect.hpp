// `bisect: auto`: a new regression of a job that asks for it starts
// `yardstick bisect` between the change point's two revisions, on the
// machine that showed it (coordinator/cli/bisect.cpp). The bisection is a
// child process of the coordinator in a session of its own, and a client
// like any other: it submits its runs over the clients endpoint with a
// client key of the submit role (--bisect-key), records what it found, and
// outlives a coordinator that restarts meanwhile (it waits for it, as
// `submit --wait` does). Its progress lines go to the coordinator's
// standard error.
#pragma once

#include <sys/types.h>

#include <cstddef>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "coordinator/store/pg_change_points.hpp"

namespace yardstick {

class AutoBisect {
 public:
  struct Options {
    std::string command;          // the `yardstick` CLI
    std::string endpoint;         // the clients endpoint, connectable from this host
    std::string key_file;         // a client secret key of the submit role; empty: none
    std::string coordinator_key;  // the coordinator's public key (Z85); empty: insecure
    size_t max_running = 4;       // bisections at once; more are said and not started
  };
  explicit AutoBisect(Options options);
  AutoBisect(const AutoBisect&) = delete;
  AutoBisect& operator=(const AutoBisect&) = delete;

  // The clients endpoint once bound (a wildcard address becomes loopback).
  void set_endpoint(const std::string& bound);
  // The argument vector that bisects `change` of pipeline `pipeline`.
  std::vector<std::string> command_for(const FoundChange& change) const;
  // Starts a bisection of `change` unless one of the same series runs, the
  // change has no revisions, or max_running run; says which in the log.
  // Returns whether it started one.
  bool start(const FoundChange& change);
  // Collects the bisections that ended, saying how each exited.
  void reap();
  size_t running();

 private:
  Options options_;
  std::mutex mu_;
  std::map<pid_t, std::string> running_;  // pid -> the series, in words
};

// The CLI beside this executable (`yardstick`, or `cli/yardstick` in a
// build tree), else `yardstick` on the PATH.
std::string default_bisect_command();

}  // namespace yardstick
