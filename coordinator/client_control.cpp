#include <spdlog/spdlog.h>

#include <algorithm>

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

}  // namespace yardstick
