// An in-memory store for the coordinator's units (coordinator/store/store.hpp):
// every write is recorded, a transaction and each guarded() message keep a
// copy of the state to go back to, and a test can make any operation throw
// what it likes (`fail`), as Ray's fakes stand in for their side effects.
#pragma once

#include <functional>
#include <map>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

#include "coordinator/store/store.hpp"

namespace yardstick::test {

struct Refusal {
  std::string peer;
  uint64_t job_id = 0;
  uint32_t attempt = 0;
  std::string what, reason;
};

struct SampleRow {
  ResultKey key;
  uint32_t variant_index = 0, index = 0;
  std::string variant;
  StepResult run;
};

struct MetricRow {
  ResultKey key;
  int32_t step_index = 0, run_index = 0;
  std::string variant, name, unit;
  double value = 0;
};

struct LogRow {
  ResultKey key;
  std::string stream;
  int32_t step_index = 0;
  std::string data;
};

// Everything written; copied whole to go back (tests are small).
struct FakeState {
  std::vector<std::pair<uint64_t, JobState>> transitions;  // job, to
  std::vector<std::pair<uint64_t, std::string>> messages;  // persist_message: job, message
  std::vector<uint64_t> cancels;
  std::vector<Job> jobs;  // insert_job
  std::vector<std::pair<uint64_t, uint64_t>> needs;
  std::vector<std::string> pipelines;  // names
  std::vector<std::pair<uint64_t, std::string>> revisions;
  std::vector<ResultKey> steps_started;
  std::vector<StepResult> steps_finished;
  std::vector<SampleRow> samples;
  std::vector<MetricRow> metrics;
  std::vector<LogRow> logs;
  std::vector<CalibrationSummary> calibrations;
  std::vector<DeployPhase> deploy_phases;
  std::vector<DeployReport> deploy_results;
  std::vector<Refusal> refusals;
  std::vector<std::vector<BudgetBreach>> breaches;
  std::vector<std::vector<VariantResult>> bench_results;
  std::map<std::string, uint64_t> agents;  // name -> id
  std::set<std::string> draining;
  std::vector<std::vector<uint64_t>> touches;
  uint64_t next_id = 1000;
};

class FakeStore final : public StoreSession,
                        public PipelineRecords,
                        public AgentRecords,
                        public ResultRecords,
                        public LogRecords,
                        public EvaluationRecords,
                        public ReadModels {
 public:
  Store store() { return {*this, *this, *this, *this, *this, *this}; }
  Reader reader() { return {*this, *this}; }

  FakeState state;
  // Called before every operation with its name ("record_sample", "commit",
  // ...): a test throws from it to stand for any failure.
  std::function<void(const std::string& op)> fail;
  // What bench_runs gives (by job id) and gate_facts answers.
  std::map<uint64_t, std::vector<VariantRuns>> runs;
  std::function<GateFacts(uint64_t)> gate;
  LoadedJobs loaded;  // what load_active_jobs gives
  std::vector<UnloadableJob> failed_unloadable;
  uint64_t commits = 0, rollbacks = 0;
  bool open = false;

  // StoreSession.
  void begin() override {
    op("begin");
    open = true;
    turn_start_ = state;
  }
  void commit() override {
    op("commit");
    open = false;
    ++commits;
  }
  void rollback() noexcept override {
    if (open) state = turn_start_;
    open = false;
    ++rollbacks;
  }
  std::optional<StoreError> guarded(const std::function<void()>& fn) override {
    const FakeState before = state;
    try {
      fn();
      return std::nullopt;
    } catch (const StoreError& e) {
      if (!e.refused()) throw;
      state = before;
      return e;
    } catch (...) {
      state = before;
      throw;
    }
  }
  void batched(const std::function<void()>& fn) override {
    const size_t samples = state.samples.size(), metrics = state.metrics.size(),
                 logs = state.logs.size();
    try {
      fn();
    } catch (...) {
      state.samples.resize(samples);
      state.metrics.resize(metrics);
      state.logs.resize(logs);
      throw;
    }
  }

  // PipelineRecords (and JobStore).
  uint64_t insert_pipeline(const std::string& name, const std::string&, const std::string&,
                           const std::string&, const std::string&, const std::string&,
                           const std::optional<SignedSubmission>&) override {
    op("insert_pipeline");
    state.pipelines.push_back(name);
    return ++state.next_id;
  }
  void set_pipeline_budget(uint64_t, uint64_t) override { op("set_pipeline_budget"); }
  void mark_bisection(uint64_t, const std::string&) override { op("mark_bisection"); }
  RecordedBisection record_bisection(const BisectionRecord&) override {
    op("record_bisection");
    return {1, 0};
  }
  std::optional<PipelineBudgetBreach> judge_pipeline_budget(uint64_t) override {
    op("judge_pipeline_budget");
    return std::nullopt;
  }
  uint64_t insert_job(const Job& job) override {
    op("insert_job");
    state.jobs.push_back(job);
    return ++state.next_id;
  }
  void insert_need(uint64_t job_id, uint64_t need_id) override {
    op("insert_need");
    state.needs.emplace_back(job_id, need_id);
  }
  void record_revision(uint64_t job_id, uint64_t, const std::string& revision) override {
    op("record_revision");
    state.revisions.emplace_back(job_id, revision);
  }
  LoadedJobs load_active_jobs() override {
    op("load_active_jobs");
    return loaded;
  }
  void fail_unloadable(const UnloadableJob& job) override {
    op("fail_unloadable");
    failed_unloadable.push_back(job);
  }
  std::optional<uint64_t> pipeline_of(uint64_t id) override {
    op("pipeline_of");
    return id;
  }
  void persist_transition(const Job& job, JobState, const std::string&) override {
    op("persist_transition");
    state.transitions.emplace_back(job.id, job.state);
  }
  void persist_message(const Job& job) override {
    op("persist_message");
    state.messages.emplace_back(job.id, job.message);
  }
  void persist_cancel_request(const Job& job) override {
    op("persist_cancel_request");
    state.cancels.push_back(job.id);
  }

  // AgentRecords.
  uint64_t upsert_machine(const MachineInfo&) override {
    op("upsert_machine");
    return 7;
  }
  void set_agent_hourly_cost(uint64_t, std::optional<double>) override {
    op("set_agent_hourly_cost");
  }
  uint64_t upsert_agent(const std::string& name, const Labels&, uint32_t, uint64_t,
                        const std::string&, const std::string&, const std::string&) override {
    op("upsert_agent");
    auto [it, fresh] = state.agents.try_emplace(name, state.agents.size() + 1);
    return it->second;
  }
  void touch_agents(const std::vector<uint64_t>& ids) override {
    op("touch_agents");
    if (!ids.empty()) state.touches.push_back(ids);
  }
  void set_agent_draining(const std::string& name, bool draining) override {
    op("set_agent_draining");
    if (draining)
      state.draining.insert(name);
    else
      state.draining.erase(name);
  }
  std::set<std::string> draining_agents() override { return state.draining; }
  uint64_t agents_seen_within(uint32_t) override { return state.agents.size(); }
  bool agent_exists(const std::string& name) override { return state.agents.count(name) > 0; }
  bool machine_calibrated(uint64_t) override { return calibrated; }
  bool calibrated = true;

  // ResultRecords.
  void record_step_started(const ResultKey& key, uint32_t, const std::string&, uint64_t, uint64_t,
                           int64_t) override {
    op("record_step_started");
    state.steps_started.push_back(key);
  }
  void record_step_finished(const ResultKey&, const StepResult& step, uint64_t, uint64_t) override {
    op("record_step_finished");
    state.steps_finished.push_back(step);
  }
  void record_sample(const ResultKey& key, uint32_t variant_index, const std::string& variant,
                     uint32_t index, const StepResult& run) override {
    op("record_sample");
    state.samples.push_back({key, variant_index, index, variant, run});
  }
  void record_metric(const ResultKey& key, int32_t step_index, const std::string& variant,
                     int32_t run_index, const std::string& name, double value,
                     const std::string& unit) override {
    op("record_metric");
    state.metrics.push_back({key, step_index, run_index, variant, name, unit, value});
  }
  void record_calibration(const ResultKey&, uint64_t, uint64_t, const CalibrationSummary& summary,
                          const std::vector<double>&) override {
    op("record_calibration");
    state.calibrations.push_back(summary);
  }
  void record_deploy_phase(const ResultKey&, const DeployPhase& phase) override {
    op("record_deploy_phase");
    state.deploy_phases.push_back(phase);
  }
  void record_deploy_result(const ResultKey&, const DeployReport& report) override {
    op("record_deploy_result");
    state.deploy_results.push_back(report);
  }
  void record_refusal(const std::string& peer, uint64_t job_id, uint32_t attempt,
                      const std::string& what, const std::string& reason) override {
    op("record_refusal");
    state.refusals.push_back({peer, job_id, attempt, what, reason});
  }

  // LogRecords.
  void record_log_chunk(const ResultKey& key, const std::string& stream, int32_t step_index,
                        const std::string& data, int64_t) override {
    op("record_log_chunk");
    state.logs.push_back({key, stream, step_index, data});
  }
  void drop_log_chunks(uint64_t, uint32_t, const std::vector<uint64_t>&) override {
    op("drop_log_chunks");
  }
  void put_log_marker(uint64_t, uint32_t, const std::string&, int64_t, uint64_t,
                      uint64_t) override {
    op("put_log_marker");
  }
  LogLayout log_layout(uint64_t, uint32_t) override {
    op("log_layout");
    return {};
  }
  std::optional<int> keep_log_months(uint64_t) override {
    op("keep_log_months");
    return 0;
  }

  // EvaluationRecords.
  std::vector<VariantRuns> bench_runs(uint64_t job_id, uint32_t, size_t variants) override {
    op("bench_runs");
    auto out = runs[job_id];
    if (out.size() > variants) out.resize(variants);
    return out;
  }
  std::map<std::string, double> metric_values(uint64_t, uint32_t, std::optional<int>) override {
    op("metric_values");
    return {};
  }
  std::map<int, double> step_walls(uint64_t, uint32_t) override { return {}; }
  void save_bench_results(uint64_t, uint32_t, const std::vector<VariantResult>& results,
                          std::optional<uint64_t>, const std::string&) override {
    op("save_bench_results");
    state.bench_results.push_back(results);
  }
  void save_budget_breaches(uint64_t, uint32_t, const std::vector<BudgetBreach>& b) override {
    op("save_budget_breaches");
    state.breaches.push_back(b);
  }
  GateFacts gate_facts(uint64_t job_id) override {
    op("gate_facts");
    return gate ? gate(job_id) : GateFacts{};
  }

  // ReadModels.
  std::optional<PipelineView> status(uint64_t) override { return std::nullopt; }
  std::vector<LogView> logs(uint64_t, uint64_t, uint32_t) override { return {}; }
  std::vector<AgentRow> agents() override { return {}; }
  void run_report(const std::string&, const std::vector<std::string>&, std::vector<std::string>*,
                  std::vector<std::vector<std::string>>*, std::vector<std::string>*,
                  std::vector<std::vector<bool>>*) override {}
  std::optional<std::pair<std::string, std::string>> pipeline_file(uint64_t) override {
    return std::nullopt;
  }

 private:
  void op(const std::string& name) {
    if (fail) fail(name);
  }
  FakeState turn_start_;
};

}  // namespace yardstick::test
