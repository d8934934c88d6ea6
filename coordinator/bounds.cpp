#include "coordinator/bounds.hpp"

#include <cmath>
#include <limits>

#include "common/wire.hpp"

namespace yardstick::bounds {

namespace {

[[noreturn]] void out_of_bounds(std::string_view field, const std::string& value,
                                std::string_view rule) {
  throw PeerError(std::string(field) + " " + value + " is out of bounds (" + std::string(rule) +
                  ")");
}

void at_most(std::string_view field, uint64_t value, uint64_t max, std::string_view rule) {
  if (value > max) out_of_bounds(field, std::to_string(value), rule);
}

void index_below(std::string_view field, int64_t value, int64_t low, int64_t end,
                 std::string_view rule) {
  if (value < low || value >= end) out_of_bounds(field, std::to_string(value), rule);
}

void time_us(std::string_view field, int64_t value) {
  if (value != 0 && (value < kMinTimeUs || value > kMaxTimeUs))
    out_of_bounds(field, std::to_string(value), "0, or a time from 2000 to 2200 in unix µs");
}

void text(std::string_view field, capnp::Text::Reader t, size_t max) {
  if (t.size() > max)
    out_of_bounds(field, "of " + std::to_string(t.size()) + " bytes",
                  "at most " + std::to_string(max) + " bytes");
}

void data(std::string_view field, capnp::Data::Reader d, size_t max) {
  if (d.size() > max)
    out_of_bounds(field, "of " + std::to_string(d.size()) + " bytes",
                  "at most " + std::to_string(max) + " bytes");
}

void list(std::string_view field, size_t n, size_t max) {
  if (n > max)
    out_of_bounds(field, "of " + std::to_string(n) + " entries", "at most " + std::to_string(max));
}

// NaN (unknown) or a finite value in [low, high].
void optional_in(std::string_view field, double value, double low, double high) {
  if (std::isnan(value)) return;
  if (!(value >= low && value <= high))
    out_of_bounds(field, std::to_string(value), "unknown (NaN) or finite, within its range");
}

void finite_at_least_0(std::string_view field, double value) {
  if (!std::isfinite(value) || value < 0)
    out_of_bounds(field, std::to_string(value), "finite, at least 0");
}

// What a run or a step measured: durations, memory, exit, context.
template <typename R>
void measured(std::string_view message, R m) {
  const std::string p = std::string(message) + ".";
  at_most(p + "wallNs", m.getWallNs(), kMaxWallNs, "at most ten years");
  at_most(p + "userUs", m.getUserUs(), kMaxCpuUs, "at most ten years on 1,024 cores");
  at_most(p + "sysUs", m.getSysUs(), kMaxCpuUs, "at most ten years on 1,024 cores");
  at_most(p + "maxRssKb", m.getMaxRssKb(), kMaxRssKb, "at most 2^40 KiB");
  if (m.getSignal() < 0 || m.getSignal() > kMaxSignal)
    out_of_bounds(p + "signal", std::to_string(m.getSignal()), "0 to 64");
  // Counters: all ones is "not counted"; anything else fits a bigint.
  for (auto [name, v] : {std::pair<const char*, uint64_t>{"volCtx", m.getVolCtx()},
                         {"involCtx", m.getInvolCtx()},
                         {"taskClockNs", m.getTaskClockNs()},
                         {"instructions", m.getInstructions()},
                         {"cycles", m.getCycles()}})
    if (v != std::numeric_limits<uint64_t>::max())
      at_most(p + name, v, kMaxCount, "at most 2^63 - 1, or 2^64 - 1 for not counted");
  optional_in(p + "stealPct", m.getStealPct(), 0, 100);
  optional_in(p + "iowaitPct", m.getIowaitPct(), 0, 100);
  optional_in(p + "load1", m.getLoad1(), 0, 1e6);
  optional_in(p + "cpuMhz", m.getCpuMhz(), 0, 1e6);
  optional_in(p + "foreignShare", m.getForeignShare(), 0, 1);
  optional_in(p + "cpuPressure", m.getCpuPressure(), 0, 100);
}

}  // namespace

const std::vector<Bound>& table() {
  static const std::vector<Bound> all = {
      {"ResultKey.jobId", "1 to 2^63 - 1"},
      {"ResultKey.attempt", "1 to 2^31 - 1"},
      {"ResultKey.seq", "below 2^62 (the log cap's marker)"},
      {"StepStarted.index", "0 to the job's step count"},
      {"StepStarted.name", "at most 4,096 bytes"},
      {"StepStarted.startedAtUs", "0, or a time from 2000 to 2200"},
      {"StepFinished.index", "0 to the job's step count"},
      {"StepFinished.name", "at most 4,096 bytes"},
      {"StepFinished.command", "at most 1 MiB"},
      {"StepFinished.revision", "at most 256 bytes"},
      {"StepFinished.startedAtUs, endedAtUs", "0, or a time from 2000 to 2200"},
      {"StepFinished.wallNs", "at most ten years"},
      {"StepFinished.userUs, sysUs", "at most ten years on 1,024 cores"},
      {"StepFinished.maxRssKb", "at most 2^40 KiB"},
      {"StepFinished.signal", "0 to 64"},
      {"StepFinished.volCtx, involCtx, taskClockNs, instructions, cycles",
       "at most 2^63 - 1, or 2^64 - 1 for not counted"},
      {"StepFinished.stealPct, iowaitPct", "NaN (unknown) or 0 to 100"},
      {"StepFinished.load1, cpuMhz", "NaN (unknown) or 0 to 10^6"},
      {"StepFinished.foreignShare", "NaN (unknown) or 0 to 1"},
      {"StepFinished.cpuPressure", "NaN (unknown) or 0 to 100"},
      {"LogChunk.stepIndex", "-1 (no step) to the job's step count"},
      {"LogChunk.data", "at most 1 MiB"},
      {"LogChunk.atUs", "0, or a time from 2000 to 2200"},
      {"JobFinished.message", "at most 64 KiB"},
      {"JobFinished.endedAtUs", "0, or a time from 2000 to 2200"},
      {"Sample.variantIndex", "below the job's variant count (1 without variants)"},
      {"Sample.index, round", "below the bench's run limit: runs, else max_runs, else 10^6"},
      {"Sample.position", "below the job's variant count"},
      {"Sample.variant", "at most 256 bytes"},
      {"Sample.atUs", "0, or a time from 2000 to 2200"},
      {"Sample.wallNs, userUs, sysUs, maxRssKb, signal, counters, context", "as StepFinished's"},
      {"Metric.stepIndex", "-1 (a run) to the job's step count"},
      {"Metric.runIndex", "-1 (a step) or below the bench's run limit"},
      {"Metric.name", "1 to 4,096 bytes"},
      {"Metric.unit, variant", "at most 256 bytes"},
      {"Metric.value", "finite"},
      {"Calibration.benchmark", "1 to 256 bytes"},
      {"Calibration.timesS", "at most 100,000 entries"},
      {"DeployPhase.name", "1 to 256 bytes"},
      {"DeployPhase.detail", "at most 64 KiB"},
      {"DeployPhase.startUs, endUs", "a time from 2000 to 2200; the end not before the start"},
      {"DeployResult.outcome", "succeeded, failed, rolled back or rollback failed"},
      {"DeployResult.reason", "at most 256 bytes"},
      {"DeployResult.message", "at most 64 KiB"},
      {"DeployResult.oldVersion, newVersion", "at most 4,096 bytes"},
      {"DeployResult.switchOld, switchNew, probe counts", "at most 2^63 - 1"},
      {"DeployResult.probe times (ms)", "finite, at least 0"},
      {"AgentHello.name", "1 to 256 bytes"},
      {"AgentHello.slots", "1 to 1,024"},
      {"AgentHello.labels", "at most 256, each key and value at most 256 bytes"},
      {"AgentHello.machine texts", "at most 1,024 bytes each"},
      {"AgentHello.machine.tools", "at most 256, each name and version at most 256 bytes"},
      {"AgentHello.agentVersion, incarnation, host", "at most 256 bytes"},
      {"AgentHello.heldJobs, Heartbeat.heldJobs", "at most 4,096"},
      {"Heartbeat.spoolBacklog", "at most 2^40"},
      {"AgentHello.hourlyCost", "-1 (not said), or 0 to 1,000,000"},
      {"Submit.revision, branch, submitter", "at most 256 bytes"},
      {"Submit.fileName, bisection", "at most 4,096 bytes"},
      {"ReportRequest.name, params' keys", "at most 256 bytes"},
      {"ReportRequest.params", "at most 256, each value at most 4,096 bytes"},
      {"DrainRequest.agent, CalibrateRequest.agent", "at most 256 bytes"},
      {"Bisection.pipeline, job, kind, machine, good, bad, outcome, commit", "at most 256 bytes"},
      {"Bisection.what, subject", "at most 4,096 bytes"},
      {"Bisection.message", "at most 64 KiB"},
      {"Bisection.steps, runs", "at most 1,000,000"},
      {"Bisection.changePct, lowPct, highPct, seconds", "finite, within ±1e9; seconds ≥ 0"},
      {"StatusRequest.id, CancelRequest.id, LogsRequest.jobId", "1 to 2^63 - 1"},
      {"LogsRequest.maxBytes", "0 (1 MiB) or any; served at most 8 MiB"},
  };
  return all;
}

JobLimits limits_of(const Job& job) {
  JobLimits out;
  const JobAssignment& spec = job.spec;
  const uint32_t checkout = spec.checkout_repo.empty() ? 0 : 1;
  switch (spec.kind) {
    case JobKind::kCalibrate:
    case JobKind::kDeploy:
      out.steps = checkout + 1;
      break;
    default:
      out.steps = checkout + static_cast<uint32_t>(spec.steps.size());
  }
  out.variants = std::max<uint32_t>(1, static_cast<uint32_t>(spec.variants.size()));
  if (spec.bench)
    out.runs = spec.bench->runs       ? spec.bench->runs
               : spec.bench->max_runs ? spec.bench->max_runs
                                      : kMaxAdaptiveRuns;
  return out;
}

void check_key(const ResultKey& key) {
  if (key.job_id == 0) out_of_bounds("ResultKey.jobId", "0", "1 to 2^63 - 1");
  at_most("ResultKey.jobId", key.job_id, kMaxCount, "1 to 2^63 - 1");
  if (key.attempt == 0) out_of_bounds("ResultKey.attempt", "0", "1 to 2^31 - 1");
  at_most("ResultKey.attempt", key.attempt, kMaxAttempt, "1 to 2^31 - 1");
  at_most("ResultKey.seq", key.seq, kMaxSeq, "below 2^62");
}

void check(wire::StepStarted::Reader m, const JobLimits& job) {
  at_most("StepStarted.index", m.getIndex(), job.steps, "0 to the job's step count");
  text("StepStarted.name", m.getName(), kStepNameBytes);
  time_us("StepStarted.startedAtUs", m.getStartedAtUs());
}

void check(wire::StepFinished::Reader m, const JobLimits& job) {
  at_most("StepFinished.index", m.getIndex(), job.steps, "0 to the job's step count");
  text("StepFinished.name", m.getName(), kStepNameBytes);
  text("StepFinished.command", m.getCommand(), kCommandBytes);
  text("StepFinished.revision", m.getRevision(), kNameBytes);
  time_us("StepFinished.startedAtUs", m.getStartedAtUs());
  time_us("StepFinished.endedAtUs", m.getEndedAtUs());
  measured("StepFinished", m);
}

void check(wire::LogChunk::Reader m, const JobLimits& job) {
  index_below("LogChunk.stepIndex", m.getStepIndex(), -1, int64_t{job.steps} + 1,
              "-1 to the job's step count");
  data("LogChunk.data", m.getData(), kLogChunkBytes);
  time_us("LogChunk.atUs", m.getAtUs());
}

void check(wire::JobFinished::Reader m) {
  text("JobFinished.message", m.getMessage(), kMessageBytes);
  time_us("JobFinished.endedAtUs", m.getEndedAtUs());
}

void check(wire::Sample::Reader m, const JobLimits& job) {
  if (job.runs == 0) throw PeerError("a sample for a job that is not a bench");
  index_below("Sample.variantIndex", m.getVariantIndex(), 0, job.variants,
              "below the job's variant count, " + std::to_string(job.variants));
  index_below("Sample.index", m.getIndex(), 0, job.runs,
              "below the bench's run limit, " + std::to_string(job.runs));
  // Absent (all ones) in what an older agent sent.
  if (m.getRound() != 0xffffffffu)
    index_below("Sample.round", m.getRound(), 0, job.runs,
                "below the bench's run limit, " + std::to_string(job.runs));
  if (m.getPosition() != 0xffffffffu)
    index_below("Sample.position", m.getPosition(), 0, job.variants,
                "below the job's variant count, " + std::to_string(job.variants));
  text("Sample.variant", m.getVariant(), kNameBytes);
  time_us("Sample.atUs", m.getAtUs());
  measured("Sample", m);
}

void check(wire::Metric::Reader m, const JobLimits& job) {
  index_below("Metric.stepIndex", m.getStepIndex(), -1, int64_t{job.steps} + 1,
              "-1 to the job's step count");
  if (m.getRunIndex() != -1)
    index_below("Metric.runIndex", m.getRunIndex(), 0, job.runs,
                "-1, or below the bench's run limit, " + std::to_string(job.runs));
  if (m.getName().size() == 0) out_of_bounds("Metric.name", "(empty)", "1 to 4,096 bytes");
  text("Metric.name", m.getName(), kMetricNameBytes);
  text("Metric.unit", m.getUnit(), kNameBytes);
  text("Metric.variant", m.getVariant(), kNameBytes);
  if (!std::isfinite(m.getValue()))
    out_of_bounds("Metric.value", std::to_string(m.getValue()), "finite");
}

void check(wire::Calibration::Reader m) {
  if (m.getBenchmark().size() == 0)
    out_of_bounds("Calibration.benchmark", "(empty)", "1 to 256 bytes");
  text("Calibration.benchmark", m.getBenchmark(), kNameBytes);
  list("Calibration.timesS", m.getTimesS().size(), kMaxCalibrationTimes);
}

void check(wire::DeployPhase::Reader m) {
  if (m.getName().size() == 0) out_of_bounds("DeployPhase.name", "(empty)", "1 to 256 bytes");
  text("DeployPhase.name", m.getName(), kNameBytes);
  text("DeployPhase.detail", m.getDetail(), kMessageBytes);
  time_us("DeployPhase.startUs", m.getStartUs());
  time_us("DeployPhase.endUs", m.getEndUs());
  if (m.getStartUs() <= 0 || m.getEndUs() < m.getStartUs())
    throw PeerError("DeployPhase: a phase without a start, or with an end before its start");
}

void check(wire::DeployResult::Reader m) {
  if (!wire_io::read_outcome(m))
    out_of_bounds("DeployResult.outcome", "'" + std::string(m.getOutcome().cStr()) + "'",
                  "succeeded, failed, rolled back or rollback failed");
  text("DeployResult.reason", m.getReason(), kNameBytes);
  text("DeployResult.message", m.getMessage(), kMessageBytes);
  text("DeployResult.oldVersion", m.getOldVersion(), kStepNameBytes);
  text("DeployResult.newVersion", m.getNewVersion(), kStepNameBytes);
  at_most("DeployResult.switchOld", m.getSwitchOld(), kMaxCount, "at most 2^63 - 1");
  at_most("DeployResult.switchNew", m.getSwitchNew(), kMaxCount, "at most 2^63 - 1");
  if (m.getHasProbe()) {
    auto p = m.getProbe();
    for (auto [name, v] : {std::pair<const char*, uint64_t>{"sent", p.getSent()},
                           {"failed", p.getFailed()},
                           {"status", p.getStatus()},
                           {"refused", p.getRefused()},
                           {"reset", p.getReset()},
                           {"timeout", p.getTimeout()},
                           {"other", p.getOther()},
                           {"late", p.getLate()}})
      at_most(std::string("DeployResult.probe.") + name, v, kMaxCount, "at most 2^63 - 1");
    finite_at_least_0("DeployResult.probe.longestOutageMs", p.getLongestOutageMs());
    finite_at_least_0("DeployResult.probe.p50Ms", p.getP50Ms());
    finite_at_least_0("DeployResult.probe.p99Ms", p.getP99Ms());
  }
}

void check(wire::AgentHello::Reader m) {
  if (m.getName().size() == 0) out_of_bounds("AgentHello.name", "(empty)", "1 to 256 bytes");
  text("AgentHello.name", m.getName(), kNameBytes);
  if (m.getSlots() == 0 || m.getSlots() > kMaxSlots)
    out_of_bounds("AgentHello.slots", std::to_string(m.getSlots()), "1 to 1,024");
  if (const double cost = m.getHourlyCost();
      cost != -1 && !(cost >= 0 && cost <= kMaxHourlyCost))  // NaN fails both
    out_of_bounds("AgentHello.hourlyCost", std::to_string(cost),
                  "-1 (not said), or 0 to 1,000,000");
  list("AgentHello.labels", m.getLabels().size(), kMaxLabels);
  for (auto l : m.getLabels()) {
    text("AgentHello.labels key", l.getKey(), kNameBytes);
    text("AgentHello.labels value", l.getValue(), kNameBytes);
  }
  auto machine = m.getMachine();
  for (auto [name, t] : {std::pair<const char*, capnp::Text::Reader>{"name", machine.getName()},
                         {"cpuModel", machine.getCpuModel()},
                         {"osRelease", machine.getOsRelease()},
                         {"kernel", machine.getKernel()},
                         {"arch", machine.getArch()},
                         {"governor", machine.getGovernor()}})
    text(std::string("AgentHello.machine.") + name, t, kMachineTextBytes);
  list("AgentHello.machine.tools", machine.getTools().size(), kMaxTools);
  for (auto t : machine.getTools()) {
    text("AgentHello.machine.tools name", t.getName(), kNameBytes);
    text("AgentHello.machine.tools version", t.getVersion(), kNameBytes);
  }
  text("AgentHello.agentVersion", m.getAgentVersion(), kNameBytes);
  text("AgentHello.incarnation", m.getIncarnation(), kNameBytes);
  text("AgentHello.host", m.getHost(), kNameBytes);
  list("AgentHello.heldJobs", m.getHeldJobs().size(), kMaxHeldJobs);
}

void check(wire::Heartbeat::Reader m) {
  list("Heartbeat.heldJobs", m.getHeldJobs().size(), kMaxHeldJobs);
  at_most("Heartbeat.spoolBacklog", m.getSpoolBacklog(), kMaxSpoolBacklog, "at most 2^40");
}

void check_text(std::string_view field, capnp::Text::Reader t, size_t max_bytes) {
  text(field, t, max_bytes);
}

}  // namespace yardstick::bounds
