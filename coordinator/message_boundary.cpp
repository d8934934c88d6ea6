#include "coordinator/message_boundary.hpp"

#include <capnp/schema.h>
#include <kj/exception.h>
#include <spdlog/spdlog.h>

#include <new>

#include "common/text.hpp"
#include "common/wire.hpp"

namespace yardstick {

namespace {

// The body's name in the schema: "sample", "stepStarted".
std::string body_name(Which which) {
  for (auto field : capnp::Schema::from<wire::Envelope::Body>().getFields())
    if (field.getProto().getDiscriminantValue() == static_cast<uint16_t>(which))
      return field.getProto().getName();
  return "body " + std::to_string(static_cast<int>(which));
}

const char* side_name(Side side) {
  return side == Side::kAgents ? "agents" : "clients";
}

// Kept short in logs and refusals: a peer's text may be long.
std::string shortened(const std::string& text, size_t max = 400) {
  return text.size() <= max ? text : text.substr(0, max) + "...";
}

wire::ErrorCode code_of(const std::exception_ptr& error) {
  try {
    std::rethrow_exception(error);
  } catch (const kj::Exception&) {
    return wire::ErrorCode::MALFORMED;
  } catch (const PeerError&) {
    return wire::ErrorCode::BAD_REQUEST;
  } catch (const StoreError& e) {
    return e.refused() ? wire::ErrorCode::REFUSED : wire::ErrorCode::UNAVAILABLE;
  } catch (...) {
    return wire::ErrorCode::INTERNAL;
  }
}

}  // namespace

FaultOf fault_of(std::exception_ptr error) {
  try {
    std::rethrow_exception(error);
  } catch (const kj::Exception& e) {
    return {Fault::kPeer, std::string("undecodable message: ") + e.getDescription().cStr()};
  } catch (const PeerError& e) {
    return {Fault::kPeer, e.what()};
  } catch (const StoreError& e) {
    if (e.refused()) return {Fault::kPeer, std::string("the store refused it: ") + e.what()};
    return {Fault::kStore, e.what()};
  } catch (const std::bad_alloc&) {
    return {Fault::kOurs, "out of memory"};
  } catch (const std::exception& e) {
    return {Fault::kOurs, e.what()};
  } catch (...) {
    return {Fault::kOurs, "an exception of unknown type"};
  }
}

std::optional<ResultKey> result_key(wire::Envelope::Reader env) {
  auto body = env.getBody();
  switch (body.which()) {
    case Which::STEP_STARTED:
      return wire_io::read(body.getStepStarted().getKey());
    case Which::STEP_FINISHED:
      return wire_io::read(body.getStepFinished().getKey());
    case Which::LOG_CHUNK:
      return wire_io::read(body.getLogChunk().getKey());
    case Which::JOB_FINISHED:
      return wire_io::read(body.getJobFinished().getKey());
    case Which::SAMPLE:
      return wire_io::read(body.getSample().getKey());
    case Which::METRIC:
      return wire_io::read(body.getMetric().getKey());
    case Which::CALIBRATION:
      return wire_io::read(body.getCalibration().getKey());
    case Which::DEPLOY_PHASE:
      return wire_io::read(body.getDeployPhase().getKey());
    case Which::DEPLOY_RESULT:
      return wire_io::read(body.getDeployResult().getKey());
    default:
      return std::nullopt;
  }
}

std::vector<std::pair<std::string, uint64_t>> MessageBoundary::take_clients() {
  std::vector<std::pair<std::string, uint64_t>> out;
  out.swap(clients_);
  return out;
}

std::optional<Peer> MessageBoundary::authorize(const Incoming& in, Which which,
                                               uint64_t request_id) {
  Peer peer{in.side, in.route, in.user, "", ""};
  if (!authority_) return peer;
  const auto id =
      authority_->current(in.side == Side::kAgents ? kAgentsDomain : kClientsDomain, in.user);
  if (in.side == Side::kClients) {
    if (!id) {
      spdlog::warn("refused a request from a client key no longer listed ({})", in.user);
      outbox_.error(Side::kClients, in.route, request_id, wire::ErrorCode::FORBIDDEN,
                    "this key is no longer authorized on this coordinator");
      return std::nullopt;
    }
    peer.name = id->name;
    peer.role = id->role;
    const bool writes = which == Which::SUBMIT || which == Which::CANCEL_REQUEST ||
                        which == Which::DRAIN || which == Which::CALIBRATE ||
                        which == Which::BISECTION;
    if (writes && id->role != "submit") {
      spdlog::warn("refused a write from client '{}' (role {})", id->name, id->role);
      outbox_.error(Side::kClients, in.route, request_id, wire::ErrorCode::FORBIDDEN,
                    "the key '" + id->name + "' has the " + id->role + " role: " +
                        (which == Which::CALIBRATE   ? "calibrate needs"
                         : which == Which::BISECTION ? "recording a bisection needs"
                                                     : "submit, cancel and drain need") +
                        " a key with the submit role");
      return std::nullopt;
    }
    return peer;
  }
  // Agents: the key's name is the only name the peer may act as.
  auto reject = [&](const std::string& reason) -> std::optional<Peer> {
    spdlog::warn("refused an agent key: {}", reason);
    capnp::MallocMessageBuilder b;
    wire_io::start(b, request_id).getBody().initReject().setReason(reason);
    outbox_.reply(Side::kAgents, in.route, b);
    return std::nullopt;
  };
  if (!id) return reject("this agent key is no longer authorized on this coordinator");
  const std::string registered = agents_.name_of(in.route, "");
  if (!registered.empty() && registered != id->name)
    return reject("the key of agent '" + id->name + "' cannot act as agent '" + registered + "'");
  peer.name = id->name;
  peer.role = id->role;
  return peer;
}

void MessageBoundary::handle(const Incoming& in) {
  auto decoded = wire_io::decode_frame(in.frame.data(), in.frame.size());
  if (auto* err = std::get_if<wire_io::DecodeError>(&decoded)) {
    spdlog::warn("{} peer sent a bad frame ({} bytes): {}",
                 in.side == Side::kAgents ? "agent" : "client", in.frame.size(), err->message);
    outbox_.error(in.side, in.route, err->request_id, err->code, err->message);
    ++refused_peer_;
    return;
  }
  auto& frame = std::get<std::unique_ptr<wire_io::Frame>>(decoded);
  uint64_t request_id = 0;
  Which which;
  try {
    auto env = frame->envelope();
    request_id = env.getRequestId();
    which = env.getBody().which();
  } catch (const kj::Exception& e) {
    spdlog::warn("undecodable message: {}", e.getDescription().cStr());
    outbox_.error(in.side, in.route, request_id, wire::ErrorCode::MALFORMED,
                  std::string("undecodable message: ") + e.getDescription().cStr());
    ++refused_peer_;
    return;
  }
  const Handlers::Entry* entry = handlers_.find(in.side, which);
  if (!entry) {
    spdlog::warn("unimplemented message body {} on the {} socket", static_cast<int>(which),
                 side_name(in.side));
    outbox_.error(in.side, in.route, request_id, wire::ErrorCode::UNIMPLEMENTED,
                  "message body " + std::to_string(static_cast<int>(which)) +
                      " is not implemented on the " + side_name(in.side) +
                      " socket (is this peer pointed at the right port?)");
    return;
  }
  const std::optional<Peer> peer = authorize(in, which, request_id);
  if (!peer) return;
  if (in.side == Side::kClients) clients_.emplace_back(in.route, request_id);
  auto env = frame->envelope();
  const size_t mark = outbox_.mark();
  try {
    if (entry->writes == Writes::kDirect) {
      if (auto refused = session_.guarded([&] { entry->handler(*peer, request_id, env); })) {
        outbox_.rewind(mark);  // they described writes that were undone
        refuse(*peer, request_id, env,
               {Fault::kPeer, std::string("the store refused it: ") + refused->what()},
               wire::ErrorCode::REFUSED);
      }
    } else {
      session_.batched([&] { entry->handler(*peer, request_id, env); });
    }
  } catch (...) {
    const auto error = std::current_exception();
    const FaultOf why = fault_of(error);
    if (why.fault == Fault::kStore) throw;
    outbox_.rewind(mark);
    refuse(*peer, request_id, env, why, code_of(error));
  }
}

void MessageBoundary::record(const std::string& who, const std::optional<ResultKey>& key,
                             const std::string& body, const std::string& reason) {
  const int64_t second = clock_.steady_ms() / 1000;
  Window& w = windows_[who];
  if (w.second != second) {
    const uint64_t unrecorded = w.unrecorded;
    w = {second, 0, 0};
    if (unrecorded) {
      spdlog::warn("{} more refusals of {} were not recorded one by one", unrecorded, who);
      record(who, std::nullopt, "(several)",
             std::to_string(unrecorded) + " more refusals in one second, not recorded one by one");
    }
  }
  if (w.recorded >= kRecordedPerSecond) {
    ++w.unrecorded;
    return;
  }
  ++w.recorded;
  // In a savepoint of its own: the reason is ours, the peer's texts in it
  // are shortened and made valid UTF-8.
  if (auto failed = session_.guarded([&] {
        refusals_.record_refusal(who, key ? key->job_id : 0, key ? key->attempt : 0, body, reason);
      }))
    spdlog::error("could not record the refusal: {}", failed->what());
}

void MessageBoundary::refuse(const Peer& peer, uint64_t request_id, wire::Envelope::Reader envelope,
                             const FaultOf& why, wire::ErrorCode code) {
  const bool ours = why.fault == Fault::kOurs;
  ++(ours ? refused_ours_ : refused_peer_);
  std::string body = "?";
  std::optional<ResultKey> key;
  try {
    body = body_name(envelope.getBody().which());
    key = result_key(envelope);
  } catch (const kj::Exception&) {
  }
  const std::string who =
      peer.side == Side::kClients
          ? "client" + (peer.name.empty() ? std::string() : " " + peer.name)
          : agents_.name_of(peer.route, peer.name.empty() ? "(unregistered agent)" : peer.name);
  const std::string reason = valid_text(shortened(why.what));
  // Logged as far as it is recorded: a flood of refusals does not flood the log.
  const Window& w = windows_[who];
  const bool logged = w.second != clock_.steady_ms() / 1000 || w.recorded < kRecordedPerSecond;
  if (logged && ours)
    spdlog::error("internal error handling a {} from {}{}: {}; the message is refused", body, who,
                  key ? " (job " + std::to_string(key->job_id) + " attempt " +
                            std::to_string(key->attempt) + " seq " + std::to_string(key->seq) + ")"
                      : std::string(),
                  reason);
  else if (logged)
    spdlog::warn("refused a {} from {}: {}", body, who, reason);
  record(who, key, body, (ours ? "internal error: " : "") + reason);
  if (peer.side == Side::kClients) {
    outbox_.error(
        Side::kClients, peer.route, request_id, code,
        ours ? "the coordinator failed on this request (" + reason + "); see its log" : reason);
  } else if (key && agents_.by_route(peer.route)) {
    // Acknowledged, so that it is never sent again: the refusal is recorded.
    agents_.add_ack(*agents_.by_route(peer.route), *key);
  } else {
    outbox_.error(Side::kAgents, peer.route, request_id, code, reason);
  }
}

}  // namespace yardstick
