// Domain types shared by the coordinator, the agent and the CLI.
// Wire structs never leave common/wire.*: everything else speaks these.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "common/status_range.hpp"

#include "common/command.hpp"
#include "common/run_context.hpp"

namespace yardstick {

// Labels are "key=value" (or bare "key") strings; a key may repeat with
// different values (tool=gcc, tool=mold).
using Labels = std::set<std::string>;
using EnvVars = std::map<std::string, std::string>;

// The one job lifecycle; see coordinator/job_table.hpp for its transitions.
enum class JobState {
  kPending,   // waiting for its needs
  kQueued,    // ready, waiting for an agent
  kAssigned,  // sent to an agent, not yet started
  kRunning,   // the agent reported a step start
  kSucceeded,
  kFailed,
  kTimedOut,
  kCancelled,
  kSkipped,  // a need did not succeed
  kLost,     // its agent went silent past the lease; becomes a new attempt or fails
};

std::string_view to_string(JobState state);
std::optional<JobState> parse_job_state(std::string_view text);
bool is_terminal(JobState state);

// What a job is. Stored and shown as its name (build, bench, deploy,
// calibrate); a calibration is never written in a pipeline file.
enum class JobKind { kBuild, kBench, kDeploy, kCalibrate };
std::string_view to_string(JobKind kind);
std::optional<JobKind> parse_job_kind(std::string_view text);

// Why a job is where it is, beside its message (which says it in words):
// the contract between the coordinator's units, the store and the CLI,
// never read back from the message's text.
enum class JobNote {
  kNone,
  kNoAgent,      // queued: no connected agent can take it now
  kConcurrency,  // queued: its concurrency group holds another job
  kNeedEnded,    // skipped: a need ended other than succeeded
  kRegressed,    // skipped: a no_regression need was judged slower
  kUnjudgeable,  // skipped: a no_regression need cannot be judged (its facts do not decode)
};
// "" for kNone, else no_agent, concurrency, need_ended, regressed, unjudgeable.
std::string_view to_string(JobNote note);
// kNone for "" and for any text this version does not know.
JobNote parse_job_note(std::string_view text);

struct Tool {
  std::string name;
  std::string version;
  bool operator==(const Tool&) const = default;
};

// What identifies a machine: stored once per distinct fingerprint.
struct MachineInfo {
  std::string name;
  std::string cpu_model;
  uint32_t logical_cores = 0;
  uint64_t memory_bytes = 0;
  std::string os_release;
  std::string kernel;
  std::string arch;
  std::vector<Tool> tools;
  // The CPU frequency governor (cpufreq's scaling_governor): a change of it
  // changes speeds, so it is part of the fingerprint; "" where there is
  // none (most VMs), which leaves their fingerprints as they were.
  std::string governor;

  // A stable hex digest of every field: equal fingerprints, same machine row.
  std::string fingerprint() const;
};

// A bound on a metric: "sccache.hit_rate >= 0.8".
struct MetricBound {
  std::string metric;
  std::string op;  // one of >=, <=, >, <
  double value = 0;
  std::string text() const;
  bool holds(double actual) const;
  bool operator==(const MetricBound&) const = default;
};

// Parses ">= 0.8"; nullopt when it is not a comparison.
std::optional<MetricBound> parse_metric_bound(const std::string& metric, const std::string& expr);

// budget: {wall: 420s, metrics: {...}, fail: false}. Checked by the
// coordinator when the job ends; a breach is stored, and fails the job when `fail`.
struct Budget {
  uint64_t wall_ms = 0;  // 0: no wall budget
  std::vector<MetricBound> metrics;
  bool fail = false;
  bool operator==(const Budget&) const = default;
};

struct StepSpec {
  std::string name;
  std::string run;
  EnvVars env;
  bool timed = true;
  uint64_t timeout_ms = 0;           // 0: none
  std::vector<std::string> collect;  // collector names, optionally "name:path"
  std::optional<Budget> budget;      // judged by the coordinator; agents ignore it
  bool operator==(const StepSpec&) const = default;
};

struct BenchSpec {
  std::string run, setup, prepare, conclude, cleanup;
  uint32_t warmup = 0;
  uint32_t runs = 0;  // 0: adaptive
  uint32_t min_runs = 10;
  uint32_t max_runs = 0;  // 0: no limit
  uint64_t max_time_ms = 3000;
  bool ignore_failure = false;
  bool interleave = true;
  ShellMode shell = ShellMode::kAuto;  // how the timed command starts
  std::vector<std::string> collect;
  double alpha = 0.05;           // significance level of the verdict
  double noise_floor = 0.01;     // |ratio - 1| at or below it is "no change"
  std::string measure = "wall";  // what the verdict judges: wall, cpu or instructions
  // runs == 0 and precision > 0 (`runs: auto`): rounds go on until the
  // interval of each variant's ratio to the baseline is within +-precision
  // (0.01: 1 %), or min/max_runs or max_time stops them. 0: off.
  double precision = 0;
  bool operator==(const BenchSpec&) const = default;
};

// What ended a benchmark's counted runs. The agent reports it as the metric
// kStopReasonMetric (its value the enum's number, its unit the name); the
// coordinator stores the name in bench_results.stop_reason.
enum class StopReason {
  kRuns = 1,       // a fixed `runs`
  kPrecision = 2,  // every variant's ratio interval within +-precision
  kMaxRuns = 3,    // max_runs reached
  kMaxTime = 4,    // max_time reached (or, without precision, the count that fills it)
  kMinRuns = 5,    // without precision: min_runs, more than max_time would allow
};
inline constexpr const char* kStopReasonMetric = "yardstick.stop_reason";
std::string_view to_string(StopReason reason);
std::optional<StopReason> stop_reason_from_code(double code);

// The seed of the order of variants within a benchmark's rounds, from the
// job and its attempt: the agent shuffles with it, the coordinator stores it.
inline uint64_t bench_order_seed(uint64_t job_id, uint32_t attempt) {
  return (job_id << 32) ^ attempt;
}

struct Variant {
  std::string name;
  EnvVars env;
  std::string run;  // replaces the bench's run when set
  bool operator==(const Variant&) const = default;
};

// What a submitter signed (common/signing.hpp): the pipeline file exactly
// as sent, its name, the revision and the branch, with the Ed25519 public
// key (32 bytes) and the detached signature (64 bytes), both raw bytes.
struct SignedSubmission {
  std::string yaml;
  std::string file_name;
  std::string revision;
  std::string branch;
  std::string public_key;
  std::string signature;
  bool operator==(const SignedSubmission&) const = default;
};

// Everything an agent needs to run one attempt of one job.
// What a deploy job asks for (`kind: deploy`, docs/pipelines.md): its
// steps, the health gate, the zero-downtime probe, the version check and
// the rollback. Defaults as in Kamal (interval, timeout), Kubernetes
// (thresholds) and Railway (the 300 s deadline).
struct HealthSpec {
  std::string url;  // an HTTP check, or
  std::string run;  // a command: exit 0 is healthy
  StatusRange expect;
  std::chrono::milliseconds interval{1'000};
  std::chrono::milliseconds timeout{5'000};
  std::chrono::milliseconds start_period{0};
  uint32_t success_threshold = 1;
  uint32_t failure_threshold = 3;
  std::chrono::milliseconds deadline{300'000};
  std::chrono::milliseconds min_healthy{10'000};
  bool operator==(const HealthSpec&) const = default;
};

struct ProbeSpec {
  std::string url;
  std::chrono::microseconds interval{100'000};
  std::chrono::milliseconds timeout{2'000};
  StatusRange expect;
  size_t max_in_flight = 512;
  // The deploy holds its host's lock while it probes (agent/host_lock.hpp),
  // so that no benchmark of the host runs beside the measurement.
  bool host_lock = true;
  bool operator==(const ProbeSpec&) const = default;
};

// The version the service must report once deployed: the body of a GET of
// `url`, trimmed, equal to `expect` (where ${YARDSTICK_REVISION} is the
// job's revision).
struct VersionSpec {
  std::string url;
  std::string expect;
  bool operator==(const VersionSpec&) const = default;
};

// Why a deploy failed, as `rollback.on` names it.
inline constexpr const char* kStepFailed = "step_failed";
inline constexpr const char* kHealthDeadline = "health_deadline";
inline constexpr const char* kProbeFailures = "probe_failures";

struct RollbackSpec {
  std::string run;
  std::vector<std::string> on{kStepFailed, kHealthDeadline, kProbeFailures};
  uint64_t max_failed_requests = 0;
  std::chrono::milliseconds timeout{600'000};
  bool operator==(const RollbackSpec&) const = default;
};

struct DeploySpec {
  std::vector<StepSpec> steps;
  std::optional<HealthSpec> health;
  std::optional<ProbeSpec> probe;
  std::optional<VersionSpec> version;
  std::optional<RollbackSpec> rollback;
  bool operator==(const DeploySpec&) const = default;
};

struct JobAssignment {
  uint64_t job_id = 0;
  uint32_t attempt = 0;
  uint64_t pipeline_id = 0;
  std::string pipeline_name;
  std::string job_name;
  JobKind kind = JobKind::kBuild;
  std::string revision;
  std::string branch;
  std::string checkout_repo;
  std::string workdir;
  EnvVars env;
  std::vector<StepSpec> steps;
  uint64_t timeout_ms = 0;  // 0: none
  uint32_t slots = 1;       // kExclusiveSlots: every slot of the agent
  std::optional<BenchSpec> bench;
  std::vector<Variant> variants;     // the first is the baseline
  std::optional<DeploySpec> deploy;  // kind deploy
  std::optional<Budget> budget;      // judged by the coordinator; agents ignore it
  // Names of the agent's secrets the steps get in their environment; the
  // values never leave the agent.
  std::vector<std::string> secrets;
  // The submission the job came from, as signed; absent when unsigned.
  std::optional<SignedSubmission> signed_submission;
  bool operator==(const JobAssignment&) const = default;
};

constexpr uint32_t kExclusiveSlots = 1u << 20;

// Identifies one result an agent sends; unique per (job_id, attempt, seq).
struct ResultKey {
  uint64_t job_id = 0;
  uint32_t attempt = 0;
  uint64_t seq = 0;
  auto operator<=>(const ResultKey&) const = default;
};

struct JobRef {
  uint64_t job_id = 0;
  uint32_t attempt = 0;
  auto operator<=>(const JobRef&) const = default;
};

struct StepResult {
  uint32_t index = 0;
  std::string name;
  std::string command;
  int64_t started_at_us = 0;  // unix time
  int64_t ended_at_us = 0;
  uint64_t wall_ns = 0;  // monotonic clock
  uint64_t user_us = 0;
  uint64_t sys_us = 0;
  uint64_t max_rss_kb = 0;
  int32_t exit_code = 0;  // -1 when killed by a signal
  int32_t signal = 0;
  bool timed_out = false;
  bool timed = true;
  std::string revision;  // the checkout step: the commit checked out
  // What went on around the run (context switches, steal, load, counters);
  // its wall_ns and cpu_us repeat the fields above.
  RunContext context;
  // A counted benchmark run: its round (from 0), its place within the
  // round (from 0), and whether it ran under contention (under_contention).
  // Absent only in what an older agent sent.
  std::optional<uint32_t> round;
  std::optional<uint32_t> position;
  bool contended = false;
};

// kLost: the agent gave the job up (it restarted, or was stopped hard); the
// coordinator treats it as a lost agent would be: a new attempt, or failed.
enum class JobOutcome { kSucceeded, kFailed, kTimedOut, kCancelled, kLost };
JobState to_job_state(JobOutcome outcome);

// "k=v,k2=v2" -> labels; spaces around items are dropped.
Labels parse_labels(std::string_view text);
std::string format_labels(const Labels& labels);
// True when every label in `wanted` is also in `have`.
bool labels_match(const Labels& have, const Labels& wanted);

}  // namespace yardstick
