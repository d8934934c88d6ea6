#include "coordinator/job_end.hpp"

#include <spdlog/spdlog.h>

#include <cstdio>

namespace yardstick {

std::vector<BudgetBreach> JobEndJudge::judge_bench(const Job& job) {
  const BenchSpec& bench = *job.spec.bench;
  const size_t variants = std::max<size_t>(1, job.spec.variants.size());
  auto runs = store_.bench_runs(job.id, job.attempt, variants);
  for (size_t i = 0; i < runs.size() && i < job.spec.variants.size(); ++i)
    if (runs[i].name.empty()) runs[i].name = job.spec.variants[i].name;
  std::vector<std::string> notes;
  auto results = evaluate_measures(runs, bench, false, &notes);
  for (const auto& note : notes) {
    // A measure the samples cannot give (instructions without counters):
    // said on every row that was judged, never judged on zeros.
    spdlog::warn("job {} {}: {}", job.id, job.name, note);
    for (auto& r : results) r.warnings.push_back(note);
  }
  std::string stop_reason;
  const auto metrics = store_.metric_values(job.id, job.attempt, std::nullopt);
  if (auto it = metrics.find(kStopReasonMetric); it != metrics.end())
    if (auto why = stop_reason_from_code(it->second)) stop_reason = to_string(*why);
  const bool shuffled = bench.interleave && runs.size() > 1;
  store_.save_bench_results(
      job.id, job.attempt, results,
      shuffled ? std::optional<uint64_t>(bench_order_seed(job.id, job.attempt)) : std::nullopt,
      stop_reason);
  std::vector<VariantResult> walls;
  for (const auto& r : results)
    if (r.measure == "wall") walls.push_back(r);
  if (!job.spec.budget) return {};
  return check_bench_wall_budget(*job.spec.budget, walls);
}

JobState JobEndJudge::judge(Job& job, JobState outcome, std::string* message, int64_t ended_at_us) {
  if (outcome != JobState::kSucceeded && outcome != JobState::kFailed) return outcome;
  std::vector<BudgetBreach> breaches;
  if (job.spec.bench) breaches = judge_bench(job);
  if (job.spec.budget) {
    Budget budget = *job.spec.budget;
    if (job.spec.bench) budget.wall_ms = 0;  // checked per variant above
    // The agent's own clock, from the first step's start to the job's end:
    // queueing and the coordinator's turns are not the job's time.
    const int64_t started = job.agent_started_at_us ? job.agent_started_at_us : job.started_at_us;
    const int64_t ended = ended_at_us ? ended_at_us : clock_.unix_us();
    const double wall_s = started && ended > started ? (ended - started) / 1e6 : 0.0;
    auto b = check_budget(budget, std::nullopt, wall_s,
                          store_.metric_values(job.id, job.attempt, std::nullopt));
    breaches.insert(breaches.end(), b.begin(), b.end());
  }
  std::map<int, double> walls;
  const size_t offset = job.spec.checkout_repo.empty() ? 0 : 1;  // the checkout step comes first
  for (size_t i = 0; i < job.spec.steps.size(); ++i) {
    if (!job.spec.steps[i].budget) continue;
    if (walls.empty()) walls = store_.step_walls(job.id, job.attempt);
    const int idx = static_cast<int>(i + offset);
    auto w = walls.find(idx);
    if (w == walls.end()) continue;  // the step never ran
    auto b = check_budget(*job.spec.steps[i].budget, idx, w->second,
                          store_.metric_values(job.id, job.attempt, idx));
    breaches.insert(breaches.end(), b.begin(), b.end());
  }
  if (breaches.empty()) return outcome;
  store_.save_budget_breaches(job.id, job.attempt, breaches);
  job.over_budget = true;
  std::string over;
  bool fail = false;
  for (const auto& b : breaches) {
    over += (over.empty() ? "" : "; ") + breach_text(b.budget, b.actual);
    fail |= b.fails_job;
  }
  spdlog::warn("job {} {} over budget: {}", job.id, job.name, over);
  if (fail && outcome == JobState::kSucceeded) {
    *message = "over budget: " + over;
    return JobState::kFailed;
  }
  if (message->empty()) *message = "over budget: " + over;
  return outcome;
}

}  // namespace yardstick
