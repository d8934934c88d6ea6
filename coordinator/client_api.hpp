// The clients' side of the protocol, one file per request family:
//
//   client_submit.cpp   submit: a pipeline file becomes stored jobs
//   client_reads.cpp    status, logs, agents, report: on the reader's own
//                       connection and time limit, never in the writer's turn
//   client_control.cpp  cancel, drain, calibrate
#pragma once

#include <functional>
#include <string>

#include "coordinator/agent_registry.hpp"
#include "coordinator/calibrations.hpp"
#include "coordinator/config.hpp"
#include "coordinator/end_notices.hpp"
#include "coordinator/handlers.hpp"
#include "coordinator/job_table.hpp"
#include "coordinator/outbox.hpp"
#include "coordinator/placement.hpp"
#include "coordinator/store/store.hpp"

namespace yardstick {

class ClientApi {
 public:
  ClientApi(Store store, Reader reader, JobTable& table, AgentRegistry& agents, Outbox& outbox,
            Placer& placement, Calibrations& calibrations, EndNotices& notices)
      : store_(store),
        reader_(reader),
        table_(table),
        agents_(agents),
        outbox_(outbox),
        placement_(placement),
        calibrations_(calibrations),
        notices_(notices) {}

  void install(Handlers& handlers);

 private:
  void on_submit(const Peer& peer, uint64_t req, wire::Envelope::Reader env);
  void on_status(const Peer& peer, uint64_t req, wire::Envelope::Reader env);
  void on_logs(const Peer& peer, uint64_t req, wire::Envelope::Reader env);
  void on_agents(const Peer& peer, uint64_t req, wire::Envelope::Reader env);
  void on_report(const Peer& peer, uint64_t req, wire::Envelope::Reader env);
  void on_cancel(const Peer& peer, uint64_t req, wire::Envelope::Reader env);
  void on_drain(const Peer& peer, uint64_t req, wire::Envelope::Reader env);
  void on_calibrate(const Peer& peer, uint64_t req, wire::Envelope::Reader env);
  void on_bisection(const Peer& peer, uint64_t req, wire::Envelope::Reader env);

  // Runs a read on the reader's connection; store errors become answers.
  // False when it failed (and was answered).
  bool read(const Peer& peer, uint64_t req, const std::function<void()>& fn);
  void error(const Peer& peer, uint64_t req, wire::ErrorCode code, const std::string& message) {
    outbox_.error(Side::kClients, peer.route, req, code, message);
  }

  Store store_;
  Reader reader_;
  JobTable& table_;
  AgentRegistry& agents_;
  Outbox& outbox_;
  Placer& placement_;
  Calibrations& calibrations_;
  EndNotices& notices_;
};

// A job as a client is shown it.
void fill_job(wire::JobSummary::Builder b, const JobView& j);

}  // namespace yardstick
