// yardstick-coordinator: the units of the daemon, wired. Each unit owns one
// concern and is unit-tested with fakes (tests/unit/fake_store.hpp):
//
//   TurnEngine       sockets, turns, group commit, stalls  (turn_engine.hpp)
//   MessageBoundary  decode, handler, authorization, whose fault an error is
//   AgentChannel     hello, heartbeat, reconcile, leases, acknowledgements
//   ResultIntake     the nine results agents send, one path, bounds first
//   ClientApi        submit, status/logs/agents/report, cancel/drain/calibrate
//   Placer           queued jobs onto agents, waits, timeouts, cancels
//   Calibrations     calibration jobs of machines
//   EndNotices       webhooks of job ends, after the commit
//
// The job table (job_table.hpp) and the agent registry (agent_registry.hpp)
// are the state they share; PostgreSQL (store/) the only truth: the
// coordinator can be restarted at any moment and carries on from it.
#pragma once

#include <atomic>
#include <memory>
#include <zmq.hpp>

#include "common/clock.hpp"
#include "coordinator/agent_channel.hpp"
#include "coordinator/agent_registry.hpp"
#include "coordinator/calibrations.hpp"
#include "coordinator/client_api.hpp"
#include "coordinator/config.hpp"
#include "coordinator/end_notices.hpp"
#include "coordinator/handlers.hpp"
#include "coordinator/job_table.hpp"
#include "coordinator/leadership.hpp"
#include "coordinator/message_boundary.hpp"
#include "coordinator/notifications.hpp"
#include "coordinator/outbox.hpp"
#include "coordinator/placement.hpp"
#include "coordinator/result_intake.hpp"
#include "coordinator/store/store.hpp"
#include "coordinator/store_gate.hpp"
#include "coordinator/turn_engine.hpp"

namespace yardstick {

class Coordinator final : private TurnWork {
 public:
  // `store` is the writer; `reader` a second connection for client reads.
  // `authority` null: --insecure, everyone may do everything.
  Coordinator(CoordinatorConfig config, zmq::context_t& context, Store store, Reader reader,
              const Clock& clock, const Authority* authority = nullptr);

  // Loads the jobs in flight (the schema is migrated already) and binds.
  // Throws StoreError or zmq::error_t.
  void start();
  // Serves until `stop` becomes true.
  void run(const std::atomic<bool>& stop) { engine_.run(stop); }
  // One turn (for tests).
  void turn(int timeout_ms) { engine_.turn(timeout_ms); }

  // Where job ends go for the webhooks of `notify:`; null: nobody is notified.
  void set_notifier(Notifier* notifier) { notices_.set_notifier(notifier); }
  // Where the turn publishes its counters and gauges (/metrics, /healthz);
  // null: nowhere. Set before start().
  void set_metrics(CoordinatorMetrics* metrics);

  // Which coordinator acts, when several share the store; null: this one
  // alone. Asked before state is reloaded after the store was down.
  void set_leadership(Leadership* leadership) { leadership_ = leadership; }

  const std::string& agents_endpoint() const { return engine_.agents_endpoint(); }
  const std::string& clients_endpoint() const { return engine_.clients_endpoint(); }

 private:
  // TurnWork.
  void stalled(int64_t gap_ms) override;
  bool pending() const override { return placement_.dirty(); }
  bool recover() override;
  void serve_without_store(std::vector<Incoming>& incoming) override;
  void finish(bool timers_due) override;
  void committed() override;
  void undone() override;

  // Loads the jobs in flight from the store; fails the jobs it cannot load.
  void reload_state();
  void write_ready_file();
  // Copies the table's and the registry's numbers into metrics_ (atomics only).
  void publish_metrics();

  CoordinatorConfig config_;
  const Clock& clock_;
  Store store_;
  Reader reader_;
  EndedJobs ended_;  // the table's store: passes every write on, keeps the job ends
  JobTable table_;
  StoreGate gate_;
  AgentRegistry agents_;
  Outbox outbox_;
  Handlers handlers_;
  Placer placement_;
  Calibrations calibrations_;
  EndNotices notices_;
  AgentChannel channel_;
  ResultIntake intake_;
  ClientApi clients_;
  MessageBoundary boundary_;
  TurnEngine engine_;
  // Pipeline budgets breached in this turn: notified once it commits.
  std::vector<PipelineBudgetBreach> pipeline_breaches_;
  int64_t next_recover_ms_ = 0;
  Leadership* leadership_ = nullptr;
  uint64_t turns_committed_ = 0;
  int64_t next_agent_metrics_ms_ = 0;
  int64_t next_wait_check_ms_ = 0;  // steady clock: queued jobs' waits are checked
  int64_t next_log_months_ms_ = 0;  // steady clock: the logs' months are looked after
  // Makes the coming months of logs and drops those past --keep-logs, in
  // the turn's transaction; hourly, and every minute while a reader holds
  // the table.
  void keep_log_months();  // steady clock: the per-agent metrics are due
  CoordinatorMetrics* metrics_ = nullptr;
};

}  // namespace yardstick
