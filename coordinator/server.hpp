// The coordinator daemon's event loop: two ROUTER sockets (agents, clients),
// one handler per message body, and turns that commit before they act.
//
// One turn: gather waiting frames from both sockets in turn (up to
// max_batch frames and max_turn_bytes), handle each inside one store
// transaction, check leases, schedule queued jobs, commit, and only then
// send the replies, assignments and acknowledgements gathered in the outbox.
//
// - Each message's writes sit in their own savepoint: when PostgreSQL
//   refuses one message's data, that message alone is refused (a client gets
//   an error, an agent an ack and the refusal is recorded) and the rest of
//   the turn commits.
// - When the store is unavailable nothing of the turn is sent: agents resend
//   what was not acknowledged, clients are told to retry, and the
//   coordinator reloads its state once PostgreSQL is back. Heartbeats are
//   answered all the same, outages included: liveness never waits on a commit.
// - Reads for clients (status, logs, agents, reports) run on their own
//   connection with their own time limit, never in the writer's transaction.
// - A result is stored only when it comes from the agent session that holds
//   the job's current attempt; any other is refused and the agent is told to
//   abandon that attempt.
#pragma once

#include <atomic>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <set>
#include <string>
#include <vector>
#include <zmq.hpp>

#include "common/clock.hpp"
#include "common/wire.hpp"
#include "coordinator/agent_registry.hpp"
#include "coordinator/intake.hpp"
#include "coordinator/job_table.hpp"
#include "coordinator/log_cap.hpp"
#include "coordinator/notifications.hpp"
#include "coordinator/store.hpp"

namespace yardstick {

struct CoordinatorConfig {
  std::string agents_endpoint = "tcp://127.0.0.1:7401";
  std::string clients_endpoint = "tcp://127.0.0.1:7400";
  uint32_t heartbeat_interval_ms = 2000;  // told to agents in the welcome
  uint32_t lease_ms = 10000;              // an agent silent this long is lost
  size_t max_batch = 2000;                // frames handled in one turn (one transaction)
  uint64_t max_turn_bytes = 32ull << 20;  // bytes of frames handled in one turn
  uint64_t log_cap_bytes = 64ull << 20;   // stored log of one job attempt: head and tail kept
  uint32_t queue_timeout_ms = 600'000;    // a queued job no connected agent can take fails then
  uint32_t stall_ms = 1000;               // a gap between turns past this extends every lease
  std::string ready_file;                 // when set: bound endpoints are written here
  std::string secret_key;                 // Z85 CURVE secret key; empty: --insecure (no CURVE)
  bool calibrate_new_machines = true;     // an agent of a never-calibrated machine calibrates it
};

class ZapHandler;
class Notifier;

// The no_regression gate of the coordinator: one store query per decision,
// in the writer's transaction. An outage throws (the turn is undone and the
// job settled again after recovery); any other store error leaves the job
// pending, undecided, to be judged again later.
class StoreGate final : public NeedGate {
 public:
  explicit StoreGate(PgStore& store) : store_(store) {}
  GateVerdict judge(const Job& job, uint64_t need_id) override;

 private:
  PgStore& store_;
};

class Coordinator {
 public:
  // `store` is the writer; `reader` a second connection for client reads.
  Coordinator(CoordinatorConfig config, zmq::context_t& context, PgStore& store, PgStore& reader,
              const Clock& clock);

  // Connects to the store, migrates, loads the jobs in flight and binds.
  // Throws StoreError (fatal or retryable) or zmq::error_t.
  void start();
  // Serves until `stop` becomes true.
  void run(const std::atomic<bool>& stop);

  // Who may connect, checked again on every message (a key removed on
  // SIGHUP stops working at once). Null: --insecure, everyone may.
  void set_authority(const ZapHandler* authority) { authority_ = authority; }
  // Where job ends go for the webhooks of `notify:` (see
  // coordinator/notifications.hpp); handed over after the turn that ended
  // the job commits, never waited for. Null: nobody is notified.
  void set_notifier(Notifier* notifier) { notifier_ = notifier; }

  const std::string& agents_endpoint() const { return agents_bound_; }
  const std::string& clients_endpoint() const { return clients_bound_; }

 private:
  enum class Side { kAgents, kClients };
  struct Incoming {
    Side side;
    std::string route;
    zmq::message_t frame;
    std::string user;  // ZAP user id, "ROLE:NAME"; empty when --insecure
  };
  struct Outgoing {
    Side side;
    std::string route;
    zmq::message_t frame;
  };
  using Handler = void (Coordinator::*)(const std::string& route, uint64_t request_id,
                                        wire::Envelope::Reader envelope);

  void install_handlers();
  void turn(int timeout_ms);
  void dispatch(Incoming& in);
  // Whether the peer's key may send this message now; refusals are answered.
  bool authorized(const Incoming& in, wire::Envelope::Body::Which which, uint64_t request_id);
  void reload_state();
  bool recover();
  // Reads one frame of `side` into `in`; false when none is waiting.
  bool read_frame(Side side, std::vector<Incoming>& in, uint64_t& bytes);
  // Store down: heartbeats answered, clients told to retry, results left to resend.
  void serve_without_store(std::vector<Incoming>& incoming);
  // Bodies whose handlers write nothing at once (their rows are batched).
  static bool batched(wire::Envelope::Body::Which which);
  void compensate_stall(int64_t now_ms);

  // Agent side.
  void on_agent_hello(const std::string& route, uint64_t req, wire::Envelope::Reader env);
  void on_heartbeat(const std::string& route, uint64_t req, wire::Envelope::Reader env);
  void on_step_started(const std::string& route, uint64_t req, wire::Envelope::Reader env);
  void on_step_finished(const std::string& route, uint64_t req, wire::Envelope::Reader env);
  void on_log_chunk(const std::string& route, uint64_t req, wire::Envelope::Reader env);
  void on_job_finished(const std::string& route, uint64_t req, wire::Envelope::Reader env);
  void on_sample(const std::string& route, uint64_t req, wire::Envelope::Reader env);
  void on_metric(const std::string& route, uint64_t req, wire::Envelope::Reader env);
  void on_calibration(const std::string& route, uint64_t req, wire::Envelope::Reader env);
  void on_deploy_phase(const std::string& route, uint64_t req, wire::Envelope::Reader env);
  void on_deploy_result(const std::string& route, uint64_t req, wire::Envelope::Reader env);
  void on_agent_error(const std::string& route, uint64_t req, wire::Envelope::Reader env);
  // Client side.
  void on_submit(const std::string& route, uint64_t req, wire::Envelope::Reader env);
  void on_status(const std::string& route, uint64_t req, wire::Envelope::Reader env);
  void on_logs(const std::string& route, uint64_t req, wire::Envelope::Reader env);
  void on_agents(const std::string& route, uint64_t req, wire::Envelope::Reader env);
  void on_cancel(const std::string& route, uint64_t req, wire::Envelope::Reader env);
  void on_report(const std::string& route, uint64_t req, wire::Envelope::Reader env);
  // Bench results and budgets of a job attempt that ended; may turn success into failure.
  JobState evaluate_ended_job(Job& job, JobState outcome, std::string* message,
                              int64_t ended_at_us);

  AgentSession* session_for(const std::string& route, uint64_t request_id);
  // Whether a result from `session` may be stored; refusals are logged,
  // recorded and answered with an abandon of that attempt.
  Intake intake(AgentSession& session, const ResultKey& key, const char* what, Job** job);
  // Compares what an agent runs with what it should: abandons the attempts
  // that are not its own, resends pending cancels, and (after a grace) loses
  // the jobs it should run but does not.
  void reconcile(AgentSession& session, const std::vector<JobRef>& held, bool hello);
  void store_log_chunk(Job& job, const ResultKey& key, const std::string& stream,
                       int32_t step_index, const std::string& data, int64_t at_us);
  void fail_unplaceable_jobs();
  // Why no connected agent can take `job` now; empty when one can.
  std::string unplaceable_reason(const Job& job) const;
  void on_drain(const std::string& route, uint64_t req, wire::Envelope::Reader env);
  void on_calibrate(const std::string& route, uint64_t req, wire::Envelope::Reader env);
  // The calibration job not yet ended of `agent` (empty: of any agent of
  // the machine), or nullptr.
  const Job* active_calibration(uint64_t machine_id, const std::string& agent) const;
  // Stores a pipeline "calibrate" with one job of kind "calibrate" that only
  // the session's agent may take, holding all its slots; queued at once.
  const Job& create_calibration(const AgentSession& session, const std::string& submitter);
  // Runs a client read on the reader connection; store errors become answers.
  void read_for_client(const std::string& route, uint64_t req, const std::function<void()>& fn);
  void send_now(Side side, const std::string& route, capnp::MessageBuilder& builder);
  void check_leases();
  void schedule_jobs();
  // Places `queued` on the connected agents and sends the assignments.
  void place(const std::vector<Job*>& queued);
  // Says why each queued job its concurrency group holds back waits.
  void note_concurrency_waits();
  // Settles again the pending jobs whose regression gate could not decide.
  void retry_undecided_gates();
  void cancel_job(Job& job, const std::string& why);
  uint32_t used_slots(const std::string& agent);
  void send_assign(const AgentSession& session, const Job& job);
  void flush_acks();
  // Posts the notifications of the jobs that ended in the turn just committed.
  void notify_ended_jobs();
  // The webhooks of job `job_name` of pipeline `pipeline_id` (read from the
  // stored pipeline file after a restart); nullptr: none.
  const std::vector<Webhook>* hooks_for(uint64_t pipeline_id, const std::string& job_name);

  void reply(Side side, const std::string& route, capnp::MessageBuilder& builder);
  void reply_error(Side side, const std::string& route, uint64_t request_id, wire::ErrorCode code,
                   const std::string& message);
  void send_all();

  CoordinatorConfig config_;
  zmq::context_t& context_;
  PgStore& store_;
  PgStore& reader_;
  const Clock& clock_;
  EndedJobs ended_;  // the table's store: passes every write on to store_, keeps the job ends
  JobTable table_;
  StoreGate gate_;
  int64_t next_gate_retry_ms_ = 0;
  zmq::socket_t agents_;
  zmq::socket_t clients_;
  std::string agents_bound_, clients_bound_;

  std::map<wire::Envelope::Body::Which, Handler> agent_handlers_;
  std::map<wire::Envelope::Body::Which, Handler> client_handlers_;
  AgentRegistry registry_;
  std::map<std::string, AgentSession>& sessions_ = registry_.sessions();  // by agent name
  std::vector<Outgoing> outbox_;
  std::vector<std::pair<std::string, uint64_t>> turn_clients_;  // answered after commit
  bool db_up_ = false;
  int64_t next_recover_ms_ = 0;
  int64_t next_lease_check_ms_ = 0;
  bool schedule_dirty_ = true;
  uint64_t turns_ = 0;
  int64_t last_turn_ms_ = 0;
  std::map<JobRef, LogCap> log_caps_;
  std::set<std::string> admin_draining_;  // agents drained with `yardstick drain`
  const ZapHandler* authority_ = nullptr;
  std::string peer_name_;  // the key name of the message being handled; empty when --insecure
  Notifier* notifier_ = nullptr;
  std::map<uint64_t, PipelineHooks> hooks_;      // by pipeline id, while it has jobs in the table
  std::set<JobRef> over_budget_;                 // attempts judged over budget in this turn
  std::map<uint64_t, std::string> checked_out_;  // by job id: the commit its checkout reported
};

}  // namespace yardstick
