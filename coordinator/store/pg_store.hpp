// The store's interfaces (store.hpp) on PostgreSQL, one class per
// aggregate, each in its own file, all writing into one PgSession:
//
//   pg_pipelines.cpp    pipelines, jobs, needs, transitions, the reload
//   pg_agents.cpp       agents and machines
//   pg_results.cpp      steps, samples, metrics, calibrations, deploys, refusals
//   pg_logs.cpp         log chunks and the cap's marker
//   pg_evaluation.cpp   what a job end is judged on, the judgement, the gate's facts
//   pg_reads.cpp        the CLI's read models (on the reader's session)
//   pg_migrations.cpp   the schema's migrations
#pragma once

#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "coordinator/store/pg_session.hpp"
#include "coordinator/store/store.hpp"

namespace yardstick {

// Applies the migrations built into this binary on `session`'s connection;
// returns the schema version. Throws StoreError(fatal) when the database
// is newer than this binary.
int migrate(PgSession& session);

class PgPipelines final : public PipelineRecords {
 public:
  explicit PgPipelines(PgSession& session);
  ~PgPipelines() override;
  uint64_t insert_pipeline(const std::string& name, const std::string& revision,
                           const std::string& branch, const std::string& submitter,
                           const std::string& file_name, const std::string& definition,
                           const std::optional<SignedSubmission>& signed_submission) override;
  uint64_t insert_job(const Job& job) override;
  void insert_need(uint64_t job_id, uint64_t need_id) override;
  void record_revision(uint64_t job_id, uint64_t pipeline_id, const std::string& revision) override;
  LoadedJobs load_active_jobs() override;
  void fail_unloadable(const UnloadableJob& job) override;
  std::optional<uint64_t> pipeline_of(uint64_t id) override;
  void set_pipeline_budget(uint64_t pipeline_id, uint64_t wall_ms) override;
  void mark_bisection(uint64_t pipeline_id, const std::string& what) override;
  RecordedBisection record_bisection(const BisectionRecord& b) override;
  std::optional<PipelineBudgetBreach> judge_pipeline_budget(uint64_t pipeline_id) override;
  void persist_transition(const Job& job, JobState from, const std::string& message) override;
  void persist_message(const Job& job) override;
  void persist_cancel_request(const Job& job) override;

 private:
  struct Transitions;
  PgSession& s_;
  std::unique_ptr<Transitions> transitions_;
};

class PgAgents final : public AgentRecords {
 public:
  explicit PgAgents(PgSession& session) : s_(session) {}
  uint64_t upsert_machine(const MachineInfo& machine) override;
  uint64_t upsert_agent(const std::string& name, const Labels& labels, uint32_t slots,
                        uint64_t machine_id, const std::string& version,
                        const std::string& incarnation, const std::string& host) override;
  void touch_agents(const std::vector<uint64_t>& agent_ids) override;
  void set_agent_draining(const std::string& name, bool draining) override;
  void set_agent_hourly_cost(uint64_t agent_id, std::optional<double> cost) override;
  std::set<std::string> draining_agents() override;
  uint64_t agents_seen_within(uint32_t seconds) override;
  bool agent_exists(const std::string& name) override;
  bool machine_calibrated(uint64_t machine_id) override;

 private:
  PgSession& s_;
};

class PgResults final : public ResultRecords {
 public:
  explicit PgResults(PgSession& session);
  ~PgResults() override;
  void record_step_started(const ResultKey& key, uint32_t index, const std::string& name,
                           uint64_t agent_id, uint64_t machine_id, int64_t started_at_us) override;
  void record_step_finished(const ResultKey& key, const StepResult& step, uint64_t agent_id,
                            uint64_t machine_id) override;
  void record_sample(const ResultKey& key, uint32_t variant_index, const std::string& variant,
                     uint32_t index, const StepResult& run) override;
  void record_metric(const ResultKey& key, int32_t step_index, const std::string& variant,
                     int32_t run_index, const std::string& name, double value,
                     const std::string& unit) override;
  void record_calibration(const ResultKey& key, uint64_t machine_id, uint64_t agent_id,
                          const CalibrationSummary& summary,
                          const std::vector<double>& times_s) override;
  void record_deploy_phase(const ResultKey& key, const DeployPhase& phase) override;
  void record_deploy_result(const ResultKey& key, const DeployReport& report) override;
  void record_refusal(const std::string& peer, uint64_t job_id, uint32_t attempt,
                      const std::string& what, const std::string& reason) override;

 private:
  struct Samples;
  struct Metrics;
  PgSession& s_;
  std::unique_ptr<Samples> samples_;
  std::unique_ptr<Metrics> metrics_;
};

class PgLogs final : public LogRecords {
 public:
  explicit PgLogs(PgSession& session);
  ~PgLogs() override;
  void record_log_chunk(const ResultKey& key, const std::string& stream, int32_t step_index,
                        const std::string& data, int64_t at_us) override;
  void drop_log_chunks(uint64_t job_id, uint32_t attempt,
                       const std::vector<uint64_t>& seqs) override;
  void put_log_marker(uint64_t job_id, uint32_t attempt, const std::string& text, int64_t at_us,
                      uint64_t cut_bytes, uint64_t cut_chunks) override;
  LogLayout log_layout(uint64_t job_id, uint32_t attempt) override;
  std::optional<int> keep_log_months(uint64_t keep_ms) override;

 private:
  struct Chunks;
  PgSession& s_;
  std::unique_ptr<Chunks> chunks_;
};

class PgEvaluation final : public EvaluationRecords {
 public:
  explicit PgEvaluation(PgSession& session) : s_(session) {}
  std::vector<VariantRuns> bench_runs(uint64_t job_id, uint32_t attempt, size_t variants) override;
  std::map<std::string, double> metric_values(uint64_t job_id, uint32_t attempt,
                                              std::optional<int> step_index) override;
  std::map<int, double> step_walls(uint64_t job_id, uint32_t attempt) override;
  void save_bench_results(uint64_t job_id, uint32_t attempt,
                          const std::vector<VariantResult>& results,
                          std::optional<uint64_t> order_seed,
                          const std::string& stop_reason) override;
  void save_budget_breaches(uint64_t job_id, uint32_t attempt,
                            const std::vector<BudgetBreach>& breaches) override;
  GateFacts gate_facts(uint64_t job_id) override;

 private:
  PgSession& s_;
};

class PgReads final : public ReadModels {
 public:
  explicit PgReads(PgSession& session) : s_(session) {}
  std::optional<PipelineView> status(uint64_t id) override;
  std::vector<LogView> logs(uint64_t job_id, uint64_t after_id, uint32_t max_bytes) override;
  std::vector<AgentRow> agents() override;
  void run_report(const std::string& sql, const std::vector<std::string>& params,
                  std::vector<std::string>* columns, std::vector<std::vector<std::string>>* rows,
                  std::vector<std::string>* kinds, std::vector<std::vector<bool>>* nulls) override;
  std::optional<std::pair<std::string, std::string>> pipeline_file(uint64_t pipeline_id) override;

 private:
  PgSession& s_;
};

// The writer: a session and every aggregate on it.
struct PgWriter {
  explicit PgWriter(std::string dsn, PgOptions options = {})
      : session(std::move(dsn), options),
        pipelines(session),
        agents(session),
        results(session),
        logs(session),
        evaluation(session) {}
  Store store() { return {session, pipelines, agents, results, logs, evaluation}; }

  PgSession session;
  PgPipelines pipelines;
  PgAgents agents;
  PgResults results;
  PgLogs logs;
  PgEvaluation evaluation;
};

// The reader: a session of its own and the read models on it.
struct PgReader {
  explicit PgReader(std::string dsn, PgOptions options = {})
      : session(std::move(dsn), options), reads(session) {}
  Reader reader() { return {session, reads}; }

  PgSession session;
  PgReads reads;
};

}  // namespace yardstick
