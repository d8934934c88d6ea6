// Where queued jobs go, and what becomes of jobs that cannot go anywhere:
// placement on the connected agents (scheduler.hpp decides, this unit acts),
// the wait notes of jobs no agent can take or their concurrency group holds
// back, the queue timeout, jobs whose agent did not come back after a
// restart, and cancels sent to agents.
//
// Cost of placing, per turn in which something changed (mark_dirty();
// nothing runs in a turn where nothing changed): the queued jobs come from
// the table's queue index in order (no sort, no pass over finished or
// pending jobs), the agents' used slots from its held-job index, O(held);
// then scheduler.cpp's pass, which ends once no slot is free: placing one
// job costs at most one label match per connected agent. check_waits()
// costs one look over the fleet per distinct set of requirements.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/clock.hpp"
#include "coordinator/agent_registry.hpp"
#include "coordinator/config.hpp"
#include "coordinator/job_table.hpp"
#include "coordinator/outbox.hpp"
#include "coordinator/web/metrics.hpp"

namespace yardstick {

class Placer {
 public:
  Placer(const CoordinatorConfig& config, const Clock& clock, JobTable& table,
         AgentRegistry& agents, Outbox& outbox)
      : config_(config), clock_(clock), table_(table), agents_(agents), outbox_(outbox) {}

  // Something that placement depends on changed (a job queued or ended, an
  // agent came, went or drains): schedule() places again.
  void mark_dirty() { dirty_ = true; }
  // Where dispatch latencies are counted (null: nowhere).
  void set_metrics(CoordinatorMetrics* metrics) { metrics_ = metrics; }
  bool dirty() const { return dirty_; }
  // Places queued jobs on connected agents, when anything changed, and
  // says why each job its concurrency group holds back waits.
  void schedule();
  // Queued jobs no connected agent can take are noted, and failed after
  // --queue-timeout-ms; assigned jobs whose agent did not come back after
  // a coordinator restart are lost. Run once a second.
  void check_waits();
  // Why no connected agent can take `job` now; empty when one can.
  std::string unplaceable_reason(const Job& job) const;
  // Cancels a job: at once when no agent holds it, else asks its agent
  // (and the agent's job end says cancelled).
  void cancel(Job& job, const std::string& why);
  // Slots the jobs held by `agent` take.
  uint32_t used_slots(const std::string& agent);
  // The coordinator did not serve for `gap_ms`: deadlines move by as much.
  void extend(int64_t gap_ms);

 private:
  void place(const std::vector<Job*>& queued);
  void note_concurrency_waits();
  void send_assign(const AgentSession& session, const Job& job);

  const CoordinatorConfig& config_;
  const Clock& clock_;
  JobTable& table_;
  AgentRegistry& agents_;
  Outbox& outbox_;
  bool dirty_ = true;
  CoordinatorMetrics* metrics_ = nullptr;
};

}  // namespace yardstick
