// A deploy job on the agent: the probe starts before the first step and
// runs to the end; the steps run in order; then the health gate (and the
// version check) decide. A failed step, a health deadline passed or more
// failed probe requests than allowed runs the rollback when `rollback.on`
// names the reason, and the health gate is checked again to verify it. The
// job fails either way ("rolled back" or "rollback failed").
//
// Every phase is reported as it ends, with its start and end: each step,
// "healthy" (from the end of the last step to the first healthy check),
// "stable" (healthy for min_healthy), "switch" (from the first probe answer
// naming the new version to the last one naming the old), "rollback" and
// "rollback verified".
//
// The runner does no process handling itself: DeployHooks runs commands
// (the agent's launcher: environment, secrets masking, process-tree kill),
// logs and reports, so that tests can drive it with fakes.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "agent/deploy_probe.hpp"
#include "common/deploy_spec.hpp"

namespace yardstick {

const char* outcome_name(
    DeployOutcome o);  // "succeeded", "failed", "rolled back", "rollback failed"

struct DeployResult {
  DeployOutcome outcome = DeployOutcome::kSucceeded;
  std::string reason;   // step_failed, health_deadline, probe_failures; empty on success
  std::string message;  // one line for the job: what happened
  std::vector<DeployPhase> phases;
  std::optional<ProbeSummary> probe;
  // What the agent sends the coordinator.
  DeployReport report() const;
  std::string old_version, new_version;                     // as the probe saw them
  uint64_t switch_answers_old = 0, switch_answers_new = 0;  // inside the switch window
};

class DeployHooks {
 public:
  virtual ~DeployHooks() = default;
  // Runs a command to its end; its exit code (negative: killed or timed out).
  virtual int run(const std::string& label, const StepSpec& step) = 0;
  virtual void log(const std::string& line) = 0;
  virtual void phase(const DeployPhase&) {}
  virtual bool cancelled() { return false; }
  virtual int64_t now_us();  // system clock
};

DeployResult run_deploy(const DeploySpec& spec, const std::string& revision, DeployHooks& hooks);

// The switch window from the probe's answers: the old version is what
// answered before `first_step_us` (the most common body), the new one
// `new_version`. Sets the result's versions and window counts; returns the
// window (start and end in the probe's microseconds) when both were seen.
std::optional<std::pair<int64_t, int64_t>> switch_window(const std::vector<ProbeRecord>& records,
                                                         int64_t first_step_us,
                                                         const std::string& new_version,
                                                         DeployResult* result);

}  // namespace yardstick
