#include "coordinator/cli/options.hpp"

#include <cstdlib>
#include <filesystem>

#include "common/zmq_util.hpp"

namespace yardstick {

namespace {
// The default place of a user's keys: ~/.config/yardstick/ (or $XDG_CONFIG_HOME).
std::string config_path(const std::string& file) {
  const char* xdg = std::getenv("XDG_CONFIG_HOME");
  const char* home = std::getenv("HOME");
  std::string dir = xdg && *xdg ? std::string(xdg) : std::string(home ? home : "") + "/.config";
  return dir + "/yardstick/" + file;
}
}  // namespace

ClientSecurity client_security(const Options& o) {
  ClientSecurity s;
  if (o.insecure) {
    if (!is_local_endpoint_list(o.endpoint))
      throw KeySetupError("--insecure is accepted only for a loopback or ipc:// coordinator, not " +
                          o.endpoint);
    s.insecure = true;
    return s;
  }
  std::string key = o.key_file, server = o.coordinator_key;
  if (key.empty() && std::filesystem::exists(config_path("client.key")))
    key = config_path("client.key");
  if (server.empty() && std::filesystem::exists(config_path("coordinator.pub")))
    server = config_path("coordinator.pub");
  if (key.empty() || server.empty())
    throw KeySetupError(
        "no " + std::string(key.empty() ? "client key" : "coordinator key") +
        ": give --key FILE (yardstick keygen --out NAME writes NAME.key; its operator lists "
        "NAME.pub) and --coordinator-key (the coordinator's .pub), or put them at " +
        config_path("client.key") + " and " + config_path("coordinator.pub") +
        "; --insecure only for a loopback coordinator without CURVE");
  try {
    s.own = read_secret_key_file(key);
    s.server_key = read_public_key(server);
  } catch (const KeyFileError& e) {
    throw KeySetupError(e.what());
  }
  return s;
}

}  // namespace yardstick
