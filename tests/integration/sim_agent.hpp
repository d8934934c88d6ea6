// A simulated agent for tests and benchmarks: a DEALER socket that speaks
// the agent protocol as yardstick-agent does where it matters to the
// coordinator: it registers (with a key listed under its name unless the
// cluster is --insecure), heartbeats listing the jobs it holds, keeps every
// result it sent until acknowledged and resends the rest every
// `resend_interval`, and registers again (then resends) when told it is not
// registered. What it sends is up to the test: any bytes, valid or not.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>
#include <zmq.hpp>

#include "common/types.hpp"
#include "common/wire.hpp"
#include "tests/integration/harness.hpp"

namespace yardstick::test {

class SimAgent {
 public:
  struct Options {
    std::vector<std::pair<std::string, std::string>> labels;
    uint32_t slots = 1;
    std::string machine;  // empty: the agent's name
    std::chrono::milliseconds heartbeat_interval{200};
    std::chrono::milliseconds resend_interval{250};
    double hourly_cost = -1;  // told in the hello; -1: not said
  };
  SimAgent(Cluster& cluster, std::string name, Options options);
  ~SimAgent();

  // Sends the hello and serves until welcomed; false on timeout or a reject.
  bool register_now(std::chrono::milliseconds timeout);
  // Serves until an assignment arrives; the job it assigned.
  std::optional<JobAssignment> wait_assign(std::chrono::milliseconds timeout);
  // Sends a result frame under `key`, kept and resent until acknowledged.
  // `ends_job`: the frame is the job's end; as the agent does, the job is
  // held (listed in hellos and heartbeats) until that end is acknowledged.
  void send_result(const ResultKey& key, std::string frame, bool ends_job = false);
  // Serves for `duration`: heartbeats, acknowledgements, resends.
  void serve(std::chrono::milliseconds duration);
  // Serves until every result is acknowledged; false on timeout.
  bool drain(std::chrono::milliseconds timeout);

  size_t unacked() const { return unacked_.size(); }
  // Why the coordinator rejected the hello; empty: it did not.
  const std::string& reject_reason() const { return reject_reason_; }
  // How often the coordinator said "not registered" and the agent registered again.
  int reregistrations() const { return reregistrations_; }
  uint64_t resent() const { return resent_; }
  const std::string& name() const { return name_; }

 private:
  void send_hello();
  void handle(const zmq::message_t& message);
  void tick();

  Cluster& cluster_;
  std::string name_;
  Options options_;
  zmq::context_t context_{1};
  zmq::socket_t socket_;
  bool welcomed_ = false;
  bool rejected_ = false;
  std::string reject_reason_;
  std::map<ResultKey, std::string> unacked_;
  std::map<ResultKey, JobRef> job_ends_;  // unacknowledged ends of held jobs
  std::map<JobRef, int> held_;
  std::vector<JobAssignment> assigned_;
  std::chrono::steady_clock::time_point last_beat_{}, last_resend_{};
  int reregistrations_ = 0;
  uint64_t resent_ = 0;
};

// One frame of an envelope whose body `fill` sets (a lambda taking the
// body's builder): any message, with any value.
template <typename F>
std::string result_frame(F fill) {
  capnp::MallocMessageBuilder b;
  fill(wire_io::start(b, 0).getBody());
  auto m = wire_io::to_message(b);
  return std::string(m.data<char>(), m.size());
}

}  // namespace yardstick::test
