// The agent daemon: registers with the coordinator, heartbeats, runs the
// jobs it is assigned, and sends every result until it is acknowledged.
//
// Every result is appended to the spool under --home (synced once per loop
// turn; nothing is sent before the sync succeeded) and removed when the
// coordinator acknowledges that it committed it. What is not acknowledged is
// sent again after every welcome and on a timer; the coordinator drops
// duplicates by (jobId, attempt, seq). At most window_bytes are in flight;
// when the spool is full the jobs' output is no longer read (their writes
// block): throttled, not lost. An agent that restarts delivers what its
// previous life spooled, reports that life's jobs lost, stops their
// processes (by run tag) and removes their workspaces.
//
// Lifecycle: drain (SIGTERM) finishes the running jobs and takes no new
// one; stop (a second SIGTERM, or SIGQUIT) ends the running jobs as lost,
// so that the coordinator runs them again elsewhere.
#pragma once

#include <capnp/message.h>

#include <atomic>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <zmq.hpp>

#include "agent/host_lock.hpp"
#include "agent/job_runner.hpp"
#include "agent/outbox.hpp"
#include "agent/process.hpp"
#include "agent/spool.hpp"
#include "common/clock.hpp"
#include "common/curve.hpp"
#include "common/signing.hpp"
#include "common/types.hpp"

namespace yardstick {

struct AgentConfig {
  std::string coordinator = "tcp://127.0.0.1:7401";
  std::string name;
  Labels labels;  // added to the automatic os=, arch=, tool= labels
  uint32_t slots = 1;
  std::string home;  // workspaces and the repository cache
  MachineInfo machine;
  uint64_t kill_grace_ms = 10'000;
  bool allow_absolute_workdir = false;  // else a job's workdir stays inside its workspace
  uint32_t hello_timeout_ms = 2'000;    // no welcome by then: reconnect (with backoff)
  uint32_t max_backoff_ms = 5'000;
  bool spool_in_memory = false;           // benchmarks only: no durability
  uint64_t spool_max_bytes = 1ull << 30;  // unacknowledged results kept on disk
  uint64_t window_bytes = 8ull << 20;     // results sent and not yet acknowledged
  uint32_t resend_ms = 5'000;             // unacknowledged this long: sent again
  uint32_t drain_ack_wait_ms = 10'000;    // after the last job: wait for acks, then exit
  uint32_t max_rejections = 3;            // rejected hellos in a row before giving up
  ClientSecurity security;                // CURVE keys, or insecure
  EnvVars step_environment;  // what steps get of the agent's environment (allow-list, --pass-env)
  EnvVars environment;       // the agent's whole environment: where secrets are looked up...
  EnvVars secrets_file;      // ...after --secrets-file, whose every value is masked
  // Set: only jobs signed by one of these keys, and matching what was
  // signed, run (agent/signed_jobs.hpp); any other fails, running nothing.
  std::shared_ptr<const signing::TrustedSubmitters> trusted_submitters;
  // This program, run as `SELF calibrate ...` by jobs of kind "calibrate".
  std::string self_exe;
  // The folder of the host's lock, shared by every agent of the host
  // (agent/host_lock.hpp); empty: no lock (--no-host-lock).
  std::string lock_dir;
  std::string host;         // who the host is (host_identity()), told in the hello
  double hourly_cost = -1;  // --hourly-cost, told in the hello; -1: not said
};

class Agent final : public ResultSink {
 public:
  Agent(AgentConfig config, zmq::context_t& context, ProcessLauncher& launcher, const Clock& clock,
        int sigchld_fd);
  ~Agent() override;

  // Serves until `stop`, or until `drain` and its jobs are done. On stop its
  // jobs are stopped (SIGTERM, then SIGKILL) and reported lost.
  void run(const std::atomic<bool>& drain, const std::atomic<bool>& stop);
  // Results spooled and not yet acknowledged.
  size_t unacknowledged() const { return spool_->size(); }
  // Why the coordinator refused this agent, when run() ended for that reason.
  const std::string& rejected() const { return rejected_; }

  // ResultSink
  void step_started(const ResultKey& key, uint32_t index, const std::string& name,
                    int64_t started_at_us) override;
  void step_finished(const ResultKey& key, const StepResult& step) override;
  void log_chunk(const ResultKey& key, LogStream stream, int32_t step_index,
                 const std::string& data, int64_t at_us) override;
  void job_finished(const ResultKey& key, JobOutcome outcome, const std::string& message,
                    int64_t at_us) override;
  void sample(const ResultKey& key, const std::string& variant, uint32_t variant_index,
              uint32_t run_index, const StepResult& run) override;
  void metric(const ResultKey& key, int32_t step_index, const std::string& variant,
              int32_t run_index, const CollectedMetric& metric) override;
  void calibration(const ResultKey& key, const CalibrationTimes& times) override;
  void deploy_phase(const ResultKey& key, const DeployPhase& phase) override;
  void deploy_result(const ResultKey& key, const DeployReport& report) override;

 private:
  enum class Link { kDown, kHelloSent, kUp };

  void connect();
  void send_hello();
  bool send(zmq::message_t message);
  // Hands the result to the outbox (agent/outbox.hpp), unless the
  // coordinator abandoned its job attempt; `hold`: with the next batch.
  void enqueue(const ResultKey& key, capnp::MessageBuilder& builder, bool hold = false);
  void handle(zmq::message_t& frame);
  void on_assign(const JobAssignment& job);
  // Ends an assigned job as failed before anything of it ran, with `why`
  // in its log and as its message.
  void refuse(const JobAssignment& job, const std::string& why);
  void abandon(const JobRef& ref, const std::string& why);
  void reap();
  void tick();
  // A previous life's leftovers: its spool, its jobs (lost), processes, workspaces.
  void recover();
  std::vector<JobRef> held_jobs() const;
  void write_running_marker(const JobRunner& runner);
  void remove_running_marker(const JobRef& ref);

  AgentConfig config_;
  zmq::context_t& context_;
  ProcessLauncher& launcher_;
  const Clock& clock_;
  int sigchld_fd_;
  std::unique_ptr<zmq::socket_t> socket_;
  std::unique_ptr<HandshakeWatch> watch_;      // says why a handshake failed
  std::map<std::string, int64_t> said_at_ms_;  // handshake problems, logged once a 30 s
  Link link_ = Link::kDown;
  uint64_t next_request_ = 1;
  int64_t hello_deadline_ms_ = 0;
  bool hello_unsent_ = false;  // no coordinator connection completed yet (several given)
  int64_t backoff_ms_ = 250;
  int64_t next_heartbeat_ms_ = 0;
  int64_t last_heard_ms_ = 0;
  uint32_t heartbeat_ms_ = 2000;
  uint32_t lease_ms_ = 10000;

  std::map<JobRef, std::unique_ptr<JobRunner>> runners_;
  std::string incarnation_;  // this process's life, for the coordinator
  bool draining_ = false;
  uint32_t rejections_ = 0;  // hellos rejected in a row
  std::string rejected_;     // set: the coordinator keeps refusing; run() ends

  HostLock host_lock_;
  std::unique_ptr<Spool> spool_;
  std::unique_ptr<ResultOutbox> outbox_;  // results on their way out, through spool_
  std::set<JobRef> abandoned_;            // their results are dropped
  std::set<JobRef> refused_;              // refused assignments (a repeat is ignored)
  int64_t next_resend_check_ms_ = 0;
};

}  // namespace yardstick
