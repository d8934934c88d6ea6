#include "common/curve.hpp"

#include <fcntl.h>
#include <unistd.h>
#include <zmq.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "common/key_file.hpp"
#include "common/text.hpp"

namespace yardstick {
namespace {

constexpr size_t kZ85KeyChars = 40;

// The text of a key file (at most `max_bytes`), or KeyFileError.
KeyFileText read_whole(const std::string& path, size_t max_bytes) {
  std::string error;
  auto file = read_key_file(path, max_bytes, &error);
  if (!file) throw KeyFileError(error);
  return std::move(*file);
}

// `name = "value"` lines of a key file, by name.
std::map<std::string, std::string> key_lines(const std::string& text, const std::string& path) {
  std::map<std::string, std::string> out;
  std::istringstream in(text);
  std::string line;
  int number = 0;
  while (std::getline(in, line)) {
    ++number;
    std::string t = trim(line);
    if (is_z85_key(t)) {  // a bare key, as some tools write public keys
      out.emplace("public-key", t);
      continue;
    }
    if (t.empty() || t[0] == '#') continue;
    size_t eq = t.find('=');
    if (eq == std::string::npos) {
      throw KeyFileError(path + ":" + std::to_string(number) +
                         ": expected public-key = \"...\" or secret-key = \"...\"");
    }
    std::string name = trim(t.substr(0, eq)), value = trim(t.substr(eq + 1));
    if (value.size() >= 2 && value.front() == '"' && value.back() == '"')
      value = value.substr(1, value.size() - 2);
    if (name != "public-key" && name != "secret-key") continue;  // other metadata
    if (!is_z85_key(value))
      throw KeyFileError(path + ":" + std::to_string(number) + ": " + name +
                         " is not a 40-character Z85 key");
    out[name] = value;
  }
  return out;
}

void set_binary_key(zmq::socket_t& socket, int option, const std::string& z85) {
  uint8_t raw[32];
  if (!zmq_z85_decode(raw, z85.c_str())) throw KeyFileError("not a Z85 key: " + z85);
  if (zmq_setsockopt(socket.handle(), option, raw, sizeof raw) != 0) throw zmq::error_t();
}

}  // namespace

bool is_z85_key(const std::string& text) {
  if (text.size() != kZ85KeyChars) return false;
  uint8_t raw[32];
  return zmq_z85_decode(raw, text.c_str()) != nullptr;
}

CurveKeyPair generate_curve_keypair() {
  char pub[kZ85KeyChars + 1] = {}, sec[kZ85KeyChars + 1] = {};
  if (zmq_curve_keypair(pub, sec) != 0)
    throw KeyFileError(std::string("cannot make a CURVE key pair: ") + zmq_strerror(zmq_errno()) +
                       " (is libzmq built with libsodium?)");
  return {pub, sec};
}

void write_curve_keypair(const std::string& base, const CurveKeyPair& pair) {
  const std::string secret_path = base + ".key", public_path = base + ".pub";
  // O_EXCL with mode 0600: the secret is never readable by others, not even
  // for a moment, and an existing key is never overwritten.
  int fd = ::open(secret_path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0)
    throw KeyFileError(secret_path + ": cannot create: " + std::strerror(errno) +
                       (errno == EEXIST ? " (a key is never overwritten; remove it first)" : ""));
  const std::string secret_text =
      "# yardstick CURVE secret key: keep it private (mode 0600), give out " + public_path +
      "\npublic-key = \"" + pair.public_key + "\"\nsecret-key = \"" + pair.secret_key + "\"\n";
  bool ok = ::write(fd, secret_text.data(), secret_text.size()) ==
                static_cast<ssize_t>(secret_text.size()) &&
            ::fsync(fd) == 0;
  ::close(fd);
  if (!ok) {
    ::unlink(secret_path.c_str());
    throw KeyFileError(secret_path + ": cannot write: " + std::strerror(errno));
  }
  std::ofstream pub(public_path, std::ios::trunc);
  pub << "# yardstick CURVE public key\npublic-key = \"" << pair.public_key << "\"\n";
  if (!pub.flush()) throw KeyFileError(public_path + ": cannot write");
}

CurveKeyPair read_secret_key_file(const std::string& path) {
  const KeyFileText file = read_whole(path, kMaxKeyFileBytes);
  auto keys = key_lines(file.text, path);
  // Said before any advice on the mode: no chmod makes a public key secret.
  if (!keys.count("secret-key")) {
    const bool pub = path.size() > 4 && path.compare(path.size() - 4, 4, ".pub") == 0;
    throw KeyFileError(path + ": holds no secret key" +
                       (keys.count("public-key")
                            ? std::string(" but a public one (a .pub file); give the secret key "
                                          "file made beside it") +
                                  (pub ? " (" + path.substr(0, path.size() - 4) + ")" : "")
                            : std::string(" (no secret-key line)")));
  }
  if (std::string why = secret_key_problem(path, file); !why.empty()) throw KeyFileError(why);
  if (!keys.count("public-key")) throw KeyFileError(path + ": no public-key line");
  // The public key must be the secret key's own: a mismatch would fail
  // every handshake with no clue why.
  char derived[kZ85KeyChars + 1] = {};
  if (zmq_curve_public(derived, keys["secret-key"].c_str()) != 0 || keys["public-key"] != derived)
    throw KeyFileError(path + ": its public-key is not the secret key's");
  return {keys["public-key"], keys["secret-key"]};
}

std::string read_public_key(const std::string& key_or_path) {
  // A file wins: a path can be 40 characters of the Z85 alphabet too
  // (mktemp -d under a TMPDIR of 9 characters makes such a coordinator.pub).
  std::error_code ec;
  if (is_z85_key(key_or_path) && !std::filesystem::exists(key_or_path, ec)) return key_or_path;
  auto keys = key_lines(read_whole(key_or_path, kMaxKeyFileBytes).text, key_or_path);
  if (keys.count("secret-key"))
    throw KeyFileError(key_or_path +
                       ": holds a secret key, where a public key belongs: give the .pub file "
                       "made beside it (and keep the secret one on its host)");
  if (!keys.count("public-key")) throw KeyFileError(key_or_path + ": no public-key line");
  return keys["public-key"];
}

const char* role_name(ClientRole role) {
  return role == ClientRole::kSubmit ? "submit" : "read";
}

AuthorizedKeys parse_authorized_keys(const std::string& text, const std::string& path,
                                     bool with_role) {
  AuthorizedKeys out;
  std::map<std::string, int> names;
  std::istringstream in(text);
  std::string line;
  int number = 0;
  while (std::getline(in, line)) {
    ++number;
    const std::string where = path + ":" + std::to_string(number) + ": ";
    std::istringstream words(line);
    std::vector<std::string> w;
    for (std::string word; words >> word;) w.push_back(word);
    // Z85 has '#' among its characters: a line is a comment when its first
    // word is not a key, and words from a '#' after the fields are a comment.
    if (w.empty() || (w[0][0] == '#' && !is_z85_key(w[0]))) continue;
    const size_t want = with_role ? 3 : 2;
    if (w.size() > want && w[want][0] == '#') w.resize(want);
    if (w.size() != want)
      throw KeyFileError(where + "expected " +
                         (with_role ? "KEY NAME ROLE (ROLE: read or submit)" : "KEY NAME") +
                         ", found " + std::to_string(w.size()) + " fields");
    if (!is_z85_key(w[0]))
      throw KeyFileError(where + "'" + w[0].substr(0, 48) +
                         "' is not a public key (40 characters of Z85, from a .pub file)");
    AuthorizedKey k{w[0], w[1], ClientRole::kRead};
    if (with_role) {
      if (w[2] == "submit")
        k.role = ClientRole::kSubmit;
      else if (w[2] != "read")
        throw KeyFileError(where + "role '" + w[2] + "' is not read or submit");
    }
    if (out.by_key.count(k.key))
      throw KeyFileError(where + "key already listed (for " + out.by_key[k.key].name + ")");
    if (auto it = names.find(k.name); it != names.end())
      throw KeyFileError(where + "name '" + k.name + "' already has a key (line " +
                         std::to_string(it->second) + "); a name is bound to one key");
    names[k.name] = number;
    out.key_of_name[k.name] = k.key;
    out.by_key.emplace(k.key, k);
  }
  return out;
}

AuthorizedKeys read_authorized_keys(const std::string& path, bool with_role) {
  return parse_authorized_keys(read_whole(path, kMaxKeyListBytes).text, path, with_role);
}

void apply_client_security(zmq::socket_t& socket, const ClientSecurity& security) {
  if (security.insecure) return;
  set_binary_key(socket, ZMQ_CURVE_SERVERKEY, security.server_key);
  set_binary_key(socket, ZMQ_CURVE_PUBLICKEY, security.own.public_key);
  set_binary_key(socket, ZMQ_CURVE_SECRETKEY, security.own.secret_key);
}

void apply_server_security(zmq::socket_t& socket, const std::string& secret_key,
                           const std::string& zap_domain) {
  socket.set(zmq::sockopt::curve_server, 1);
  set_binary_key(socket, ZMQ_CURVE_SECRETKEY, secret_key);
  socket.set(zmq::sockopt::zap_domain, zap_domain);
}

namespace {
std::atomic<uint64_t> g_monitor_serial{0};
}

HandshakeWatch::HandshakeWatch(zmq::context_t& context, zmq::socket_t& watched,
                               std::string endpoint)
    : monitor_(context, zmq::socket_type::pair), endpoint_(std::move(endpoint)) {
  address_ = "inproc://yardstick-handshake-" + std::to_string(getpid()) + "-" +
             std::to_string(g_monitor_serial++);
  if (zmq_socket_monitor(watched.handle(), address_.c_str(),
                         ZMQ_EVENT_CONNECTED | ZMQ_EVENT_DISCONNECTED |
                             ZMQ_EVENT_HANDSHAKE_SUCCEEDED | ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL |
                             ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL |
                             ZMQ_EVENT_HANDSHAKE_FAILED_AUTH) != 0)
    throw zmq::error_t();
  monitor_.set(zmq::sockopt::linger, 0);
  monitor_.connect(address_);
}

HandshakeWatch::~HandshakeWatch() = default;

std::vector<std::string> HandshakeWatch::poll() {
  std::vector<std::string> problems;
  for (;;) {
    zmq::message_t event;
    if (!monitor_.recv(event, zmq::recv_flags::dontwait)) break;
    zmq::message_t address;
    if (monitor_.get(zmq::sockopt::rcvmore)) (void)monitor_.recv(address);
    if (event.size() < 6) continue;
    uint16_t id = 0;
    uint32_t value = 0;
    std::memcpy(&id, event.data(), 2);
    std::memcpy(&value, static_cast<const char*>(event.data()) + 2, 4);
    switch (id) {
      case ZMQ_EVENT_CONNECTED:
        connected_ = true;
        break;
      case ZMQ_EVENT_HANDSHAKE_SUCCEEDED:
        succeeded_ = true;
        dropped_ = 0;
        break;
      case ZMQ_EVENT_DISCONNECTED:
        if (connected_ && !succeeded_ && !failed_) {
          ++dropped_;
          problems.push_back(
              "the coordinator at " + endpoint_ +
              " closed the connection during the CURVE handshake: the coordinator key this "
              "side was given is probably not its public key (or it runs --insecure)");
        }
        connected_ = false;
        succeeded_ = false;
        failed_ = false;
        break;
      case ZMQ_EVENT_HANDSHAKE_FAILED_AUTH:
        failed_ = true;
        key_refused_ = true;
        problems.push_back("the coordinator at " + endpoint_ + " refused this key (status " +
                           std::to_string(value) +
                           "): it is not in the coordinator's authorized keys for this socket");
        break;
      case ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL:
        failed_ = true;
        ++dropped_;
        problems.push_back(
            value == ZMQ_PROTOCOL_ERROR_ZMTP_MECHANISM_MISMATCH
                ? "the coordinator at " + endpoint_ +
                      " speaks another security mechanism: one side runs --insecure and the "
                      "other uses CURVE keys"
                : "the CURVE handshake with " + endpoint_ + " failed (protocol error " +
                      std::to_string(value) +
                      "): the coordinator key this side was given is probably not its public "
                      "key");
        break;
      case ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL:
        failed_ = true;
        ++dropped_;
        problems.push_back("the handshake with the coordinator at " + endpoint_ +
                           " failed: the coordinator key this side was given is probably not "
                           "its public key (or one side runs --insecure and the other not)");
        break;
      default:
        break;
    }
  }
  return problems;
}

}  // namespace yardstick
