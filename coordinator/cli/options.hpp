// What every command is given: the global flags (where the coordinator is,
// how long to wait, how to print) and, from them, the CURVE keys that
// admit this user.
#pragma once

#include <stdexcept>
#include <string>

#include "common/curve.hpp"

namespace yardstick {

struct Options {
  std::string endpoint = "tcp://127.0.0.1:7400";
  int timeout_ms = 5000;  // for each answer
  bool json = false;
  std::string key_file;         // this user's CURVE secret key
  std::string coordinator_key;  // the coordinator's public key, or its file
  bool insecure = false;
};

// A usage problem with the keys (missing, unreadable, --insecure off loopback).
struct KeySetupError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// The keys given by --key and --coordinator-key, else those at
// ~/.config/yardstick/ (or $XDG_CONFIG_HOME/yardstick/): client.key and
// coordinator.pub; none with --insecure, which only a loopback or ipc://
// coordinator accepts. Throws KeySetupError saying what is missing.
ClientSecurity client_security(const Options& o);

}  // namespace yardstick
