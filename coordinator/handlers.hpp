// The handler table (as Mesos' install<Message>(&Master::handler)): each
// unit of the coordinator installs one handler per message body it
// answers, saying what the handler writes, so that the message boundary
// knows how to undo it when the message is refused.
#pragma once

#include <functional>
#include <map>
#include <stdexcept>
#include <string>

#include "coordinator/outbox.hpp"
#include "schema/yardstick.capnp.h"

namespace yardstick {

// Who sent a message.
struct Peer {
  Side side = Side::kClients;
  std::string route;  // the ROUTER's routing id
  std::string key;    // its public key (the ZAP user id); empty when --insecure
  std::string name;   // the key's name in the authorized lists now; empty when --insecure
  std::string role;   // "agent", "read" or "submit"; empty when --insecure
};

using Which = wire::Envelope::Body::Which;
using Handler =
    std::function<void(const Peer& peer, uint64_t request_id, wire::Envelope::Reader envelope)>;

// What a handler writes, for the message boundary.
enum class Writes {
  kNothing,  // reads and answers only (or a read connection of its own)
  kBatched,  // only rows batched for the commit (samples, metrics, log chunks) and memory
  kDirect,   // statements at once: the message runs in a savepoint of its own
};

class Handlers {
 public:
  struct Entry {
    Handler handler;
    Writes writes;
  };
  void install(Side side, Which which, Writes writes, Handler handler) {
    (side == Side::kAgents ? agents_ : clients_)[which] = {std::move(handler), writes};
  }
  const Entry* find(Side side, Which which) const {
    const auto& table = side == Side::kAgents ? agents_ : clients_;
    auto it = table.find(which);
    return it == table.end() ? nullptr : &it->second;
  }

 private:
  std::map<Which, Entry> agents_, clients_;
};

// A message that breaks a rule of the protocol (a value out of its bound,
// a result for a job of another kind): the peer's fault. Refused, recorded,
// never retried.
class PeerError : public std::runtime_error {
 public:
  explicit PeerError(const std::string& what) : std::runtime_error(what) {}
};

}  // namespace yardstick
