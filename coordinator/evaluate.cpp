#include "coordinator/evaluate.hpp"

#include <cstdio>

namespace yardstick {

std::vector<BudgetBreach> check_budget(const Budget& budget, std::optional<int> step_index,
                                       double wall_s,
                                       const std::map<std::string, double>& metrics) {
  std::vector<BudgetBreach> out;
  if (budget.wall_ms && wall_s * 1000 > static_cast<double>(budget.wall_ms)) {
    char buf[64];
    std::snprintf(buf, sizeof buf, "wall <= %gs", budget.wall_ms / 1000.0);
    out.push_back({step_index, "wall", buf, wall_s, budget.fail});
  }
  for (const auto& bound : budget.metrics) {
    auto it = metrics.find(bound.metric);
    if (it == metrics.end()) {
      out.push_back({step_index, bound.metric, bound.text(), std::nullopt, budget.fail});
    } else if (!bound.holds(it->second)) {
      out.push_back({step_index, bound.metric, bound.text(), it->second, budget.fail});
    }
  }
  return out;
}

std::vector<BudgetBreach> check_bench_wall_budget(const Budget& budget,
                                                  const std::vector<VariantResult>& results) {
  std::vector<BudgetBreach> out;
  if (!budget.wall_ms) return out;
  for (const auto& r : results) {
    if (r.summary.n == 0 || r.summary.median * 1000 <= static_cast<double>(budget.wall_ms))
      continue;
    char buf[160];
    std::snprintf(buf, sizeof buf, "median wall of variant %s <= %gs", r.variant.c_str(),
                  budget.wall_ms / 1000.0);
    out.push_back({std::nullopt, "wall", buf, r.summary.median, budget.fail});
  }
  return out;
}

std::vector<VariantResult> evaluate_bench(const std::vector<std::string>& names,
                                          const std::vector<std::vector<double>>& walls,
                                          double alpha, double noise_floor, bool interleaved) {
  std::vector<VariantResult> out;
  for (size_t i = 0; i < walls.size(); ++i) {
    VariantResult r;
    r.variant = i < names.size() ? names[i] : "variant " + std::to_string(i);
    r.summary = summarize(walls[i]);
    r.warnings = bench_warnings(walls[i]).messages;
    if (i > 0 && !walls[0].empty() && !walls[i].empty()) {
      const bool paired = interleaved && walls[0].size() == walls[i].size();
      r.vs_baseline = paired ? compare_paired(walls[0], walls[i], alpha, noise_floor)
                             : compare(walls[0], walls[i], alpha, noise_floor);
      auto few = paired ? too_few_pairs_warning(walls[i].size(), alpha)
                        : too_few_runs_warning(walls[0].size(), walls[i].size(), alpha);
      if (!few.empty()) r.warnings.push_back(few);
    }
    out.push_back(std::move(r));
  }
  return out;
}

}  // namespace yardstick
