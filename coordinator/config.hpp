// The coordinator's tunables, each defined once with its unit; main.cpp
// maps flags and environment variables onto them.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace yardstick {

struct CoordinatorConfig {
  std::string agents_endpoint = "tcp://127.0.0.1:7401";
  std::string clients_endpoint = "tcp://127.0.0.1:7400";
  uint32_t heartbeat_interval_ms = 2000;  // told to agents in the welcome
  uint32_t lease_ms = 10000;              // an agent silent this long is lost
  // Heartbeats the whole fleet sends per second, at most (as Nomad's
  // max_heartbeats_per_second): a fleet larger than this times the
  // interval is given a longer interval, and a lease longer in proportion.
  // 0: the interval is fixed.
  uint32_t max_heartbeats_per_s = 500;
  size_t max_batch = 2000;                // frames handled in one turn (one transaction)
  uint64_t max_turn_bytes = 32ull << 20;  // bytes of frames handled in one turn
  uint64_t log_cap_bytes = 64ull << 20;   // stored log of one job attempt: head and tail kept
  uint32_t queue_timeout_ms = 600'000;    // a queued job no connected agent can take fails then
  uint32_t stall_ms = 1000;               // a gap between turns past this extends every lease
  std::string ready_file;                 // when set: bound endpoints are written here
  std::string http_address;               // the dashboard's bound HOST:PORT (ready file); "": off
  std::string secret_key;                 // Z85 CURVE secret key; empty: --insecure (no CURVE)
  bool calibrate_new_machines = true;     // an agent of a never-calibrated machine calibrates it
  uint64_t keep_logs_ms = 0;              // logs of months older than this are dropped; 0: kept
};

}  // namespace yardstick
