#include <cstdio>
#include <iostream>

#include "coordinator/cli/output.hpp"

namespace yardstick {

nlohmann::json pipeline_budget_json(wire::StatusReply::Reader r) {
  if (!r.getBudgetWallMs()) return nullptr;
  return {{"wall_s", r.getBudgetWallMs() / 1000.0},
          {"actual_s", r.getWallS() < 0 ? nlohmann::json(nullptr) : nlohmann::json(r.getWallS())},
          {"over_budget", r.getOverBudget()}};
}

void print_pipeline_budget(wire::StatusReply::Reader r) {
  if (!r.getBudgetWallMs()) return;
  char line[160];
  if (r.getWallS() < 0)
    std::snprintf(line, sizeof line, "pipeline budget: wall <= %gs: … (a job has not ended)",
                  r.getBudgetWallMs() / 1000.0);
  else
    std::snprintf(line, sizeof line, "pipeline budget: wall <= %gs: %s %.3fs%s",
                  r.getBudgetWallMs() / 1000.0, r.getOverBudget() ? "✗" : "✓", r.getWallS(),
                  r.getOverBudget() ? " (over budget)" : "");
  std::cout << line << "\n";
}

}  // namespace yardstick
