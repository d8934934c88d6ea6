// Placement of queued jobs on agents: a pure function, so that matching,
// slots, priority and FIFO order are unit-tested without sockets or a store.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <tuple>
#include <vector>

#include "common/types.hpp"

namespace yardstick {

struct Job;

struct AgentCapacity {
  std::string name;
  Labels labels;
  uint64_t machine_id = 0;
  uint32_t slots = 1;
  uint32_t free_slots = 1;
  bool accepting = true;  // false while draining or not yet welcomed
  std::string machine;    // the machine's name: what pins a fan-out job
};

struct Placement {
  uint64_t job_id = 0;
  std::string agent;
};

// Places `queued` (already in priority, then submission order) on `agents`.
// A job goes to a matching agent with enough free slots — its labels contain
// all of the job's on.labels, and its machine is the job's target machine
// when the job is pinned, and its name the job's target agent when set — preferring the agent with
// the most free slots, then the name. A job that fits nowhere does not hold back the jobs after it
// that fit elsewhere.
std::vector<Placement> schedule(const std::vector<Job*>& queued, std::vector<AgentCapacity> agents);

// A queued job that its concurrency group holds back, and why.
struct ConcurrencyWait {
  uint64_t job_id = 0;
  std::string message;  // "waiting for concurrency group G (job N of pipeline P is running)"
};

// Of `queued` (in placement order), the jobs that may be placed now. Per
// concurrency group (across all pipelines) at most one job is held: none of
// a group with a job in `held` (the assigned and running jobs), else only
// the first in line, the earliest queued (then the lowest id). Jobs without
// a group all pass. `waits`, when set, gets one entry per job held back.
std::vector<Job*> concurrency_filter(const std::vector<Job*>& queued,
                                     const std::vector<const Job*>& held,
                                     std::vector<ConcurrencyWait>* waits = nullptr);

// Whether `agent` could ever run `job` (labels and machine; slots aside).
bool agent_matches(const AgentCapacity& agent, const Job& job);

// What decides which agents may take a job (and so why none can): jobs
// with equal requirements are judged once per pass.
using Requirements = std::tuple<std::string, std::string, uint64_t, Labels>;
Requirements requirements(const Job& job);

}  // namespace yardstick
