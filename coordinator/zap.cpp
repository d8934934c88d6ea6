#include "coordinator/zap.hpp"

#include <spdlog/spdlog.h>
#include <zmq.h>

#include <chrono>

#include "common/text.hpp"

namespace yardstick {

ZapVerdict judge_handshake(const AuthorizedKeys& agents, const AuthorizedKeys& clients,
                           const std::string& domain, const std::string& mechanism,
                           const std::string& key) {
  if (mechanism != "CURVE") return {false, "", "mechanism " + mechanism + " is not CURVE"};
  const bool on_agents = domain == kAgentsDomain;
  if (!on_agents && domain != kClientsDomain)
    return {false, "", "unknown ZAP domain '" + domain + "'"};
  const AuthorizedKeys& own = on_agents ? agents : clients;
  const AuthorizedKeys& other = on_agents ? clients : agents;
  if (auto it = own.by_key.find(key); it != own.by_key.end()) {
    const AuthorizedKey& k = it->second;
    (void)k;
    return {true, key, ""};
  }
  if (auto it = other.by_key.find(key); it != other.by_key.end())
    return {false, "",
            std::string(on_agents ? "client" : "agent") + " key of '" + it->second.name +
                "' on the " + domain + " socket (" + (on_agents ? "client" : "agent") +
                " keys are accepted only on the " + (on_agents ? "clients" : "agents") +
                " socket)"};
  return {false, "", "key not listed in the authorized " + domain + " file"};
}

ZapHandler::ZapHandler(zmq::context_t& context, std::string agents_file, std::string clients_file)
    : context_(context),
      agents_file_(std::move(agents_file)),
      clients_file_(std::move(clients_file)) {
  agents_ = std::make_shared<AuthorizedKeys>(read_authorized_keys(agents_file_, false));
  clients_ = std::make_shared<AuthorizedKeys>(read_authorized_keys(clients_file_, true));
  spdlog::info("authorized keys: {} agents ({}), {} clients ({})", agents_->by_key.size(),
               agents_file_, clients_->by_key.size(), clients_file_);
}

ZapHandler::~ZapHandler() {
  stop_ = true;
  if (thread_.joinable()) thread_.join();
}

void ZapHandler::start() {
  // Bound before the thread starts and before any CURVE socket binds, so
  // no handshake ever finds no handler (libzmq would then admit it).
  auto rep = std::make_shared<zmq::socket_t>(context_, zmq::socket_type::rep);
  rep->set(zmq::sockopt::linger, 0);
  rep->bind("inproc://zeromq.zap.01");
  thread_ = std::thread([this, rep] {
    while (!stop_.load()) {
      if (reload_requested_.exchange(false)) reload();
      zmq::pollitem_t item{static_cast<void*>(*rep), 0, ZMQ_POLLIN, 0};
      try {
        zmq::poll(&item, 1, std::chrono::milliseconds(100));
      } catch (const zmq::error_t& e) {
        if (e.num() == EINTR) continue;
        if (e.num() == ETERM) break;
        throw;
      }
      if (item.revents & ZMQ_POLLIN) answer(*rep);
    }
  });
}

bool ZapHandler::reload() {
  try {
    auto agents = std::make_shared<AuthorizedKeys>(read_authorized_keys(agents_file_, false));
    auto clients = std::make_shared<AuthorizedKeys>(read_authorized_keys(clients_file_, true));
    std::lock_guard lock(mu_);
    agents_ = std::move(agents);
    clients_ = std::move(clients);
    spdlog::info("authorized keys reloaded: {} agents, {} clients", agents_->by_key.size(),
                 clients_->by_key.size());
    return true;
  } catch (const KeyFileError& e) {
    spdlog::error("authorized keys NOT reloaded, the previous lists stay: {}", e.what());
    return false;
  }
}

std::optional<PeerIdentity> ZapHandler::current(const std::string& domain,
                                                const std::string& user_id) const {
  std::shared_ptr<const AuthorizedKeys> keys;
  {
    std::lock_guard lock(mu_);
    keys = domain == kAgentsDomain ? agents_ : clients_;
  }
  auto it = keys->by_key.find(user_id);
  if (it == keys->by_key.end()) return std::nullopt;
  return PeerIdentity{domain == kAgentsDomain ? "agent" : role_name(it->second.role),
                      it->second.name};
}

void ZapHandler::answer(zmq::socket_t& rep) {
  std::vector<zmq::message_t> parts;
  do {
    zmq::message_t part;
    if (!rep.recv(part, zmq::recv_flags::dontwait)) break;
    parts.push_back(std::move(part));
  } while (rep.get(zmq::sockopt::rcvmore));
  // version, request id, domain, address, routing id, mechanism, credentials...
  std::string request_id = parts.size() > 1 ? parts[1].to_string() : "";
  ZapVerdict verdict;
  std::string address, key;
  if (parts.size() < 6 || parts[0].to_string() != "1.0") {
    verdict.reason = "malformed ZAP request";
  } else {
    address = parts[3].to_string();
    const std::string mechanism = parts[5].to_string();
    if (mechanism == "CURVE" && parts.size() >= 7 && parts[6].size() == 32) {
      char z85[41] = {};
      zmq_z85_encode(z85, static_cast<const uint8_t*>(parts[6].data()), 32);
      key = z85;
    }
    std::shared_ptr<const AuthorizedKeys> agents, clients;
    {
      std::lock_guard lock(mu_);
      agents = agents_;
      clients = clients_;
    }
    verdict = judge_handshake(*agents, *clients, parts[2].to_string(), mechanism, key);
  }
  if (!verdict.admitted) {
    ++refused_;
    log_refusal("refused a connection from " + valid_text(address.empty() ? "?" : address) +
                " with key " + (key.empty() ? "(none)" : key) + ": " + verdict.reason);
  } else {
    spdlog::debug("admitted {} from {}", verdict.user_id, address);
  }
  std::vector<std::string> reply = {"1.0",
                                    request_id,
                                    verdict.admitted ? "200" : "400",
                                    verdict.admitted ? "OK" : verdict.reason,
                                    verdict.user_id,
                                    ""};
  for (size_t i = 0; i < reply.size(); ++i)
    rep.send(zmq::buffer(reply[i]),
             i + 1 < reply.size() ? zmq::send_flags::sndmore : zmq::send_flags::none);
}

void ZapHandler::log_refusal(const std::string& what) {
  // At most 20 lines a second: a flood of handshakes must not flood the log.
  const int64_t now = std::chrono::duration_cast<std::chrono::milliseconds>(
                          std::chrono::steady_clock::now().time_since_epoch())
                          .count();
  if (now - log_window_ms_ >= 1000) {
    if (unlogged_)
      spdlog::warn("{} more refused connections were not logged one by one", unlogged_);
    log_window_ms_ = now;
    logged_in_window_ = 0;
    unlogged_ = 0;
  }
  if (logged_in_window_++ < 20)
    spdlog::warn("{}", what);
  else
    ++unlogged_;
}

}  // namespace yardstick
