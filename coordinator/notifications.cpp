#include "coordinator/notifications.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <ctime>
#include <nlohmann/json.hpp>

#include "common/text.hpp"

namespace yardstick {

namespace {

using json = nlohmann::json;

constexpr size_t kTextMessageChars = 300;  // of the message, in the one-line text

bool rolled_back(const JobEnd& end) {
  return end.kind == JobKind::kDeploy && end.rolled_back;
}

json time_or_null(int64_t unix_us) {
  if (unix_us <= 0) return nullptr;
  const std::time_t seconds = static_cast<std::time_t>(unix_us / 1'000'000);
  std::tm tm{};
  gmtime_r(&seconds, &tm);
  char buf[64];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                static_cast<int>((unix_us / 1000) % 1000));
  return buf;
}

std::optional<double> duration_s(const JobEnd& end) {
  if (end.started_at_us <= 0 || end.ended_at_us < end.started_at_us) return std::nullopt;
  return std::round((end.ended_at_us - end.started_at_us) / 1e3) / 1e3;
}

// Slack's text: &, < and > are its markup, and must be escaped.
std::string slack_escape(std::string_view text) {
  std::string out;
  for (char c : text) {
    if (c == '&')
      out += "&amp;";
    else if (c == '<')
      out += "&lt;";
    else if (c == '>')
      out += "&gt;";
    else
      out += c;
  }
  return out;
}

// The message on one line, cut at kTextMessageChars (at a character boundary).
std::string one_line(std::string_view text) {
  std::string out;
  for (char c : text) {
    const bool space = c == '\n' || c == '\r' || c == '\t';
    if (space && (out.empty() || out.back() == ' ')) continue;
    out += space ? ' ' : c;
  }
  while (!out.empty() && out.back() == ' ') out.pop_back();
  if (out.size() > kTextMessageChars) {
    size_t cut = kTextMessageChars;
    while (cut > 0 && (static_cast<unsigned char>(out[cut]) & 0xC0) == 0x80) --cut;
    out = out.substr(0, cut) + "...";
  }
  return out;
}

std::string outcome_words(const JobEnd& end) {
  std::string words(to_string(end.state));
  std::replace(words.begin(), words.end(), '_', ' ');
  if (rolled_back(end)) words += " (rolled back)";
  if (end.over_budget) words += " (over budget)";
  return words;
}

}  // namespace

std::vector<std::string> job_end_events(const JobEnd& end) {
  if (end.kind == JobKind::kCalibrate) return {};
  std::vector<std::string> events;
  switch (end.state) {
    case JobState::kSucceeded:
      if (end.over_budget) events.push_back("over_budget");
      events.push_back("succeeded");
      break;
    case JobState::kFailed:
    case JobState::kTimedOut:
      if (rolled_back(end)) events.push_back("rolled_back");
      events.push_back("failed");
      if (end.over_budget) events.push_back("over_budget");
      break;
    default:  // cancelled (someone asked for it), skipped (its need notified)
      break;
  }
  return events;
}

std::optional<std::string> event_for(const Webhook& hook, const std::vector<std::string>& events) {
  for (const auto& e : events)
    if (std::find(hook.on.begin(), hook.on.end(), e) != hook.on.end()) return e;
  return std::nullopt;
}

std::string notification_text(const JobEnd& end) {
  std::string line = "yardstick: pipeline " + end.pipeline + " #" +
                     std::to_string(end.pipeline_id) + " job " + end.job + " " + outcome_words(end);
  if (auto d = duration_s(end)) {
    char buf[32];
    std::snprintf(buf, sizeof buf, " in %.1f s", *d);
    line += buf;
  }
  if (!end.agent.empty()) line += " on agent " + end.agent;
  if (!end.revision.empty()) line += " at revision " + end.revision.substr(0, 12);
  if (const std::string m = one_line(end.message); !m.empty()) line += ": " + m;
  return slack_escape(valid_text(line));
}

std::string notification_json(const JobEnd& end, const std::string& event) {
  const auto d = duration_s(end);
  // Text from agents is cleaned before it is stored; cleaned here again so
  // that a document is always valid JSON (nlohmann refuses bad UTF-8).
  json doc = {
      {"text", notification_text(end)},
      {"pipeline", valid_text(end.pipeline)},
      {"pipeline_id", end.pipeline_id},
      {"job", valid_text(end.job)},
      {"job_id", end.job_id},
      {"attempt", end.attempt},
      {"kind", std::string(to_string(end.kind))},
      {"event", event},
      {"events", job_end_events(end)},
      {"state", std::string(to_string(end.state))},
      {"message", valid_text(end.message)},
      {"agent", valid_text(end.agent)},
      {"machine", valid_text(end.machine)},
      {"revision", valid_text(end.revision)},
      {"branch", valid_text(end.branch)},
      {"started_at", time_or_null(end.started_at_us)},
      {"ended_at", time_or_null(end.ended_at_us)},
      {"duration_s", d ? json(*d) : json(nullptr)},
      {"over_budget", end.over_budget},
      {"status_command", "yardstick status " + std::to_string(end.pipeline_id)},
  };
  return doc.dump();
}

std::string pipeline_notification_json(const PipelineBudgetBreach& breach) {
  char took[64];
  std::snprintf(took, sizeof took, "%.1f s", breach.actual_s);
  const std::string text =
      "yardstick: pipeline " + breach.pipeline + " #" + std::to_string(breach.pipeline_id) +
      " over budget: " + breach.budget + ", took " + took +
      (breach.revision.empty() ? std::string() : " at revision " + breach.revision.substr(0, 12));
  json doc = {
      {"text", slack_escape(valid_text(text))},
      {"pipeline", valid_text(breach.pipeline)},
      {"pipeline_id", breach.pipeline_id},
      {"job", nullptr},
      {"job_id", nullptr},
      {"attempt", nullptr},
      {"kind", nullptr},
      {"event", kPipelineOverBudget},
      {"events", json::array({kPipelineOverBudget})},
      {"state", "over_budget"},
      {"message", "over budget: " + breach.budget},
      {"agent", nullptr},
      {"machine", nullptr},
      {"revision", valid_text(breach.revision)},
      {"branch", valid_text(breach.branch)},
      {"started_at", nullptr},
      {"ended_at", nullptr},
      {"duration_s", std::round(breach.actual_s * 1e3) / 1e3},
      {"over_budget", true},
      {"budget", breach.budget},
      {"budget_s", breach.budget_ms / 1000.0},
      {"actual_s", breach.actual_s},
      {"status_command", "yardstick status " + std::to_string(breach.pipeline_id)},
  };
  return doc.dump();
}

std::string bisection_notification_json(const BisectionRecord& b, uint64_t id) {
  const std::string first_line = b.message.substr(0, b.message.find('\n'));
  const std::string text = "yardstick: bisection of " + b.pipeline + " " + b.job + " " + b.kind +
                           " " + b.what + " on " + b.machine + ": " + first_line;
  auto text_or_null = [](const std::string& t) {
    return t.empty() ? json(nullptr) : json(valid_text(t));
  };
  auto number_or_null = [](const std::optional<double>& v) { return v ? json(*v) : json(nullptr); };
  json doc = {
      {"text", slack_escape(valid_text(text))},
      {"event", kBisected},
      {"events", json::array({kBisected})},
      {"pipeline", valid_text(b.pipeline)},
      {"job", valid_text(b.job)},
      {"kind", valid_text(b.kind)},
      {"what", valid_text(b.what)},
      {"machine", valid_text(b.machine)},
      {"good", valid_text(b.good)},
      {"bad", valid_text(b.bad)},
      {"outcome", valid_text(b.outcome)},
      {"commit", text_or_null(b.commit)},
      {"subject", text_or_null(b.subject)},
      {"change_pct", number_or_null(b.change_pct)},
      {"low_pct", number_or_null(b.low_pct)},
      {"high_pct", number_or_null(b.high_pct)},
      {"steps", b.steps},
      {"runs", b.runs},
      {"seconds", b.seconds},
      {"message", valid_text(b.message)},
      {"bisection_id", id},
      {"status_command", "yardstick regressions --pipeline " + b.pipeline},
  };
  return doc.dump();
}

PipelineHooks pipeline_hooks(const PipelineDef& def) {
  PipelineHooks out;
  for (const auto& job : def.jobs)
    if (auto hooks = webhooks_for(def, job); !hooks.empty()) out[job.name] = std::move(hooks);
  return out;
}

std::optional<PipelineHooks> pipeline_hooks(const std::string& definition,
                                            const std::string& file_name, std::string* error) {
  auto parsed = parse_pipeline(definition, file_name.empty() ? "pipeline.yml" : file_name);
  if (!parsed.ok()) {
    *error = parsed.errors.front().to_string();
    return std::nullopt;
  }
  return pipeline_hooks(*parsed.pipeline);
}

void EndedJobs::persist_transition(const Job& job, JobState from, const std::string& message) {
  inner_.persist_transition(job, from, message);
  if (is_terminal(job.state)) ended_.push_back(job);
}

std::vector<Job> EndedJobs::take() {
  std::vector<Job> out;
  out.swap(ended_);
  return out;
}

}  // namespace yardstick
