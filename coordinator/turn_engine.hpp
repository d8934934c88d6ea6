// The coordinator's event loop: two ROUTER sockets (agents, clients) and
// turns that commit before they act (group commit).
//
// One turn: read the frames waiting on both sockets in turn, so that a
// flood of results never starves a client (up to max_batch frames and
// max_turn_bytes, each frame counted once); handle each through the
// message boundary inside one store transaction; let the coordinator do
// its periodic work; commit; and only then send what the outbox gathered.
// Answers the outbox marks "now" (heartbeats) go out before the commit,
// whatever becomes of it.
//
// - When the store is unavailable nothing of the turn is sent: agents
//   resend what was not acknowledged, clients are told to retry, and the
//   coordinator recovers once PostgreSQL is back.
// - A gap between turns past stall_ms (a slow commit, an outage, a paused
//   process) is reported, so that no agent is judged on time the
//   coordinator did not watch.
#pragma once

#include <atomic>
#include <cstdint>
#include <string>
#include <vector>
#include <zmq.hpp>

#include "common/clock.hpp"
#include "coordinator/config.hpp"
#include "coordinator/message_boundary.hpp"
#include "coordinator/outbox.hpp"
#include "coordinator/store/store.hpp"
#include "coordinator/web/metrics.hpp"

namespace yardstick {

// How much one turn reads: frames and bytes, each frame counted once.
class TurnBudget {
 public:
  TurnBudget(size_t max_frames, uint64_t max_bytes)
      : max_frames_(max_frames), max_bytes_(max_bytes) {}
  void add(uint64_t bytes) {
    ++frames_;
    bytes_ += bytes;
  }
  bool full() const { return frames_ >= max_frames_ || bytes_ >= max_bytes_; }
  uint64_t bytes() const { return bytes_; }
  size_t frames() const { return frames_; }

 private:
  size_t max_frames_;
  uint64_t max_bytes_;
  size_t frames_ = 0;
  uint64_t bytes_ = 0;
};

// What a turn does besides handling messages: the coordinator's part.
class TurnWork {
 public:
  virtual ~TurnWork() = default;
  // The coordinator did not serve for `gap_ms`.
  virtual void stalled(int64_t gap_ms) = 0;
  // Whether there is work without any message (a schedule to make).
  virtual bool pending() const = 0;
  // The store was down: reconnect and reload; false while it still is.
  virtual bool recover() = 0;
  // Store down: the frames of this turn, served as far as they can be.
  virtual void serve_without_store(std::vector<Incoming>& incoming) = 0;
  // After the messages, inside the turn's transaction: timers when
  // `timers_due` (every 100 ms), placement, acknowledgements.
  virtual void finish(bool timers_due) = 0;
  // The turn committed and its answers were sent.
  virtual void committed() = 0;
  // The turn was undone (the store failed): forget what it gathered.
  virtual void undone() = 0;
};

class TurnEngine {
 public:
  TurnEngine(const CoordinatorConfig& config, zmq::context_t& context, const Clock& clock,
             StoreSession& session, MessageBoundary& boundary, Outbox& outbox, TurnWork& work);

  // Binds both sockets (with CURVE unless the secret key is empty).
  void bind();
  // One turn, waiting up to `timeout_ms` for a frame.
  void turn(int timeout_ms);
  void run(const std::atomic<bool>& stop);

  // The store failed in a turn or at start: recover before the next one.
  void set_store_down() { db_up_ = false; }
  void set_store_up() { db_up_ = true; }
  bool store_up() const { return db_up_; }
  // Sends what the outbox holds now, both kinds (outside a turn).
  void send_all();

  const std::string& agents_endpoint() const { return agents_bound_; }
  const std::string& clients_endpoint() const { return clients_bound_; }
  uint64_t turns() const { return turns_; }
  // Where turns, commits and store failures are counted (null: nowhere).
  void set_metrics(CoordinatorMetrics* metrics) { metrics_ = metrics; }

 private:
  // Reads one frame of `side`; false when none is waiting.
  bool read_frame(Side side, std::vector<Incoming>& in, TurnBudget& budget);
  void send(std::vector<Outgoing> messages);
  void stall_check(int64_t now_ms);

  const CoordinatorConfig& config_;
  const Clock& clock_;
  StoreSession& session_;
  MessageBoundary& boundary_;
  Outbox& outbox_;
  TurnWork& work_;
  zmq::socket_t agents_, clients_;
  std::string agents_bound_, clients_bound_;
  bool db_up_ = false;
  int64_t next_timers_ms_ = 0;
  int64_t last_turn_ms_ = 0;
  uint64_t turns_ = 0;
  CoordinatorMetrics* metrics_ = nullptr;
};

}  // namespace yardstick
