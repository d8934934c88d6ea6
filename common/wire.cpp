#include "common/wire.hpp"

#include <kj/exception.h>

#include <cmath>
#include <cstring>
#include <optional>

namespace yardstick::wire_io {

Frame::Frame(kj::Array<capnp::word> words) : words_(kj::mv(words)) {
  capnp::ReaderOptions options;
  options.traversalLimitInWords = kTraversalLimitWords;
  options.nestingLimit = 64;
  reader_ = std::make_unique<capnp::FlatArrayMessageReader>(words_.asPtr(), options);
}

DecodeResult decode_frame(const void* data, size_t size) {
  if (size == 0) return DecodeError{wire::ErrorCode::MALFORMED, "empty frame"};
  if (static_cast<int64_t>(size) > kMaxFrameBytes)
    return DecodeError{wire::ErrorCode::MALFORMED, "frame of " + std::to_string(size) +
                                                       " bytes exceeds the limit of " +
                                                       std::to_string(kMaxFrameBytes)};
  if (size % sizeof(capnp::word) != 0)
    return DecodeError{wire::ErrorCode::MALFORMED,
                       "frame of " + std::to_string(size) + " bytes is not a Cap'n Proto message"};
  // Frames are not guaranteed 8-byte aligned: copy before decoding.
  auto words = kj::heapArray<capnp::word>(size / sizeof(capnp::word));
  std::memcpy(words.begin(), data, size);
  std::unique_ptr<Frame> frame;
  uint64_t request_id = 0;
  try {
    frame = std::make_unique<Frame>(kj::mv(words));
    auto env = frame->envelope();
    request_id = env.getRequestId();
    if (env.getVersion() != wire::PROTOCOL_VERSION)
      return DecodeError{wire::ErrorCode::BAD_VERSION,
                         "protocol version " + std::to_string(env.getVersion()) +
                             " is not spoken here (this peer speaks version " +
                             std::to_string(wire::PROTOCOL_VERSION) + ")",
                         request_id};
    (void)env.getBody().which();
  } catch (const kj::Exception& e) {
    return DecodeError{wire::ErrorCode::MALFORMED,
                       std::string("undecodable frame: ") + e.getDescription().cStr(), request_id};
  }
  return frame;
}

zmq::message_t to_message(capnp::MessageBuilder& builder) {
  auto words = capnp::messageToFlatArray(builder);
  auto bytes = words.asBytes();
  return zmq::message_t(bytes.begin(), bytes.size());
}

wire::Envelope::Builder start(capnp::MessageBuilder& builder, uint64_t request_id) {
  auto env = builder.initRoot<wire::Envelope>();
  env.setVersion(wire::PROTOCOL_VERSION);
  env.setRequestId(request_id);
  return env;
}

zmq::message_t error_message(uint64_t request_id, wire::ErrorCode code,
                             const std::string& message) {
  capnp::MallocMessageBuilder builder;
  auto err = start(builder, request_id).getBody().initError();
  err.setCode(code);
  err.setMessage(message);
  return to_message(builder);
}

void fill(capnp::List<wire::KeyValue>::Builder list, const std::map<std::string, std::string>& kv) {
  unsigned i = 0;
  for (const auto& [k, v] : kv) {
    list[i].setKey(k);
    list[i].setValue(v);
    ++i;
  }
}

std::map<std::string, std::string> read(capnp::List<wire::KeyValue>::Reader list) {
  std::map<std::string, std::string> out;
  for (auto kv : list) out[kv.getKey().cStr()] = kv.getValue().cStr();
  return out;
}

void fill_labels(capnp::List<wire::KeyValue>::Builder list, const Labels& labels) {
  unsigned i = 0;
  for (const auto& l : labels) {
    size_t eq = l.find('=');
    list[i].setKey(l.substr(0, eq));
    list[i].setValue(eq == std::string::npos ? "" : l.substr(eq + 1));
    ++i;
  }
}

Labels read_labels(capnp::List<wire::KeyValue>::Reader list) {
  Labels out;
  for (auto kv : list) {
    std::string k = kv.getKey(), v = kv.getValue();
    out.insert(v.empty() ? k : k + "=" + v);
  }
  return out;
}

void fill(wire::Machine::Builder b, const MachineInfo& m) {
  b.setName(m.name);
  b.setCpuModel(m.cpu_model);
  b.setLogicalCores(m.logical_cores);
  b.setMemoryBytes(m.memory_bytes);
  b.setOsRelease(m.os_release);
  b.setKernel(m.kernel);
  b.setArch(m.arch);
  b.setGovernor(m.governor);
  auto tools = b.initTools(m.tools.size());
  for (unsigned i = 0; i < m.tools.size(); ++i) {
    tools[i].setName(m.tools[i].name);
    tools[i].setVersion(m.tools[i].version);
  }
}

MachineInfo read(wire::Machine::Reader r) {
  MachineInfo m;
  m.name = r.getName();
  m.cpu_model = r.getCpuModel();
  m.logical_cores = r.getLogicalCores();
  m.memory_bytes = r.getMemoryBytes();
  m.os_release = r.getOsRelease();
  m.kernel = r.getKernel();
  m.arch = r.getArch();
  m.governor = r.getGovernor();
  for (auto t : r.getTools()) m.tools.push_back({t.getName(), t.getVersion()});
  return m;
}

namespace {

void fill_texts(capnp::List<capnp::Text>::Builder list, const std::vector<std::string>& items) {
  for (unsigned k = 0; k < items.size(); ++k) list.set(k, items[k]);
}

std::vector<std::string> read_texts(capnp::List<capnp::Text>::Reader list) {
  std::vector<std::string> out;
  for (auto t : list) out.push_back(t);
  return out;
}

void fill(wire::Budget::Builder b, const Budget& budget) {
  b.setWallMs(budget.wall_ms);
  auto metrics = b.initMetrics(budget.metrics.size());
  for (unsigned i = 0; i < budget.metrics.size(); ++i) {
    metrics[i].setMetric(budget.metrics[i].metric);
    metrics[i].setOp(budget.metrics[i].op);
    metrics[i].setValue(budget.metrics[i].value);
  }
  b.setFail(budget.fail);
}

Budget read(wire::Budget::Reader r) {
  Budget budget;
  budget.wall_ms = r.getWallMs();
  for (auto m : r.getMetrics()) budget.metrics.push_back({m.getMetric(), m.getOp(), m.getValue()});
  budget.fail = r.getFail();
  return budget;
}

}  // namespace

static void fill_steps(capnp::List<wire::StepSpec>::Builder steps,
                       const std::vector<StepSpec>& from) {
  for (unsigned i = 0; i < from.size(); ++i) {
    const auto& s = from[i];
    steps[i].setName(s.name);
    steps[i].setRun(s.run);
    fill(steps[i].initEnv(s.env.size()), s.env);
    steps[i].setTimed(s.timed);
    steps[i].setTimeoutMs(s.timeout_ms);
    fill_texts(steps[i].initCollect(s.collect.size()), s.collect);
    if (s.budget) fill(steps[i].initBudget(), *s.budget);
  }
}

static std::vector<StepSpec> read_steps(capnp::List<wire::StepSpec>::Reader list) {
  std::vector<StepSpec> out;
  for (auto s : list) {
    StepSpec spec;
    spec.name = s.getName();
    spec.run = s.getRun();
    spec.env = read(s.getEnv());
    spec.timed = s.getTimed();
    spec.timeout_ms = s.getTimeoutMs();
    spec.collect = read_texts(s.getCollect());
    if (s.hasBudget()) spec.budget = read(s.getBudget());
    out.push_back(std::move(spec));
  }
  return out;
}

static StatusRange read_status_range(const std::string& text) {
  std::string ignored;
  return text.empty() ? StatusRange() : StatusRange::parse(text, &ignored).value_or(StatusRange());
}

static void fill_deploy(wire::DeploySpec::Builder b, const DeploySpec& d) {
  fill_steps(b.initSteps(d.steps.size()), d.steps);
  if (d.health) {
    auto h = b.initHealth();
    h.setUrl(d.health->url);
    h.setRun(d.health->run);
    h.setExpect(d.health->expect.text());
    h.setIntervalMs(d.health->interval.count());
    h.setTimeoutMs(d.health->timeout.count());
    h.setStartPeriodMs(d.health->start_period.count());
    h.setSuccessThreshold(d.health->success_threshold);
    h.setFailureThreshold(d.health->failure_threshold);
    h.setDeadlineMs(d.health->deadline.count());
    h.setMinHealthyMs(d.health->min_healthy.count());
  }
  if (d.probe) {
    auto p = b.initProbe();
    p.setUrl(d.probe->url);
    p.setIntervalUs(d.probe->interval.count());
    p.setTimeoutMs(d.probe->timeout.count());
    p.setExpect(d.probe->expect.text());
    p.setNoHostLock(!d.probe->host_lock);
  }
  if (d.version) {
    auto v = b.initVersion();
    v.setUrl(d.version->url);
    v.setExpect(d.version->expect);
  }
  if (d.rollback) {
    auto r = b.initRollback();
    r.setRun(d.rollback->run);
    fill_texts(r.initOn(d.rollback->on.size()), d.rollback->on);
    r.setMaxFailedRequests(d.rollback->max_failed_requests);
    r.setTimeoutMs(d.rollback->timeout.count());
  }
}

static DeploySpec read_deploy(wire::DeploySpec::Reader r) {
  using std::chrono::microseconds;
  using std::chrono::milliseconds;
  DeploySpec d;
  d.steps = read_steps(r.getSteps());
  if (r.hasHealth()) {
    auto h = r.getHealth();
    HealthSpec s;
    s.url = h.getUrl();
    s.run = h.getRun();
    s.expect = read_status_range(h.getExpect());
    s.interval = milliseconds(h.getIntervalMs());
    s.timeout = milliseconds(h.getTimeoutMs());
    s.start_period = milliseconds(h.getStartPeriodMs());
    s.success_threshold = h.getSuccessThreshold();
    s.failure_threshold = h.getFailureThreshold();
    s.deadline = milliseconds(h.getDeadlineMs());
    s.min_healthy = milliseconds(h.getMinHealthyMs());
    d.health = s;
  }
  if (r.hasProbe()) {
    auto p = r.getProbe();
    ProbeSpec s;
    s.url = p.getUrl();
    s.interval = microseconds(p.getIntervalUs());
    s.timeout = milliseconds(p.getTimeoutMs());
    s.expect = read_status_range(p.getExpect());
    s.host_lock = !p.getNoHostLock();
    d.probe = s;
  }
  if (r.hasVersion()) d.version = VersionSpec{r.getVersion().getUrl(), r.getVersion().getExpect()};
  if (r.hasRollback()) {
    auto w = r.getRollback();
    RollbackSpec s;
    s.run = w.getRun();
    s.on = read_texts(w.getOn());
    s.max_failed_requests = w.getMaxFailedRequests();
    s.timeout = milliseconds(w.getTimeoutMs());
    d.rollback = s;
  }
  return d;
}

void fill(wire::Assign::Builder b, const JobAssignment& a) {
  b.setJobId(a.job_id);
  b.setAttempt(a.attempt);
  b.setPipelineId(a.pipeline_id);
  b.setPipelineName(a.pipeline_name);
  b.setJobName(a.job_name);
  b.setKind(std::string(to_string(a.kind)));
  b.setJobKind(to_wire(a.kind));
  b.setRevision(a.revision);
  b.setBranch(a.branch);
  b.setCheckoutRepo(a.checkout_repo);
  b.setWorkdir(a.workdir);
  fill(b.initEnv(a.env.size()), a.env);
  fill_steps(b.initSteps(a.steps.size()), a.steps);
  if (a.deploy) fill_deploy(b.initDeploy(), *a.deploy);
  b.setTimeoutMs(a.timeout_ms);
  b.setSlots(a.slots);
  if (a.bench) {
    const BenchSpec& s = *a.bench;
    auto w = b.initBench();
    w.setRun(s.run);
    w.setSetup(s.setup);
    w.setPrepare(s.prepare);
    w.setConclude(s.conclude);
    w.setCleanup(s.cleanup);
    w.setWarmup(s.warmup);
    w.setRuns(s.runs);
    w.setMinRuns(s.min_runs);
    w.setMaxRuns(s.max_runs);
    w.setMaxTimeMs(s.max_time_ms);
    w.setIgnoreFailure(s.ignore_failure);
    w.setInterleave(s.interleave);
    w.setShell(to_string(s.shell));
    w.setAlpha(s.alpha);
    w.setNoiseFloor(s.noise_floor);
    w.setMeasure(s.measure);
    w.setPrecision(s.precision);
    fill_texts(w.initCollect(s.collect.size()), s.collect);
  }
  auto variants = b.initVariants(a.variants.size());
  for (unsigned i = 0; i < a.variants.size(); ++i) {
    variants[i].setName(a.variants[i].name);
    fill(variants[i].initEnv(a.variants[i].env.size()), a.variants[i].env);
    variants[i].setRun(a.variants[i].run);
  }
  if (a.budget) fill(b.initBudget(), *a.budget);
  fill_texts(b.initSecrets(a.secrets.size()), a.secrets);
  if (a.signed_submission) fill(b.initSignedSubmission(), *a.signed_submission);
}

void fill(wire::SignedSubmission::Builder b, const SignedSubmission& s) {
  auto bytes = [](const std::string& d) {
    return kj::arrayPtr(reinterpret_cast<const capnp::byte*>(d.data()), d.size());
  };
  b.setYaml(s.yaml);
  b.setFileName(s.file_name);
  b.setRevision(s.revision);
  b.setBranch(s.branch);
  b.setPublicKey(bytes(s.public_key));
  b.setSignature(bytes(s.signature));
}

SignedSubmission read(wire::SignedSubmission::Reader r) {
  auto text = [](capnp::Data::Reader d) {
    return std::string(reinterpret_cast<const char*>(d.begin()), d.size());
  };
  auto exact = [](capnp::Text::Reader t) { return std::string(t.cStr(), t.size()); };
  SignedSubmission s;  // every byte as sent: a NUL must not shorten what is verified
  s.yaml = exact(r.getYaml());
  s.file_name = exact(r.getFileName());
  s.revision = exact(r.getRevision());
  s.branch = exact(r.getBranch());
  s.public_key = text(r.getPublicKey());
  s.signature = text(r.getSignature());
  return s;
}

JobAssignment read(wire::Assign::Reader r) {
  JobAssignment a;
  a.job_id = r.getJobId();
  a.attempt = r.getAttempt();
  a.pipeline_id = r.getPipelineId();
  a.pipeline_name = r.getPipelineName();
  a.job_name = r.getJobName();
  a.kind = read_kind(r);
  a.revision = r.getRevision();
  a.branch = r.getBranch();
  a.checkout_repo = r.getCheckoutRepo();
  a.workdir = r.getWorkdir();
  a.env = read(r.getEnv());
  a.steps = read_steps(r.getSteps());
  if (r.hasDeploy()) a.deploy = read_deploy(r.getDeploy());
  a.timeout_ms = r.getTimeoutMs();
  a.slots = r.getSlots() == 0 ? 1 : r.getSlots();
  if (r.hasBench()) {
    auto w = r.getBench();
    BenchSpec s;
    s.run = w.getRun();
    s.setup = w.getSetup();
    s.prepare = w.getPrepare();
    s.conclude = w.getConclude();
    s.cleanup = w.getCleanup();
    s.warmup = w.getWarmup();
    s.runs = w.getRuns();
    s.min_runs = w.getMinRuns();
    s.max_runs = w.getMaxRuns();
    s.max_time_ms = w.getMaxTimeMs();
    s.ignore_failure = w.getIgnoreFailure();
    s.interleave = w.getInterleave();
    s.shell = parse_shell_mode(w.getShell()).value_or(ShellMode::kAuto);
    s.alpha = w.getAlpha();
    s.noise_floor = w.getNoiseFloor();
    s.measure = w.getMeasure().size() ? std::string(w.getMeasure()) : "wall";
    s.precision = w.getPrecision();
    s.collect = read_texts(w.getCollect());
    a.bench = s;
  }
  for (auto v : r.getVariants()) a.variants.push_back({v.getName(), read(v.getEnv()), v.getRun()});
  if (r.hasBudget()) a.budget = read(r.getBudget());
  a.secrets = read_texts(r.getSecrets());
  if (r.hasSignedSubmission()) a.signed_submission = read(r.getSignedSubmission());
  return a;
}

void fill(wire::ResultKey::Builder b, const ResultKey& k) {
  b.setJobId(k.job_id);
  b.setAttempt(k.attempt);
  b.setSeq(k.seq);
}

ResultKey read(wire::ResultKey::Reader r) {
  return {r.getJobId(), r.getAttempt(), r.getSeq()};
}

void fill(capnp::List<wire::JobRef>::Builder list, const std::vector<JobRef>& refs) {
  for (unsigned i = 0; i < refs.size() && i < list.size(); ++i) {
    list[i].setJobId(refs[i].job_id);
    list[i].setAttempt(refs[i].attempt);
  }
}

namespace {
// The schema's defaults of the counts and indexes of the run context: what
// a message of an older agent reads as.
constexpr uint64_t kUnknownCount = UINT64_MAX;
constexpr uint32_t kUnknownIndex = UINT32_MAX;

// The run context travels in the same fields of StepFinished and Sample.
template <typename Builder>
void fill_context(Builder b, const RunContext& c) {
  b.setVolCtx(c.vol_ctx.value_or(kUnknownCount));
  b.setInvolCtx(c.invol_ctx.value_or(kUnknownCount));
  b.setStealPct(c.steal_pct.value_or(std::nan("")));
  b.setIowaitPct(c.iowait_pct.value_or(std::nan("")));
  b.setLoad1(c.load1.value_or(std::nan("")));
  b.setCpuMhz(c.cpu_mhz.value_or(0));
  b.setTaskClockNs(c.task_clock_ns.value_or(0));
  const bool hardware = c.instructions && c.cycles;
  b.setHasHardwareCounters(hardware);
  b.setInstructions(hardware ? *c.instructions : 0);
  b.setCycles(hardware ? *c.cycles : 0);
  b.setForeignShare(c.foreign_share.value_or(std::nan("")));
  b.setCpuPressure(c.cpu_pressure_pct.value_or(std::nan("")));
}

std::optional<double> known(double v) {
  return std::isfinite(v) ? std::optional<double>(v) : std::nullopt;
}

template <typename Reader>
RunContext read_context(Reader r, const StepResult& s) {
  RunContext c;
  c.wall_ns = s.wall_ns;
  c.cpu_us = s.user_us + s.sys_us;
  if (r.getVolCtx() != kUnknownCount) c.vol_ctx = r.getVolCtx();
  if (r.getInvolCtx() != kUnknownCount) c.invol_ctx = r.getInvolCtx();
  c.steal_pct = known(r.getStealPct());
  c.iowait_pct = known(r.getIowaitPct());
  c.load1 = known(r.getLoad1());
  if (auto mhz = known(r.getCpuMhz()); mhz && *mhz > 0) c.cpu_mhz = mhz;
  if (r.getTaskClockNs() > 0) c.task_clock_ns = r.getTaskClockNs();
  if (r.getHasHardwareCounters()) {
    c.instructions = r.getInstructions();
    c.cycles = r.getCycles();
  }
  c.foreign_share = known(r.getForeignShare());
  c.cpu_pressure_pct = known(r.getCpuPressure());
  return c;
}
}  // namespace

void fill(wire::Sample::Builder b, const ResultKey& key, const std::string& variant,
          uint32_t variant_index, uint32_t index, const StepResult& run) {
  fill(b.initKey(), key);
  b.setVariant(variant);
  b.setVariantIndex(variant_index);
  b.setIndex(index);
  b.setWallNs(run.wall_ns);
  b.setUserUs(run.user_us);
  b.setSysUs(run.sys_us);
  b.setMaxRssKb(run.max_rss_kb);
  b.setExitCode(run.exit_code);
  b.setSignal(run.signal);
  b.setAtUs(run.started_at_us);
  b.setRound(run.round.value_or(kUnknownIndex));
  b.setPosition(run.position.value_or(kUnknownIndex));
  b.setContended(run.contended);
  fill_context(b, run.context);
}

StepResult read(wire::Sample::Reader r) {
  StepResult s;
  s.index = r.getIndex();
  s.name = r.getVariant();
  s.wall_ns = r.getWallNs();
  s.user_us = r.getUserUs();
  s.sys_us = r.getSysUs();
  s.max_rss_kb = r.getMaxRssKb();
  s.exit_code = r.getExitCode();
  s.signal = r.getSignal();
  s.started_at_us = r.getAtUs();
  if (r.getRound() != kUnknownIndex) s.round = r.getRound();
  if (r.getPosition() != kUnknownIndex) s.position = r.getPosition();
  s.contended = r.getContended();
  s.context = read_context(r, s);
  return s;
}

void fill(wire::StepFinished::Builder b, const ResultKey& key, const StepResult& s) {
  fill(b.initKey(), key);
  b.setIndex(s.index);
  b.setName(s.name);
  b.setCommand(s.command);
  b.setStartedAtUs(s.started_at_us);
  b.setEndedAtUs(s.ended_at_us);
  b.setWallNs(s.wall_ns);
  b.setUserUs(s.user_us);
  b.setSysUs(s.sys_us);
  b.setMaxRssKb(s.max_rss_kb);
  b.setExitCode(s.exit_code);
  b.setSignal(s.signal);
  b.setTimedOut(s.timed_out);
  b.setTimed(s.timed);
  b.setRevision(s.revision);
  fill_context(b, s.context);
}

StepResult read(wire::StepFinished::Reader r) {
  StepResult s;
  s.index = r.getIndex();
  s.name = r.getName();
  s.command = r.getCommand();
  s.started_at_us = r.getStartedAtUs();
  s.ended_at_us = r.getEndedAtUs();
  s.wall_ns = r.getWallNs();
  s.user_us = r.getUserUs();
  s.sys_us = r.getSysUs();
  s.max_rss_kb = r.getMaxRssKb();
  s.exit_code = r.getExitCode();
  s.signal = r.getSignal();
  s.timed_out = r.getTimedOut();
  s.timed = r.getTimed();
  s.revision = r.getRevision();
  s.context = read_context(r, s);
  return s;
}

wire::JobState to_wire(JobState s) {
  switch (s) {
    case JobState::kPending:
      return wire::JobState::PENDING;
    case JobState::kQueued:
      return wire::JobState::QUEUED;
    case JobState::kAssigned:
      return wire::JobState::ASSIGNED;
    case JobState::kRunning:
      return wire::JobState::RUNNING;
    case JobState::kSucceeded:
      return wire::JobState::SUCCEEDED;
    case JobState::kFailed:
      return wire::JobState::FAILED;
    case JobState::kTimedOut:
      return wire::JobState::TIMED_OUT;
    case JobState::kCancelled:
      return wire::JobState::CANCELLED;
    case JobState::kSkipped:
      return wire::JobState::SKIPPED;
    case JobState::kLost:
      return wire::JobState::LOST;
  }
  return wire::JobState::FAILED;
}

JobState from_wire(wire::JobState s) {
  switch (s) {
    case wire::JobState::PENDING:
      return JobState::kPending;
    case wire::JobState::QUEUED:
      return JobState::kQueued;
    case wire::JobState::ASSIGNED:
      return JobState::kAssigned;
    case wire::JobState::RUNNING:
      return JobState::kRunning;
    case wire::JobState::SUCCEEDED:
      return JobState::kSucceeded;
    case wire::JobState::FAILED:
      return JobState::kFailed;
    case wire::JobState::TIMED_OUT:
      return JobState::kTimedOut;
    case wire::JobState::CANCELLED:
      return JobState::kCancelled;
    case wire::JobState::SKIPPED:
      return JobState::kSkipped;
    case wire::JobState::LOST:
      return JobState::kLost;
  }
  return JobState::kFailed;
}

wire::JobKind to_wire(JobKind k) {
  switch (k) {
    case JobKind::kBuild:
      return wire::JobKind::BUILD;
    case JobKind::kBench:
      return wire::JobKind::BENCH;
    case JobKind::kDeploy:
      return wire::JobKind::DEPLOY;
    case JobKind::kCalibrate:
      return wire::JobKind::CALIBRATE;
  }
  return wire::JobKind::BUILD;
}

JobKind read_kind(wire::Assign::Reader r) {
  switch (r.getJobKind()) {
    case wire::JobKind::BUILD:
      return JobKind::kBuild;
    case wire::JobKind::BENCH:
      return JobKind::kBench;
    case wire::JobKind::DEPLOY:
      return JobKind::kDeploy;
    case wire::JobKind::CALIBRATE:
      return JobKind::kCalibrate;
    default:
      break;
  }
  const auto text = r.getKind();
  return parse_job_kind(std::string_view(text.cStr(), text.size())).value_or(JobKind::kBuild);
}

wire::JobNote to_wire(JobNote n) {
  switch (n) {
    case JobNote::kNone:
      return wire::JobNote::NONE;
    case JobNote::kNoAgent:
      return wire::JobNote::NO_AGENT;
    case JobNote::kConcurrency:
      return wire::JobNote::CONCURRENCY;
    case JobNote::kNeedEnded:
      return wire::JobNote::NEED_ENDED;
    case JobNote::kRegressed:
      return wire::JobNote::REGRESSED;
    case JobNote::kUnjudgeable:
      return wire::JobNote::UNJUDGEABLE;
  }
  return wire::JobNote::NONE;
}

JobNote from_wire(wire::JobNote n) {
  switch (n) {
    case wire::JobNote::NO_AGENT:
      return JobNote::kNoAgent;
    case wire::JobNote::CONCURRENCY:
      return JobNote::kConcurrency;
    case wire::JobNote::NEED_ENDED:
      return JobNote::kNeedEnded;
    case wire::JobNote::REGRESSED:
      return JobNote::kRegressed;
    case wire::JobNote::UNJUDGEABLE:
      return JobNote::kUnjudgeable;
    default:
      return JobNote::kNone;
  }
}

wire::JobOutcome to_wire(JobOutcome o) {
  switch (o) {
    case JobOutcome::kSucceeded:
      return wire::JobOutcome::SUCCEEDED;
    case JobOutcome::kFailed:
      return wire::JobOutcome::FAILED;
    case JobOutcome::kTimedOut:
      return wire::JobOutcome::TIMED_OUT;
    case JobOutcome::kCancelled:
      return wire::JobOutcome::CANCELLED;
    case JobOutcome::kLost:
      return wire::JobOutcome::LOST;
  }
  return wire::JobOutcome::FAILED;
}

JobOutcome from_wire(wire::JobOutcome o) {
  switch (o) {
    case wire::JobOutcome::SUCCEEDED:
      return JobOutcome::kSucceeded;
    case wire::JobOutcome::FAILED:
      return JobOutcome::kFailed;
    case wire::JobOutcome::TIMED_OUT:
      return JobOutcome::kTimedOut;
    case wire::JobOutcome::CANCELLED:
      return JobOutcome::kCancelled;
    case wire::JobOutcome::LOST:
      return JobOutcome::kLost;
  }
  return JobOutcome::kFailed;
}

void fill(wire::DeployPhase::Builder b, const ResultKey& key, const DeployPhase& p) {
  fill(b.initKey(), key);
  b.setName(p.name);
  b.setStartUs(p.start_us);
  b.setEndUs(p.end_us);
  b.setOk(p.ok);
  b.setDetail(p.detail);
}

DeployPhase read(wire::DeployPhase::Reader r) {
  return {r.getName(), r.getStartUs(), r.getEndUs(), r.getOk(), r.getDetail()};
}

void fill(wire::ProbeCounts::Builder b, const ProbeCounts& c) {
  auto kind = [&](const char* name) {
    auto it = c.failures.find(name);
    return it == c.failures.end() ? uint64_t{0} : it->second;
  };
  b.setSent(c.sent);
  b.setFailed(c.failed);
  b.setStatus(kind("status"));
  b.setRefused(kind("refused"));
  b.setReset(kind("reset"));
  b.setTimeout(kind("timeout"));
  b.setOther(kind("other"));
  b.setLate(c.late);
  b.setLongestOutageMs(c.longest_outage_ms);
  b.setP50Ms(c.p50_ms);
  b.setP99Ms(c.p99_ms);
  b.setIntervalUs(c.interval_us);
}

ProbeCounts read(wire::ProbeCounts::Reader r) {
  ProbeCounts c;
  c.sent = r.getSent();
  c.failed = r.getFailed();
  const std::pair<const char*, uint64_t> kinds[] = {{"status", r.getStatus()},
                                                    {"refused", r.getRefused()},
                                                    {"reset", r.getReset()},
                                                    {"timeout", r.getTimeout()},
                                                    {"other", r.getOther()}};
  for (const auto& [name, count] : kinds)
    if (count) c.failures[name] = count;
  c.late = r.getLate();
  c.longest_outage_ms = r.getLongestOutageMs();
  c.p50_ms = r.getP50Ms();
  c.p99_ms = r.getP99Ms();
  c.interval_us = r.getIntervalUs();
  return c;
}

void fill(wire::DeployResult::Builder b, const ResultKey& key, const DeployReport& r) {
  fill(b.initKey(), key);
  fill_outcome(b, r.outcome);
  b.setReason(r.reason);
  b.setMessage(r.message);
  b.setHasProbe(r.probe.has_value());
  if (r.probe) fill(b.initProbe(), *r.probe);
  b.setOldVersion(r.old_version);
  b.setNewVersion(r.new_version);
  b.setSwitchOld(r.switch_old);
  b.setSwitchNew(r.switch_new);
}

namespace {
wire::DeployOutcome outcome_to_wire(DeployOutcome o) {
  switch (o) {
    case DeployOutcome::kSucceeded:
      return wire::DeployOutcome::SUCCEEDED;
    case DeployOutcome::kFailed:
      return wire::DeployOutcome::FAILED;
    case DeployOutcome::kRolledBack:
      return wire::DeployOutcome::ROLLED_BACK;
    case DeployOutcome::kRollbackFailed:
      return wire::DeployOutcome::ROLLBACK_FAILED;
  }
  return wire::DeployOutcome::FAILED;
}

std::optional<DeployOutcome> outcome_from_wire(wire::DeployOutcome o, capnp::Text::Reader text) {
  switch (o) {
    case wire::DeployOutcome::SUCCEEDED:
      return DeployOutcome::kSucceeded;
    case wire::DeployOutcome::FAILED:
      return DeployOutcome::kFailed;
    case wire::DeployOutcome::ROLLED_BACK:
      return DeployOutcome::kRolledBack;
    case wire::DeployOutcome::ROLLBACK_FAILED:
      return DeployOutcome::kRollbackFailed;
    default:
      return parse_deploy_outcome(std::string_view(text.cStr(), text.size()));
  }
}
}  // namespace

void fill_outcome(wire::DeployResult::Builder b, DeployOutcome outcome) {
  b.setOutcome(std::string(to_string(outcome)));
  b.setOutcomeKind(outcome_to_wire(outcome));
}

void fill_outcome(wire::DeployInfo::Builder b, DeployOutcome outcome) {
  b.setOutcome(std::string(to_string(outcome)));
  b.setOutcomeKind(outcome_to_wire(outcome));
}

std::optional<DeployOutcome> read_outcome(wire::DeployResult::Reader r) {
  return outcome_from_wire(r.getOutcomeKind(), r.getOutcome());
}

std::optional<DeployOutcome> read_outcome(wire::DeployInfo::Reader r) {
  return outcome_from_wire(r.getOutcomeKind(), r.getOutcome());
}

DeployReport read(wire::DeployResult::Reader r) {
  DeployReport out;
  out.outcome = read_outcome(r).value_or(DeployOutcome::kFailed);
  out.reason = r.getReason();
  out.message = r.getMessage();
  if (r.getHasProbe()) out.probe = read(r.getProbe());
  out.old_version = r.getOldVersion();
  out.new_version = r.getNewVersion();
  out.switch_old = r.getSwitchOld();
  out.switch_new = r.getSwitchNew();
  return out;
}

std::string to_string(wire::ErrorCode code) {
  switch (code) {
    case wire::ErrorCode::INTERNAL:
      return "internal";
    case wire::ErrorCode::UNIMPLEMENTED:
      return "unimplemented";
    case wire::ErrorCode::BAD_VERSION:
      return "bad_version";
    case wire::ErrorCode::MALFORMED:
      return "malformed";
    case wire::ErrorCode::NOT_REGISTERED:
      return "not_registered";
    case wire::ErrorCode::BAD_REQUEST:
      return "bad_request";
    case wire::ErrorCode::NOT_FOUND:
      return "not_found";
    case wire::ErrorCode::UNAVAILABLE:
      return "unavailable";
    case wire::ErrorCode::REFUSED:
      return "refused";
    case wire::ErrorCode::FORBIDDEN:
      return "forbidden";
  }
  return "unknown";
}

}  // namespace yardstick::wire_io
