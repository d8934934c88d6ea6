#include "coordinator/result_intake.hpp"

#include <spdlog/spdlog.h>

#include <cmath>

#include "common/calibration.hpp"
#include "common/text.hpp"
#include "common/wire.hpp"
#include "coordinator/message_boundary.hpp"

namespace yardstick {

namespace {

std::string clean(const capnp::Text::Reader& s) {
  return valid_text(std::string_view(s.cStr(), s.size()));
}

std::string stream_name(wire::Stream s) {
  switch (s) {
    case wire::Stream::STDOUT:
      return "stdout";
    case wire::Stream::STDERR:
      return "stderr";
    default:
      return "system";
  }
}

void require_kind(const Job& job, JobKind kind, const char* what) {
  if (job.spec.kind != kind)
    throw PeerError(std::string("a ") + what + " for a job of kind " +
                    std::string(to_string(job.spec.kind)));
}

}  // namespace

void ResultIntake::take(const Peer& peer, uint64_t request_id, wire::Envelope::Reader env,
                        const char* what,
                        const std::function<void(const bounds::JobLimits&)>& check,
                        const Write& write) {
  AgentSession* s = agents_.by_route(peer.route);
  if (!s) {
    outbox_.error(Side::kAgents, peer.route, request_id, wire::ErrorCode::NOT_REGISTERED,
                  "this agent is not registered: send agentHello");
    return;
  }
  agents_.seen(*s, clock_.steady_ms(), std::max<int64_t>(s->lease_ms, config_.lease_ms) / 2);
  const ResultKey key = *result_key(env);
  bounds::check_key(key);
  Job* job = table_.find(key.job_id);
  const IntakeDecision d = judge_result(job, key, s->name);
  if (d.intake == Intake::kRefuse) {
    if (agents_.add_abandon(*s, {key.job_id, key.attempt})) {
      spdlog::warn("refused a {} from agent {} for job {} attempt {}: {}; told it to abandon", what,
                   s->name, key.job_id, key.attempt, d.why);
      store_.results.record_refusal(s->name, key.job_id, key.attempt, what, d.why);
    }
    return;
  }
  if (d.intake == Intake::kStore) {
    check(bounds::limits_of(*job));
    // The first result of an attempt shows it started: a benchmark sends
    // samples and no step events, a build its step events.
    if (job->state == JobState::kAssigned) table_.transition(*job, JobState::kRunning);
    write(*job, *s);
  }
  agents_.add_ack(*s, key);
}

void ResultIntake::install(Handlers& handlers) {
  using B = wire::Envelope::Reader;
  handlers.install(
      Side::kAgents, Which::STEP_STARTED, Writes::kDirect,
      [this](const Peer& p, uint64_t r, B env) {
        auto m = env.getBody().getStepStarted();
        take(
            p, r, env, "stepStarted", [&](const bounds::JobLimits& l) { bounds::check(m, l); },
            [&](Job& job, AgentSession& s) {
              const ResultKey key = wire_io::read(m.getKey());
              store_.results.record_step_started(key, m.getIndex(), clean(m.getName()), s.agent_id,
                                                 s.machine_id, m.getStartedAtUs());
              if (job.agent_started_at_us == 0 || m.getStartedAtUs() < job.agent_started_at_us)
                job.agent_started_at_us = m.getStartedAtUs();
            });
      });
  handlers.install(
      Side::kAgents, Which::STEP_FINISHED, Writes::kDirect,
      [this](const Peer& p, uint64_t r, B env) {
        auto m = env.getBody().getStepFinished();
        take(
            p, r, env, "stepFinished", [&](const bounds::JobLimits& l) { bounds::check(m, l); },
            [&](Job& job, AgentSession& s) {
              StepResult step = wire_io::read(m);
              step.name = valid_text(step.name);
              step.command = valid_text(step.command);
              step.revision = valid_text(step.revision);
              store_.results.record_step_finished(wire_io::read(m.getKey()), step, s.agent_id,
                                                  s.machine_id);
              if (!step.revision.empty()) {
                store_.pipelines.record_revision(job.id, job.pipeline_id, step.revision);
                job.checked_out = step.revision;
              }
            });
      });
  handlers.install(
      Side::kAgents, Which::LOG_CHUNK, Writes::kBatched, [this](const Peer& p, uint64_t r, B env) {
        auto m = env.getBody().getLogChunk();
        take(
            p, r, env, "logChunk", [&](const bounds::JobLimits& l) { bounds::check(m, l); },
            [&](Job& job, AgentSession&) { log_chunk(job, wire_io::read(m.getKey()), m); });
      });
  handlers.install(
      Side::kAgents, Which::JOB_FINISHED, Writes::kDirect,
      [this](const Peer& p, uint64_t r, B env) {
        auto m = env.getBody().getJobFinished();
        // Its bounds are checked when it ends the job: an end
        // out of bounds still ends it.
        take(
            p, r, env, "jobFinished", [](const bounds::JobLimits&) {},
            [&](Job& job, AgentSession& s) { job_finished(job, s, wire_io::read(m.getKey()), m); });
      });
  handlers.install(
      Side::kAgents, Which::SAMPLE, Writes::kBatched, [this](const Peer& p, uint64_t r, B env) {
        auto m = env.getBody().getSample();
        take(
            p, r, env, "sample", [&](const bounds::JobLimits& l) { bounds::check(m, l); },
            [&](Job&, AgentSession&) {
              store_.results.record_sample(wire_io::read(m.getKey()), m.getVariantIndex(),
                                           clean(m.getVariant()), m.getIndex(), wire_io::read(m));
            });
      });
  handlers.install(
      Side::kAgents, Which::METRIC, Writes::kBatched, [this](const Peer& p, uint64_t r, B env) {
        auto m = env.getBody().getMetric();
        take(
            p, r, env, "metric", [&](const bounds::JobLimits& l) { bounds::check(m, l); },
            [&](Job&, AgentSession&) {
              store_.results.record_metric(wire_io::read(m.getKey()), m.getStepIndex(),
                                           clean(m.getVariant()), m.getRunIndex(),
                                           clean(m.getName()), m.getValue(), clean(m.getUnit()));
            });
      });
  handlers.install(
      Side::kAgents, Which::CALIBRATION, Writes::kDirect, [this](const Peer& p, uint64_t r, B env) {
        auto m = env.getBody().getCalibration();
        take(
            p, r, env, "calibration", [&](const bounds::JobLimits&) { bounds::check(m); },
            [&](Job& job, AgentSession& s) {
              require_kind(job, JobKind::kCalibrate, "calibration result");
              CalibrationTimes times;
              times.benchmark = clean(m.getBenchmark());
              for (double t : m.getTimesS()) times.times_s.push_back(t);
              auto summary = summarize_calibration(times);
              if (!summary) throw PeerError("a calibration result without any valid time");
              std::vector<double> kept;
              for (double t : times.times_s)
                if (std::isfinite(t) && t > 0) kept.push_back(t);
              store_.results.record_calibration(wire_io::read(m.getKey()), s.machine_id, s.agent_id,
                                                *summary, kept);
            });
      });
  handlers.install(Side::kAgents, Which::DEPLOY_PHASE, Writes::kDirect,
                   [this](const Peer& p, uint64_t r, B env) {
                     auto m = env.getBody().getDeployPhase();
                     take(
                         p, r, env, "deployPhase",
                         [&](const bounds::JobLimits&) { bounds::check(m); },
                         [&](Job& job, AgentSession&) {
                           require_kind(job, JobKind::kDeploy, "deploy phase");
                           DeployPhase phase = wire_io::read(m);
                           phase.name = valid_text(phase.name);
                           phase.detail = valid_text(phase.detail);
                           store_.results.record_deploy_phase(wire_io::read(m.getKey()), phase);
                         });
                   });
  handlers.install(
      Side::kAgents, Which::DEPLOY_RESULT, Writes::kDirect,
      [this](const Peer& p, uint64_t r, B env) {
        auto m = env.getBody().getDeployResult();
        take(
            p, r, env, "deployResult", [&](const bounds::JobLimits&) { bounds::check(m); },
            [&](Job& job, AgentSession&) {
              require_kind(job, JobKind::kDeploy, "deploy result");
              DeployReport report = wire_io::read(m);
              for (std::string* t :
                   {&report.reason, &report.message, &report.old_version, &report.new_version})
                *t = valid_text(*t);
              store_.results.record_deploy_result(wire_io::read(m.getKey()), report);
              job.rolled_back = report.outcome == DeployOutcome::kRolledBack;
            });
      });
}

void ResultIntake::log_chunk(Job& job, const ResultKey& key, wire::LogChunk::Reader m) {
  const JobRef ref{job.id, job.attempt};
  auto found = log_caps_.find(ref);
  if (found == log_caps_.end()) {
    // First chunk this coordinator sees for the attempt: learn what is stored.
    const LogLayout layout = store_.logs.log_layout(job.id, job.attempt);
    found = log_caps_
                .emplace(ref, LogCap::from_stored(config_.log_cap_bytes, layout.chunks,
                                                  layout.has_marker, layout.head_chunks,
                                                  layout.cut_bytes, layout.cut_chunks))
                .first;
  }
  auto data = m.getData();
  const int64_t at_us = m.getAtUs();
  LogCap& cap = found->second;
  const LogCap::Step step = cap.add(key.seq, data.size());
  if (step.place_marker)  // before the chunk: the marker stands between head and tail
    store_.logs.put_log_marker(job.id, job.attempt, cap.marker_text(), at_us, cap.cut_bytes(),
                               cap.cut_chunks());
  if (step.store)
    store_.logs.record_log_chunk(
        key, stream_name(m.getStream()), m.getStepIndex(),
        std::string(reinterpret_cast<const char*>(data.begin()), data.size()), at_us);
  if (!step.drop.empty()) store_.logs.drop_log_chunks(job.id, job.attempt, step.drop);
  if (step.update_marker)
    store_.logs.put_log_marker(job.id, job.attempt, cap.marker_text(), at_us, cap.cut_bytes(),
                               cap.cut_chunks());
}

void ResultIntake::job_finished(Job& job, AgentSession& s, const ResultKey& key,
                                wire::JobFinished::Reader m) {
  JobOutcome outcome = wire_io::from_wire(m.getOutcome());
  std::string message;
  int64_t ended_at_us = 0;
  try {
    bounds::check(m);
    message = clean(m.getMessage());
    ended_at_us = m.getEndedAtUs();
  } catch (const PeerError& e) {
    // The job ends all the same, failed: its end will never be accepted.
    spdlog::warn("agent {} ended job {} attempt {} out of bounds: {}", s.name, job.id, job.attempt,
                 e.what());
    store_.results.record_refusal(s.name, key.job_id, key.attempt, "jobFinished", e.what());
    outcome = JobOutcome::kFailed;
    message = std::string("the agent's job end was refused: ") + e.what();
  }
  if (outcome == JobOutcome::kLost) {
    table_.job_lost(job, "agent " + s.name + ": " + message);
  } else {
    JobState to = to_job_state(outcome);
    // Judged in a savepoint of its own: what fails the judgement (data the
    // store refuses, a bug of ours) fails the job, never its end.
    std::string judged = message;
    std::optional<std::string> failed;
    try {
      if (auto refused =
              store_.session.guarded([&] { to = judge_.judge(job, to, &judged, ended_at_us); }))
        failed = refused->what();
    } catch (const StoreError& e) {
      if (!e.refused()) throw;  // an outage: the turn is undone
      failed = e.what();
    } catch (const std::exception& e) {
      spdlog::error("job {} {}: judging its end failed: {}", job.id, job.name, e.what());
      failed = e.what();
    }
    if (failed) {
      store_.results.record_refusal(s.name, job.id, job.attempt, "jobFinished",
                                    "could not be judged: " + *failed);
      to = JobState::kFailed;
      judged = "the coordinator could not judge this job's end: " + *failed;
    }
    table_.transition(job, to, judged);
  }
  log_caps_.erase({job.id, key.attempt});
  placement_.mark_dirty();
}

void ResultIntake::prune() {
  for (auto it = log_caps_.begin(); it != log_caps_.end();) {
    const Job* job = table_.find(it->first.job_id);
    it = (!job || job->attempt != it->first.attempt || is_terminal(job->state))
             ? log_caps_.erase(it)
             : std::next(it);
  }
}

}  // namespace yardstick
