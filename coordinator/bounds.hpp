// Every number and every text a peer sends has a bound, written once: here,
// in one table (bounds()), mirrored in docs/protocol.md ("Bounds") and held
// against it by a test. The intake checks each message against it before
// anything indexes, allocates or stores with a value; a value out of bounds
// is the peer's fault: PeerError, refused and recorded, never retried.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "coordinator/handlers.hpp"
#include "coordinator/job_table.hpp"
#include "schema/yardstick.capnp.h"

namespace yardstick::bounds {

// Unix times (microseconds) a peer may send: 0 (unknown), or from
// 2000-01-01 to 2200-01-01.
constexpr int64_t kMinTimeUs = 946'684'800'000'000;
constexpr int64_t kMaxTimeUs = 7'258'118'400'000'000;
// A measured duration: ten years (wall), and CPU time of ten years on 1,024 cores.
constexpr uint64_t kMaxWallNs = 315'576'000ull * 1'000'000'000ull;
constexpr uint64_t kMaxCpuUs = 315'576'000ull * 1'000'000ull * 1024;
constexpr uint64_t kMaxRssKb = uint64_t{1} << 40;
constexpr uint64_t kMaxCount = static_cast<uint64_t>(INT64_MAX);  // PostgreSQL's bigint
constexpr int32_t kMaxSignal = 64;
// A result's sequence number stays below the log cap's marker (2^62).
constexpr uint64_t kMaxSeq = (uint64_t{1} << 62) - 1;
constexpr uint32_t kMaxAttempt = static_cast<uint32_t>(INT32_MAX);
// Counted runs of one variant when the bench sets neither runs nor max_runs.
constexpr uint32_t kMaxAdaptiveRuns = 1'000'000;
constexpr size_t kMaxCalibrationTimes = 100'000;
// What an hour of an agent costs (AgentHello.hourlyCost), in any currency.
constexpr double kMaxHourlyCost = 1e6;

// Texts, in bytes.
constexpr size_t kNameBytes = 256;  // agent, machine, label, tool, variant, benchmark, unit...
constexpr size_t kStepNameBytes = 4096;
constexpr size_t kMetricNameBytes = 4096;  // a ninja target is a path
constexpr size_t kMessageBytes = 64 << 10;
constexpr size_t kCommandBytes = 1 << 20;
constexpr size_t kLogChunkBytes = 1 << 20;
constexpr size_t kMachineTextBytes = 1024;

// What a client records of a bisection (wire Bisection).
constexpr uint32_t kMaxBisectionCount = 1'000'000;  // steps, runs
constexpr double kMaxBisectionNumber = 1e9;         // percentages, seconds

// Lists.
constexpr size_t kMaxLabels = 256;
constexpr size_t kMaxTools = 256;
constexpr size_t kMaxHeldJobs = 4096;
constexpr uint64_t kMaxSpoolBacklog = uint64_t{1} << 40;  // results an agent holds unacknowledged
constexpr uint32_t kMaxSlots = 1024;

// One row of the table: a field of a message and its bound in words.
struct Bound {
  std::string_view field;  // "Sample.variantIndex"
  std::string_view rule;   // "< the job's variant count (1 without variants)"
};
const std::vector<Bound>& table();

// What a job allows of the results that name it.
struct JobLimits {
  uint32_t steps = 0;     // step indices 0..steps (steps: the job's end, after its last step)
  uint32_t variants = 1;  // a bench's variants; 1 without variants
  uint32_t runs = 0;      // counted runs of one variant (0: not a bench)
};
JobLimits limits_of(const Job& job);

// Each throws PeerError naming the field, the value and its bound.
void check_key(const ResultKey& key);
void check(wire::StepStarted::Reader m, const JobLimits& job);
void check(wire::StepFinished::Reader m, const JobLimits& job);
void check(wire::LogChunk::Reader m, const JobLimits& job);
void check(wire::JobFinished::Reader m);
void check(wire::Sample::Reader m, const JobLimits& job);
void check(wire::Metric::Reader m, const JobLimits& job);
void check(wire::Calibration::Reader m);
void check(wire::DeployPhase::Reader m);
void check(wire::DeployResult::Reader m);
void check(wire::AgentHello::Reader m);
void check(wire::Heartbeat::Reader m);

// Texts of clients: a name (agent, report, parameter) and a value.
void check_text(std::string_view field, capnp::Text::Reader text, size_t max_bytes);

}  // namespace yardstick::bounds
