// The coordinator daemon's event loop: two ROUTER sockets (agents, clients),
// one handler per message body, and turns that commit before they act.
//
// One turn: gather every waiting frame (up to max_batch), handle each inside
// one store transaction, check leases, schedule queued jobs, commit, and
// only then send the replies, assignments and acknowledgements gathered in
// the outbox. When the commit fails nothing is sent: agents resend what was
// not acknowledged, clients are told to retry, and the coordinator reloads
// its state from PostgreSQL once it is reachable again.
#pragma once

#include <atomic>
#include <cstdint>
#include <map>
#include <string>
#include <vector>
#include <zmq.hpp>

#include "common/clock.hpp"
#include "common/wire.hpp"
#include "coordinator/job_table.hpp"
#include "coordinator/store.hpp"

namespace yardstick {

struct CoordinatorConfig {
  std::string agents_endpoint = "tcp://127.0.0.1:7401";
  std::string clients_endpoint = "tcp://127.0.0.1:7400";
  uint32_t heartbeat_interval_ms = 2000;  // told to agents in the welcome
  uint32_t lease_ms = 10000;              // an agent silent this long is lost
  size_t max_batch = 2000;                // frames handled in one turn (one transaction)
  std::string ready_file;                 // when set: bound endpoints are written here
};

class Coordinator {
 public:
  Coordinator(CoordinatorConfig config, zmq::context_t& context, PgStore& store,
              const Clock& clock);

  // Connects to the store, migrates, loads the jobs in flight and binds.
  // Throws StoreError (fatal or retryable) or zmq::error_t.
  void start();
  // Serves until `stop` becomes true.
  void run(const std::atomic<bool>& stop);

  const std::string& agents_endpoint() const { return agents_bound_; }
  const std::string& clients_endpoint() const { return clients_bound_; }

 private:
  enum class Side { kAgents, kClients };
  struct Incoming {
    Side side;
    std::string route;
    zmq::message_t frame;
  };
  struct Outgoing {
    Side side;
    std::string route;
    zmq::message_t frame;
  };
  struct AgentSession {
    std::string route;
    std::string name;
    uint64_t agent_id = 0;
    uint64_t machine_id = 0;
    std::string machine_name;
    Labels labels;
    uint32_t slots = 1;
    int64_t last_seen_ms = 0;
    int64_t last_touched_ms = 0;
    std::vector<ResultKey> acks;  // committed this turn, sent after commit
  };
  using Handler = void (Coordinator::*)(const std::string& route, uint64_t request_id,
                                        wire::Envelope::Reader envelope);

  void install_handlers();
  void turn(int timeout_ms);
  void dispatch(Incoming& in);
  void reload_state();
  bool recover();

  // Agent side.
  void on_agent_hello(const std::string& route, uint64_t req, wire::Envelope::Reader env);
  void on_heartbeat(const std::string& route, uint64_t req, wire::Envelope::Reader env);
  void on_step_started(const std::string& route, uint64_t req, wire::Envelope::Reader env);
  void on_step_finished(const std::string& route, uint64_t req, wire::Envelope::Reader env);
  void on_log_chunk(const std::string& route, uint64_t req, wire::Envelope::Reader env);
  void on_job_finished(const std::string& route, uint64_t req, wire::Envelope::Reader env);
  void on_sample(const std::string& route, uint64_t req, wire::Envelope::Reader env);
  void on_metric(const std::string& route, uint64_t req, wire::Envelope::Reader env);
  void on_agent_error(const std::string& route, uint64_t req, wire::Envelope::Reader env);
  // Client side.
  void on_submit(const std::string& route, uint64_t req, wire::Envelope::Reader env);
  void on_status(const std::string& route, uint64_t req, wire::Envelope::Reader env);
  void on_logs(const std::string& route, uint64_t req, wire::Envelope::Reader env);
  void on_agents(const std::string& route, uint64_t req, wire::Envelope::Reader env);
  void on_cancel(const std::string& route, uint64_t req, wire::Envelope::Reader env);
  void on_report(const std::string& route, uint64_t req, wire::Envelope::Reader env);
  // Bench results and budgets of a job attempt that ended; may turn success into failure.
  JobState evaluate_ended_job(Job& job, JobState outcome, std::string* message);

  AgentSession* session_for(const std::string& route, uint64_t request_id);
  // The job a result names, when it is in memory; results of unknown jobs are dropped.
  Job* job_for_result(const AgentSession& session, const ResultKey& key);
  void check_leases();
  void schedule_jobs();
  void cancel_job(Job& job, const std::string& why);
  uint32_t used_slots(const std::string& agent);
  void send_assign(const AgentSession& session, const Job& job);
  void flush_acks();

  void reply(Side side, const std::string& route, capnp::MessageBuilder& builder);
  void reply_error(Side side, const std::string& route, uint64_t request_id, wire::ErrorCode code,
                   const std::string& message);
  void send_all();

  CoordinatorConfig config_;
  zmq::context_t& context_;
  PgStore& store_;
  const Clock& clock_;
  JobTable table_;
  zmq::socket_t agents_;
  zmq::socket_t clients_;
  std::string agents_bound_, clients_bound_;

  std::map<wire::Envelope::Body::Which, Handler> agent_handlers_;
  std::map<wire::Envelope::Body::Which, Handler> client_handlers_;
  std::map<std::string, AgentSession> sessions_;    // by agent name
  std::map<std::string, std::string> route_names_;  // route -> agent name
  std::vector<Outgoing> outbox_;
  std::vector<std::pair<std::string, uint64_t>> turn_clients_;  // answered after commit
  bool db_up_ = false;
  int64_t next_recover_ms_ = 0;
  int64_t next_lease_check_ms_ = 0;
  bool schedule_dirty_ = true;
  uint64_t turns_ = 0;
};

}  // namespace yardstick
