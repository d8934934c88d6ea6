// The agents' side of the protocol that is not a result: registration
// (hello: admission, machine and agent rows, reclaim of the jobs it holds,
// calibration of a new machine), heartbeats (answered at once: liveness
// never waits for a commit), reconciliation of what an agent runs with
// what it should, leases, and the acknowledgements and abandons a turn
// gathered, sent after it commits.
#pragma once

#include <set>
#include <string>
#include <vector>

#include "common/clock.hpp"
#include "coordinator/agent_registry.hpp"
#include "coordinator/calibrations.hpp"
#include "coordinator/config.hpp"
#include "coordinator/handlers.hpp"
#include "coordinator/job_table.hpp"
#include "coordinator/outbox.hpp"
#include "coordinator/placement.hpp"
#include "coordinator/store/store.hpp"

namespace yardstick {

// The heartbeat interval and lease the fleet is given.
struct Cadence {
  int64_t interval_ms;
  int64_t lease_ms;
};
// For a fleet of `agents`: the configured interval and lease, or, when the
// fleet would send more than max_heartbeats_per_s at that interval, the
// interval that keeps it there (rounded up to 100 ms) and a lease longer
// in the same proportion. A fleet of 10,000 at 500/s beats every 20 s.
Cadence fleet_cadence(const CoordinatorConfig& config, size_t agents);

class AgentChannel {
 public:
  AgentChannel(const CoordinatorConfig& config, const Clock& clock, AgentRecords& store,
               JobTable& table, AgentRegistry& agents, Outbox& outbox, Placer& placement,
               Calibrations& calibrations)
      : config_(config),
        clock_(clock),
        store_(store),
        table_(table),
        agents_(agents),
        outbox_(outbox),
        placement_(placement),
        calibrations_(calibrations) {}

  // agentHello, heartbeat, error.
  void install(Handlers& handlers);

  // Agents silent past the lease are lost (their jobs become new attempts
  // or fail); agents heard from are written as seen, in one statement.
  void check_leases();
  // Sends the acknowledgements and abandons the turn gathered (after it committed).
  void flush_acks();
  // Results acknowledged to agents since start (for /metrics).
  uint64_t acks_sent() const { return acks_sent_; }
  // The turn was undone: what it gathered describes nothing.
  void discard_acks();
  // Store down: a heartbeat of a registered agent is still answered; false
  // when the route has no session (it registers once the store is back).
  bool answer_heartbeat(const std::string& route, uint64_t request_id);
  // Tells every agent to register again and forgets every session (after
  // the store recovered: sessions may name rows that were rolled back).
  void reset_sessions();

 private:
  void on_hello(const Peer& peer, uint64_t req, wire::Envelope::Reader env);
  void on_heartbeat(const Peer& peer, uint64_t req, wire::Envelope::Reader env);
  void on_error(const Peer& peer, uint64_t req, wire::Envelope::Reader env);
  // Compares what an agent runs with what it should: abandons the attempts
  // that are not its own, resends pending cancels, and (after a grace)
  // loses the jobs it should run but does not.
  void reconcile(AgentSession& session, const std::vector<JobRef>& held, bool hello);
  void reject(const std::string& route, uint64_t req, const std::string& reason);
  Cadence cadence() const;

  const CoordinatorConfig& config_;
  const Clock& clock_;
  AgentRecords& store_;
  JobTable& table_;
  AgentRegistry& agents_;
  Outbox& outbox_;
  Placer& placement_;
  Calibrations& calibrations_;
  uint64_t acks_sent_ = 0;
};

}  // namespace yardstick
