// Result intake and reconciliation: the coordinator's decisions about what
// an agent sends, as pure functions of the job table, so that each rule has
// a unit test with a fake store and clock.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/types.hpp"
#include "coordinator/job_table.hpp"

namespace yardstick {

// Where a result goes.
enum class Intake {
  kStore,      // from the agent holding the job's current attempt, while it runs
  kDuplicate,  // a late copy for the attempt that ended on this agent: acknowledge only
  kRefuse,     // any other: never stored; the agent is told to abandon the attempt
};

struct IntakeDecision {
  Intake intake = Intake::kRefuse;
  std::string why;  // for kRefuse
};

// `job` is the job the key names (nullptr: not in flight).
IntakeDecision judge_result(const Job* job, const ResultKey& key, const std::string& agent);

// What to do about the attempts an agent says it holds.
struct Reconciliation {
  std::vector<JobRef> abandon;         // held, but not this agent's current attempt
  std::vector<uint64_t> cancel_again;  // held, with a cancel the agent has not confirmed
  std::vector<uint64_t> lost;          // given to this agent, which does not hold it
};

// `held` comes from a hello (complete: anything missing is lost at once) or
// a heartbeat (anything missing is lost once its assignment is older than
// `grace_ms`, so that an assignment in flight is not mistaken for a loss).
Reconciliation reconcile_held(JobTable& table, const std::string& agent,
                              const std::vector<JobRef>& held, bool hello, int64_t now_ms,
                              int64_t grace_ms);

}  // namespace yardstick
