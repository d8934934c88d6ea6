// What a deploy job asks for (`kind: deploy`, docs/pipelines.md): its
// steps, the health gate, the zero-downtime probe, the version check and
// the rollback. Defaults as in Kamal (interval, timeout), Kubernetes
// (thresholds) and Railway (the 300 s deadline).
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common/status_range.hpp"
#include "common/types.hpp"

namespace yardstick {

struct HealthSpec {
  std::string url;  // an HTTP check, or
  std::string run;  // a command: exit 0 is healthy
  StatusRange expect;
  std::chrono::milliseconds interval{1'000};
  std::chrono::milliseconds timeout{5'000};
  std::chrono::milliseconds start_period{0};
  uint32_t success_threshold = 1;
  uint32_t failure_threshold = 3;
  std::chrono::milliseconds deadline{300'000};
  std::chrono::milliseconds min_healthy{10'000};
};

struct ProbeSpec {
  std::string url;
  std::chrono::microseconds interval{100'000};
  std::chrono::milliseconds timeout{2'000};
  StatusRange expect;
  size_t max_in_flight = 512;
};

// The version the service must report once deployed: the body of a GET of
// `url`, trimmed, equal to `expect` (where ${YARDSTICK_REVISION} is the
// job's revision).
struct VersionSpec {
  std::string url;
  std::string expect;
};

// Why a deploy failed, as `rollback.on` names it.
inline constexpr const char* kStepFailed = "step_failed";
inline constexpr const char* kHealthDeadline = "health_deadline";
inline constexpr const char* kProbeFailures = "probe_failures";

struct RollbackSpec {
  std::string run;
  std::vector<std::string> on{kStepFailed, kHealthDeadline, kProbeFailures};
  uint64_t max_failed_requests = 0;
  std::chrono::milliseconds timeout{600'000};
};

struct DeploySpec {
  std::vector<StepSpec> steps;
  std::optional<HealthSpec> health;
  std::optional<ProbeSpec> probe;
  std::optional<VersionSpec> version;
  std::optional<RollbackSpec> rollback;
};

}  // namespace yardstick
