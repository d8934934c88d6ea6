// A deploy's probe counts as JSON: one shape for the deploy process's
// events file and for `yardstick status --json`.
#pragma once

#include <nlohmann/json.hpp>

#include "common/deploy_spec.hpp"

namespace yardstick {

// {sent, failed, failures: {kind: n}, late, longest_outage_ms, p50_ms,
// p99_ms, interval_ms, text}
nlohmann::json probe_json(const ProbeCounts& c);
// Throws nlohmann::json::exception when a field is missing or mistyped.
ProbeCounts probe_from_json(const nlohmann::json& j);

}  // namespace yardstick
