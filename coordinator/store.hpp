// PostgreSQL: the coordinator's single source of truth, and the only module
// that holds SQL (besides sql/migrations and sql/reports).
//
// The coordinator works in turns: begin(), every write of the turn, commit().
// Nothing is acted on (sent) before commit() returns. Errors from libpqxx are
// caught here and rethrown as StoreError, classified retryable (connection
// lost, serialisation) or fatal (the schema is newer than this binary).
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "common/types.hpp"
#include "coordinator/evaluate.hpp"
#include "coordinator/job_table.hpp"

#include <pqxx/connection>
#include <pqxx/transaction>

namespace yardstick {

class StoreError : public std::runtime_error {
 public:
  StoreError(const std::string& what, bool retryable)
      : std::runtime_error(what), retryable_(retryable) {}
  bool retryable() const { return retryable_; }

 private:
  bool retryable_;
};

struct StepView {
  uint32_t index = 0;
  std::string name;
  double wall_s = 0;
  int32_t exit_code = 0;
  bool finished = false;
};

struct JobView {
  uint64_t id = 0;
  uint64_t pipeline_id = 0;
  std::string name;
  JobState state = JobState::kPending;
  std::string agent;
  std::string machine;
  uint32_t attempt = 1;
  int64_t started_at_us = 0;
  int64_t ended_at_us = 0;
  std::string message;
  std::vector<StepView> steps;  // of the current attempt
  bool over_budget = false;
  std::vector<std::string> budget_breaches;  // of the current attempt
};

struct PipelineView {
  uint64_t id = 0;
  std::string name, revision, branch, submitter;
  int64_t submitted_at_us = 0;
  std::vector<JobView> jobs;
};

struct LogView {
  uint64_t id = 0;
  uint32_t attempt = 0;
  std::string stream;
  std::string data;
};

struct AgentRow {
  uint64_t id = 0;
  std::string name;
  Labels labels;
  uint32_t slots = 0;
  std::string machine;
  int64_t last_seen_us = 0;
};

struct LoadedJobs {
  std::vector<Job> jobs;                     // every job not yet terminal
  std::map<uint64_t, JobState> ended_needs;  // terminal needs of those jobs
};

class PgStore final : public JobStore {
 public:
  explicit PgStore(std::string dsn);
  ~PgStore() override;

  // Connects (again). Throws StoreError(retryable) when the server is unreachable.
  void connect();
  bool connected() const;
  // Applies the migrations built into this binary. Returns the schema version.
  // Throws StoreError(fatal) when the database is newer than this binary.
  int migrate();

  void begin();
  void commit();
  void rollback() noexcept;

  uint64_t upsert_machine(const MachineInfo& machine);
  uint64_t upsert_agent(const std::string& name, const Labels& labels, uint32_t slots,
                        uint64_t machine_id, const std::string& version);
  void touch_agent(uint64_t agent_id);
  uint64_t insert_pipeline(const std::string& name, const std::string& revision,
                           const std::string& branch, const std::string& submitter,
                           const std::string& file_name, const std::string& definition);
  // Stores a new job (its id is chosen by the database) and its first event.
  uint64_t insert_job(const Job& job);
  void insert_need(uint64_t job_id, uint64_t need_id);
  void persist_transition(const Job& job, JobState from, const std::string& message) override;

  // Results. Each is idempotent: a result already stored is left as it is.
  void record_step_started(const ResultKey& key, uint32_t index, const std::string& name,
                           uint64_t agent_id, uint64_t machine_id, int64_t started_at_us);
  void record_step_finished(const ResultKey& key, const StepResult& step, uint64_t agent_id,
                            uint64_t machine_id);
  void record_log_chunk(const ResultKey& key, const std::string& stream, int32_t step_index,
                        const std::string& data, int64_t at_us);

  void record_sample(const ResultKey& key, uint32_t variant_index, const std::string& variant,
                     uint32_t index, const StepResult& run);
  void record_metric(const ResultKey& key, int32_t step_index, const std::string& variant,
                     int32_t run_index, const std::string& name, double value,
                     const std::string& unit);

  // What a job attempt produced, for evaluating it when it ends.
  // Counted run walls per variant index, in run order; names alongside.
  void samples(uint64_t job_id, uint32_t attempt, std::vector<std::string>* names,
               std::vector<std::vector<double>>* walls);
  // The last value of each metric; of one step when step_index is set.
  std::map<std::string, double> metric_values(uint64_t job_id, uint32_t attempt,
                                              std::optional<int> step_index);
  // Wall seconds of each finished step, by index.
  std::map<int, double> step_walls(uint64_t job_id, uint32_t attempt);
  void save_bench_results(uint64_t job_id, uint32_t attempt,
                          const std::vector<VariantResult>& results);
  void save_budget_breaches(uint64_t job_id, uint32_t attempt,
                            const std::vector<BudgetBreach>& breaches);

  // Runs a report from sql/reports with its psql variables; returns column
  // names and rows as text (NULL as ""). Throws StoreError on SQL errors.
  void run_report(const std::string& sql, const std::vector<std::string>& params,
                  std::vector<std::string>* columns, std::vector<std::vector<std::string>>* rows);

  LoadedJobs load_active_jobs();

  // Queries for the CLI.
  std::optional<PipelineView> status(uint64_t id);  // a pipeline id or a job id
  std::vector<LogView> logs(uint64_t job_id, uint64_t after_id, uint32_t max_bytes);
  std::vector<AgentRow> agents();
  // The pipeline id `id` names (itself, or the pipeline of job `id`).
  std::optional<uint64_t> pipeline_of(uint64_t id);

 private:
  pqxx::work& tx();
  // Samples and metrics of the turn go in with one statement each (unnest
  // of arrays), just before they are read or committed.
  void flush_pending();
  struct PendingSample {
    ResultKey key;
    uint32_t variant_index, index;
    std::string variant;
    StepResult run;
  };
  struct PendingMetric {
    ResultKey key;
    int32_t step_index, run_index;
    std::string variant, name, unit;
    double value;
  };
  std::vector<PendingSample> pending_samples_;
  std::vector<PendingMetric> pending_metrics_;
  [[noreturn]] void rethrow(const std::exception& e);

  std::string dsn_;
  std::unique_ptr<pqxx::connection> conn_;
  std::unique_ptr<pqxx::work> tx_;
};

// Serialises what the agent runs; stored in jobs.spec.
std::string spec_to_json(const JobAssignment& spec);
JobAssignment spec_from_json(const std::string& json);

}  // namespace yardstick
