#include <spdlog/spdlog.h>

#include "common/checkout.hpp"
#include "common/pipeline.hpp"
#include "common/signing.hpp"
#include "common/text.hpp"
#include "common/wire.hpp"
#include "coordinator/bounds.hpp"
#include "coordinator/client_api.hpp"
#include "coordinator/submission.hpp"

namespace yardstick {

void ClientApi::install(Handlers& handlers) {
  auto on = [&](Which which, Writes writes,
                void (ClientApi::*fn)(const Peer&, uint64_t, wire::Envelope::Reader)) {
    handlers.install(
        Side::kClients, which, writes,
        [this, fn](const Peer& p, uint64_t r, wire::Envelope::Reader e) { (this->*fn)(p, r, e); });
  };
  on(Which::SUBMIT, Writes::kDirect, &ClientApi::on_submit);
  on(Which::STATUS, Writes::kNothing, &ClientApi::on_status);
  on(Which::LOGS, Writes::kNothing, &ClientApi::on_logs);
  on(Which::AGENTS, Writes::kNothing, &ClientApi::on_agents);
  on(Which::REPORT, Writes::kNothing, &ClientApi::on_report);
  on(Which::CANCEL_REQUEST, Writes::kDirect, &ClientApi::on_cancel);
  on(Which::DRAIN, Writes::kDirect, &ClientApi::on_drain);
  on(Which::CALIBRATE, Writes::kDirect, &ClientApi::on_calibrate);
  on(Which::BISECTION, Writes::kDirect, &ClientApi::on_bisection);
}

void ClientApi::on_submit(const Peer& peer, uint64_t req, wire::Envelope::Reader env) {
  auto m = env.getBody().getSubmit();
  bounds::check_text("Submit.fileName", m.getFileName(), bounds::kStepNameBytes);
  bounds::check_text("Submit.revision", m.getRevision(), bounds::kNameBytes);
  bounds::check_text("Submit.branch", m.getBranch(), bounds::kNameBytes);
  bounds::check_text("Submit.submitter", m.getSubmitter(), bounds::kNameBytes);
  bounds::check_text("Submit.bisection", m.getBisection(), bounds::kStepNameBytes);
  // With CURVE the key's name says who submitted; the name the CLI sends
  // (its login) is only a claim, so it is kept beside it when it differs.
  auto text = [](capnp::Text::Reader t) {
    return valid_text(std::string_view(t.cStr(), t.size()));
  };
  std::string submitter = text(m.getSubmitter());
  if (!peer.name.empty())
    submitter = submitter.empty() || submitter == peer.name ? peer.name
                                                            : peer.name + " (" + submitter + ")";
  std::string file = text(m.getFileName());
  if (file.empty()) file = "pipeline.yml";
  const std::string raw = m.getPipelineYaml();
  if (!is_valid_text(raw)) {
    error(peer, req, wire::ErrorCode::BAD_REQUEST,
          file + ": the file is not UTF-8 text (or holds a NUL byte)");
    return;
  }
  auto parsed = parse_pipeline(raw, file);
  if (!parsed.ok()) {
    std::string msg;
    for (const auto& e : parsed.errors) msg += (msg.empty() ? "" : "\n") + e.to_string();
    error(peer, req, wire::ErrorCode::BAD_REQUEST, msg);
    return;
  }
  const PipelineDef& def = *parsed.pipeline;
  const std::string revision = text(m.getRevision());
  if (auto problem = revision_problem(revision); !problem.empty()) {
    error(peer, req, wire::ErrorCode::BAD_REQUEST, problem);
    return;
  }
  const std::string branch = text(m.getBranch());
  std::optional<SignedSubmission> signed_submission;
  if (m.hasSignedSubmission()) {
    signed_submission = wire_io::read(m.getSignedSubmission());
    // The coordinator does not decide whom to trust (each agent does); it
    // refuses at once what no agent could accept.
    auto view = [](capnp::Text::Reader t) { return std::string_view(t.cStr(), t.size()); };
    if (auto why = signing::submission_problem(*signed_submission, view(m.getPipelineYaml()),
                                               view(m.getFileName()), view(m.getRevision()),
                                               view(m.getBranch()));
        !why.empty()) {
      error(peer, req, wire::ErrorCode::BAD_REQUEST,
            file + ": the signed submission is refused: " + why);
      return;
    }
  }
  const uint64_t pipeline_id = store_.pipelines.insert_pipeline(
      def.name, revision, branch, submitter, file, raw, signed_submission);
  if (def.budget_wall_ms) store_.pipelines.set_pipeline_budget(pipeline_id, def.budget_wall_ms);
  if (m.getBisection().size()) store_.pipelines.mark_bisection(pipeline_id, text(m.getBisection()));
  notices_.remember(pipeline_id, pipeline_hooks(def));

  std::vector<ConnectedMachine> machines;
  for (const auto& [name, s] : agents_.sessions())
    machines.push_back({s.machine_id, s.machine_name, s.labels});
  std::map<std::string, std::vector<uint64_t>> instances;  // job name -> ids
  std::vector<uint64_t> created;
  for (Job& job :
       expand_submission(def, pipeline_id, revision, branch, machines, signed_submission)) {
    if (def.find_job(job.name)->all_machines && job.target_machine.empty())
      spdlog::warn("pipeline {} job {}: no connected machine matches {}; one job waits for one",
                   pipeline_id, job.name, format_labels(job.on_labels));
    job.pipeline_budgeted = def.budget_wall_ms != 0;
    job.id = store_.pipelines.insert_job(job);
    instances[job.name].push_back(job.id);
    created.push_back(job.id);
    table_.add(std::move(job));
  }
  for (const JobDef& jd : def.jobs)
    for (uint64_t id : instances[jd.name])
      for (const auto& need : jd.needs)
        for (uint64_t need_id : instances[need]) {
          store_.pipelines.insert_need(id, need_id);
          table_.add_need(id, need_id, needs_no_regression(jd, need));
        }
  for (uint64_t id : created)
    if (Job* job = table_.find(id)) {
      table_.settle(*job);
      // Say at once (in the reply) when no connected agent can take it.
      if (job->state == JobState::kQueued)
        if (auto why = placement_.unplaceable_reason(*job); !why.empty())
          table_.note(*job, JobNote::kNoAgent, "waiting: " + why);
    }
  placement_.mark_dirty();

  capnp::MallocMessageBuilder b;
  auto r = wire_io::start(b, req).getBody().initSubmitReply();
  r.setPipelineId(pipeline_id);
  auto warnings = r.initWarnings(static_cast<unsigned>(parsed.warnings.size()));
  for (unsigned i = 0; i < parsed.warnings.size(); ++i)
    warnings.set(i, parsed.warnings[i].to_string());
  auto jobs = r.initJobs(created.size());
  for (unsigned i = 0; i < created.size(); ++i) {
    const Job* job = table_.find(created[i]);
    JobView v;
    v.id = job->id;
    v.pipeline_id = pipeline_id;
    v.name = job->name;
    v.state = job->state;
    v.note = job->note;
    v.attempt = job->attempt;
    v.message = job->message;
    fill_job(jobs[i], v);
  }
  outbox_.reply(Side::kClients, peer.route, b);
  spdlog::info("pipeline {} ({}) submitted by {}{}: {} jobs", pipeline_id, def.name, submitter,
               signed_submission
                   ? ", signed by " + signing::public_key_text(signed_submission->public_key)
                   : std::string(),
               created.size());
}

}  // namespace yardstick
