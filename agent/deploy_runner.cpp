#include "agent/deploy_runner.hpp"

#include <algorithm>
#include <cstdio>
#include <map>
#include <memory>
#include <thread>

#include "agent/health.hpp"
#include "common/text.hpp"

namespace yardstick {

const char* outcome_name(DeployOutcome o) {
  return to_string(o).data();  // the names are literals: NUL-terminated
}

int64_t DeployHooks::now_us() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

namespace {

std::string expand_revision(std::string s, const std::string& revision) {
  const std::string key = "${YARDSTICK_REVISION}";
  for (size_t at; (at = s.find(key)) != std::string::npos;) s.replace(at, key.size(), revision);
  return s;
}

bool wants_rollback(const DeploySpec& spec, const std::string& reason) {
  if (!spec.rollback || spec.rollback->run.empty()) return false;
  const auto& on = spec.rollback->on;
  return std::find(on.begin(), on.end(), reason) != on.end();
}

// Sleeps until `until` (system clock, us) unless the job is cancelled.
void sleep_until_us(DeployHooks& hooks, int64_t until) {
  while (!hooks.cancelled()) {
    const int64_t left = until - hooks.now_us();
    if (left <= 0) return;
    std::this_thread::sleep_for(std::chrono::microseconds(std::min<int64_t>(left, 100'000)));
  }
}

struct GateResult {
  bool passed = false;
  std::optional<int64_t> first_healthy_us, passed_us;
  std::string describe;
};

// The health gate, with the version check folded in: a check is good when
// the service is healthy and, with `version`, reports `expected_version`.
GateResult health_gate(const HealthSpec& h, const std::optional<VersionSpec>& version,
                       const std::string& expected_version, DeployHooks& hooks,
                       const std::string& what) {
  using Ms = std::chrono::milliseconds;
  HealthGate gate(h);
  const int64_t start = hooks.now_us();
  std::string last_error;
  GateResult out;
  for (int64_t next = start; !gate.done() && !hooks.cancelled();
       next += h.interval.count() * 1000) {
    sleep_until_us(hooks, next);
    bool good = false;
    if (!h.url.empty()) {
      HttpAnswer a = http_get(h.url, h.timeout, h.expect);
      good = a.ok();
      last_error = good ? "" : a.error;
    } else {
      StepSpec check;
      check.name = what;
      check.run = h.run;
      check.timeout_ms = h.timeout.count();
      const int code = hooks.run(what, check);
      good = code == 0;
      last_error = good ? "" : "`" + h.run + "` exited " + std::to_string(code);
    }
    if (good && version && !expected_version.empty()) {
      HttpAnswer v = http_get(version->url, h.timeout);
      const std::string got = trim(v.body);
      if (!v.ok() || got != expected_version) {
        good = false;
        last_error = v.ok() ? "version " + version->url + " reports \"" + got.substr(0, 80) +
                                  "\", expected \"" + expected_version + "\""
                            : "version " + version->url + ": " + v.error;
      }
    }
    const auto at = Ms((hooks.now_us() - start) / 1000);
    const bool was_healthy = gate.first_healthy().has_value();
    gate.record(good, at);
    if (!was_healthy && gate.first_healthy()) {
      out.first_healthy_us = start + gate.first_healthy()->count() * 1000;
      hooks.log(what + ": healthy after " + std::to_string((*out.first_healthy_us - start) / 1000) +
                " ms");
    }
  }
  out.passed = gate.state() == HealthGate::State::kPassed;
  if (out.passed) out.passed_us = start + gate.passed_at()->count() * 1000;
  out.describe = hooks.cancelled() ? "cancelled" : gate.describe(last_error);
  return out;
}

}  // namespace

std::optional<std::pair<int64_t, int64_t>> switch_window(const std::vector<ProbeRecord>& in,
                                                         int64_t first_step_us,
                                                         const std::string& new_version,
                                                         DeployResult* result) {
  std::vector<const ProbeRecord*> good;
  for (const auto& r : in)
    if (r.failure == HttpFailure::kNone) good.push_back(&r);
  std::sort(good.begin(), good.end(),
            [](const ProbeRecord* a, const ProbeRecord* b) { return a->tick < b->tick; });
  std::map<std::string, int> before;
  for (const ProbeRecord* r : good)
    if (r->sent_us < first_step_us) ++before[trim(r->body)];
  if (before.empty() || new_version.empty()) return std::nullopt;
  const std::string old_version =
      std::max_element(before.begin(), before.end(), [](const auto& a, const auto& b) {
        return a.second < b.second;
      })->first;
  result->old_version = old_version;
  result->new_version = new_version;
  if (old_version == new_version) return std::nullopt;
  std::optional<int64_t> first_new, last_old;
  for (const ProbeRecord* r : good) {
    const std::string body = trim(r->body);
    if (body == new_version && !first_new) first_new = r->sent_us;
    if (body == old_version) last_old = r->sent_us;
  }
  if (!first_new) return std::nullopt;
  const int64_t end = std::max(*first_new, last_old.value_or(*first_new));
  for (const ProbeRecord* r : good) {
    if (r->sent_us < *first_new || r->sent_us > end) continue;
    const std::string body = trim(r->body);
    result->switch_answers_old += body == old_version;
    result->switch_answers_new += body == new_version;
  }
  return std::make_pair(*first_new, end);
}

DeployReport DeployResult::report() const {
  DeployReport r;
  r.outcome = outcome;
  r.reason = reason;
  r.message = message;
  if (probe) r.probe = static_cast<const ProbeCounts&>(*probe);
  r.old_version = old_version;
  r.new_version = new_version;
  r.switch_old = switch_answers_old;
  r.switch_new = switch_answers_new;
  return r;
}

DeployResult run_deploy(const DeploySpec& spec, const std::string& revision, DeployHooks& hooks) {
  DeployResult result;
  auto add_phase = [&](DeployPhase p) {
    hooks.phase(p);
    result.phases.push_back(std::move(p));
  };
  const std::string new_version =
      spec.version ? expand_revision(spec.version->expect, revision) : std::string();

  std::unique_ptr<Prober> probe;
  if (spec.probe) {
    probe = std::make_unique<Prober>(*spec.probe);
    probe->start();
    hooks.log("probe: GET " + spec.probe->url + " every " +
              std::to_string(spec.probe->interval.count() / 1000) + " ms");
    // One interval so that the old version is seen before anything changes.
    std::this_thread::sleep_for(spec.probe->interval);
  }
  auto probe_failed = [&] {
    if (!probe || !spec.rollback) return false;
    return probe->summary().failed > spec.rollback->max_failed_requests;
  };

  // The steps.
  const int64_t first_step_us = hooks.now_us();
  for (const auto& step : spec.steps) {
    DeployPhase p{"step " + step.name, hooks.now_us(), 0, true, ""};
    const int code = hooks.run("step " + step.name, step);
    p.end_us = hooks.now_us();
    p.ok = code == 0;
    if (!p.ok) p.detail = "exit " + std::to_string(code);
    add_phase(p);
    if (!p.ok) {
      result.reason = kStepFailed;
      result.message = "step " + step.name + " failed (exit " + std::to_string(code) + ")";
      break;
    }
    if (probe_failed()) {
      result.reason = kProbeFailures;
      break;
    }
  }

  // The health gate.
  if (result.reason.empty() && spec.health && !hooks.cancelled()) {
    const int64_t start = hooks.now_us();
    GateResult g = health_gate(*spec.health, spec.version, new_version, hooks, "health check");
    if (g.first_healthy_us) add_phase({"healthy", start, *g.first_healthy_us, true, ""});
    if (g.passed) {
      add_phase({"stable", *g.first_healthy_us, *g.passed_us, true, g.describe});
    } else {
      add_phase({"stable", g.first_healthy_us.value_or(start), hooks.now_us(), false, g.describe});
      result.reason = kHealthDeadline;
      result.message = g.describe;
    }
  }
  if (result.reason.empty() && probe_failed()) result.reason = kProbeFailures;
  if (result.reason == kProbeFailures) {
    result.message = "the probe saw " + probe->summary().text() + ", more than the " +
                     std::to_string(spec.rollback->max_failed_requests) + " allowed";
  }

  // The rollback, verified by the health gate (without the version check:
  // the old version is what should answer now).
  if (!result.reason.empty()) {
    result.outcome = DeployOutcome::kFailed;
    if (wants_rollback(spec, result.reason) && !hooks.cancelled()) {
      hooks.log("rolling back: " + result.message);
      StepSpec rb;
      rb.name = "rollback";
      rb.run = spec.rollback->run;
      rb.timeout_ms = spec.rollback->timeout.count();
      DeployPhase p{"rollback", hooks.now_us(), 0, true, ""};
      const int code = hooks.run("rollback", rb);
      p.end_us = hooks.now_us();
      p.ok = code == 0;
      if (!p.ok) p.detail = "exit " + std::to_string(code);
      add_phase(p);
      bool verified = p.ok;
      if (p.ok && spec.health) {
        HealthSpec h = *spec.health;
        const int64_t start = hooks.now_us();
        GateResult g = health_gate(h, std::nullopt, "", hooks, "rollback health check");
        verified = g.passed;
        add_phase({"rollback verified", start, hooks.now_us(), g.passed, g.describe});
      }
      result.outcome = verified ? DeployOutcome::kRolledBack : DeployOutcome::kRollbackFailed;
      result.message += verified ? "; rolled back" : "; rollback failed";
    }
  }

  if (probe) {
    probe->stop();
    result.probe = probe->summary();
    const auto records = probe->records();
    const int64_t base = probe->started_at_us();
    if (auto w = switch_window(records, first_step_us - base, new_version, &result)) {
      const uint64_t n = result.switch_answers_old + result.switch_answers_new;
      add_phase({"switch", base + w->first, base + w->second, true,
                 std::to_string(n) + (n == 1 ? " answer" : " answers") + " in the switch (" +
                     std::to_string(result.switch_answers_old) + " " + result.old_version + ", " +
                     std::to_string(result.switch_answers_new) + " " + result.new_version + ")"});
    }
    char latency[96];
    std::snprintf(latency, sizeof latency, ", latency p50 %.1f ms, p99 %.1f ms",
                  result.probe->p50_ms, result.probe->p99_ms);
    hooks.log("probe: " + result.probe->text() + latency);
  }
  if (result.reason.empty()) result.message = "deployed";
  if (hooks.cancelled()) {
    // Whatever failed on the way failed because of the cancel: no rollback ran.
    result.outcome = DeployOutcome::kFailed;
    result.message = result.reason.empty() ? "cancelled" : "cancelled: " + result.message;
  }
  return result;
}

}  // namespace yardstick
