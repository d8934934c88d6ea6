// The coordinator's units wired as coordinator.cpp wires them, on a fake
// store and a fake clock, without sockets: a test hands frames to the
// message boundary and reads what the outbox would send.
#pragma once

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "common/clock.hpp"
#include "common/wire.hpp"
#include "coordinator/agent_channel.hpp"
#include "coordinator/client_api.hpp"
#include "coordinator/message_boundary.hpp"
#include "coordinator/notifications.hpp"
#include "coordinator/placement.hpp"
#include "coordinator/result_intake.hpp"
#include "coordinator/store_gate.hpp"
#include "tests/unit/fake_store.hpp"

namespace yardstick::test {

// Who may connect: keys by domain, with their name and role.
class FakeAuthority final : public Authority {
 public:
  std::map<std::string, PeerIdentity> agents, clients;  // by key
  std::optional<PeerIdentity> current(const std::string& domain,
                                      const std::string& user_id) const override {
    const auto& keys = domain == kAgentsDomain ? agents : clients;
    auto it = keys.find(user_id);
    if (it == keys.end()) return std::nullopt;
    return it->second;
  }
};

// One envelope whose body `fill` sets.
template <typename F>
zmq::message_t envelope(F fill, uint64_t request_id = 0) {
  capnp::MallocMessageBuilder b;
  fill(wire_io::start(b, request_id).getBody());
  return wire_io::to_message(b);
}

// What a sent frame says: "ack", "error:refused", "welcome", "abandon"...
struct Sent {
  Side side = Side::kAgents;
  std::string route;
  wire::Envelope::Body::Which which = wire::Envelope::Body::ERROR;
  wire::ErrorCode code = wire::ErrorCode::INTERNAL;
  std::string message;           // an error's
  std::vector<ResultKey> acked;  // an ack's
};

inline std::vector<Sent> read_sent(std::vector<Outgoing> out) {
  std::vector<Sent> sent;
  for (auto& o : out) {
    auto d = wire_io::decode_frame(o.frame.data(), o.frame.size());
    auto& f = std::get<std::unique_ptr<wire_io::Frame>>(d);
    auto body = f->envelope().getBody();
    Sent s;
    s.side = o.side;
    s.route = o.route;
    s.which = body.which();
    if (body.which() == wire::Envelope::Body::ERROR) {
      s.code = body.getError().getCode();
      s.message = body.getError().getMessage();
    }
    if (body.which() == wire::Envelope::Body::ACK)
      for (auto k : body.getAck().getKeys()) s.acked.push_back(wire_io::read(k));
    sent.push_back(std::move(s));
  }
  return sent;
}

class CoordinatorRig {
 public:
  explicit CoordinatorRig(CoordinatorConfig config = {}, const Authority* authority = nullptr)
      : config_(std::move(config)),
        ended_(store.store().pipelines),
        table(ended_, clock),
        gate_(store),
        placer(config_, clock, table, agents, outbox),
        calibrations(store, table, placer),
        notices(store.reader(), agents),
        channel(config_, clock, store, table, agents, outbox, placer, calibrations),
        intake(config_, clock, store.store(), table, agents, outbox, placer),
        clients(store.store(), store.reader(), table, agents, outbox, placer, calibrations,
                notices),
        boundary(handlers, store, store, outbox, agents, authority, clock) {
    config_.calibrate_new_machines = false;
    table.set_gate(&gate_);
    channel.install(handlers);
    intake.install(handlers);
    clients.install(handlers);
  }

  // A registered agent session named `name` on route "r-NAME".
  AgentSession& agent(const std::string& name, uint32_t slots = 1) {
    AgentSession s;
    s.route = "r-" + name;
    s.name = name;
    s.agent_id = agents.sessions().size() + 1;
    s.machine_id = 1;
    s.machine_name = "m1";
    s.slots = slots;
    s.last_seen_ms = clock.steady_ms();
    return agents.put(std::move(s));
  }

  // A job of `spec` running on agent `agent`, attempt 1.
  Job& running(uint64_t id, const std::string& agent, JobAssignment spec = {}) {
    Job j;
    j.id = id;
    j.pipeline_id = 1;
    j.name = "job" + std::to_string(id);
    j.state = JobState::kRunning;
    j.agent = agent;
    j.attempt = 1;
    spec.job_id = id;
    spec.attempt = 1;
    j.spec = std::move(spec);
    table.add(std::move(j));
    return *table.find(id);
  }

  // Hands one frame to the boundary, in a turn of its own; false when the
  // turn was undone (the store failed).
  bool handle(Side side, const std::string& route, zmq::message_t frame,
              const std::string& user = "") {
    Incoming in{side, route, std::move(frame), user};
    store.begin();
    try {
      boundary.handle(in);
      channel.flush_acks();
      store.commit();
      return true;
    } catch (const StoreError&) {
      store.rollback();
      outbox.discard();
      channel.discard_acks();
      return false;
    }
  }
  bool from_agent(const std::string& name, zmq::message_t frame) {
    return handle(Side::kAgents, "r-" + name, std::move(frame));
  }

  // What would have been sent since the last call.
  std::vector<Sent> sent() {
    auto out = read_sent(outbox.take_now());
    auto later = read_sent(outbox.take_after_commit());
    out.insert(out.end(), later.begin(), later.end());
    return out;
  }

  FakeStore store;
  FakeClock clock;

 private:
  CoordinatorConfig config_;
  EndedJobs ended_;

 public:
  JobTable table;

 private:
  StoreGate gate_;

 public:
  AgentRegistry agents;
  Outbox outbox;
  Handlers handlers;
  Placer placer;
  Calibrations calibrations;
  EndNotices notices;
  AgentChannel channel;
  ResultIntake intake;
  ClientApi clients;
  MessageBoundary boundary;
};

}  // namespace yardstick::test
