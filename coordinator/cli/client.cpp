#include "coordinator/cli/client.hpp"

#include <random>

#include "common/zmq_util.hpp"

namespace yardstick {

Client::Client(zmq::context_t& context, std::string endpoint, std::chrono::milliseconds timeout,
               const ClientSecurity& security)
    : socket_(context, zmq::socket_type::dealer),
      endpoint_(std::move(endpoint)),
      timeout_(timeout) {
  configure_dealer(socket_);
  if (auto problem = endpoint_list_problem(endpoint_); !problem.empty()) throw BadEndpoint(problem);
  socket_.set(zmq::sockopt::reconnect_ivl, 100);
  apply_client_security(socket_, security);
  watch_ = std::make_unique<HandshakeWatch>(context, socket_, endpoint_);
  try {
    connect_all(socket_, endpoint_);
  } catch (const zmq::error_t& e) {
    throw BadEndpoint("cannot use endpoint '" + endpoint_ + "': " + e.what());
  }
  std::random_device rd;
  next_request_ = (uint64_t(rd()) << 16) + 1;
}

wire::Envelope::Builder Client::request(capnp::MallocMessageBuilder& builder) {
  pending_request_ = next_request_++;
  return wire_io::start(builder, pending_request_);
}

std::unique_ptr<wire_io::Frame> Client::call(capnp::MallocMessageBuilder& builder) {
  zmq::message_t msg = wire_io::to_message(builder);
  const auto deadline = std::chrono::steady_clock::now() + timeout_;
  // Given several coordinators, the socket sends only on a completed
  // connection (the leader's; standbys do not listen): wait for one.
  while (!socket_.send(msg, zmq::send_flags::dontwait)) {
    for (auto& problem : watch_->poll()) handshake_problem_ = std::move(problem);
    if (std::chrono::steady_clock::now() >= deadline || watch_->dropped_in_handshake() >= 1)
      throw Unreachable(handshake_problem_.empty()
                            ? "cannot reach the coordinator at " + endpoint_ + " (no answer in " +
                                  std::to_string(timeout_.count()) + " ms)"
                            : handshake_problem_);
    zmq::pollitem_t item{static_cast<void*>(socket_), 0, ZMQ_POLLOUT, 0};
    yardstick::poll(&item, 1, std::chrono::milliseconds(50));
  }
  for (;;) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    for (auto& problem : watch_->poll()) handshake_problem_ = std::move(problem);
    if (watch_->key_refused()) {
      // The agents' socket refuses every client key, listed or not: on the
      // agents' default port, that is the likelier cause.
      const bool agents_port =
          endpoint_.size() > 5 && endpoint_.substr(endpoint_.size() - 5) == ":7401";
      throw RemoteError(
          wire::ErrorCode::FORBIDDEN,
          handshake_problem_ +
              (agents_port
                   ? " — 7401 is the coordinator's default port for agents, which takes only "
                     "agents' keys; the CLI talks to its client port (default 7400): "
                     "--coordinator tcp://HOST:7400"
                   : " (ask its operator to add your .pub to --authorized-clients; if it is "
                     "there already, check that --coordinator names the client port, not the "
                     "agents' port)"));
    }
    // A failed handshake is no passing network fault: it fails again.
    if (watch_->dropped_in_handshake() >= 1) throw Unreachable(handshake_problem_);
    if (left.count() <= 0 && !handshake_problem_.empty()) throw Unreachable(handshake_problem_);
    if (left.count() <= 0)
      throw Unreachable("cannot reach the coordinator at " + endpoint_ + " (no answer in " +
                        std::to_string(timeout_.count()) + " ms)");
    zmq::pollitem_t item{static_cast<void*>(socket_), 0, ZMQ_POLLIN, 0};
    yardstick::poll(&item, 1, std::min(left, std::chrono::milliseconds(50)));
    if (!(item.revents & ZMQ_POLLIN)) continue;
    zmq::message_t reply;
    if (!socket_.recv(reply, zmq::recv_flags::dontwait)) continue;
    auto decoded = wire_io::decode_frame(reply.data(), reply.size());
    if (auto* err = std::get_if<wire_io::DecodeError>(&decoded))
      throw RemoteError(err->code, "bad answer from the coordinator: " + err->message);
    auto frame = std::move(std::get<std::unique_ptr<wire_io::Frame>>(decoded));
    auto env = frame->envelope();
    if (env.getRequestId() != pending_request_ && env.getRequestId() != 0) continue;  // stale
    if (env.getBody().which() == wire::Envelope::Body::ERROR) {
      auto e = env.getBody().getError();
      throw RemoteError(e.getCode(), e.getMessage());
    }
    return frame;
  }
}

}  // namespace yardstick
