// What the coordinator sends, gathered while a turn is handled: answers
// that describe the turn's writes go out only after it commits (and are
// withdrawn with a message the store refused, or forgotten with a turn
// that was undone); answers that depend on no write (a heartbeat's) go out
// at once. A pure container: the turn engine owns the sockets.
#pragma once

#include <capnp/message.h>

#include <cstdint>
#include <string>
#include <vector>
#include <zmq.hpp>

#include "schema/yardstick.capnp.h"

namespace yardstick {

enum class Side { kAgents, kClients };

struct Outgoing {
  Side side;
  std::string route;
  zmq::message_t frame;
};

class Outbox {
 public:
  // Sent after the turn commits.
  void reply(Side side, const std::string& route, capnp::MessageBuilder& builder);
  void error(Side side, const std::string& route, uint64_t request_id, wire::ErrorCode code,
             const std::string& message);
  // Sent as soon as the engine can, whatever becomes of the turn.
  void now(Side side, const std::string& route, capnp::MessageBuilder& builder);

  // Withdraws what was added after `mark()` (the answers of a refused message).
  size_t mark() const { return after_commit_.size(); }
  void rewind(size_t mark);
  // The turn was undone: its answers describe nothing.
  void discard() { after_commit_.clear(); }

  std::vector<Outgoing> take_now();
  std::vector<Outgoing> take_after_commit();
  const std::vector<Outgoing>& after_commit() const { return after_commit_; }

 private:
  std::vector<Outgoing> now_, after_commit_;
};

}  // namespace yardstick
