// The one intake of what agents measured: step starts and ends, log
// chunks, job ends, samples, metrics, calibrations, deploy phases and
// deploy results all go one path:
//
//   session   the agent must be registered (else: not registered);
//   key       its result key within bounds (coordinator/bounds.hpp);
//   judge     judge_result (intake.hpp): stored only from the agent that
//             holds the job's current attempt while it runs; a late copy
//             is acknowledged, anything else refused with an abandon;
//   bounds    every value of the message against the job (variant index
//             below its variants, run index below its run limit, ...);
//   store     the message's writes; the job becomes running on its first;
//   ack       the key is acknowledged once the turn commits.
//
// What breaks a bound or a rule throws PeerError: the message boundary
// refuses it, records it and acknowledges the key, so that it is never
// sent again. A job end out of bounds still ends the job, failed, so that
// no job waits for an end that will never be accepted.
#pragma once

#include <functional>
#include <map>
#include <string>

#include "common/clock.hpp"
#include "coordinator/agent_registry.hpp"
#include "coordinator/bounds.hpp"
#include "coordinator/config.hpp"
#include "coordinator/handlers.hpp"
#include "coordinator/intake.hpp"
#include "coordinator/job_end.hpp"
#include "coordinator/job_table.hpp"
#include "coordinator/log_cap.hpp"
#include "coordinator/outbox.hpp"
#include "coordinator/placement.hpp"
#include "coordinator/store/store.hpp"

namespace yardstick {

class ResultIntake {
 public:
  ResultIntake(const CoordinatorConfig& config, const Clock& clock, Store store, JobTable& table,
               AgentRegistry& agents, Outbox& outbox, Placer& placement)
      : config_(config),
        clock_(clock),
        store_(store),
        table_(table),
        agents_(agents),
        outbox_(outbox),
        placement_(placement),
        judge_(store.evaluation, clock) {}

  // The nine result bodies.
  void install(Handlers& handlers);
  // Forgets the log caps of attempts that ended or are gone.
  void prune();
  void clear() { log_caps_.clear(); }

 private:
  // What to do with one message once it may be stored: its job, the
  // session it came from.
  using Write = std::function<void(Job& job, AgentSession& session)>;
  // The one path (see above). `check` runs the message's bounds against
  // the job's limits before anything changes.
  void take(const Peer& peer, uint64_t request_id, wire::Envelope::Reader env, const char* what,
            const std::function<void(const bounds::JobLimits&)>& check, const Write& write);

  void log_chunk(Job& job, const ResultKey& key, wire::LogChunk::Reader m);
  void job_finished(Job& job, AgentSession& session, const ResultKey& key,
                    wire::JobFinished::Reader m);

  const CoordinatorConfig& config_;
  const Clock& clock_;
  Store store_;
  JobTable& table_;
  AgentRegistry& agents_;
  Outbox& outbox_;
  Placer& placement_;
  JobEndJudge judge_;
  std::map<JobRef, LogCap> log_caps_;
};

}  // namespace yardstick
