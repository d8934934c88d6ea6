#include "coordinator/web/metrics.hpp"

#include <cstdio>

#include "common/types.hpp"

namespace yardstick {

namespace {

std::string number(double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.9g", v);
  return buf;
}

void header(std::string* out, const char* name, const char* type, const char* help) {
  *out += "# HELP ";
  *out += name;
  *out += ' ';
  *out += help;
  *out += "\n# TYPE ";
  *out += name;
  *out += ' ';
  *out += type;
  *out += '\n';
}

void sample(std::string* out, const std::string& name, const std::string& labels, double v) {
  *out += name;
  if (!labels.empty()) *out += "{" + labels + "}";
  *out += ' ' + number(v) + '\n';
}

// A label value: backslash, double quote and newline escaped.
std::string label_value(const std::string& v) {
  std::string out;
  for (char c : v) {
    if (c == '\\' || c == '"') out += '\\';
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    out += c;
  }
  return out;
}

}  // namespace

void DurationHistogram::observe_us(int64_t us) {
  if (us < 0) us = 0;
  const double s = static_cast<double>(us) / 1e6;
  for (size_t i = 0; i < kBounds_s.size(); ++i)
    if (s <= kBounds_s[i]) {
      buckets_[i].fetch_add(1, std::memory_order_relaxed);
      break;
    }
  sum_us_.fetch_add(static_cast<uint64_t>(us), std::memory_order_relaxed);
  count_.fetch_add(1, std::memory_order_relaxed);
}

void DurationHistogram::render(const std::string& name, std::string* out) const {
  // Read the count first: buckets observed after it only make +Inf (the
  // count) fall short of the last bucket, which Prometheus tolerates less
  // well than the reverse; so +Inf is the larger of the two.
  uint64_t cumulative = 0;
  for (size_t i = 0; i < kBounds_s.size(); ++i) {
    cumulative += buckets_[i].load(std::memory_order_relaxed);
    sample(out, name + "_bucket", "le=\"" + number(kBounds_s[i]) + "\"",
           static_cast<double>(cumulative));
  }
  const uint64_t count = std::max(cumulative, count_.load(std::memory_order_relaxed));
  sample(out, name + "_bucket", "le=\"+Inf\"", static_cast<double>(count));
  sample(out, name + "_sum", "",
         static_cast<double>(sum_us_.load(std::memory_order_relaxed)) / 1e6);
  sample(out, name + "_count", "", static_cast<double>(count));
}

void CoordinatorMetrics::publish_spool(std::map<std::string, uint64_t> backlog) {
  std::unique_lock lock(spool_mutex_, std::try_to_lock);
  if (lock.owns_lock()) spool_ = std::move(backlog);
}

std::map<std::string, uint64_t> CoordinatorMetrics::spool() const {
  std::lock_guard lock(spool_mutex_);
  return spool_;
}

std::string render_metrics(const CoordinatorMetrics& m, const StoredCounts& stored) {
  std::string out;
  out.reserve(8192);
  header(&out, "yardstick_jobs", "gauge",
         "Jobs the coordinator holds in memory (in flight, and recent ends), by state.");
  for (int i = 0; i < kMetricJobStates; ++i)
    sample(&out, "yardstick_jobs",
           "state=\"" + std::string(to_string(static_cast<JobState>(i))) + "\"",
           static_cast<double>(m.jobs_in_memory[i].load()));
  header(&out, "yardstick_job_transitions_total", "counter",
         "Job state changes since the coordinator started, by the state entered.");
  for (int i = 0; i < kMetricJobStates; ++i)
    sample(&out, "yardstick_job_transitions_total",
           "state=\"" + std::string(to_string(static_cast<JobState>(i))) + "\"",
           static_cast<double>(m.transitions[i].load()));
  header(&out, "yardstick_queue_depth", "gauge", "Jobs queued, waiting for an agent.");
  sample(&out, "yardstick_queue_depth", "", static_cast<double>(m.queue_depth.load()));
  header(&out, "yardstick_oldest_queued_age_seconds", "gauge",
         "How long the oldest queued job has waited (0: none queued).");
  sample(&out, "yardstick_oldest_queued_age_seconds", "",
         static_cast<double>(m.oldest_queued_age_ms.load()) / 1000.0);
  header(&out, "yardstick_agents_connected", "gauge", "Agents with a live session.");
  sample(&out, "yardstick_agents_connected", "", static_cast<double>(m.agents_connected.load()));
  header(&out, "yardstick_agents_draining", "gauge",
         "Connected agents that take no new job (SIGTERM or yardstick drain).");
  sample(&out, "yardstick_agents_draining", "", static_cast<double>(m.agents_draining.load()));
  header(&out, "yardstick_store_up", "gauge",
         "1 while the scheduling turn can write to PostgreSQL.");
  sample(&out, "yardstick_store_up", "", m.store_up.load() ? 1 : 0);
  header(&out, "yardstick_turns_total", "counter", "Scheduling turns that did work.");
  sample(&out, "yardstick_turns_total", "", static_cast<double>(m.turns.load()));
  header(&out, "yardstick_store_failures_total", "counter",
         "Turns undone because PostgreSQL failed.");
  sample(&out, "yardstick_store_failures_total", "", static_cast<double>(m.store_failures.load()));
  header(&out, "yardstick_store_recoveries_total", "counter",
         "Times the coordinator reloaded its state after PostgreSQL came back.");
  sample(&out, "yardstick_store_recoveries_total", "",
         static_cast<double>(m.store_recoveries.load()));
  header(&out, "yardstick_results_acknowledged_total", "counter",
         "Agent results committed and acknowledged.");
  sample(&out, "yardstick_results_acknowledged_total", "",
         static_cast<double>(m.results_acknowledged.load()));
  header(&out, "yardstick_dispatch_latency_seconds", "histogram",
         "From a job's queueing (or its last wait) to its assignment to an agent.");
  m.dispatch_latency.render("yardstick_dispatch_latency_seconds", &out);
  header(&out, "yardstick_turn_duration_seconds", "histogram",
         "One scheduling turn that did work: frames read to answers sent.");
  m.turn_duration.render("yardstick_turn_duration_seconds", &out);
  header(&out, "yardstick_store_commit_seconds", "histogram",
         "The commit of one turn's writes (group commit).");
  m.store_commit.render("yardstick_store_commit_seconds", &out);
  header(&out, "yardstick_agent_spool_backlog", "gauge",
         "Results an agent holds that the coordinator has not acknowledged yet, as its last "
         "heartbeat said.");
  for (const auto& [agent, n] : m.spool())
    sample(&out, "yardstick_agent_spool_backlog", "agent=\"" + label_value(agent) + "\"",
           static_cast<double>(n));
  if (stored.available) {
    header(&out, "yardstick_refusals_total", "counter",
           "Messages refused as their peer's fault, by message kind (stored in refusals).");
    for (const auto& [what, n] : stored.refusals)
      sample(&out, "yardstick_refusals_total", "what=\"" + label_value(what) + "\"",
             static_cast<double>(n));
  }
  return out;
}

}  // namespace yardstick
