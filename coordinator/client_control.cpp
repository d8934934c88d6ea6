#include <spdlog/spdlog.h>

#include <algorithm>
#include <cmath>

#include "common/text.hpp"
#include "common/wire.hpp"
#include "coordinator/bounds.hpp"
#include "coordinator/client_api.hpp"

namespace yardstick {

namespace {
std::string agent_name(capnp::Text::Reader t) {
  bounds::check_text("agent", t, bounds::kNameBytes);
  return valid_text(std::string_view(t.cStr(), t.size()));
}
}  // namespace

void ClientApi::on_cancel(const Peer& peer, uint64_t req, wire::Envelope::Reader env) {
  const uint64_t id = env.getBody().getCancelRequest().getId();
  auto not_found = [&] {
    error(peer, req, wire::ErrorCode::NOT_FOUND,
          "no pipeline or job with id " + std::to_string(id));
  };
  if (id == 0 || id > bounds::kMaxCount) return not_found();
  const auto pipeline = store_.pipelines.pipeline_of(id);
  if (!pipeline) return not_found();
  std::vector<Job*> targets;
  for (const auto& [jid, job] : table_.jobs())
    if (!is_terminal(job.state) && (jid == id || (*pipeline == id && job.pipeline_id == id)))
      targets.push_back(table_.find(jid));
  // Cancel dependents last so that they are cancelled, not skipped.
  std::sort(targets.begin(), targets.end(),
            [](const Job* a, const Job* b) { return a->id > b->id; });
  uint32_t count = 0;
  for (Job* job : targets) {
    if (is_terminal(job->state)) continue;
    placement_.cancel(*job, "cancelled by request");
    ++count;
  }
  placement_.mark_dirty();
  capnp::MallocMessageBuilder b;
  wire_io::start(b, req).getBody().initCancelReply().setCancelled(count);
  outbox_.reply(Side::kClients, peer.route, b);
}

void ClientApi::on_drain(const Peer& peer, uint64_t req, wire::Envelope::Reader env) {
  auto m = env.getBody().getDrain();
  const std::string name = agent_name(m.getAgent());
  const bool drain = !m.getUndo();
  if (!agents_.find(name) && !store_.agents.agent_exists(name)) {
    error(peer, req, wire::ErrorCode::NOT_FOUND, "no agent named '" + name + "'");
    return;
  }
  store_.agents.set_agent_draining(name, drain);
  agents_.set_admin_draining(name, drain);
  placement_.mark_dirty();
  spdlog::info("agent {} {} by request", name, drain ? "drains" : "takes jobs again");
  capnp::MallocMessageBuilder b;
  wire_io::start(b, req).getBody().initDrainReply().setFound(true);
  outbox_.reply(Side::kClients, peer.route, b);
}

void ClientApi::on_calibrate(const Peer& peer, uint64_t req, wire::Envelope::Reader env) {
  const std::string name = agent_name(env.getBody().getCalibrate().getAgent());
  const AgentSession* s = agents_.find(name);
  if (!s) {
    error(peer, req, wire::ErrorCode::NOT_FOUND,
          store_.agents.agent_exists(name)
              ? "agent '" + name + "' is not connected: a calibration runs on the agent"
              : "no agent named '" + name + "'");
    return;
  }
  const Job* job = calibrations_.active(s->machine_id, name);
  const bool existing = job != nullptr;
  if (!job) {
    const std::string who = peer.name.empty() ? std::string("a client") : peer.name;
    job = &calibrations_.create(*s, who);
    spdlog::info("calibration of agent {} (machine {}) asked by {}: job {}", name, s->machine_name,
                 who, job->id);
  }
  capnp::MallocMessageBuilder b;
  auto r = wire_io::start(b, req).getBody().initCalibrateReply();
  r.setPipelineId(job->pipeline_id);
  r.setJobId(job->id);
  r.setExisting(existing);
  outbox_.reply(Side::kClients, peer.route, b);
}

void ClientApi::on_bisection(const Peer& peer, uint64_t req, wire::Envelope::Reader env) {
  auto m = env.getBody().getBisection();
  auto text = [](std::string_view field, capnp::Text::Reader t, size_t max) {
    bounds::check_text(field, t, max);
    return valid_text(std::string_view(t.cStr(), t.size()));
  };
  BisectionRecord r;
  r.pipeline = text("Bisection.pipeline", m.getPipeline(), bounds::kNameBytes);
  r.job = text("Bisection.job", m.getJob(), bounds::kNameBytes);
  r.kind = text("Bisection.kind", m.getKind(), bounds::kNameBytes);
  r.what = text("Bisection.what", m.getWhat(), bounds::kMetricNameBytes);
  r.machine = text("Bisection.machine", m.getMachine(), bounds::kNameBytes);
  r.good = text("Bisection.good", m.getGood(), bounds::kNameBytes);
  r.bad = text("Bisection.bad", m.getBad(), bounds::kNameBytes);
  r.outcome = text("Bisection.outcome", m.getOutcome(), bounds::kNameBytes);
  r.commit = text("Bisection.commit", m.getCommit(), bounds::kNameBytes);
  r.subject = text("Bisection.subject", m.getSubject(), bounds::kStepNameBytes);
  r.message = text("Bisection.message", m.getMessage(), bounds::kMessageBytes);
  r.submitter = peer.name;
  static const std::vector<std::string> kinds = {"step", "variant", "metric"};
  static const std::vector<std::string> outcomes = {"running",   "found",      "below_detectable",
                                                    "no_change", "skipped",    "budget",
                                                    "failed",    "unconfirmed"};
  std::string problem;
  if (std::find(kinds.begin(), kinds.end(), r.kind) == kinds.end())
    problem = "Bisection.kind '" + r.kind + "' is not step, variant or metric";
  else if (std::find(outcomes.begin(), outcomes.end(), r.outcome) == outcomes.end())
    problem = "Bisection.outcome '" + r.outcome +
              "' is not one of running, found, below_detectable, "
              "no_change, skipped, budget, failed, unconfirmed";
  else if (r.pipeline.empty() || r.job.empty() || r.what.empty() || r.machine.empty() ||
           r.good.empty() || r.bad.empty())
    problem = "Bisection: pipeline, job, what, machine, good and bad are required";
  else if ((r.outcome == "found") == r.commit.empty())
    problem = "Bisection.commit: set when the outcome is found, and only then";
  else if (m.getSteps() > bounds::kMaxBisectionCount || m.getRuns() > bounds::kMaxBisectionCount)
    problem = "Bisection.steps, runs: at most 1,000,000";
  for (auto [field, v] : {std::pair{"changePct", m.getChangePct()},
                          {"lowPct", m.getLowPct()},
                          {"highPct", m.getHighPct()},
                          {"seconds", m.getSeconds()}})
    if (problem.empty() && !(std::isfinite(v) && std::abs(v) <= bounds::kMaxBisectionNumber &&
                             (std::string_view(field) != "seconds" || v >= 0)))
      problem = std::string("Bisection.") + field + ": " + std::to_string(v) +
                " is not a finite number within 1e9 (seconds: not below 0)";
  if (!problem.empty()) {
    error(peer, req, wire::ErrorCode::BAD_REQUEST, problem);
    return;
  }
  if (r.outcome == "found") {
    r.change_pct = m.getChangePct();
    r.low_pct = m.getLowPct();
    r.high_pct = m.getHighPct();
  }
  r.steps = m.getSteps();
  r.runs = m.getRuns();
  r.seconds = m.getSeconds();
  r.id = m.getId();
  const RecordedBisection recorded = store_.pipelines.record_bisection(r);
  const uint64_t id = recorded.id;
  if (!id) {
    error(peer, req, wire::ErrorCode::NOT_FOUND,
          "Bisection.id " + std::to_string(r.id) +
              ": no bisection under way by this key has that id (it ended, or was never recorded)");
    return;
  }
  if (r.outcome != "running" && recorded.pipeline_id)
    notices_.bisected(recorded.pipeline_id, id, r);
  if (r.outcome != "running" || !r.id)
    spdlog::info("bisection {} of {} job {} {} {} on {} {}: {}", id, r.pipeline, r.job, r.kind,
                 r.what, r.machine, r.outcome == "running" ? "started" : "recorded", r.outcome);
  capnp::MallocMessageBuilder b;
  wire_io::start(b, req).getBody().initBisectionReply().setId(id);
  outbox_.reply(Side::kClients, peer.route, b);
}

}  // namespace yardstick
