// What `yardstick bisect` tells the coordinator: its record in
// `bisections`, under way (outcome running) and at its end.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>

#include "coordinator/cli/client.hpp"
#include "coordinator/cli/commands.hpp"

namespace yardstick {

// Sends what `out` says (cmd_bisect's JSON: good, bad, outcome, commit,
// subject, step_change_pct, low_pct, high_pct, steps, message) for the
// series `a`, with `runs` pipelines submitted in `seconds`, as a new
// record (`id` 0) or over the record `id` under way. Returns the record's
// id; throws what the coordinator answered when it refused.
uint64_t send_bisection(Client& client, const BisectArgs& a, const nlohmann::json& out, uint64_t id,
                        uint32_t runs, double seconds);

}  // namespace yardstick
