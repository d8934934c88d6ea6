#include "common/types.hpp"

#include "common/numbers.hpp"

#include <array>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace yardstick {

std::string_view to_string(StopReason reason) {
  switch (reason) {
    case StopReason::kRuns:
      return "runs";
    case StopReason::kPrecision:
      return "precision";
    case StopReason::kMaxRuns:
      return "max_runs";
    case StopReason::kMaxTime:
      return "max_time";
    case StopReason::kMinRuns:
      return "min_runs";
  }
  return "?";
}

std::optional<StopReason> stop_reason_from_code(double code) {
  for (auto r : {StopReason::kRuns, StopReason::kPrecision, StopReason::kMaxRuns,
                 StopReason::kMaxTime, StopReason::kMinRuns})
    if (code == static_cast<double>(static_cast<int>(r))) return r;
  return std::nullopt;
}

namespace {
constexpr std::array<std::pair<JobState, std::string_view>, 10> kStateNames{{
    {JobState::kPending, "pending"},
    {JobState::kQueued, "queued"},
    {JobState::kAssigned, "assigned"},
    {JobState::kRunning, "running"},
    {JobState::kSucceeded, "succeeded"},
    {JobState::kFailed, "failed"},
    {JobState::kTimedOut, "timed_out"},
    {JobState::kCancelled, "cancelled"},
    {JobState::kSkipped, "skipped"},
    {JobState::kLost, "lost"},
}};

// FNV-1a, 64 bit: a stable digest that needs no crypto library.
uint64_t fnv1a(std::string_view data, uint64_t hash = 1469598103934665603ull) {
  for (unsigned char c : data) {
    hash ^= c;
    hash *= 1099511628211ull;
  }
  return hash;
}
}  // namespace

std::string_view to_string(JobKind kind) {
  switch (kind) {
    case JobKind::kBuild:
      return "build";
    case JobKind::kBench:
      return "bench";
    case JobKind::kDeploy:
      return "deploy";
    case JobKind::kCalibrate:
      return "calibrate";
  }
  return "build";
}

std::optional<JobKind> parse_job_kind(std::string_view text) {
  for (auto k : {JobKind::kBuild, JobKind::kBench, JobKind::kDeploy, JobKind::kCalibrate})
    if (to_string(k) == text) return k;
  return std::nullopt;
}

std::string_view to_string(JobNote note) {
  switch (note) {
    case JobNote::kNone:
      return "";
    case JobNote::kNoAgent:
      return "no_agent";
    case JobNote::kConcurrency:
      return "concurrency";
    case JobNote::kNeedEnded:
      return "need_ended";
    case JobNote::kRegressed:
      return "regressed";
    case JobNote::kUnjudgeable:
      return "unjudgeable";
  }
  return "";
}

JobNote parse_job_note(std::string_view text) {
  for (auto n : {JobNote::kNoAgent, JobNote::kConcurrency, JobNote::kNeedEnded, JobNote::kRegressed,
                 JobNote::kUnjudgeable})
    if (to_string(n) == text) return n;
  return JobNote::kNone;
}

std::string_view to_string(JobState state) {
  for (const auto& [s, name] : kStateNames)
    if (s == state) return name;
  return "unknown";
}

std::optional<JobState> parse_job_state(std::string_view text) {
  for (const auto& [s, name] : kStateNames)
    if (name == text) return s;
  return std::nullopt;
}

bool is_terminal(JobState state) {
  switch (state) {
    case JobState::kSucceeded:
    case JobState::kFailed:
    case JobState::kTimedOut:
    case JobState::kCancelled:
    case JobState::kSkipped:
      return true;
    default:
      return false;
  }
}

std::string MetricBound::text() const {
  return metric + " " + op + " " + exact_number(value);
}

bool MetricBound::holds(double actual) const {
  if (op == ">=") return actual >= value;
  if (op == "<=") return actual <= value;
  if (op == ">") return actual > value;
  if (op == "<") return actual < value;
  return false;
}

std::optional<MetricBound> parse_metric_bound(const std::string& metric, const std::string& expr) {
  size_t i = 0;
  while (i < expr.size() && expr[i] == ' ') ++i;
  std::string op;
  for (const char* candidate : {">=", "<=", ">", "<"}) {
    if (expr.compare(i, std::strlen(candidate), candidate) == 0) {
      op = candidate;
      break;
    }
  }
  if (op.empty()) return std::nullopt;
  std::string rest = expr.substr(i + op.size());
  char* end = nullptr;
  double value = std::strtod(rest.c_str(), &end);
  if (end == rest.c_str()) return std::nullopt;
  while (*end == ' ') ++end;
  if (*end != '\0' || !std::isfinite(value)) return std::nullopt;
  return MetricBound{metric, op, value};
}

JobState to_job_state(JobOutcome outcome) {
  switch (outcome) {
    case JobOutcome::kSucceeded:
      return JobState::kSucceeded;
    case JobOutcome::kFailed:
      return JobState::kFailed;
    case JobOutcome::kTimedOut:
      return JobState::kTimedOut;
    case JobOutcome::kCancelled:
      return JobState::kCancelled;
    case JobOutcome::kLost:
      return JobState::kLost;
  }
  return JobState::kFailed;
}

std::string MachineInfo::fingerprint() const {
  std::string all = name + '\0' + cpu_model + '\0' + std::to_string(logical_cores) + '\0' +
                    std::to_string(memory_bytes) + '\0' + os_release + '\0' + kernel + '\0' + arch;
  for (const auto& t : tools) all += '\0' + t.name + '=' + t.version;
  if (!governor.empty()) all += std::string("\0governor=", 10) + governor;
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(fnv1a(all)));
  return buf;
}

Labels parse_labels(std::string_view text) {
  Labels labels;
  size_t pos = 0;
  while (pos <= text.size()) {
    size_t comma = text.find(',', pos);
    if (comma == std::string_view::npos) comma = text.size();
    std::string_view item = text.substr(pos, comma - pos);
    while (!item.empty() && item.front() == ' ') item.remove_prefix(1);
    while (!item.empty() && item.back() == ' ') item.remove_suffix(1);
    if (!item.empty()) labels.insert(std::string(item));
    pos = comma + 1;
  }
  return labels;
}

std::string format_labels(const Labels& labels) {
  std::string out;
  for (const auto& l : labels) {
    if (!out.empty()) out += ',';
    out += l;
  }
  return out;
}

bool labels_match(const Labels& have, const Labels& wanted) {
  for (const auto& l : wanted)
    if (!have.count(l)) return false;
  return true;
}

}  // namespace yardstick
