@0xd2a48ee638257621;
# yardstick wire protocol, version 1.
#
# Rules (see docs/protocol.md): fields and union members are only ever
# appended, never renumbered or retyped; a dead field is renamed obsoleteX.
# Every message on either socket is one frame holding one Envelope.

$import "/capnp/c++.capnp".namespace("yardstick::wire");

const protocolVersion :UInt16 = 1;

struct Envelope {
  version @0 :UInt16;
  # The sender's protocol version. A peer that does not speak it answers
  # with an Error of code badVersion.
  requestId @1 :UInt64;
  # Chosen by the sender of a request; echoed in its answer.

  body :union {
    error @2 :Error;

    # agent <-> coordinator
    agentHello @3 :AgentHello;
    welcome @4 :Welcome;
    reject @5 :Reject;
    heartbeat @6 :Heartbeat;
    assign @7 :Assign;
    stepStarted @8 :StepStarted;
    stepFinished @9 :StepFinished;
    logChunk @10 :LogChunk;
    jobFinished @11 :JobFinished;
    ack @12 :Ack;
    cancel @13 :Cancel;

    # client <-> coordinator
    submit @14 :Submit;
    submitReply @15 :SubmitReply;
    status @16 :StatusRequest;
    statusReply @17 :StatusReply;
    logs @18 :LogsRequest;
    logsReply @19 :LogsReply;
    agents @20 :AgentsRequest;
    agentsReply @21 :AgentsReply;
    cancelRequest @22 :CancelRequest;
    cancelReply @23 :CancelReply;

    # added for benchmarks
    sample @24 :Sample;
    metric @25 :Metric;
    report @26 :ReportRequest;
    reportReply @27 :ReportReply;

    # added for reliability
    abandon @28 :Abandon;
    drain @29 :DrainRequest;
    drainReply @30 :DrainReply;

    # added for machine calibration
    calibrate @31 :CalibrateRequest;
    calibrateReply @32 :CalibrateReply;
    calibration @33 :Calibration;

    # added for deploy jobs
    deployPhase @34 :DeployPhase;
    deployResult @35 :DeployResult;

    # added for bisection
    bisection @36 :Bisection;
    bisectionReply @37 :BisectionReply;
  }
}

enum ErrorCode {
  internal @0;       # the coordinator's fault; retry later
  unimplemented @1;  # a body this peer does not know
  badVersion @2;     # protocol version not spoken here
  malformed @3;      # the frame did not decode
  notRegistered @4;  # an agent message before a welcome: send agentHello
  badRequest @5;     # the request is invalid; the message says why
  notFound @6;       # an unknown id
  unavailable @7;    # the store is unreachable; retry later
  refused @8;        # the store refused this message's data; do not send it again
  forbidden @9;      # this peer may not do that
}

struct Error {
  code @0 :ErrorCode;
  message @1 :Text;
}

struct KeyValue {
  key @0 :Text;
  value @1 :Text;
}

struct ResultKey {
  # Identifies one result an agent sends. (jobId, attempt, seq) is unique;
  # the coordinator drops a result it has already committed.
  jobId @0 :UInt64;
  attempt @1 :UInt32;
  seq @2 :UInt64;
}

struct JobRef {
  jobId @0 :UInt64;
  attempt @1 :UInt32;
}

struct Tool {
  name @0 :Text;
  version @1 :Text;
}

struct Machine {
  name @0 :Text;
  cpuModel @1 :Text;
  logicalCores @2 :UInt32;
  memoryBytes @3 :UInt64;
  osRelease @4 :Text;
  kernel @5 :Text;
  arch @6 :Text;
  tools @7 :List(Tool);
  governor @8 :Text;  # the CPU frequency governor (cpufreq); "" where there is none
}

struct AgentHello {
  name @0 :Text;
  labels @1 :List(KeyValue);
  slots @2 :UInt32;
  machine @3 :Machine;
  heldJobs @4 :List(JobRef);
  # Jobs this agent is still running (or holds results of) from before.
  agentVersion @5 :Text;
  incarnation @6 :Text;
  # Chosen afresh each time the agent process starts. A hello with the same
  # incarnation is a repeat (harmless); a new one means the agent restarted.
  draining @7 :Bool;
  # The agent finishes what it runs and takes no new job.
  host @8 :Text;
  # Who its host is (/etc/machine-id, else the host name): agents with the
  # same host share its lock (agent/host_lock.hpp), whatever their machines.
  hourlyCost @9 :Float64 = -1;
  # What an hour of this agent costs (--hourly-cost), for the cost report;
  # -1: not said.
}

struct Welcome {
  agentId @0 :UInt64;
  heartbeatIntervalMs @1 :UInt32;
  leaseMs @2 :UInt32;
  abandon @3 :List(JobRef);
  # Held jobs the coordinator no longer wants: stop them, drop their results.
}

struct Reject {
  reason @0 :Text;
}

struct Heartbeat {
  sentAtUs @0 :Int64;
  heldJobs @1 :List(JobRef);
  # From an agent: every job attempt it runs. The coordinator answers with
  # an abandon for any that is not that job's current attempt there.
  draining @2 :Bool;
  spoolBacklog @3 :UInt64;
  # From an agent: results it holds that are not acknowledged yet (its
  # spool). Shown by the coordinator's /metrics; 0 from older agents.
  intervalMs @4 :UInt32;
  leaseMs @5 :UInt32;
  # From the coordinator: the heartbeat interval and lease from now on,
  # which grow with the fleet (0: unchanged, as from older coordinators).
}

struct StepSpec {
  name @0 :Text;
  run @1 :Text;
  env @2 :List(KeyValue);
  timed @3 :Bool = true;
  timeoutMs @4 :UInt64;  # 0: no step timeout
  collect @5 :List(Text);  # collectors run after the step: "ccache", "ninja-log:build", ...
  budget @6 :Budget;       # judged by the coordinator; agents ignore it
}

struct Assign {
  jobId @0 :UInt64;
  attempt @1 :UInt32;
  pipelineId @2 :UInt64;
  pipelineName @3 :Text;
  jobName @4 :Text;
  kind @5 :Text;
  revision @6 :Text;
  branch @7 :Text;
  checkoutRepo @8 :Text;
  workdir @9 :Text;
  env @10 :List(KeyValue);
  steps @11 :List(StepSpec);
  timeoutMs @12 :UInt64;  # whole job; 0: none
  slots @13 :UInt32;      # slots the job occupies on the agent
  bench @14 :BenchSpec;   # set for kind "bench"
  variants @15 :List(Variant);
  budget @16 :Budget;     # judged by the coordinator; agents ignore it
  secrets @17 :List(Text);
  # Names of values the agent holds (its environment, its secrets file) that
  # the steps get in their environment. Never a value: values stay on agents.
  signedSubmission @18 :SignedSubmission;
  # The submission this job was expanded from, as its submitter signed it;
  # null when it was not signed. An agent run with --trusted-submitters
  # checks the signature and that this Assign is what the signed file says.
  deploy @19 :DeploySpec;  # set for kind "deploy"
  jobKind @20 :JobKind;    # the kind as an enum; `kind` (text) still says it for older peers
}

# What a job is. unknown: a peer that sent only the text (`Assign.kind`).
enum JobKind {
  unknown @0;
  build @1;
  bench @2;
  deploy @3;
  calibrate @4;
}

# A deploy job: its steps, then the health gate (with the version check),
# the probe from before the first step to the end, and the rollback.
struct DeploySpec {
  steps @0 :List(StepSpec);
  health @1 :HealthSpec;      # null: no health gate
  probe @2 :ProbeSpec;        # null: no probe
  version @3 :VersionSpec;    # null: no version check
  rollback @4 :RollbackSpec;  # null: no rollback
}

struct HealthSpec {
  url @0 :Text;   # an HTTP check, or
  run @1 :Text;   # a command: exit 0 is healthy
  expect @2 :Text;  # accepted statuses, e.g. "200-399"
  intervalMs @3 :UInt64;
  timeoutMs @4 :UInt64;
  startPeriodMs @5 :UInt64;
  successThreshold @6 :UInt32;
  failureThreshold @7 :UInt32;
  deadlineMs @8 :UInt64;
  minHealthyMs @9 :UInt64;
}

struct ProbeSpec {
  url @0 :Text;
  intervalUs @1 :UInt64;
  timeoutMs @2 :UInt64;
  expect @3 :Text;
  noHostLock @4 :Bool;  # true: the deploy does not hold its host's lock while it probes
}

struct VersionSpec {
  url @0 :Text;
  expect @1 :Text;  # ${YARDSTICK_REVISION} is the job's revision
}

struct RollbackSpec {
  run @0 :Text;
  on @1 :List(Text);  # step_failed, health_deadline, probe_failures
  maxFailedRequests @2 :UInt64;
  timeoutMs @3 :UInt64;
}

struct BenchSpec {
  run @0 :Text;
  setup @1 :Text;      # once per variant, before its first run
  prepare @2 :Text;    # before every run, warm-ups included; not timed
  conclude @3 :Text;   # after every run; not timed
  cleanup @4 :Text;    # once per variant, at the end
  warmup @5 :UInt32;
  runs @6 :UInt32;     # 0: adaptive (minRuns, maxRuns, maxTimeMs)
  minRuns @7 :UInt32;
  maxRuns @8 :UInt32;  # 0: no limit
  maxTimeMs @9 :UInt64;
  ignoreFailure @10 :Bool;
  interleave @11 :Bool = true;
  collect @12 :List(Text);  # collectors run after every counted run
  shell @13 :Text;          # "auto" (or empty), "sh" or "none": how run starts
  alpha @14 :Float64 = 0.05;       # significance level of the verdict
  noiseFloor @15 :Float64 = 0.01;  # |ratio - 1| at or below it is "no change"
  measure @16 :Text;        # what the verdict judges: "wall" (or empty), "cpu", "instructions"
  precision @17 :Float64;   # runs = 0 and precision > 0: rounds until each variant's ratio
                            # interval is within +-precision (0.01: 1 %); 0: off
}

struct Variant {
  name @0 :Text;
  env @1 :List(KeyValue);
  run @2 :Text;  # replaces bench.run when set
}

struct Sample {
  key @0 :ResultKey;
  variant @1 :Text;
  variantIndex @2 :UInt32;  # 0 is the baseline
  index @3 :UInt32;         # counted run number, from 0
  wallNs @4 :UInt64;
  userUs @5 :UInt64;
  sysUs @6 :UInt64;
  maxRssKb @7 :UInt64;
  exitCode @8 :Int32;
  signal @9 :Int32;
  atUs @10 :Int64;

  # Run context (docs/benchmarks.md, "Run context"). Unknown values: the
  # largest value for round, position, volCtx and involCtx and NaN for the
  # percentages and load1 (their defaults, so an older agent's sample reads
  # as unknown), 0 for cpuMhz and taskClockNs, and hasHardwareCounters false
  # for instructions and cycles.
  round @11 :UInt32 = 0xffffffff;      # counted round, from 0
  position @12 :UInt32 = 0xffffffff;   # place of the variant within its round, from 0
  volCtx @13 :UInt64 = 0xffffffffffffffff;   # context switches of the measured tree (wait4)
  involCtx @14 :UInt64 = 0xffffffffffffffff;
  stealPct @15 :Float64 = nan;   # the machine's, over the run (/proc/stat)
  iowaitPct @16 :Float64 = nan;
  load1 @17 :Float64 = nan;      # 1-minute load average just before the run
  cpuMhz @18 :Float64;           # 0: unknown
  taskClockNs @19 :UInt64;       # 0: unknown
  instructions @20 :UInt64;      # user space, whole tree
  cycles @21 :UInt64;
  hasHardwareCounters @22 :Bool;
  contended @23 :Bool;           # under contention by the agent's rule
  foreignShare @24 :Float64 = nan;  # other processes' CPU time over the run, share of the machine
  cpuPressure @25 :Float64 = nan;   # /proc/pressure/cpu "some" over the run, percent of wall
}

struct Metric {
  key @0 :ResultKey;
  stepIndex @1 :Int32;  # -1 for a benchmark run
  variant @2 :Text;
  runIndex @3 :Int32;   # -1 for a step
  name @4 :Text;
  value @5 :Float64;
  unit @6 :Text;
}

struct ReportRequest {
  name @0 :Text;               # a file of sql/reports, without .sql
  params @1 :List(KeyValue);   # its psql variables
}

struct ReportReply {
  columns @0 :List(Text);
  rows @1 :List(List(Text));  # NULL is the empty string
  kinds @2 :List(Text);       # per column: "integer", "number", "boolean", "json" or "text"
  nulls @3 :List(List(Bool)); # per row and column: true where the value is NULL
}

struct StepStarted {
  key @0 :ResultKey;
  index @1 :UInt32;
  name @2 :Text;
  startedAtUs @3 :Int64;  # unix time, microseconds
}

struct StepFinished {
  key @0 :ResultKey;
  index @1 :UInt32;
  name @2 :Text;
  startedAtUs @3 :Int64;
  endedAtUs @4 :Int64;
  wallNs @5 :UInt64;      # monotonic clock
  userUs @6 :UInt64;
  sysUs @7 :UInt64;
  maxRssKb @8 :UInt64;
  exitCode @9 :Int32;     # -1 when killed by a signal
  signal @10 :Int32;      # 0 unless killed by a signal
  timedOut @11 :Bool;
  timed @12 :Bool;
  command @13 :Text;
  revision @14 :Text;     # the checkout step: the commit it checked out (full hash)

  # Run context of the step's process tree, as in Sample (same unknowns).
  volCtx @15 :UInt64 = 0xffffffffffffffff;
  involCtx @16 :UInt64 = 0xffffffffffffffff;
  stealPct @17 :Float64 = nan;
  iowaitPct @18 :Float64 = nan;
  load1 @19 :Float64 = nan;
  cpuMhz @20 :Float64;
  taskClockNs @21 :UInt64;
  instructions @22 :UInt64;
  cycles @23 :UInt64;
  hasHardwareCounters @24 :Bool;
  foreignShare @25 :Float64 = nan;  # as Sample's
  cpuPressure @26 :Float64 = nan;
}

enum Stream {
  stdout @0;
  stderr @1;
  system @2;  # lines the agent itself writes into the job log
}

struct LogChunk {
  key @0 :ResultKey;
  stream @1 :Stream;
  data @2 :Data;
  atUs @3 :Int64;
  stepIndex @4 :Int32;  # -1 outside any step
}

enum JobOutcome {
  succeeded @0;
  failed @1;
  timedOut @2;
  cancelled @3;
  lost @4;       # the agent lost the job (it restarted, or was stopped); retried
}

struct JobFinished {
  key @0 :ResultKey;
  outcome @1 :JobOutcome;
  message @2 :Text;
  endedAtUs @3 :Int64;
}

struct Ack {
  keys @0 :List(ResultKey);
}

struct Cancel {
  jobId @0 :UInt64;
  attempt @1 :UInt32;
  reason @2 :Text;
}

struct Submit {
  pipelineYaml @0 :Text;
  fileName @1 :Text;
  revision @2 :Text;
  branch @3 :Text;
  submitter @4 :Text;
  signedSubmission @5 :SignedSubmission;
  # Set when the submitter signed: its yaml, fileName, revision and branch
  # are the four fields above, byte for byte.
  bisection @6 :Text;
  # Set by `yardstick bisect` on each run it submits: what it bisects, in
  # words. Stored in pipelines.bisection; such a pipeline's timings are
  # not searched for change points (its revisions come out of order).
}

struct SignedSubmission {
  # What a submitter signed with an Ed25519 key (common/signing.hpp): the
  # pipeline file exactly as sent, its name, the revision and the branch.
  yaml @0 :Text;
  fileName @1 :Text;
  revision @2 :Text;
  branch @3 :Text;
  publicKey @4 :Data;  # Ed25519, 32 bytes
  signature @5 :Data;  # Ed25519 detached signature of the canonical bytes, 64 bytes
}

enum JobState {
  pending @0;
  queued @1;
  assigned @2;
  running @3;
  succeeded @4;
  failed @5;
  timedOut @6;
  cancelled @7;
  skipped @8;
  lost @9;
}

struct StepSummary {
  index @0 :UInt32;
  name @1 :Text;
  wallS @2 :Float64;
  exitCode @3 :Int32;
  finished @4 :Bool;
  signal @5 :Int32;  # the signal that killed it (exitCode is then -1), or 0
}

struct JobSummary {
  id @0 :UInt64;
  name @1 :Text;
  state @2 :JobState;
  agent @3 :Text;
  machine @4 :Text;
  attempt @5 :UInt32;
  startedAtUs @6 :Int64;
  endedAtUs @7 :Int64;
  message @8 :Text;
  steps @9 :List(StepSummary);
  pipelineId @10 :UInt64;
  overBudget @11 :Bool;
  budgetBreaches @12 :List(Text);  # "wall <= 420s (actual 431.2)", ...
  runsMeasured @13 :UInt32;        # a benchmark: counted runs stored so far (this attempt)
  runsPlanned @14 :UInt32;         # a benchmark with a fixed count: variants x runs; else 0
  deployPhases @15 :List(DeployPhaseInfo);  # a deploy: its phases so far (this attempt)
  deploy @16 :DeployInfo;                   # a deploy: its outcome and probe, once known
  hasDeploy @17 :Bool;                      # false: no deploy result stored (yet)
  note @18 :JobNote;                        # why it is where it is (the message says it in words)
  earlierAttempts @19 :List(AttemptEnd);    # attempts before `attempt`, and how each ended
}

struct AttemptEnd {
  attempt @0 :UInt32;
  agent @1 :Text;
  state @2 :JobState;
  message @3 :Text;
}

# common/types.hpp JobNote.
enum JobNote {
  none @0;
  noAgent @1;      # queued: no connected agent can take it now
  concurrency @2;  # queued: its concurrency group holds another job
  needEnded @3;    # skipped: a need ended other than succeeded
  regressed @4;    # skipped: a no_regression need was judged slower
  unjudgeable @5;  # skipped: a no_regression need cannot be judged
}

struct DeployPhaseInfo {
  name @0 :Text;
  startUs @1 :Int64;
  endUs @2 :Int64;
  ok @3 :Bool;
  detail @4 :Text;
}

struct DeployInfo {
  outcome @0 :Text;   # succeeded, failed, rolled back, rollback failed
  reason @1 :Text;    # step_failed, health_deadline, probe_failures; empty on success
  probe @2 :ProbeCounts;
  hasProbe @3 :Bool;
  outcomeKind @4 :DeployOutcome;
}

struct SubmitReply {
  pipelineId @0 :UInt64;
  jobs @1 :List(JobSummary);
  warnings @2 :List(Text);
  # What in the pipeline is valid but will not do what it is for, each as
  # "file:line:column: key: message" (a bench whose runs no test can decide
  # at its alpha). The pipeline was accepted all the same.
}

struct StatusRequest {
  id @0 :UInt64;  # a pipeline id or a job id (they share one sequence)
}

struct StatusReply {
  pipelineId @0 :UInt64;
  pipelineName @1 :Text;
  revision @2 :Text;
  branch @3 :Text;
  submitter @4 :Text;
  submittedAtUs @5 :Int64;
  jobs @6 :List(JobSummary);
  budgetWallMs @7 :UInt64;  # the pipeline's own wall budget (budget: at its top); 0: none
  wallS @8 :Float64;        # submission to the last job's end; -1 while a job has not ended
  overBudget @9 :Bool;      # its wall budget was judged breached
}

struct LogsRequest {
  jobId @0 :UInt64;
  afterId @1 :UInt64;   # cursor: the last chunk id already read
  maxBytes @2 :UInt32;
}

struct LogLine {
  id @0 :UInt64;
  attempt @1 :UInt32;
  stream @2 :Stream;
  data @3 :Data;
  stepIndex @4 :Int32;   # -1 outside any step
  stepName @5 :Text;     # "" outside any step
  agent @6 :Text;        # the agent of the attempt
  machine @7 :Text;      # its machine
}

struct LogsReply {
  chunks @0 :List(LogLine);
  jobEnded @1 :Bool;     # the job is in a terminal state
  lastId @2 :UInt64;
  state @3 :JobState;
}

struct AgentsRequest {
  unused @0 :Void;
}

struct AgentInfo {
  name @0 :Text;
  labels @1 :List(KeyValue);
  slots @2 :UInt32;
  usedSlots @3 :UInt32;
  connected @4 :Bool;
  lastSeenUs @5 :Int64;
  machine @6 :Text;
  runningJobs @7 :List(UInt64);
  draining @8 :Bool;
  calibratedAtUs @9 :Int64;  # the machine's latest calibration; 0: not calibrated
  calibration @10 :List(CalibrationSummary);
  noise @11 :Float64;        # the machine's noise level (median of the benchmarks' noise)
  host @12 :Text;            # who its host is: agents with the same host share its lock
  calibrationStale @13 :Text;  # why the calibration shown is of an earlier state of the machine; "" if not
}

struct AgentsReply {
  agents @0 :List(AgentInfo);
}

struct CancelRequest {
  id @0 :UInt64;  # a pipeline id or a job id
}

struct CancelReply {
  cancelled @0 :UInt32;  # jobs that were cancelled or asked to stop
}

struct Budget {
  wallMs @0 :UInt64;  # 0: no wall budget
  metrics @1 :List(BudgetMetric);
  fail @2 :Bool;      # a breach fails the job
}

struct BudgetMetric {
  metric @0 :Text;
  op @1 :Text;  # "<=", ">=", "<", ">"
  value @2 :Float64;
}

struct Abandon {
  # Coordinator -> agent: stop these job attempts and drop their results;
  # they are not (or no longer) this agent's to run.
  jobs @0 :List(JobRef);
  reason @1 :Text;
}

struct Bisection {
  # Client -> coordinator (submit role): what `yardstick bisect` found, or
  # why it could not decide. Stored in `bisections`; answered with a
  # bisectionReply. The change-point report shows it next to the change
  # point whose revisions it bisected.
  pipeline @0 :Text;       # the pipeline name
  job @1 :Text;
  kind @2 :Text;           # step, variant or metric
  what @3 :Text;
  machine @4 :Text;
  good @5 :Text;           # the commits it started from
  bad @6 :Text;
  outcome @7 :Text;        # running (under way: the message says where), found,
                           # below_detectable, no_change, skipped, budget, failed, unconfirmed
  commit @8 :Text;         # the first changed commit; empty unless found
  subject @9 :Text;
  changePct @10 :Float64;  # the commit's change from the one before, %
  lowPct @11 :Float64;     # its 95 % interval
  highPct @12 :Float64;
  steps @13 :UInt32;       # commits run between the ends
  runs @14 :UInt32;        # pipelines submitted
  seconds @15 :Float64;
  message @16 :Text;       # the sentence it printed
  id @17 :UInt64;          # 0: a new record; else the record of a bisection
                           # under way (outcome running) by the same key,
                           # which this one replaces
}

struct BisectionReply {
  id @0 :UInt64;
}

struct DrainRequest {
  agent @0 :Text;  # the agent's name
  undo @1 :Bool;   # true: take jobs again
}

struct DrainReply {
  found @0 :Bool;
}

struct CalibrateRequest {
  # Client -> coordinator: run the calibration micro-benchmarks on this
  # agent (needs the submit role). Answered with a calibrateReply.
  agent @0 :Text;
}

struct CalibrateReply {
  pipelineId @0 :UInt64;
  jobId @1 :UInt64;       # the job of kind "calibrate" that runs them
  existing @2 :Bool;      # true: one was already queued or running; this is it
}

struct Calibration {
  # Agent -> coordinator, a result of a job of kind "calibrate": one
  # micro-benchmark's times (docs/benchmarks.md, "Machine calibration").
  key @0 :ResultKey;
  benchmark @1 :Text;         # cpu, memory, spawn, io
  timesS @2 :List(Float64);   # seconds, one per repetition, in run order
}

struct CalibrationSummary {
  benchmark @0 :Text;
  medianS @1 :Float64;
  noise @2 :Float64;  # robust relative spread (common/calibration.hpp)
  runs @3 :UInt32;
}

struct ProbeCounts {
  sent @0 :UInt64;
  failed @1 :UInt64;
  status @2 :UInt64;    # answered outside `expect`
  refused @3 :UInt64;
  reset @4 :UInt64;
  timeout @5 :UInt64;
  other @6 :UInt64;
  late @7 :UInt64;      # ticks sent later than half an interval
  longestOutageMs @8 :Float64;
  p50Ms @9 :Float64;
  p99Ms @10 :Float64;
  intervalUs @11 :Int64;
}

struct DeployPhase {
  # Agent -> coordinator: one phase of a deploy job, once it ended
  # (docs/deploy.md, "Phases").
  key @0 :ResultKey;
  name @1 :Text;       # "step NAME", healthy, stable, switch, rollback, rollback verified
  startUs @2 :Int64;   # unix time
  endUs @3 :Int64;
  ok @4 :Bool;
  detail @5 :Text;
}

struct DeployResult {
  # Agent -> coordinator: how a deploy job ended, with its probe's counts;
  # sent once, before its JobFinished.
  key @0 :ResultKey;
  outcome @1 :Text;     # succeeded, failed, rolled back, rollback failed
  reason @2 :Text;
  message @3 :Text;
  probe @4 :ProbeCounts;
  hasProbe @5 :Bool;
  oldVersion @6 :Text;
  newVersion @7 :Text;
  switchOld @8 :UInt64;  # answers inside the switch window, by version
  switchNew @9 :UInt64;
  outcomeKind @10 :DeployOutcome;  # the outcome as an enum; `outcome` (text) still says it
}

# How a deploy ended. unknown: a peer that sent only the text.
enum DeployOutcome {
  unknown @0;
  succeeded @1;
  failed @2;
  rolledBack @3;
  rollbackFailed @4;
}
