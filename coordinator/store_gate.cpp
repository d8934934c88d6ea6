#include "coordinator/store_gate.hpp"

#include <spdlog/spdlog.h>

namespace yardstick {

GateVerdict StoreGate::judge(const Job& job, uint64_t need_id) {
  try {
    return judge_regression(store_.gate_facts(need_id));
  } catch (const StoreError& e) {
    if (!e.refused()) throw;
    spdlog::warn("job {} {}: cannot judge need {} for regressions: {}", job.id, job.name, need_id,
                 e.what());
    return {GateVerdict::kUnjudgeable, e.what()};
  } catch (const std::exception& e) {
    // Ours: the job that depends on it is not run unjudged, and the message
    // whose end released it (a job end) is not refused for it.
    spdlog::error("job {} {}: judging need {} for regressions failed: {}", job.id, job.name,
                  need_id, e.what());
    return {GateVerdict::kUnjudgeable,
            std::string("the coordinator failed to judge it: ") + e.what()};
  }
}

}  // namespace yardstick
