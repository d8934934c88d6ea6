// PostgreSQL: the coordinator's single source of truth, and the only module
// that holds SQL (besides sql/migrations and sql/reports).
//
// The coordinator works in turns: begin(), every write of the turn, commit().
// Nothing is acted on (sent) before commit() returns. Errors from libpqxx are
// caught here and rethrown as StoreError, classified by SQLSTATE (see
// classify_sqlstate): unavailable (retry the turn later), refused (this
// message's data: refuse it alone) or fatal (the schema is newer than this
// binary). guarded() confines a refusal to one message's writes.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "common/calibration.hpp"
#include "common/deploy_spec.hpp"
#include "common/types.hpp"
#include "coordinator/evaluate.hpp"
#include "coordinator/gate.hpp"
#include "coordinator/job_table.hpp"

#include <pqxx/connection>
#include <pqxx/transaction>

namespace yardstick {

// Whose fault a store error is, as KJ types its exceptions.
enum class StoreFault {
  kUnavailable,  // the server or the connection (or a serialisation conflict): retry later
  kRefused,      // the data of this message (a data or constraint error): never retry it
  kFatal,        // this coordinator cannot work with this database
};

// The fault a PostgreSQL SQLSTATE stands for. Classes 22 (data exception),
// 23 (integrity constraint), 42 (syntax or access rule) and 54 (program
// limit) are refusals; everything else (08 connection, 40 transaction
// rollback, 53 resources, 57 operator intervention, XX internal, ...) is
// an outage.
StoreFault classify_sqlstate(std::string_view sqlstate);

class StoreError : public std::runtime_error {
 public:
  StoreError(const std::string& what, StoreFault fault, std::string sqlstate = {})
      : std::runtime_error(what), fault_(fault), sqlstate_(std::move(sqlstate)) {}
  StoreError(const std::string& what, bool retryable)
      : StoreError(what, retryable ? StoreFault::kUnavailable : StoreFault::kFatal) {}
  StoreFault fault() const { return fault_; }
  bool retryable() const { return fault_ == StoreFault::kUnavailable; }
  bool refused() const { return fault_ == StoreFault::kRefused; }
  const std::string& sqlstate() const { return sqlstate_; }

 private:
  StoreFault fault_;
  std::string sqlstate_;
};

// How the coordinator's connections behave when the server or the network
// does not answer.
struct PgOptions {
  uint32_t connect_timeout_s = 5;
  uint32_t statement_timeout_ms = 30'000;  // 0: none
  uint32_t keepalive_idle_s = 10;          // TCP keepalives: a dead peer is noticed in
  uint32_t keepalive_interval_s = 3;       // idle + interval * count seconds
  uint32_t keepalive_count = 3;
};

// The DSN with the options added where it does not set them itself; both
// the URI form (postgresql://...) and the key=value form are understood.
std::string dsn_with_options(const std::string& dsn, const PgOptions& options);

// The sequence number of the marker chunk that stands where a capped log
// was cut (above any sequence an agent uses).
constexpr uint64_t kLogMarkerSeq = uint64_t{1} << 62;

struct StepView {
  uint32_t index = 0;
  std::string name;
  double wall_s = 0;
  int32_t exit_code = 0;
  bool finished = false;
  int32_t signal = 0;
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
  uint32_t runs_measured = 0;                // benchmark samples of the current attempt
  uint32_t runs_planned = 0;                 // variants x runs when the count is fixed
  std::vector<DeployPhase> deploy_phases;    // a deploy: its phases so far, by start
  std::optional<DeployReport> deploy;        // a deploy: how it ended, once known
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
  bool draining = false;
  // The machine's latest calibration (empty: not calibrated), cpu, memory, spawn, io.
  std::vector<CalibrationSummary> calibration;
  int64_t calibrated_at_us = 0;
};

// A job attempt's stored log, for capping it: sequence and size of each
// chunk in id order, and what was cut already.
struct LogLayout {
  std::vector<std::pair<uint64_t, uint64_t>> chunks;  // (seq, bytes), marker excluded
  bool has_marker = false;
  size_t head_chunks = 0;  // chunks stored before the marker (all of them without one)
  uint64_t cut_bytes = 0;
  uint64_t cut_chunks = 0;
};

struct LoadedJobs {
  std::vector<Job> jobs;                     // every job not yet terminal
  std::map<uint64_t, JobState> ended_needs;  // terminal needs of those jobs
};

class PgStore final : public JobStore {
 public:
  explicit PgStore(std::string dsn, PgOptions options = {});
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

  // Runs `fn` (writes of one message) in a savepoint of the open
  // transaction. When the store refuses what fn wrote, only fn's writes are
  // undone (also those still batched) and the error is returned; an outage
  // throws as everywhere else.
  std::optional<StoreError> guarded(const std::function<void()>& fn);

  uint64_t upsert_machine(const MachineInfo& machine);
  uint64_t upsert_agent(const std::string& name, const Labels& labels, uint32_t slots,
                        uint64_t machine_id, const std::string& version);
  void touch_agent(uint64_t agent_id);
  void set_agent_draining(const std::string& name, bool draining);
  void set_agent_incarnation(uint64_t agent_id, const std::string& incarnation);
  void set_cancel_requested(uint64_t job_id);
  // Notes a result or message that was refused, for `yardstick` users to find.
  void record_refusal(const std::string& peer, uint64_t job_id, uint32_t attempt,
                      const std::string& what, const std::string& reason);
  // `signed_submission`, when set, is stored as its key ("ed25519:...") and
  // signature; what it signed is this row's definition, file name, revision
  // and branch.
  uint64_t insert_pipeline(const std::string& name, const std::string& revision,
                           const std::string& branch, const std::string& submitter,
                           const std::string& file_name, const std::string& definition,
                           const std::optional<SignedSubmission>& signed_submission = std::nullopt);
  // Stores a new job (its id is chosen by the database) and its first event.
  uint64_t insert_job(const Job& job);
  void insert_need(uint64_t job_id, uint64_t need_id);
  void persist_transition(const Job& job, JobState from, const std::string& message) override;
  void persist_message(const Job& job) override;
  void persist_cancel_request(const Job& job) override { set_cancel_requested(job.id); }

  // Results. Each is idempotent: a result already stored is left as it is.
  void record_step_started(const ResultKey& key, uint32_t index, const std::string& name,
                           uint64_t agent_id, uint64_t machine_id, int64_t started_at_us);
  void record_step_finished(const ResultKey& key, const StepResult& step, uint64_t agent_id,
                            uint64_t machine_id);
  // The commit a job's checkout step checked out: the job's revision, and
  // its pipeline's when the submitter named none (or a branch, or HEAD).
  void record_revision(uint64_t job_id, uint64_t pipeline_id, const std::string& revision);
  // Log chunks of a turn go in with one statement, at commit (or before a read).
  void record_log_chunk(const ResultKey& key, const std::string& stream, int32_t step_index,
                        const std::string& data, int64_t at_us);
  // Removes chunks of a job attempt (the oldest of a capped log's tail).
  void drop_log_chunks(uint64_t job_id, uint32_t attempt, const std::vector<uint64_t>& seqs);
  // Writes (or rewrites) the marker chunk that says how much was cut, and the
  // totals in log_cuts. The first call must come before the tail's chunks.
  void put_log_marker(uint64_t job_id, uint32_t attempt, const std::string& text, int64_t at_us,
                      uint64_t cut_bytes, uint64_t cut_chunks);
  LogLayout log_layout(uint64_t job_id, uint32_t attempt);

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
  // One micro-benchmark of a calibration job, on the machine that ran it.
  // Idempotent per (job, attempt, benchmark).
  void record_calibration(const ResultKey& key, uint64_t machine_id, uint64_t agent_id,
                          const CalibrationSummary& summary, const std::vector<double>& times_s);
  // A deploy job's phase (idempotent per result key) and how it ended
  // (idempotent per job attempt: the first result stays).
  void record_deploy_phase(const ResultKey& key, const DeployPhase& phase);
  void record_deploy_result(const ResultKey& key, const DeployReport& report);
  // A job view's deploy phases and result (none for other kinds).
  void load_deploy(JobView& j);
  // Whether any calibration of the machine is stored.
  bool machine_calibrated(uint64_t machine_id);
  // Counted runs per variant index with every measure and the contention flag.
  std::vector<VariantRuns> bench_runs(uint64_t job_id, uint32_t attempt);
  // One row per variant and measure. order_seed: the shuffle's (interleaved
  // runs); stop_reason: what ended the counted runs, as the agent said.
  void save_bench_results(uint64_t job_id, uint32_t attempt,
                          const std::vector<VariantResult>& results,
                          std::optional<uint64_t> order_seed = std::nullopt,
                          const std::string& stop_reason = "");
  void save_budget_breaches(uint64_t job_id, uint32_t attempt,
                            const std::vector<BudgetBreach>& breaches);

  // Runs a report from sql/reports with its psql variables; returns column
  // names and rows as text (NULL as ""). Throws StoreError on SQL errors.
  void run_report(const std::string& sql, const std::vector<std::string>& params,
                  std::vector<std::string>* columns, std::vector<std::vector<std::string>>* rows,
                  std::vector<std::string>* kinds = nullptr,
                  std::vector<std::vector<bool>>* nulls = nullptr);

  LoadedJobs load_active_jobs();

  // What the no_regression gate needs to know of bench job `job_id`, in one
  // query of the open transaction (so it sees the verdicts this turn wrote),
  // in a savepoint of its own: a refusal leaves the transaction usable.
  GateFacts gate_facts(uint64_t job_id);

  // Queries for the CLI.
  std::optional<PipelineView> status(uint64_t id);  // a pipeline id or a job id
  std::vector<LogView> logs(uint64_t job_id, uint64_t after_id, uint32_t max_bytes);
  std::vector<AgentRow> agents();
  std::set<std::string> draining_agents();
  // The pipeline id `id` names (itself, or the pipeline of job `id`).
  std::optional<uint64_t> pipeline_of(uint64_t id);
  // The file pipeline `pipeline_id` was submitted as: its name and its text
  // (pipelines.file_name, definition); nullopt when there is no such pipeline.
  std::optional<std::pair<std::string, std::string>> pipeline_file(uint64_t pipeline_id);

 private:
  pqxx::dbtransaction& tx();
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
  struct PendingLog {
    ResultKey key;
    std::string stream;
    int32_t step_index;
    std::string data;
    int64_t at_us;
  };
  struct PendingMarker {
    std::string text;
    uint64_t cut_bytes, cut_chunks;
  };
  std::vector<PendingSample> pending_samples_;
  std::vector<PendingMetric> pending_metrics_;
  std::vector<PendingLog> pending_logs_;
  std::set<ResultKey> pending_log_keys_;
  std::map<std::pair<uint64_t, uint32_t>, std::vector<uint64_t>> pending_log_drops_;
  std::map<std::pair<uint64_t, uint32_t>, PendingMarker> pending_markers_;
  void flush_logs();
  [[noreturn]] void rethrow(const std::exception& e);

  std::string dsn_;
  PgOptions options_;
  std::unique_ptr<pqxx::connection> conn_;
  std::unique_ptr<pqxx::work> tx_;
  bool in_savepoint_ = false;  // inside guarded()
};

}  // namespace yardstick
