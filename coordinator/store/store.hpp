// What the coordinator keeps in its store, as interfaces by aggregate, so
// that every unit of the daemon takes only the part it writes or reads and
// unit tests pass a fake (tests/unit/fake_store.hpp). PostgreSQL implements
// them (coordinator/store/pg_*.hpp): the only code that holds SQL, besides
// sql/migrations and sql/reports.
//
// The coordinator works in turns: begin(), every write of the turn,
// commit(); nothing is acted on (sent) before commit() returns. Errors are
// StoreError, typed by whose fault they are (see StoreFault); guarded()
// confines one message's writes so that a refusal undoes them alone.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/calibration.hpp"
#include "common/deploy_spec.hpp"
#include "common/types.hpp"
#include "coordinator/evaluate.hpp"
#include "coordinator/gate.hpp"
#include "coordinator/job_table.hpp"

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

// The sequence number of the marker chunk that stands where a capped log
// was cut (above any sequence an agent may use: see coordinator/bounds.hpp).
constexpr uint64_t kLogMarkerSeq = uint64_t{1} << 62;

// ---------------------------------------------------------------------------
// Read models: what the CLI is shown.

struct StepView {
  uint32_t index = 0;
  std::string name;
  double wall_s = 0;
  int32_t exit_code = 0;
  bool finished = false;
  int32_t signal = 0;
};

// An attempt of a job before its current one, and how it ended.
struct AttemptEnd {
  uint32_t attempt = 0;
  std::string agent;  // "" when it never reached one
  JobState state = JobState::kLost;
  std::string message;
};

struct JobView {
  uint64_t id = 0;
  uint64_t pipeline_id = 0;
  std::string name;
  JobState state = JobState::kPending;
  JobNote note = JobNote::kNone;
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
  std::vector<AttemptEnd> earlier_attempts;  // attempts before `attempt`, by number
};

struct PipelineView {
  uint64_t id = 0;
  std::string name, revision, branch, submitter;
  int64_t submitted_at_us = 0;
  std::vector<JobView> jobs;
  uint64_t budget_wall_ms = 0;  // the pipeline's own wall budget; 0: none
  double wall_s = -1;           // submission to the last job's end; -1 while a job runs
  bool over_budget = false;     // that budget was judged breached
};

struct LogView {
  uint64_t id = 0;
  uint32_t attempt = 0;
  std::string stream;
  std::string data;
  int32_t step_index = -1;  // -1 outside any step
  std::string step_name;    // "" outside any step
  std::string agent;        // the attempt's agent, "" when unknown
  std::string machine;      // its machine
};

struct AgentRow {
  uint64_t id = 0;
  std::string name;
  Labels labels;
  uint32_t slots = 0;
  std::string machine;
  int64_t last_seen_us = 0;
  bool draining = false;
  std::string host;  // who its host is: agents with the same host share its lock
  // The machine's latest calibration (empty: not calibrated), cpu, memory,
  // spawn, io; when the machine's current fingerprint was never calibrated,
  // the latest of the same machine name under an earlier fingerprint, with
  // `calibration_stale` saying what changed since ("kernel 6.1.0 -> 6.5.0").
  std::vector<CalibrationSummary> calibration;
  int64_t calibrated_at_us = 0;
  std::string calibration_stale;
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

// A stored job the coordinator could not load (its spec does not decode).
struct UnloadableJob {
  uint64_t id = 0;
  uint32_t attempt = 0;
  std::string why;
};

struct LoadedJobs {
  std::vector<Job> jobs;                     // every job not yet terminal
  std::map<uint64_t, JobState> ended_needs;  // terminal needs of those jobs
  std::vector<UnloadableJob> unloadable;     // left out of `jobs`: failed by the caller
};

// ---------------------------------------------------------------------------
// The interfaces, by aggregate.

// One transaction at a time; every other interface writes into it.
class StoreSession {
 public:
  virtual ~StoreSession() = default;
  // Throws StoreError(unavailable) when the server cannot be reached.
  virtual void begin() = 0;
  virtual void commit() = 0;
  virtual void rollback() noexcept = 0;
  // Runs `fn` (the writes of one message) so that a refusal of its data
  // undoes its writes alone (also those still batched) and is returned; an
  // outage throws as everywhere else; any other exception undoes fn's
  // writes and is thrown on.
  virtual std::optional<StoreError> guarded(const std::function<void()>& fn) = 0;
  // Runs `fn` whose writes are only batched rows (a sample, a metric, a log
  // chunk): when it throws, the rows it batched are dropped before the
  // exception goes on. Costs no round trip.
  virtual void batched(const std::function<void()>& fn) = 0;
};

// A pipeline over its own wall budget, as stored in pipeline_budget_breaches.
struct PipelineBudgetBreach {
  uint64_t pipeline_id = 0;
  std::string pipeline;  // its name
  std::string revision, branch;
  std::string budget;   // "wall <= 420s"
  double actual_s = 0;  // submission to the last job's end
  uint64_t budget_ms = 0;
};

// What `yardstick bisect` found (wire Bisection), as stored in `bisections`.
struct RecordedBisection {
  uint64_t id = 0;
  uint64_t pipeline_id = 0;
};

struct BisectionRecord {
  uint64_t id = 0;  // set: replaces that record while it is running, from the same submitter
  std::string pipeline, job, kind, what, machine, good, bad, outcome, commit, subject, message,
      submitter;
  std::optional<double> change_pct, low_pct, high_pct;  // set when found
  uint32_t steps = 0, runs = 0;
  double seconds = 0;
};

// Pipelines and jobs, and the transitions of the job table.
class PipelineRecords : public JobStore {
 public:
  // `signed_submission`, when set, is stored as its key ("ed25519:...") and
  // signature; what it signed is this row's definition, file name, revision
  // and branch.
  virtual uint64_t insert_pipeline(
      const std::string& name, const std::string& revision, const std::string& branch,
      const std::string& submitter, const std::string& file_name, const std::string& definition,
      const std::optional<SignedSubmission>& signed_submission = std::nullopt) = 0;
  // Stores a new job (its id is chosen by the store) and its first event.
  virtual uint64_t insert_job(const Job& job) = 0;
  virtual void insert_need(uint64_t job_id, uint64_t need_id) = 0;
  // The commit a job's checkout step checked out: the job's revision, and
  // its pipeline's when the submitter named none (or a branch, or HEAD).
  virtual void record_revision(uint64_t job_id, uint64_t pipeline_id,
                               const std::string& revision) = 0;
  // Every job not yet terminal, with its needs; a row that does not decode
  // is left out and named in `unloadable`, never thrown.
  virtual LoadedJobs load_active_jobs() = 0;
  // Fails a stored job the coordinator cannot load, with `why`.
  virtual void fail_unloadable(const UnloadableJob& job) = 0;
  // The pipeline id `id` names (itself, or the pipeline of job `id`).
  virtual std::optional<uint64_t> pipeline_of(uint64_t id) = 0;
  // Stores a pipeline's wall budget (`budget: {wall: ...}`), in ms.
  virtual void set_pipeline_budget(uint64_t pipeline_id, uint64_t wall_ms) = 0;
  // Marks a pipeline as a run of a bisection (`what` says which): kept out
  // of the change-point search.
  virtual void mark_bisection(uint64_t pipeline_id, const std::string& what) = 0;
  // Stores what a bisection found; returns its id.
  // Stores `b`; its id (0: no bisection under way has b.id), and the
  // newest pipeline of its name that is not a bisection's run (0: none),
  // whose webhooks are told of its outcome.
  virtual RecordedBisection record_bisection(const BisectionRecord& b) = 0;
  // Judges a pipeline's wall budget once its last job has ended: from its
  // submission to that end. Stores and returns a breach the first time it
  // finds one; nullopt when the pipeline has no budget, a job has not ended,
  // the budget held, or the breach was already stored.
  virtual std::optional<PipelineBudgetBreach> judge_pipeline_budget(uint64_t pipeline_id) = 0;
};

// Agents and the machines they run on.
class AgentRecords {
 public:
  virtual ~AgentRecords() = default;
  virtual uint64_t upsert_machine(const MachineInfo& machine) = 0;
  virtual uint64_t upsert_agent(const std::string& name, const Labels& labels, uint32_t slots,
                                uint64_t machine_id, const std::string& version,
                                const std::string& incarnation, const std::string& host) = 0;
  // Agents heard from since the last call: last_seen written for all at once.
  virtual void touch_agents(const std::vector<uint64_t>& agent_ids) = 0;
  virtual void set_agent_draining(const std::string& name, bool draining) = 0;
  // What an hour of the agent costs, as its hello said; nullopt: not said.
  virtual void set_agent_hourly_cost(uint64_t agent_id, std::optional<double> cost) = 0;
  virtual std::set<std::string> draining_agents() = 0;
  // Agents heard from in the last `seconds`: the fleet a restarted
  // coordinator had, whose heartbeat interval it cannot know otherwise.
  virtual uint64_t agents_seen_within(uint32_t seconds) = 0;
  virtual bool agent_exists(const std::string& name) = 0;
  // Whether any calibration of the machine is stored.
  virtual bool machine_calibrated(uint64_t machine_id) = 0;
};

// What agents measured: steps, samples, metrics, calibrations, deploys;
// and the refusals of what could not be stored. Each write is idempotent
// per result key: a result already stored is left as it is.
class ResultRecords {
 public:
  virtual ~ResultRecords() = default;
  virtual void record_step_started(const ResultKey& key, uint32_t index, const std::string& name,
                                   uint64_t agent_id, uint64_t machine_id,
                                   int64_t started_at_us) = 0;
  virtual void record_step_finished(const ResultKey& key, const StepResult& step, uint64_t agent_id,
                                    uint64_t machine_id) = 0;
  // Batched: rows of a turn go in with one statement each.
  virtual void record_sample(const ResultKey& key, uint32_t variant_index,
                             const std::string& variant, uint32_t index, const StepResult& run) = 0;
  virtual void record_metric(const ResultKey& key, int32_t step_index, const std::string& variant,
                             int32_t run_index, const std::string& name, double value,
                             const std::string& unit) = 0;
  // One micro-benchmark of a calibration job (idempotent per job, attempt, benchmark).
  virtual void record_calibration(const ResultKey& key, uint64_t machine_id, uint64_t agent_id,
                                  const CalibrationSummary& summary,
                                  const std::vector<double>& times_s) = 0;
  // A deploy job's phase (per result key) and how it ended (per attempt: the first stays).
  virtual void record_deploy_phase(const ResultKey& key, const DeployPhase& phase) = 0;
  virtual void record_deploy_result(const ResultKey& key, const DeployReport& report) = 0;
  // A result or message that was refused, for `yardstick` users to find.
  virtual void record_refusal(const std::string& peer, uint64_t job_id, uint32_t attempt,
                              const std::string& what, const std::string& reason) = 0;
};

// Log chunks, with the cap's marker and drops.
class LogRecords {
 public:
  virtual ~LogRecords() = default;
  // Batched; a chunk sent twice in one turn goes in once.
  virtual void record_log_chunk(const ResultKey& key, const std::string& stream, int32_t step_index,
                                const std::string& data, int64_t at_us) = 0;
  // Removes chunks of a job attempt (the oldest of a capped log's tail).
  virtual void drop_log_chunks(uint64_t job_id, uint32_t attempt,
                               const std::vector<uint64_t>& seqs) = 0;
  // Writes (or rewrites) the marker chunk that says how much was cut, and
  // the totals. The first call must come before the tail's chunks.
  virtual void put_log_marker(uint64_t job_id, uint32_t attempt, const std::string& text,
                              int64_t at_us, uint64_t cut_bytes, uint64_t cut_chunks) = 0;
  virtual LogLayout log_layout(uint64_t job_id, uint32_t attempt) = 0;
  // Logs are kept by month (sql/migrations/0015_log_partitions.sql): makes
  // this month's and the next two when missing and, when keep_ms > 0,
  // drops the months that ended more than keep_ms ago. Returns the months
  // dropped, or nullopt when a reader held the table past a short wait
  // (it is tried again later; nothing was changed).
  virtual std::optional<int> keep_log_months(uint64_t keep_ms) = 0;
};

// What a job attempt produced, read back when it ends to judge it, and the
// judgement written.
class EvaluationRecords {
 public:
  virtual ~EvaluationRecords() = default;
  // Counted runs per variant index below `variants` (others are ignored),
  // with every measure and the contention flag.
  virtual std::vector<VariantRuns> bench_runs(uint64_t job_id, uint32_t attempt,
                                              size_t variants) = 0;
  // The last value of each metric; of one step when step_index is set.
  virtual std::map<std::string, double> metric_values(uint64_t job_id, uint32_t attempt,
                                                      std::optional<int> step_index) = 0;
  // Wall seconds of each finished step, by index.
  virtual std::map<int, double> step_walls(uint64_t job_id, uint32_t attempt) = 0;
  // One row per variant and measure. order_seed: the shuffle's (interleaved
  // runs); stop_reason: what ended the counted runs, as the agent said.
  virtual void save_bench_results(uint64_t job_id, uint32_t attempt,
                                  const std::vector<VariantResult>& results,
                                  std::optional<uint64_t> order_seed,
                                  const std::string& stop_reason) = 0;
  virtual void save_budget_breaches(uint64_t job_id, uint32_t attempt,
                                    const std::vector<BudgetBreach>& breaches) = 0;
  // What the no_regression gate needs to know of bench job `job_id`, in the
  // open transaction (it sees the verdicts this turn wrote); a refusal
  // leaves the transaction usable.
  virtual GateFacts gate_facts(uint64_t job_id) = 0;
};

// Reads for clients, on a connection of their own with its own time limit.
class ReadModels {
 public:
  virtual ~ReadModels() = default;
  // A pipeline id or a job id; a fixed number of queries whatever its size.
  virtual std::optional<PipelineView> status(uint64_t id) = 0;
  // Chunks after `after_id`, up to `max_bytes` (at least one when any).
  virtual std::vector<LogView> logs(uint64_t job_id, uint64_t after_id, uint32_t max_bytes) = 0;
  virtual std::vector<AgentRow> agents() = 0;
  // Runs a report from sql/reports with its parameters; column names, kinds
  // and rows as text (NULL as "" with its flag). Throws StoreError.
  virtual void run_report(const std::string& sql, const std::vector<std::string>& params,
                          std::vector<std::string>* columns,
                          std::vector<std::vector<std::string>>* rows,
                          std::vector<std::string>* kinds = nullptr,
                          std::vector<std::vector<bool>>* nulls = nullptr) = 0;
  // The file pipeline `pipeline_id` was submitted as: its name and its text.
  virtual std::optional<std::pair<std::string, std::string>> pipeline_file(
      uint64_t pipeline_id) = 0;
};

// The writer's parts, as the coordinator's units take them.
struct Store {
  StoreSession& session;
  PipelineRecords& pipelines;
  AgentRecords& agents;
  ResultRecords& results;
  LogRecords& logs;
  EvaluationRecords& evaluation;
};

// The reader's.
struct Reader {
  StoreSession& session;
  ReadModels& reads;
};

}  // namespace yardstick
