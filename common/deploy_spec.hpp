// What a deploy job asks for (the structs live in common/types.hpp, beside
// the job assignment that carries them) and what it reports: its phases,
// its outcome and its probe's counts.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "common/types.hpp"

namespace yardstick {

struct DeployPhase {
  std::string name;  // "step push", "healthy", "stable", "switch", "rollback", "rollback verified"
  int64_t start_us = 0;  // system clock, microseconds since the epoch
  int64_t end_us = 0;
  bool ok = true;
  std::string detail;
  bool operator==(const DeployPhase&) const = default;
};

// The probe's counts over a whole deploy (agent/deploy_probe.hpp).
struct ProbeCounts {
  uint64_t sent = 0;
  uint64_t failed = 0;
  // By kind: status (answered outside `expect`), refused, reset, timeout, other.
  std::map<std::string, uint64_t> failures;
  uint64_t late = 0;  // ticks sent more than one interval late
  double longest_outage_ms = 0;
  double p50_ms = 0, p99_ms = 0;  // latency of the good answers
  int64_t interval_us = 0;
  // "0 failed requests of 1,843" or "12 failed requests of 1,843 (refused
  // 10, timeout 2), longest outage 1,205 ms".
  std::string text() const;
  bool operator==(const ProbeCounts&) const = default;
};

// How a deploy ended.
enum class DeployOutcome { kSucceeded, kFailed, kRolledBack, kRollbackFailed };
// "succeeded", "failed", "rolled back", "rollback failed": as stored (deploys.outcome).
std::string_view to_string(DeployOutcome outcome);
std::optional<DeployOutcome> parse_deploy_outcome(std::string_view text);

// How a deploy job ended: sent by the agent once, before its job ends.
struct DeployReport {
  DeployOutcome outcome = DeployOutcome::kFailed;
  std::string reason;  // step_failed, health_deadline, probe_failures; empty on success
  std::string message;
  std::optional<ProbeCounts> probe;
  std::string old_version, new_version;     // as the probe saw them
  uint64_t switch_old = 0, switch_new = 0;  // answers inside the switch window, by version
  bool operator==(const DeployReport&) const = default;
};

// True for "http://..." and "https://..." with something after the scheme.
bool http_url(const std::string& url);

// 1843 -> "1,843".
std::string with_thousands(uint64_t n);

}  // namespace yardstick
