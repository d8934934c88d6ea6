// The health gate of a deploy job, as Kubernetes' probes and Kamal's
// health checks judge it: a check every `interval` (an HTTP GET whose
// status is in `expect`, or a command that exits 0), each with its own
// `timeout`. Failures during `start_period` do not count. The service is
// healthy after `success_threshold` good checks in a row and unhealthy
// again after `failure_threshold` bad ones in a row; the gate passes once
// it has stayed healthy for `min_healthy`, and fails when `deadline` (from
// the first check) passes first.
//
// HealthGate is the judgement alone, fed with results and times, so that it
// can be tested with a fake clock; the deploy runner does the checks.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>

#include "common/deploy_spec.hpp"
#include "common/http.hpp"

namespace yardstick {

class HealthGate {
 public:
  enum class State { kWaiting, kHealthy, kPassed, kDeadline };
  using Ms = std::chrono::milliseconds;

  explicit HealthGate(const HealthSpec& spec) : spec_(spec) {}

  // One check's result, `at` from the gate's start. Returns the new state.
  State record(bool good, Ms at);
  // Time alone can end the gate (the deadline, or min_healthy reached).
  State tick(Ms at);

  State state() const { return state_; }
  bool done() const { return state_ == State::kPassed || state_ == State::kDeadline; }
  // When it first became healthy, and when it passed (healthy + min_healthy).
  std::optional<Ms> first_healthy() const { return first_healthy_; }
  std::optional<Ms> passed_at() const { return passed_at_; }
  uint32_t checks() const { return checks_; }
  uint32_t failed_checks() const { return failed_; }
  // "healthy after 3.2 s, stayed healthy 10 s", "not healthy by the 300 s deadline
  // (12 checks, 12 failed; last: HTTP 503, expected 200-399)".
  std::string describe(const std::string& last_error) const;

 private:
  HealthSpec spec_;
  State state_ = State::kWaiting;
  uint32_t good_in_row_ = 0, bad_in_row_ = 0, checks_ = 0, failed_ = 0;
  std::optional<Ms> first_healthy_, healthy_since_, passed_at_;
};

}  // namespace yardstick
