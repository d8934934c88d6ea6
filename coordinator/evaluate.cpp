#include "coordinator/evaluate.hpp"

#include <cstdio>

#include "common/numbers.hpp"

namespace yardstick {

std::string breach_text(const std::string& budget, std::optional<double> actual) {
  return budget + " (actual " + (actual ? exact_number(*actual) : "never reported") + ")";
}

std::vector<BudgetBreach> check_budget(const Budget& budget, std::optional<int> step_index,
                                       double wall_s,
                                       const std::map<std::string, double>& metrics) {
  std::vector<BudgetBreach> out;
  if (budget.wall_ms && wall_s * 1000 > static_cast<double>(budget.wall_ms)) {
    out.push_back({step_index, "wall", "wall <= " + exact_number(budget.wall_ms / 1000.0) + "s",
                   wall_s, budget.fail});
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
    out.push_back({std::nullopt, "wall",
                   "median wall of variant " + r.variant +
                       " <= " + exact_number(budget.wall_ms / 1000.0) + "s",
                   r.summary.median, budget.fail});
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
      r.vs_baseline = compare_runs(walls[0], walls[i], alpha, noise_floor, interleaved);
      auto few = too_few_runs_warning(walls[0].size(), walls[i].size(), interleaved, alpha);
      if (!few.empty()) r.warnings.push_back(few);
    }
    out.push_back(std::move(r));
  }
  return out;
}

std::optional<std::vector<std::vector<double>>> measure_values(const std::vector<VariantRuns>& runs,
                                                               const std::string& measure,
                                                               bool interleaved,
                                                               bool drop_contended,
                                                               std::string* why_not) {
  if (measure != "wall" && measure != "cpu" && measure != "instructions") {
    *why_not = "unknown measure '" + measure + "' (expected wall, cpu or instructions)";
    return std::nullopt;
  }
  std::vector<bool> dropped_round;  // interleaved: round i has a contended sample
  if (drop_contended && interleaved)
    for (const auto& v : runs)
      for (size_t i = 0; i < v.runs.size(); ++i)
        if (v.runs[i].contended) {
          if (dropped_round.size() <= i) dropped_round.resize(i + 1, false);
          dropped_round[i] = true;
        }
  std::vector<std::vector<double>> out;
  size_t missing = 0, counted = 0;
  for (const auto& v : runs) {
    std::vector<double> values;
    for (size_t i = 0; i < v.runs.size(); ++i) {
      const RunValues& r = v.runs[i];
      if (drop_contended &&
          (interleaved ? i < dropped_round.size() && dropped_round[i] : r.contended))
        continue;
      if (measure == "wall") {
        values.push_back(r.wall_s);
      } else if (measure == "cpu") {
        values.push_back(r.cpu_s);
      } else if (r.instructions && *r.instructions > 0) {
        values.push_back(*r.instructions);
        ++counted;
      } else {
        ++missing;
      }
    }
    out.push_back(std::move(values));
  }
  if (measure == "instructions" && (missing || !counted)) {
    *why_not = "measure instructions refused: " + std::to_string(missing) +
               " sample(s) have no instruction count (hardware counters unavailable?); no "
               "verdict on instructions";
    return std::nullopt;
  }
  return out;
}

std::vector<VariantResult> evaluate_measures(const std::vector<VariantRuns>& runs,
                                             const BenchSpec& spec, bool drop_contended,
                                             std::vector<std::string>* notes) {
  std::vector<std::string> names;
  for (const auto& v : runs) names.push_back(v.name);
  std::vector<VariantResult> out;
  for (const char* measure : {"wall", "cpu", "instructions"}) {
    std::string why_not;
    auto values = measure_values(runs, measure, spec.interleave, drop_contended, &why_not);
    if (!values) {
      if (spec.measure == measure) notes->push_back(why_not);
      continue;
    }
    auto results = evaluate_bench(names, *values, spec.alpha, spec.noise_floor, spec.interleave);
    for (size_t i = 0; i < results.size(); ++i) {
      results[i].measure = measure;
      for (const auto& r : runs[i].runs) results[i].contended += r.contended;
    }
    out.insert(out.end(), results.begin(), results.end());
  }
  return out;
}

}  // namespace yardstick
