// The agent daemon: registers with the coordinator, heartbeats, runs the
// jobs it is assigned, and sends every result until it is acknowledged.
//
// Results are kept (in memory) until the coordinator acknowledges that it
// has committed them, and sent again after every (re)registration; the
// coordinator drops duplicates by (jobId, attempt, seq).
#pragma once

#include <capnp/message.h>

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <zmq.hpp>

#include "agent/job_runner.hpp"
#include "agent/process.hpp"
#include "common/clock.hpp"
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
  uint32_t hello_timeout_ms = 2'000;  // no welcome by then: reconnect (with backoff)
  uint32_t max_backoff_ms = 5'000;
};

class Agent final : public ResultSink {
 public:
  Agent(AgentConfig config, zmq::context_t& context, ProcessLauncher& launcher, const Clock& clock,
        int sigchld_fd);
  ~Agent() override;

  // Serves until `stop`; then stops its jobs (SIGTERM, then SIGKILL).
  void run(const std::atomic<bool>& stop);

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

 private:
  enum class Link { kDown, kHelloSent, kUp };

  void connect();
  void send_hello();
  void send(zmq::message_t message);
  // Keeps the result until acknowledged and sends it now, or - `hold` - with
  // the next batch: samples and metrics of a running benchmark go out at
  // most once a second (kHoldMs), so that the coordinator and PostgreSQL
  // do not work between every two runs being measured. Anything else sends
  // the held results first, so their order is kept.
  void enqueue(const ResultKey& key, capnp::MessageBuilder& builder, bool hold = false);
  void send_held();
  void resend_pending();
  void handle(zmq::message_t& frame);
  void on_assign(const JobAssignment& job);
  void reap();
  void tick();

  AgentConfig config_;
  zmq::context_t& context_;
  ProcessLauncher& launcher_;
  const Clock& clock_;
  int sigchld_fd_;
  std::unique_ptr<zmq::socket_t> socket_;
  Link link_ = Link::kDown;
  uint64_t next_request_ = 1;
  int64_t hello_deadline_ms_ = 0;
  int64_t backoff_ms_ = 250;
  int64_t next_heartbeat_ms_ = 0;
  int64_t last_heard_ms_ = 0;
  uint32_t heartbeat_ms_ = 2000;
  uint32_t lease_ms_ = 10000;

  std::map<JobRef, std::unique_ptr<JobRunner>> runners_;
  // Results not yet acknowledged, in (job, attempt, seq) order.
  std::map<ResultKey, std::string> pending_;
  static constexpr int64_t kHoldMs = 1000;
  std::vector<ResultKey> held_;  // in pending_, not yet sent
  int64_t send_held_at_ms_ = 0;
};

}  // namespace yardstick
