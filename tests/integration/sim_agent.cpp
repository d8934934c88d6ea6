#include "tests/integration/sim_agent.hpp"

#include <stdexcept>
#include <thread>

namespace yardstick::test {

using SteadyClock = std::chrono::steady_clock;

SimAgent::SimAgent(Cluster& cluster, std::string name, Options options)
    : cluster_(cluster),
      name_(std::move(name)),
      options_(std::move(options)),
      socket_(context_, zmq::socket_type::dealer) {
  socket_.set(zmq::sockopt::linger, 0);
  socket_.set(zmq::sockopt::sndhwm, 0);
  socket_.set(zmq::sockopt::rcvhwm, 0);
  if (!cluster_.insecure()) cluster_.secure(socket_, cluster_.authorize_agent(name_));
  socket_.connect(cluster_.agents_endpoint());
}

SimAgent::~SimAgent() = default;

void SimAgent::send_hello() {
  capnp::MallocMessageBuilder b;
  auto h = wire_io::start(b, 1).getBody().initAgentHello();
  h.setName(name_);
  h.setSlots(options_.slots);
  h.setHourlyCost(options_.hourly_cost);
  auto labels = h.initLabels(options_.labels.size());
  for (unsigned i = 0; i < options_.labels.size(); ++i) {
    labels[i].setKey(options_.labels[i].first);
    labels[i].setValue(options_.labels[i].second);
  }
  MachineInfo m{options_.machine.empty() ? name_ : options_.machine,
                "sim",
                1,
                1 << 30,
                "sim",
                "sim",
                "x86_64",
                {},
                ""};
  wire_io::fill(h.initMachine(), m);
  std::vector<JobRef> held;
  for (const auto& [ref, unused] : held_) held.push_back(ref);
  wire_io::fill(h.initHeldJobs(held.size()), held);
  h.setAgentVersion("sim");
  h.setIncarnation("sim-" + name_);
  socket_.send(wire_io::to_message(b), zmq::send_flags::none);
}

void SimAgent::handle(const zmq::message_t& message) {
  auto decoded = wire_io::decode_frame(message.data(), message.size());
  auto* frame = std::get_if<std::unique_ptr<wire_io::Frame>>(&decoded);
  if (!frame) return;
  auto body = (*frame)->envelope().getBody();
  using B = wire::Envelope::Body;
  switch (body.which()) {
    case B::WELCOME:
      welcomed_ = true;
      // As the agent does after a reconnect: everything not acknowledged, again.
      last_resend_ = {};
      break;
    case B::REJECT:
      rejected_ = true;
      reject_reason_ = body.getReject().getReason();
      break;
    case B::ACK:
      for (auto k : body.getAck().getKeys()) {
        const ResultKey key = wire_io::read(k);
        unacked_.erase(key);
        if (auto end = job_ends_.find(key); end != job_ends_.end()) {
          held_.erase(end->second);
          job_ends_.erase(end);
        }
      }
      break;
    case B::ASSIGN: {
      JobAssignment a = wire_io::read(body.getAssign());
      held_[{a.job_id, a.attempt}] = 1;
      assigned_.push_back(std::move(a));
      break;
    }
    case B::ABANDON:
      for (auto r : body.getAbandon().getJobs()) held_.erase({r.getJobId(), r.getAttempt()});
      break;
    case B::ERROR:
      if (body.getError().getCode() == wire::ErrorCode::NOT_REGISTERED) {
        ++reregistrations_;
        welcomed_ = false;
        send_hello();
      }
      break;
    default:
      break;
  }
}

void SimAgent::tick() {
  zmq::pollitem_t item{static_cast<void*>(socket_), 0, ZMQ_POLLIN, 0};
  zmq::poll(&item, 1, std::chrono::milliseconds(20));
  zmq::message_t m;
  while (socket_.recv(m, zmq::recv_flags::dontwait)) handle(m);
  const auto now = SteadyClock::now();
  if (welcomed_ && now - last_beat_ >= options_.heartbeat_interval) {
    capnp::MallocMessageBuilder b;
    auto hb = wire_io::start(b, 0).getBody().initHeartbeat();
    std::vector<JobRef> held;
    for (const auto& [ref, unused] : held_) held.push_back(ref);
    wire_io::fill(hb.initHeldJobs(held.size()), held);
    socket_.send(wire_io::to_message(b), zmq::send_flags::dontwait);
    last_beat_ = now;
  }
  if (welcomed_ && !unacked_.empty() && now - last_resend_ >= options_.resend_interval) {
    for (const auto& [key, frame] : unacked_) {
      socket_.send(zmq::buffer(frame), zmq::send_flags::dontwait);
      ++resent_;
    }
    last_resend_ = now;
  }
}

bool SimAgent::register_now(std::chrono::milliseconds timeout) {
  send_hello();
  const auto deadline = SteadyClock::now() + timeout;
  while (!welcomed_ && !rejected_ && SteadyClock::now() < deadline) tick();
  return welcomed_;
}

std::optional<JobAssignment> SimAgent::wait_assign(std::chrono::milliseconds timeout) {
  const auto deadline = SteadyClock::now() + timeout;
  while (assigned_.empty() && SteadyClock::now() < deadline) tick();
  if (assigned_.empty()) return std::nullopt;
  JobAssignment a = std::move(assigned_.front());
  assigned_.erase(assigned_.begin());
  return a;
}

void SimAgent::send_result(const ResultKey& key, std::string frame, bool ends_job) {
  socket_.send(zmq::buffer(frame), zmq::send_flags::dontwait);
  unacked_[key] = std::move(frame);
  if (ends_job) job_ends_[key] = {key.job_id, key.attempt};
}

void SimAgent::serve(std::chrono::milliseconds duration) {
  const auto deadline = SteadyClock::now() + duration;
  while (SteadyClock::now() < deadline) tick();
}

bool SimAgent::drain(std::chrono::milliseconds timeout) {
  const auto deadline = SteadyClock::now() + timeout;
  while (!unacked_.empty() && SteadyClock::now() < deadline) tick();
  return unacked_.empty();
}

}  // namespace yardstick::test
