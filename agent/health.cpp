#include "agent/health.hpp"

#include <cstdio>

namespace yardstick {

namespace {

std::string seconds(std::chrono::milliseconds ms) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%g s", ms.count() / 1000.0);
  return buf;
}

}  // namespace

HealthGate::State HealthGate::tick(Ms at) {
  if (done()) return state_;
  if (state_ == State::kHealthy && healthy_since_ && at - *healthy_since_ >= spec_.min_healthy) {
    state_ = State::kPassed;
    passed_at_ = *healthy_since_ + spec_.min_healthy;
  } else if (at >= spec_.deadline) {
    state_ = State::kDeadline;
  }
  return state_;
}

HealthGate::State HealthGate::record(bool good, Ms at) {
  if (done()) return state_;
  ++checks_;
  if (good) {
    bad_in_row_ = 0;
    if (state_ == State::kWaiting && ++good_in_row_ >= spec_.success_threshold) {
      state_ = State::kHealthy;
      healthy_since_ = at;
      if (!first_healthy_) first_healthy_ = at;
    }
  } else {
    ++failed_;
    good_in_row_ = 0;
    // A failure in the start period is not held against the service.
    if (at >= spec_.start_period && state_ == State::kHealthy &&
        ++bad_in_row_ >= spec_.failure_threshold) {
      state_ = State::kWaiting;
      healthy_since_.reset();
      bad_in_row_ = 0;
    }
  }
  return tick(at);
}

std::string HealthGate::describe(const std::string& last_error) const {
  switch (state_) {
    case State::kPassed:
      return "healthy after " + seconds(*first_healthy_) + ", stayed healthy " +
             seconds(spec_.min_healthy);
    case State::kDeadline: {
      std::string s = "not healthy by the " + seconds(spec_.deadline) + " deadline (" +
                      std::to_string(checks_) + " checks, " + std::to_string(failed_) + " failed";
      if (first_healthy_)
        s += "; healthy at " + seconds(*first_healthy_) + " but not for " +
             seconds(spec_.min_healthy);
      if (!last_error.empty()) s += "; last: " + last_error;
      return s + ")";
    }
    case State::kHealthy:
      return "healthy since " + seconds(*healthy_since_);
    case State::kWaiting:
      return "not healthy yet";
  }
  return "";
}

}  // namespace yardstick
