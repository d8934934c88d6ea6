#include "coordinator/turn_engine.hpp"

#include <spdlog/spdlog.h>

#include "common/curve.hpp"
#include "common/wire.hpp"
#include "common/zmq_util.hpp"
#include "coordinator/zap.hpp"

namespace yardstick {

TurnEngine::TurnEngine(const CoordinatorConfig& config, zmq::context_t& context, const Clock& clock,
                       StoreSession& session, MessageBoundary& boundary, Outbox& outbox,
                       TurnWork& work)
    : config_(config),
      clock_(clock),
      session_(session),
      boundary_(boundary),
      outbox_(outbox),
      work_(work),
      agents_(context, zmq::socket_type::router),
      clients_(context, zmq::socket_type::router) {}

void TurnEngine::bind() {
  configure_router(agents_);
  configure_router(clients_);
  if (!config_.secret_key.empty()) {
    apply_server_security(agents_, config_.secret_key, kAgentsDomain);
    apply_server_security(clients_, config_.secret_key, kClientsDomain);
  }
  agents_.bind(config_.agents_endpoint);
  clients_.bind(config_.clients_endpoint);
  agents_bound_ = last_endpoint(agents_);
  clients_bound_ = last_endpoint(clients_);
}

void TurnEngine::run(const std::atomic<bool>& stop) {
  while (!stop.load()) turn(50);
  spdlog::info("stopping after {} turns", turns_);
}

bool TurnEngine::read_frame(Side side, std::vector<Incoming>& in, TurnBudget& budget) {
  zmq::socket_t& sock = side == Side::kAgents ? agents_ : clients_;
  zmq::message_t route;
  if (!sock.recv(route, zmq::recv_flags::dontwait)) return false;
  std::vector<zmq::message_t> parts;
  uint64_t bytes = 0;
  while (sock.get(zmq::sockopt::rcvmore)) {
    zmq::message_t part;
    (void)sock.recv(part, zmq::recv_flags::none);
    bytes += part.size();
    parts.push_back(std::move(part));
  }
  budget.add(bytes);
  if (parts.size() != 1) {
    spdlog::warn("dropping a message of {} frames from a peer (expected 1)", parts.size());
    outbox_.error(side, route.to_string(), 0, wire::ErrorCode::MALFORMED,
                  "expected exactly one frame after the routing id");
    return true;
  }
  std::string user;
  if (!config_.secret_key.empty()) {
    // Set by the ZAP handler at the handshake: every message of the
    // connection carries it.
    try {
      user = parts[0].gets("User-Id");
    } catch (const zmq::error_t&) {
    }
  }
  in.push_back({side, route.to_string(), std::move(parts[0]), std::move(user)});
  return true;
}

void TurnEngine::stall_check(int64_t now) {
  const int64_t gap = last_turn_ms_ ? now - last_turn_ms_ : 0;
  last_turn_ms_ = now;
  if (gap <= static_cast<int64_t>(config_.stall_ms)) return;
  // The coordinator itself was not serving (a slow commit, a database
  // outage, a paused process): agents' heartbeats waited in the socket.
  work_.stalled(gap);
  spdlog::warn("the coordinator stalled for {} ms; every lease is extended by as much", gap);
}

void TurnEngine::turn(int timeout_ms) {
  zmq::pollitem_t items[] = {{static_cast<void*>(agents_), 0, ZMQ_POLLIN, 0},
                             {static_cast<void*>(clients_), 0, ZMQ_POLLIN, 0}};
  yardstick::poll(items, 2, std::chrono::milliseconds(timeout_ms));
  stall_check(clock_.steady_ms());
  if (metrics_) metrics_->last_turn_unix_ms.store(clock_.unix_us() / 1000);
  const int64_t started_us = clock_.unix_us();

  // Clients and agents take turns, so that a flood of results never starves a client.
  std::vector<Incoming> incoming;
  TurnBudget budget(config_.max_batch, config_.max_turn_bytes);
  bool more_clients = true, more_agents = true;
  while ((more_clients || more_agents) && !budget.full()) {
    if (more_clients) more_clients = read_frame(Side::kClients, incoming, budget);
    if (more_agents && !budget.full()) more_agents = read_frame(Side::kAgents, incoming, budget);
  }

  const int64_t now = clock_.steady_ms();
  const bool timers_due = now >= next_timers_ms_;
  if (incoming.empty() && !timers_due && !work_.pending()) {
    send_all();
    return;
  }
  if (!db_up_) {
    if (work_.recover()) {
      db_up_ = true;
    } else {
      work_.serve_without_store(incoming);
      send_all();
      return;
    }
  }
  ++turns_;
  try {
    session_.begin();
    for (auto& in : incoming) boundary_.handle(in);
    // Liveness answers go out now: the commit may take long, or fail.
    send(outbox_.take_now());
    if (timers_due) next_timers_ms_ = now + 100;
    work_.finish(timers_due);
    const int64_t commit_us = clock_.unix_us();
    session_.commit();
    if (metrics_) metrics_->store_commit.observe_us(clock_.unix_us() - commit_us);
  } catch (const StoreError& e) {
    session_.rollback();
    if (metrics_) {
      metrics_->store_failures.fetch_add(1);
      metrics_->store_up.store(false);
    }
    spdlog::error("store failed ({}); nothing of this turn was acted on: {}",
                  e.sqlstate().empty() ? "no SQLSTATE" : e.sqlstate(), e.what());
    outbox_.discard();
    work_.undone();
    for (auto& [route, req] : boundary_.take_clients())
      outbox_.error(Side::kClients, route, req, wire::ErrorCode::UNAVAILABLE,
                    "the coordinator lost PostgreSQL mid-request; try again");
    db_up_ = false;
    send_all();
    return;
  }
  boundary_.take_clients();
  send_all();
  work_.committed();
  if (metrics_) {
    metrics_->turns.fetch_add(1);
    metrics_->store_up.store(true);
    metrics_->turn_duration.observe_us(clock_.unix_us() - started_us);
  }
}

void TurnEngine::send_all() {
  send(outbox_.take_now());
  send(outbox_.take_after_commit());
}

void TurnEngine::send(std::vector<Outgoing> messages) {
  for (auto& out : messages) {
    zmq::socket_t& sock = out.side == Side::kAgents ? agents_ : clients_;
    try {
      zmq::message_t route(out.route.data(), out.route.size());
      if (!sock.send(route, zmq::send_flags::sndmore | zmq::send_flags::dontwait) ||
          !sock.send(out.frame, zmq::send_flags::dontwait))
        spdlog::warn("peer is not keeping up; dropped a message to it");
    } catch (const zmq::error_t& e) {
      // EHOSTUNREACH under ROUTER_MANDATORY: the peer is gone. Agents resend
      // and clients retry, so nothing is lost by dropping it here.
      spdlog::debug("send to a gone peer failed: {}", e.what());
    }
  }
}

}  // namespace yardstick
