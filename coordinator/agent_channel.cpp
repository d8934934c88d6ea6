#include "coordinator/agent_channel.hpp"

#include <spdlog/spdlog.h>

#include "common/text.hpp"
#include "common/wire.hpp"
#include "coordinator/bounds.hpp"
#include "coordinator/intake.hpp"

namespace yardstick {

namespace {

std::string clean(const capnp::Text::Reader& s) {
  return valid_text(std::string_view(s.cStr(), s.size()));
}

std::vector<JobRef> read_refs(capnp::List<wire::JobRef>::Reader list) {
  std::vector<JobRef> out;
  for (auto r : list) out.push_back({r.getJobId(), r.getAttempt()});
  return out;
}

}  // namespace

void AgentChannel::install(Handlers& handlers) {
  using namespace std::placeholders;
  handlers.install(Side::kAgents, Which::AGENT_HELLO, Writes::kDirect,
                   [this](const Peer& p, uint64_t r, auto e) { on_hello(p, r, e); });
  handlers.install(Side::kAgents, Which::HEARTBEAT, Writes::kBatched,
                   [this](const Peer& p, uint64_t r, auto e) { on_heartbeat(p, r, e); });
  handlers.install(Side::kAgents, Which::ERROR, Writes::kNothing,
                   [this](const Peer& p, uint64_t r, auto e) { on_error(p, r, e); });
}

void AgentChannel::reject(const std::string& route, uint64_t req, const std::string& reason) {
  capnp::MallocMessageBuilder b;
  wire_io::start(b, req).getBody().initReject().setReason(reason);
  outbox_.reply(Side::kAgents, route, b);
}

void AgentChannel::on_hello(const Peer& peer, uint64_t req, wire::Envelope::Reader env) {
  auto hello = env.getBody().getAgentHello();
  if (hello.getName().size() == 0 || hello.getSlots() == 0 ||
      hello.getSlots() > bounds::kMaxSlots) {
    reject(peer.route, req, "an agent needs a name and from 1 to 1024 slots");
    return;
  }
  try {
    bounds::check(hello);
  } catch (const PeerError& e) {
    reject(peer.route, req, e.what());
    return;
  }
  const std::string name = clean(hello.getName());
  const uint32_t slots = hello.getSlots();
  if (!peer.name.empty() && name != peer.name) {
    // The key decides the name: a listed key cannot pose as another agent,
    // and the real one keeps its session and its jobs.
    spdlog::warn("refused a hello naming agent '{}' from the key of agent '{}'", name, peer.name);
    reject(peer.route, req,
           "this key belongs to agent '" + peer.name + "', not '" + name +
               "' (an agent's name is bound to its key in --authorized-agents)");
    return;
  }
  const std::string incarnation = clean(hello.getIncarnation());
  const int64_t now = clock_.steady_ms();
  const auto admission = agents_.admit(name, incarnation, peer.route, now,
                                       2 * static_cast<int64_t>(cadence().interval_ms));
  if (admission == AgentRegistry::Admission::kReject) {
    // Another process uses this name and is alive: refuse the newcomer
    // rather than let the two evict each other forever.
    spdlog::warn("refused a second agent named {} (the connected one is alive)", name);
    reject(peer.route, req,
           "an agent named '" + name +
               "' is already connected from another process; agent names must be unique "
               "(--name)");
    return;
  }
  MachineInfo machine = wire_io::read(hello.getMachine());
  machine.name = valid_text(machine.name.empty() ? name : machine.name);
  machine.cpu_model = valid_text(machine.cpu_model);
  machine.os_release = valid_text(machine.os_release);
  machine.kernel = valid_text(machine.kernel);
  machine.arch = valid_text(machine.arch);
  machine.governor = valid_text(machine.governor);
  for (auto& t : machine.tools) t = {valid_text(t.name), valid_text(t.version)};
  Labels labels;
  for (const auto& l : wire_io::read_labels(hello.getLabels())) labels.insert(valid_text(l));
  const std::vector<JobRef> held = read_refs(hello.getHeldJobs());

  const uint64_t machine_id = store_.upsert_machine(machine);
  const uint64_t agent_id =
      store_.upsert_agent(name, labels, slots, machine_id, clean(hello.getAgentVersion()),
                          incarnation, clean(hello.getHost()));
  // In bounds by now (bounds::check): -1 or 0 to 1,000,000.
  store_.set_agent_hourly_cost(agent_id, hello.getHourlyCost() < 0
                                             ? std::nullopt
                                             : std::optional<double>(hello.getHourlyCost()));

  AgentSession fresh;
  fresh.route = peer.route;
  fresh.name = name;
  fresh.incarnation = incarnation;
  fresh.agent_id = agent_id;
  fresh.machine_id = machine_id;
  fresh.machine_name = machine.name;
  fresh.labels = labels;
  fresh.slots = slots;
  fresh.draining_self = hello.getDraining();
  fresh.draining_admin = agents_.admin_draining(name);
  fresh.last_seen_ms = now;
  fresh.last_touched_ms = now;
  AgentSession& s = agents_.put(std::move(fresh));
  const Cadence cadence_now = cadence();
  s.interval_ms = cadence_now.interval_ms;
  s.lease_ms = cadence_now.lease_ms;

  // Jobs this agent held in the coordinator's view (also from before a
  // coordinator restart, when the agent column was loaded from the store).
  for (const auto& ref : held)
    if (Job* job = table_.find(ref.job_id);
        job && table_.reclaim(*job, ref.attempt, name, agent_id, machine_id, now))
      spdlog::info("agent {} reclaimed job {} attempt {}", name, job->id, job->attempt);
  reconcile(s, held, /*hello=*/true);
  // A machine (fingerprint) never calibrated is calibrated by the first
  // agent that registers from it.
  if (config_.calibrate_new_machines && !store_.machine_calibrated(machine_id) &&
      !calibrations_.active(machine_id, "")) {
    const Job& job = calibrations_.create(s, "the coordinator (a new machine)");
    spdlog::info("machine {} ({}) was never calibrated: job {} calibrates it on agent {}",
                 machine.name, machine.fingerprint(), job.id, name);
  }
  std::vector<JobRef> abandon(s.abandon.begin(), s.abandon.end());
  s.abandon.clear();

  capnp::MallocMessageBuilder b;
  auto w = wire_io::start(b, req).getBody().initWelcome();
  w.setAgentId(agent_id);
  w.setHeartbeatIntervalMs(static_cast<uint32_t>(s.interval_ms));
  w.setLeaseMs(static_cast<uint32_t>(s.lease_ms));
  wire_io::fill(w.initAbandon(abandon.size()), abandon);
  outbox_.reply(Side::kAgents, peer.route, b);
  spdlog::info(
      "agent {} registered{}: machine {} ({}), labels {}, {} slots, {} held, {} abandoned{}", name,
      admission == AgentRegistry::Admission::kRepeat ? " again (same process)" : "", machine.name,
      machine.fingerprint(), format_labels(labels), slots, held.size(), abandon.size(),
      s.draining() ? ", draining" : "");
  placement_.mark_dirty();
}

void AgentChannel::reconcile(AgentSession& s, const std::vector<JobRef>& held, bool hello) {
  const int64_t grace = 2 * std::max<int64_t>(s.interval_ms, config_.heartbeat_interval_ms) + 1000;
  Reconciliation r = reconcile_held(table_, s.name, held, hello, clock_.steady_ms(), grace);
  for (const auto& ref : r.abandon)
    if (agents_.add_abandon(s, ref))
      spdlog::info("agent {} holds job {} attempt {}, which is not its own: abandon", s.name,
                   ref.job_id, ref.attempt);
  if (!hello)
    for (uint64_t id : r.cancel_again) {
      const Job* job = table_.find(id);
      capnp::MallocMessageBuilder b;
      auto c = wire_io::start(b, 0).getBody().initCancel();
      c.setJobId(job->id);
      c.setAttempt(job->attempt);
      c.setReason(job->message.empty() ? "cancelled by request" : job->message);
      outbox_.reply(Side::kAgents, s.route, b);
    }
  for (uint64_t id : r.lost) {
    table_.job_lost(
        *table_.find(id),
        "agent " + s.name + (hello ? " registered again without it" : " does not run it"));
    placement_.mark_dirty();
  }
}

bool AgentChannel::answer_heartbeat(const std::string& route, uint64_t req) {
  AgentSession* s = agents_.by_route(route);
  if (!s) return false;
  agents_.seen(*s, clock_.steady_ms(), std::max<int64_t>(s->lease_ms, config_.lease_ms) / 2);
  capnp::MallocMessageBuilder b;
  auto hb = wire_io::start(b, req).getBody().initHeartbeat();
  hb.setSentAtUs(clock_.unix_us());
  // The fleet grew or shrank: the agent beats at the new interval from
  // this answer on, and its lease is as long in proportion at once.
  const Cadence now = cadence();
  if (now.interval_ms != s->interval_ms) {
    s->interval_ms = now.interval_ms;
    s->lease_ms = now.lease_ms;
    hb.setIntervalMs(static_cast<uint32_t>(now.interval_ms));
    hb.setLeaseMs(static_cast<uint32_t>(now.lease_ms));
  }
  outbox_.now(Side::kAgents, route, b);
  return true;
}

Cadence AgentChannel::cadence() const {
  return fleet_cadence(config_, agents_.sessions().size());
}

Cadence fleet_cadence(const CoordinatorConfig& config, size_t agents) {
  Cadence c{config.heartbeat_interval_ms, config.lease_ms};
  if (config.max_heartbeats_per_s == 0) return c;
  // Rounded up to a tenth of a second, so that a fleet changing by one
  // agent does not tell every agent a new interval.
  int64_t needed = static_cast<int64_t>(agents) * 1000 / config.max_heartbeats_per_s;
  needed = (needed + 99) / 100 * 100;
  if (needed <= c.interval_ms) return c;
  c.lease_ms = c.lease_ms * needed / c.interval_ms;
  c.interval_ms = needed;
  return c;
}

void AgentChannel::on_heartbeat(const Peer& peer, uint64_t req, wire::Envelope::Reader env) {
  // Answered now: liveness does not wait for the turn's commit.
  if (!answer_heartbeat(peer.route, req)) {
    outbox_.error(Side::kAgents, peer.route, req, wire::ErrorCode::NOT_REGISTERED,
                  "this agent is not registered: send agentHello");
    return;
  }
  AgentSession* s = agents_.by_route(peer.route);
  auto hb = env.getBody().getHeartbeat();
  bounds::check(hb);
  s->spool_backlog = hb.getSpoolBacklog();
  if (hb.getDraining() != s->draining_self) {
    s->draining_self = hb.getDraining();
    spdlog::info("agent {} {}", s->name,
                 s->draining_self ? "is draining: no new jobs" : "takes jobs again");
    placement_.mark_dirty();
  }
  if (hb.hasHeldJobs()) reconcile(*s, read_refs(hb.getHeldJobs()), /*hello=*/false);
}

void AgentChannel::on_error(const Peer& peer, uint64_t, wire::Envelope::Reader env) {
  auto e = env.getBody().getError();
  spdlog::warn("agent {} reported an error ({}): {}", agents_.name_of(peer.route, "(unregistered)"),
               wire_io::to_string(e.getCode()), valid_text(clean(e.getMessage())).substr(0, 1000));
}

void AgentChannel::check_leases() {
  const int64_t now = clock_.steady_ms();
  for (const auto& name : agents_.expired(now, config_.lease_ms)) {
    const AgentSession* s = agents_.find(name);
    const int64_t silent_ms = now - s->last_seen_ms;
    const int64_t lease = s->lease_ms > 0 ? s->lease_ms : config_.lease_ms;
    // It may come back: a later hello from it abandons what it still runs.
    agents_.remove(name);
    spdlog::warn("agent {} lost: silent for {} ms (lease {} ms)", name, silent_ms, lease);
    table_.agent_lost(name, "agent " + name + " lost");
    placement_.mark_dirty();
  }
  // last_seen in the store, for `yardstick agents`: every half lease, for
  // the agents heard from, in one statement.
  store_.touch_agents(agents_.take_touched());
}

void AgentChannel::flush_acks() {
  agents_.take_owing([&](AgentSession& s) {
    if (!s.acks.empty()) {
      capnp::MallocMessageBuilder b;
      auto keys = wire_io::start(b, 0).getBody().initAck().initKeys(s.acks.size());
      for (unsigned i = 0; i < s.acks.size(); ++i) wire_io::fill(keys[i], s.acks[i]);
      outbox_.reply(Side::kAgents, s.route, b);
      acks_sent_ += s.acks.size();
      s.acks.clear();
    }
    if (!s.abandon.empty()) {
      capnp::MallocMessageBuilder b;
      auto a = wire_io::start(b, 0).getBody().initAbandon();
      a.setReason("not this agent's current attempt");
      wire_io::fill(a.initJobs(s.abandon.size()),
                    std::vector<JobRef>(s.abandon.begin(), s.abandon.end()));
      outbox_.reply(Side::kAgents, s.route, b);
      s.abandon.clear();
    }
  });
}

void AgentChannel::discard_acks() {
  agents_.take_owing([](AgentSession& s) {
    s.acks.clear();
    s.abandon.clear();
  });
}

void AgentChannel::reset_sessions() {
  for (auto& [name, s] : agents_.sessions())
    outbox_.error(Side::kAgents, s.route, 0, wire::ErrorCode::NOT_REGISTERED,
                  "the coordinator recovered its store; register again");
  agents_.clear();
}

}  // namespace yardstick
