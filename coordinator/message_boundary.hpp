// One boundary per message: every frame a peer sends is decoded, matched
// to the handler its body names, authorized, and handled inside one rule
// that catches EVERY exception and says whose fault it is (as KJ types its
// errors):
//
//   peer   the message's: it does not decode (kj::Exception), breaks a
//          bound or a rule (PeerError), or PostgreSQL refused its data
//          (StoreError refused). It alone is refused: its writes are
//          undone, a client gets an error, an agent's result is
//          acknowledged and the refusal recorded, so that it is never sent
//          again. The turn goes on.
//   store  PostgreSQL is unavailable (StoreError unavailable or fatal): the
//          boundary throws it on and the turn is undone; agents resend,
//          clients retry.
//   ours   anything else (a bad_alloc, a logic error): logged with the
//          message, then refused as a peer's fault would be, with an
//          `internal` error to a client. The turn goes on.
#pragma once

#include <exception>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>
#include <zmq.hpp>

#include "common/clock.hpp"
#include "coordinator/agent_registry.hpp"
#include "coordinator/handlers.hpp"
#include "coordinator/outbox.hpp"
#include "coordinator/store/store.hpp"
#include "coordinator/zap.hpp"

namespace yardstick {

enum class Fault { kPeer, kStore, kOurs };

struct FaultOf {
  Fault fault;
  std::string what;
};

// The rule, for any exception (call it with std::current_exception()).
FaultOf fault_of(std::exception_ptr error);

// A frame as read from a ROUTER socket.
struct Incoming {
  Side side;
  std::string route;
  zmq::message_t frame;
  std::string user;  // ZAP user id (the peer's key); empty when --insecure
};

// Bodies an agent sends whose answer is an ack of its result key.
std::optional<ResultKey> result_key(wire::Envelope::Reader envelope);

class MessageBoundary {
 public:
  // `authority` null: --insecure, everyone may do everything.
  MessageBoundary(const Handlers& handlers, StoreSession& session, ResultRecords& refusals,
                  Outbox& outbox, AgentRegistry& agents, const Authority* authority,
                  const Clock& clock)
      : handlers_(handlers),
        session_(session),
        refusals_(refusals),
        outbox_(outbox),
        agents_(agents),
        authority_(authority),
        clock_(clock) {}

  // Refusals recorded in `refusals` per peer and second; past it they are
  // counted, and one row says how many more there were (a peer that floods
  // refusals costs the store one row a refusal no longer).
  static constexpr int kRecordedPerSecond = 20;

  // Handles one frame. Throws only StoreError (unavailable or fatal): the
  // turn must then be undone.
  void handle(const Incoming& in);

  // The client requests handled since the last call (route, request id):
  // told to retry when the turn is undone.
  std::vector<std::pair<std::string, uint64_t>> take_clients();

  // Messages refused, by fault, since the start.
  uint64_t refused_peer() const { return refused_peer_; }
  uint64_t refused_ours() const { return refused_ours_; }

 private:
  // Who the peer is now, and whether its key may send `which`; refusals
  // are answered. nullopt: refused.
  std::optional<Peer> authorize(const Incoming& in, Which which, uint64_t request_id);
  void refuse(const Peer& peer, uint64_t request_id, wire::Envelope::Reader envelope,
              const FaultOf& why, wire::ErrorCode code);
  // Records a refusal, within kRecordedPerSecond for `who`.
  void record(const std::string& who, const std::optional<ResultKey>& key, const std::string& body,
              const std::string& reason);

  const Handlers& handlers_;
  StoreSession& session_;
  ResultRecords& refusals_;
  Outbox& outbox_;
  AgentRegistry& agents_;
  const Authority* authority_;
  const Clock& clock_;
  std::vector<std::pair<std::string, uint64_t>> clients_;
  uint64_t refused_peer_ = 0, refused_ours_ = 0;
  struct Window {
    int64_t second = 0;
    int recorded = 0;
    uint64_t unrecorded = 0;
  };
  std::map<std::string, Window> windows_;  // by peer
};

}  // namespace yardstick
