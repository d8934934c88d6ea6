// Who may connect to the coordinator: a ZAP handler (ZeroMQ's RFC 27) on
// its own thread that admits, for each socket, only the public keys listed
// for that socket's role, and the per-message check that a key was not
// revoked since its handshake.
//
// - The agents socket (ZAP domain "agents") admits the keys of
//   --authorized-agents; each is bound to one agent name.
// - The clients socket (domain "clients") admits the keys of
//   --authorized-clients, each with a role: read or submit.
// - An admitted peer's ZAP user id is its public key (Z85); ZeroMQ
//   attaches it to each of its messages, and the coordinator finds the
//   key's name and role in the lists as they are NOW (current()): a key
//   removed, or replaced under the same name, stops working at once.
// - SIGHUP (reload()) reads both files again; a file with an error keeps
//   the previous lists and logs the file and line.
#pragma once

#include <atomic>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <zmq.hpp>

#include "common/curve.hpp"

namespace yardstick {

inline constexpr const char* kAgentsDomain = "agents";
inline constexpr const char* kClientsDomain = "clients";

struct ZapVerdict {
  bool admitted = false;
  std::string user_id;  // admitted: the peer's public key, Z85
  std::string reason;   // refused: why, in words for the log
};

// Who a connected peer is now.
struct PeerIdentity {
  std::string role;  // "agent", "read" or "submit"
  std::string name;
};

// Who may do what, asked for every message. ZapHandler answers from its
// lists; unit tests fake it.
class Authority {
 public:
  virtual ~Authority() = default;
  // The name and role of the key `user_id` (as the ZAP handler gave it) in
  // `domain` now; nullopt when the key is no longer listed there.
  virtual std::optional<PeerIdentity> current(const std::string& domain,
                                              const std::string& user_id) const = 0;
};

// The decision for one handshake: a pure function of the lists.
ZapVerdict judge_handshake(const AuthorizedKeys& agents, const AuthorizedKeys& clients,
                           const std::string& domain, const std::string& mechanism,
                           const std::string& public_key_z85);

class ZapHandler final : public Authority {
 public:
  // Reads both files; throws KeyFileError naming the file and line.
  ZapHandler(zmq::context_t& context, std::string agents_file, std::string clients_file);
  ~ZapHandler();
  ZapHandler(const ZapHandler&) = delete;
  ZapHandler& operator=(const ZapHandler&) = delete;

  // Binds inproc://zeromq.zap.01 and serves it on a thread of its own.
  void start();
  // Reads both files again (safe from any thread); false, with the old
  // lists kept, when one has an error.
  bool reload();
  // Asks the handler's thread to reload() within 100 ms; safe in a signal
  // handler.
  void request_reload() { reload_requested_ = true; }

  std::optional<PeerIdentity> current(const std::string& domain,
                                      const std::string& user_id) const override;
  uint64_t refused() const { return refused_.load(); }

 private:
  void serve();
  void answer(zmq::socket_t& rep);
  void log_refusal(const std::string& what);

  zmq::context_t& context_;
  std::string agents_file_, clients_file_;
  mutable std::mutex mu_;
  std::shared_ptr<const AuthorizedKeys> agents_, clients_;
  std::thread thread_;
  std::atomic<bool> stop_{false};
  std::atomic<bool> reload_requested_{false};
  std::atomic<uint64_t> refused_{0};
  int64_t log_window_ms_ = 0;
  int logged_in_window_ = 0;
  uint64_t unlogged_ = 0;
};

}  // namespace yardstick
