// CURVE keys and who may connect: the key files `yardstick keygen` writes,
// the authorized-keys files the coordinator reads, and the socket options
// that turn CURVE on for each role.
//
// Key files are text, in ZeroMQ's Z85 form (40 characters a key), in the
// layout of CZMQ's certificates so ZeroMQ users recognise them:
//
//   NAME.key (mode 0600)                NAME.pub
//     public-key = "Z85..."               public-key = "Z85..."
//     secret-key = "Z85..."
//
// An authorized-keys file has one peer a line: `KEY NAME` for agents,
// `KEY NAME ROLE` for clients (ROLE is read or submit). A line whose first
// word starts with `#` and is not a key is a comment, as is the rest of a
// line from a word starting with `#` after the fields (Z85 keys may hold `#`).
#pragma once

#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>
#include <zmq.hpp>

namespace yardstick {

// A key file or an authorized-keys file that cannot be used; what() names
// the file and, where there is one, the line.
class KeyFileError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct CurveKeyPair {
  std::string public_key;  // Z85, 40 characters
  std::string secret_key;  // Z85, 40 characters; empty for a public key alone
};

// A new key pair from libzmq's generator (libsodium's randomness).
CurveKeyPair generate_curve_keypair();
// Writes `base`.key (mode 0600, never readable by others, refused when it
// exists) and `base`.pub. Throws KeyFileError.
void write_curve_keypair(const std::string& base, const CurveKeyPair& pair);
// Reads a secret key file; refused when group or others may read it.
CurveKeyPair read_secret_key_file(const std::string& path);
// A public key given on a command line: the 40 Z85 characters themselves,
// or the path of a .pub (or .key) file holding them.
std::string read_public_key(const std::string& key_or_path);
// True for 40 characters of Z85 that decode to a key.
bool is_z85_key(const std::string& text);

// The roles a client key may have.
enum class ClientRole { kRead, kSubmit };
const char* role_name(ClientRole role);

struct AuthorizedKey {
  std::string key;  // Z85
  std::string name;
  ClientRole role = ClientRole::kRead;  // clients only
};

// The peers a socket admits, by public key.
struct AuthorizedKeys {
  std::map<std::string, AuthorizedKey> by_key;
  std::map<std::string, std::string> key_of_name;
  const AuthorizedKey* find_name(const std::string& name) const {
    auto it = key_of_name.find(name);
    return it == key_of_name.end() ? nullptr : &by_key.at(it->second);
  }
};

// Parses an authorized-keys file's text; `with_role` for clients. Throws
// KeyFileError naming `path` and the line. A key or a name listed twice is
// an error (a name is bound to one key).
AuthorizedKeys parse_authorized_keys(const std::string& text, const std::string& path,
                                     bool with_role);
AuthorizedKeys read_authorized_keys(const std::string& path, bool with_role);

// How a connecting peer (agent or CLI) talks to the coordinator.
struct ClientSecurity {
  bool insecure = false;
  CurveKeyPair own;        // this peer's key pair
  std::string server_key;  // the coordinator's public key
};
// Sets CURVE on a DEALER before it connects (nothing when insecure).
void apply_client_security(zmq::socket_t& socket, const ClientSecurity& security);
// Sets CURVE server on a ROUTER before it binds; `zap_domain` tells the
// ZAP handler which socket a handshake is for.
void apply_server_security(zmq::socket_t& socket, const std::string& secret_key,
                           const std::string& zap_domain);

// Watches a connecting socket's handshakes (a ZeroMQ socket monitor) so a
// peer can say why it cannot talk to the coordinator: its key refused, or
// the coordinator not the one whose public key it was given.
class HandshakeWatch {
 public:
  HandshakeWatch(zmq::context_t& context, zmq::socket_t& watched, std::string endpoint);
  ~HandshakeWatch();
  HandshakeWatch(const HandshakeWatch&) = delete;
  HandshakeWatch& operator=(const HandshakeWatch&) = delete;
  // Reads the events so far, without waiting; returns the failures among
  // them, in words for a log.
  std::vector<std::string> poll();
  bool succeeded() const { return succeeded_; }
  // Handshakes that failed (other than a refused key) since the last success.
  int dropped_in_handshake() const { return dropped_; }
  // The coordinator's ZAP handler refused this side's key.
  bool key_refused() const { return key_refused_; }

 private:
  zmq::socket_t monitor_;
  std::string address_, endpoint_;
  bool connected_ = false, succeeded_ = false, failed_ = false, key_refused_ = false;
  int dropped_ = 0;
};

}  // namespace yardstick
