#include "coordinator/server.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <set>

#include "common/calibration.hpp"
#include "common/checkout.hpp"
#include "common/curve.hpp"
#include "common/pipeline.hpp"
#include "common/secrets.hpp"
#include "common/signing.hpp"
#include "common/text.hpp"
#include "common/zmq_util.hpp"
#include "coordinator/comparisons.hpp"
#include "coordinator/gate.hpp"
#include "coordinator/notifier.hpp"
#include "coordinator/reports.hpp"
#include "coordinator/scheduler.hpp"
#include "coordinator/submission.hpp"
#include "coordinator/zap.hpp"

namespace yardstick {

namespace {
using Which = wire::Envelope::Body::Which;

// A peer's text, made fit for PostgreSQL's text columns (see common/text.hpp):
// bad UTF-8 and NUL become U+FFFD, visibly.
std::string clean(const std::string& s) {
  return valid_text(s);
}
std::string clean(const capnp::Text::Reader& s) {
  return valid_text(std::string_view(s.cStr(), s.size()));
}

// Ids travel as UInt64; PostgreSQL's bigint ends at 2^63 - 1.
constexpr uint64_t kMaxId = static_cast<uint64_t>(INT64_MAX);

// The result key of an agent's result message, when it is one.
std::optional<ResultKey> result_key(wire::Envelope::Reader env) {
  auto body = env.getBody();
  switch (body.which()) {
    case Which::STEP_STARTED:
      return wire_io::read(body.getStepStarted().getKey());
    case Which::STEP_FINISHED:
      return wire_io::read(body.getStepFinished().getKey());
    case Which::LOG_CHUNK:
      return wire_io::read(body.getLogChunk().getKey());
    case Which::JOB_FINISHED:
      return wire_io::read(body.getJobFinished().getKey());
    case Which::SAMPLE:
      return wire_io::read(body.getSample().getKey());
    case Which::METRIC:
      return wire_io::read(body.getMetric().getKey());
    case Which::CALIBRATION:
      return wire_io::read(body.getCalibration().getKey());
    case Which::DEPLOY_PHASE:
      return wire_io::read(body.getDeployPhase().getKey());
    case Which::DEPLOY_RESULT:
      return wire_io::read(body.getDeployResult().getKey());
    default:
      return std::nullopt;
  }
}

std::vector<JobRef> read_refs(capnp::List<wire::JobRef>::Reader list) {
  std::vector<JobRef> out;
  for (auto r : list) out.push_back({r.getJobId(), r.getAttempt()});
  return out;
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

wire::Stream stream_from(const std::string& s) {
  if (s == "stdout") return wire::Stream::STDOUT;
  if (s == "stderr") return wire::Stream::STDERR;
  return wire::Stream::SYSTEM;
}

void fill_job(wire::JobSummary::Builder b, const JobView& j) {
  b.setId(j.id);
  b.setPipelineId(j.pipeline_id);
  b.setName(j.name);
  b.setState(wire_io::to_wire(j.state));
  b.setAgent(j.agent);
  b.setMachine(j.machine);
  b.setAttempt(j.attempt);
  b.setStartedAtUs(j.started_at_us);
  b.setEndedAtUs(j.ended_at_us);
  b.setMessage(j.message);
  b.setOverBudget(j.over_budget);
  b.setRunsMeasured(j.runs_measured);
  b.setRunsPlanned(j.runs_planned);
  auto breaches = b.initBudgetBreaches(j.budget_breaches.size());
  for (unsigned i = 0; i < j.budget_breaches.size(); ++i) breaches.set(i, j.budget_breaches[i]);
  auto steps = b.initSteps(j.steps.size());
  for (unsigned i = 0; i < j.steps.size(); ++i) {
    steps[i].setIndex(j.steps[i].index);
    steps[i].setName(j.steps[i].name);
    steps[i].setWallS(j.steps[i].wall_s);
    steps[i].setExitCode(j.steps[i].exit_code);
    steps[i].setFinished(j.steps[i].finished);
    steps[i].setSignal(j.steps[i].signal);
  }
  auto phases = b.initDeployPhases(j.deploy_phases.size());
  for (unsigned i = 0; i < j.deploy_phases.size(); ++i) {
    const DeployPhase& p = j.deploy_phases[i];
    phases[i].setName(p.name);
    phases[i].setStartUs(p.start_us);
    phases[i].setEndUs(p.end_us);
    phases[i].setOk(p.ok);
    phases[i].setDetail(p.detail);
  }
  b.setHasDeploy(j.deploy.has_value());
  if (j.deploy) {
    auto d = b.initDeploy();
    d.setOutcome(j.deploy->outcome);
    d.setReason(j.deploy->reason);
    d.setHasProbe(j.deploy->probe.has_value());
    if (j.deploy->probe) wire_io::fill(d.initProbe(), *j.deploy->probe);
  }
}
}  // namespace

Coordinator::Coordinator(CoordinatorConfig config, zmq::context_t& context, PgStore& store,
                         PgStore& reader, const Clock& clock)
    : config_(std::move(config)),
      context_(context),
      store_(store),
      reader_(reader),
      clock_(clock),
      ended_(store),
      table_(ended_, clock),
      gate_(store),
      agents_(context, zmq::socket_type::router),
      clients_(context, zmq::socket_type::router) {
  table_.set_gate(&gate_);
  install_handlers();
}

GateVerdict StoreGate::judge(const Job& job, uint64_t need_id) {
  try {
    return judge_regression(store_.gate_facts(need_id));
  } catch (const StoreError& e) {
    if (e.retryable()) throw;
    spdlog::warn("job {} {}: cannot judge need {} for regressions: {}", job.id, job.name, need_id,
                 e.what());
    return {GateVerdict::kUndecided, e.what()};
  }
}

void Coordinator::install_handlers() {
  agent_handlers_ = {
      {Which::AGENT_HELLO, &Coordinator::on_agent_hello},
      {Which::HEARTBEAT, &Coordinator::on_heartbeat},
      {Which::STEP_STARTED, &Coordinator::on_step_started},
      {Which::STEP_FINISHED, &Coordinator::on_step_finished},
      {Which::LOG_CHUNK, &Coordinator::on_log_chunk},
      {Which::JOB_FINISHED, &Coordinator::on_job_finished},
      {Which::SAMPLE, &Coordinator::on_sample},
      {Which::METRIC, &Coordinator::on_metric},
      {Which::CALIBRATION, &Coordinator::on_calibration},
      {Which::DEPLOY_PHASE, &Coordinator::on_deploy_phase},
      {Which::DEPLOY_RESULT, &Coordinator::on_deploy_result},
      {Which::ERROR, &Coordinator::on_agent_error},
  };
  client_handlers_ = {
      {Which::SUBMIT, &Coordinator::on_submit},
      {Which::STATUS, &Coordinator::on_status},
      {Which::LOGS, &Coordinator::on_logs},
      {Which::AGENTS, &Coordinator::on_agents},
      {Which::CANCEL_REQUEST, &Coordinator::on_cancel},
      {Which::REPORT, &Coordinator::on_report},
      {Which::DRAIN, &Coordinator::on_drain},
      {Which::CALIBRATE, &Coordinator::on_calibrate},
  };
}

void Coordinator::start() {
  store_.connect();
  int version = store_.migrate();
  try {
    reader_.connect();
  } catch (const StoreError& e) {
    spdlog::warn("read connection: {} (reads connect again on demand)", e.what());
  }
  spdlog::info("database schema at version {}", version);
  reload_state();
  db_up_ = true;
  configure_router(agents_);
  configure_router(clients_);
  if (!config_.secret_key.empty()) {
    apply_server_security(agents_, config_.secret_key, kAgentsDomain);
    apply_server_security(clients_, config_.secret_key, kClientsDomain);
  }
  agents_.bind(config_.agents_endpoint);
  clients_.bind(config_.clients_endpoint);
  agents_bound_ = last_endpoint(agents_);
  clients_bound_ = last_endpoint(clients_);
  if (config_.secret_key.empty())
    spdlog::warn(
        "--insecure: no encryption and no authentication; any local user or process can "
        "submit jobs to {} or pose as an agent on {}",
        clients_bound_, agents_bound_);
  spdlog::info("listening: agents on {}, clients on {} (heartbeat {} ms, lease {} ms)",
               agents_bound_, clients_bound_, config_.heartbeat_interval_ms, config_.lease_ms);
  if (!config_.ready_file.empty()) {
    std::string tmp = config_.ready_file + ".tmp";
    {
      std::ofstream out(tmp);
      out << "agents=" << agents_bound_ << "\nclients=" << clients_bound_ << "\n";
    }
    std::rename(tmp.c_str(), config_.ready_file.c_str());
  }
}

void Coordinator::reload_state() {
  table_.clear();
  log_caps_.clear();
  store_.begin();
  LoadedJobs loaded = store_.load_active_jobs();
  admin_draining_ = store_.draining_agents();
  store_.commit();
  const int64_t deadline = clock_.steady_ms() + config_.lease_ms;
  std::vector<uint64_t> pending;
  for (auto& job : loaded.jobs) {
    if (job.state == JobState::kAssigned || job.state == JobState::kRunning)
      job.reclaim_deadline_ms = deadline;  // its agent may come back and reclaim it
    if (job.state == JobState::kPending) pending.push_back(job.id);
    table_.add(std::move(job));
  }
  for (auto& [id, state] : loaded.ended_needs) table_.remember_ended(id, state);
  spdlog::info("loaded {} jobs in flight ({} waiting for needs)", loaded.jobs.size(),
               pending.size());
  // Settle pending jobs whose needs ended (a crash between turns cannot
  // cause this, but a hand-edited database can).
  store_.begin();
  for (uint64_t id : pending)
    if (Job* j = table_.find(id)) table_.settle(*j);
  store_.commit();
  schedule_dirty_ = true;
}

bool Coordinator::recover() {
  if (clock_.steady_ms() < next_recover_ms_) return false;
  next_recover_ms_ = clock_.steady_ms() + 1000;
  try {
    store_.connect();
    reload_state();
  } catch (const StoreError& e) {
    spdlog::warn("store still unavailable: {}", e.what());
    return false;
  }
  // Sessions may name rows that were rolled back: make every agent register
  // again. Their hellos list the jobs they hold, so nothing is lost by it.
  for (auto& [name, s] : sessions_)
    reply_error(Side::kAgents, s.route, 0, wire::ErrorCode::NOT_REGISTERED,
                "the coordinator recovered its store; register again");
  registry_.clear();
  send_all();
  spdlog::info("store available again; state reloaded");
  db_up_ = true;
  return true;
}

void Coordinator::run(const std::atomic<bool>& stop) {
  while (!stop.load()) turn(50);
  spdlog::info("stopping after {} turns", turns_);
}

bool Coordinator::read_frame(Side side, std::vector<Incoming>& in, uint64_t& bytes) {
  zmq::socket_t& sock = side == Side::kAgents ? agents_ : clients_;
  zmq::message_t route;
  if (!sock.recv(route, zmq::recv_flags::dontwait)) return false;
  std::vector<zmq::message_t> parts;
  while (sock.get(zmq::sockopt::rcvmore)) {
    zmq::message_t part;
    (void)sock.recv(part, zmq::recv_flags::none);
    bytes += part.size();
    parts.push_back(std::move(part));
  }
  if (parts.size() != 1) {
    spdlog::warn("dropping a message of {} frames from a peer (expected 1)", parts.size());
    reply_error(side, route.to_string(), 0, wire::ErrorCode::MALFORMED,
                "expected exactly one frame after the routing id");
    return true;
  }
  std::string user;
  if (!config_.secret_key.empty()) {
    // Set by the ZAP handler at the handshake: every message of the
    // connection carries it.
    try {
      user = parts[0].gets("User-Id");
    } catch (const zmq::error_t&) {
    }
  }
  in.push_back({side, route.to_string(), std::move(parts[0]), std::move(user)});
  return true;
}

void Coordinator::compensate_stall(int64_t now) {
  const int64_t gap = last_turn_ms_ ? now - last_turn_ms_ : 0;
  last_turn_ms_ = now;
  if (gap <= static_cast<int64_t>(config_.stall_ms)) return;
  // The coordinator itself was not serving (a slow commit, a database
  // outage, a paused process): agents' heartbeats waited in the socket. No
  // agent is judged on time the coordinator did not watch.
  registry_.extend(gap);
  for (auto& [id, job] : table_.jobs()) {
    Job* j = table_.find(id);
    if (j->reclaim_deadline_ms) j->reclaim_deadline_ms += gap;
    if (j->assigned_at_ms) j->assigned_at_ms += gap;
  }
  spdlog::warn("the coordinator stalled for {} ms; every lease is extended by as much", gap);
}

bool Coordinator::batched(Which which) {
  return which == Which::HEARTBEAT || which == Which::LOG_CHUNK || which == Which::SAMPLE ||
         which == Which::METRIC || which == Which::ERROR || which == Which::STATUS ||
         which == Which::LOGS || which == Which::AGENTS || which == Which::REPORT;
}

void Coordinator::serve_without_store(std::vector<Incoming>& incoming) {
  for (auto& in : incoming) {
    auto decoded = wire_io::decode_frame(in.frame.data(), in.frame.size());
    auto* frame = std::get_if<std::unique_ptr<wire_io::Frame>>(&decoded);
    uint64_t req = 0;
    try {
      if (frame) {
        auto env = (*frame)->envelope();
        req = env.getRequestId();
        if (in.side == Side::kAgents && env.getBody().which() == Which::HEARTBEAT) {
          AgentSession* s = registry_.by_route(in.route);
          if (!s) continue;  // it registers once the store is back
          s->last_seen_ms = clock_.steady_ms();
          capnp::MallocMessageBuilder b;
          wire_io::start(b, req).getBody().initHeartbeat().setSentAtUs(clock_.unix_us());
          send_now(Side::kAgents, in.route, b);
          continue;
        }
      }
    } catch (const kj::Exception&) {
    }
    // Agents keep their results and send them again; clients retry.
    if (in.side == Side::kClients)
      reply_error(Side::kClients, in.route, req, wire::ErrorCode::UNAVAILABLE,
                  "the coordinator cannot reach PostgreSQL; try again");
  }
}

void Coordinator::turn(int timeout_ms) {
  zmq::pollitem_t items[] = {{static_cast<void*>(agents_), 0, ZMQ_POLLIN, 0},
                             {static_cast<void*>(clients_), 0, ZMQ_POLLIN, 0}};
  yardstick::poll(items, 2, std::chrono::milliseconds(timeout_ms));
  compensate_stall(clock_.steady_ms());

  // Clients and agents take turns, so that a flood of results never starves
  // a client; a turn ends at max_batch frames or max_turn_bytes.
  std::vector<Incoming> incoming;
  uint64_t bytes = 0;
  bool more_clients = true, more_agents = true;
  while ((more_clients || more_agents) && incoming.size() < config_.max_batch &&
         bytes < config_.max_turn_bytes) {
    const size_t before = incoming.size();
    if (more_clients) more_clients = read_frame(Side::kClients, incoming, bytes);
    if (more_agents) more_agents = read_frame(Side::kAgents, incoming, bytes);
    for (size_t i = before; i < incoming.size(); ++i) bytes += incoming[i].frame.size();
  }

  const int64_t now = clock_.steady_ms();
  const bool lease_due = now >= next_lease_check_ms_;
  if (incoming.empty() && !lease_due && !schedule_dirty_) {
    send_all();
    return;
  }
  if (!db_up_ && !recover()) {
    serve_without_store(incoming);
    send_all();
    return;
  }
  ++turns_;
  try {
    store_.begin();
    for (auto& in : incoming) dispatch(in);
    if (lease_due) {
      check_leases();
      retry_undecided_gates();
      fail_unplaceable_jobs();
      next_lease_check_ms_ = now + 100;
    }
    schedule_jobs();
    flush_acks();
    store_.commit();
  } catch (const StoreError& e) {
    store_.rollback();
    spdlog::error("store failed ({}); nothing of this turn was acted on: {}",
                  e.sqlstate().empty() ? "no SQLSTATE" : e.sqlstate(), e.what());
    outbox_.clear();
    ended_.clear();
    over_budget_.clear();
    for (auto& s : sessions_) {
      s.second.acks.clear();
      s.second.abandon.clear();
    }
    for (auto& [route, req] : turn_clients_)
      reply_error(Side::kClients, route, req, wire::ErrorCode::UNAVAILABLE,
                  "the coordinator lost PostgreSQL mid-request; try again");
    turn_clients_.clear();
    db_up_ = false;
    next_recover_ms_ = 0;
    send_all();
    return;
  }
  turn_clients_.clear();
  send_all();
  notify_ended_jobs();
  if (turns_ % 64 == 0) {
    table_.prune();
    std::set<uint64_t> live_pipelines;
    for (const auto& [id, job] : table_.jobs()) live_pipelines.insert(job.pipeline_id);
    std::erase_if(hooks_, [&](const auto& h) { return !live_pipelines.count(h.first); });
    std::erase_if(checked_out_, [&](const auto& c) { return !table_.jobs().count(c.first); });
    for (auto it = log_caps_.begin(); it != log_caps_.end();) {
      const Job* job = table_.find(it->first.job_id);
      it = (!job || job->attempt != it->first.attempt || is_terminal(job->state))
               ? log_caps_.erase(it)
               : std::next(it);
    }
  }
}

bool Coordinator::authorized(const Incoming& in, Which which, uint64_t request_id) {
  peer_name_.clear();
  if (!authority_) return true;
  const char* domain = in.side == Side::kAgents ? kAgentsDomain : kClientsDomain;
  const std::string role = authority_->current_role(domain, in.user);
  const std::string name = split_user_id(in.user).second;
  peer_name_ = name;
  if (in.side == Side::kClients) {
    if (role.empty()) {
      spdlog::warn("refused a request from client key '{}': no longer authorized", name);
      reply_error(Side::kClients, in.route, request_id, wire::ErrorCode::FORBIDDEN,
                  "the key '" + name + "' is no longer authorized on this coordinator");
      return false;
    }
    const bool writes = which == Which::SUBMIT || which == Which::CANCEL_REQUEST ||
                        which == Which::DRAIN || which == Which::CALIBRATE;
    if (writes && role != "submit") {
      spdlog::warn("refused a write from client '{}' (role {})", name, role);
      reply_error(
          Side::kClients, in.route, request_id, wire::ErrorCode::FORBIDDEN,
          "the key '" + name + "' has the " + role + " role: " +
              (which == Which::CALIBRATE ? "calibrate needs" : "submit, cancel and drain need") +
              " a key with the submit role");
      return false;
    }
    return true;
  }
  // Agents: the key's name is the only name the peer may act as.
  auto reject = [&](const std::string& reason) {
    spdlog::warn("refused agent key '{}': {}", name, reason);
    capnp::MallocMessageBuilder b;
    wire_io::start(b, request_id).getBody().initReject().setReason(reason);
    reply(Side::kAgents, in.route, b);
    return false;
  };
  if (role.empty()) return reject("the key of agent '" + name + "' is no longer authorized");
  const std::string registered = registry_.name_of(in.route, "");
  if (!registered.empty() && registered != name)
    return reject("the key of agent '" + name + "' cannot act as agent '" + registered + "'");
  return true;
}

void Coordinator::dispatch(Incoming& in) {
  auto decoded = wire_io::decode_frame(in.frame.data(), in.frame.size());
  if (auto* err = std::get_if<wire_io::DecodeError>(&decoded)) {
    spdlog::warn("{} peer sent a bad frame ({} bytes): {}",
                 in.side == Side::kAgents ? "agent" : "client", in.frame.size(), err->message);
    reply_error(in.side, in.route, err->request_id, err->code, err->message);
    return;
  }
  auto& frame = std::get<std::unique_ptr<wire_io::Frame>>(decoded);
  uint64_t request_id = 0;
  try {
    auto env = frame->envelope();
    request_id = env.getRequestId();
    auto& table = in.side == Side::kAgents ? agent_handlers_ : client_handlers_;
    auto which = env.getBody().which();
    auto it = table.find(which);
    if (it == table.end()) {
      spdlog::warn("unimplemented message body {} on the {} socket", static_cast<int>(which),
                   in.side == Side::kAgents ? "agents" : "clients");
      reply_error(in.side, in.route, request_id, wire::ErrorCode::UNIMPLEMENTED,
                  "message body " + std::to_string(static_cast<int>(which)) +
                      " is not implemented on the " +
                      (in.side == Side::kAgents ? "agents" : "clients") +
                      " socket (is this peer pointed at the right port?)");
      return;
    }
    if (!authorized(in, which, request_id)) return;
    if (in.side == Side::kClients) turn_clients_.emplace_back(in.route, request_id);
    if (batched(which)) {
      (this->*(it->second))(in.route, request_id, env);
      return;
    }
    const size_t outbox_before = outbox_.size();
    auto refused = store_.guarded([&] { (this->*(it->second))(in.route, request_id, env); });
    if (!refused) return;
    // PostgreSQL refused this message's data: it alone is refused. Its
    // answers are withdrawn (they described writes that were undone).
    outbox_.erase(outbox_.begin() + outbox_before, outbox_.end());
    const std::string who =
        in.side == Side::kClients ? "client" : registry_.name_of(in.route, "(unregistered agent)");
    spdlog::error("PostgreSQL refused a message from {} ({}): {}", who,
                  refused->sqlstate().empty() ? "no SQLSTATE" : refused->sqlstate(),
                  refused->what());
    auto key = result_key(env);
    store_.record_refusal(who, key ? key->job_id : 0, key ? key->attempt : 0,
                          "body " + std::to_string(static_cast<int>(which)), refused->what());
    if (in.side == Side::kClients) {
      reply_error(Side::kClients, in.route, request_id, wire::ErrorCode::REFUSED,
                  std::string("the store refused this request: ") + refused->what());
    } else if (key) {
      // Acknowledged, so that it is never sent again: the refusal is recorded.
      if (AgentSession* s = registry_.by_route(in.route)) s->acks.push_back(*key);
    } else {
      reply_error(Side::kAgents, in.route, request_id, wire::ErrorCode::REFUSED,
                  std::string("the store refused this message: ") + refused->what());
    }
  } catch (const kj::Exception& e) {
    spdlog::warn("undecodable message: {}", e.getDescription().cStr());
    reply_error(in.side, in.route, request_id, wire::ErrorCode::MALFORMED,
                std::string("undecodable message: ") + e.getDescription().cStr());
  }
}

void Coordinator::read_for_client(const std::string& route, uint64_t req,
                                  const std::function<void()>& fn) {
  const size_t outbox_before = outbox_.size();
  try {
    reader_.begin();
    fn();
    reader_.commit();
  } catch (const StoreError& e) {
    reader_.rollback();
    outbox_.erase(outbox_.begin() + outbox_before, outbox_.end());
    if (e.refused()) {
      reply_error(Side::kClients, route, req, wire::ErrorCode::BAD_REQUEST, e.what());
    } else if (e.sqlstate() == "57014") {
      reply_error(Side::kClients, route, req, wire::ErrorCode::UNAVAILABLE,
                  "the query took longer than the coordinator's read time limit");
    } else {
      spdlog::warn("read connection: {}", e.what());
      reply_error(Side::kClients, route, req, wire::ErrorCode::UNAVAILABLE,
                  "the coordinator cannot read from PostgreSQL; try again");
    }
  }
}

// ---------------------------------------------------------------------------
// Agent side

AgentSession* Coordinator::session_for(const std::string& route, uint64_t request_id) {
  if (AgentSession* s = registry_.by_route(route)) {
    s->last_seen_ms = clock_.steady_ms();
    return s;
  }
  reply_error(Side::kAgents, route, request_id, wire::ErrorCode::NOT_REGISTERED,
              "this agent is not registered: send agentHello");
  return nullptr;
}

void Coordinator::on_agent_hello(const std::string& route, uint64_t req,
                                 wire::Envelope::Reader env) {
  auto hello = env.getBody().getAgentHello();
  std::string name = clean(hello.getName());
  uint32_t slots = hello.getSlots();
  auto reject = [&](const std::string& reason) {
    capnp::MallocMessageBuilder b;
    wire_io::start(b, req).getBody().initReject().setReason(reason);
    reply(Side::kAgents, route, b);
  };
  if (name.empty() || slots == 0 || slots > 1024) {
    reject("an agent needs a name and from 1 to 1024 slots");
    return;
  }
  if (!peer_name_.empty() && name != peer_name_) {
    // The key decides the name: a listed key cannot pose as another agent,
    // and the real one keeps its session and its jobs.
    spdlog::warn("refused a hello naming agent '{}' from the key of agent '{}'", name, peer_name_);
    reject("this key belongs to agent '" + peer_name_ + "', not '" + name +
           "' (an agent's name is bound to its key in --authorized-agents)");
    return;
  }
  const std::string incarnation = clean(hello.getIncarnation());
  const int64_t now = clock_.steady_ms();
  const auto admission = registry_.admit(name, incarnation, route, now,
                                         2 * static_cast<int64_t>(config_.heartbeat_interval_ms));
  if (admission == AgentRegistry::Admission::kReject) {
    // Another process uses this name and is alive: refuse the newcomer
    // rather than let the two evict each other forever.
    spdlog::warn("refused a second agent named {} (the connected one is alive)", name);
    reject("an agent named '" + name +
           "' is already connected from another process; agent names must be unique "
           "(--name)");
    return;
  }
  MachineInfo machine = wire_io::read(hello.getMachine());
  machine.name = clean(machine.name.empty() ? name : machine.name);
  machine.cpu_model = clean(machine.cpu_model);
  machine.os_release = clean(machine.os_release);
  machine.kernel = clean(machine.kernel);
  machine.arch = clean(machine.arch);
  for (auto& t : machine.tools) t = {clean(t.name), clean(t.version)};
  Labels labels;
  for (const auto& l : wire_io::read_labels(hello.getLabels())) labels.insert(clean(l));
  std::vector<JobRef> held = read_refs(hello.getHeldJobs());

  uint64_t machine_id = store_.upsert_machine(machine);
  uint64_t agent_id =
      store_.upsert_agent(name, labels, slots, machine_id, clean(hello.getAgentVersion()));
  store_.set_agent_incarnation(agent_id, incarnation);

  const bool repeat = admission == AgentRegistry::Admission::kRepeat;
  AgentSession fresh;
  fresh.route = route;
  fresh.name = name;
  fresh.incarnation = incarnation;
  fresh.agent_id = agent_id;
  fresh.machine_id = machine_id;
  fresh.machine_name = machine.name;
  fresh.labels = labels;
  fresh.slots = slots;
  fresh.draining_self = hello.getDraining();
  fresh.draining_admin = admin_draining_.count(name) > 0;
  fresh.last_seen_ms = now;
  fresh.last_touched_ms = now;
  AgentSession& s = registry_.put(std::move(fresh));

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
      !active_calibration(machine_id, "")) {
    const Job& job = create_calibration(s, "the coordinator (a new machine)");
    spdlog::info("machine {} ({}) was never calibrated: job {} calibrates it on agent {}",
                 machine.name, machine.fingerprint(), job.id, name);
  }
  std::vector<JobRef> abandon(s.abandon.begin(), s.abandon.end());
  s.abandon.clear();

  capnp::MallocMessageBuilder b;
  auto w = wire_io::start(b, req).getBody().initWelcome();
  w.setAgentId(agent_id);
  w.setHeartbeatIntervalMs(config_.heartbeat_interval_ms);
  w.setLeaseMs(config_.lease_ms);
  wire_io::fill(w.initAbandon(abandon.size()), abandon);
  reply(Side::kAgents, route, b);
  spdlog::info(
      "agent {} registered{}: machine {} ({}), labels {}, {} slots, {} held, {} abandoned{}", name,
      repeat ? " again (same process)" : "", machine.name, machine.fingerprint(),
      format_labels(labels), slots, held.size(), abandon.size(), s.draining() ? ", draining" : "");
  schedule_dirty_ = true;
}

void Coordinator::reconcile(AgentSession& s, const std::vector<JobRef>& held, bool hello) {
  const int64_t grace = 2 * static_cast<int64_t>(config_.heartbeat_interval_ms) + 1000;
  Reconciliation r = reconcile_held(table_, s.name, held, hello, clock_.steady_ms(), grace);
  for (const auto& ref : r.abandon)
    if (s.abandon.insert(ref).second)
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
      reply(Side::kAgents, s.route, b);
    }
  for (uint64_t id : r.lost) {
    table_.job_lost(
        *table_.find(id),
        "agent " + s.name + (hello ? " registered again without it" : " does not run it"));
    schedule_dirty_ = true;
  }
}

void Coordinator::on_heartbeat(const std::string& route, uint64_t req, wire::Envelope::Reader env) {
  AgentSession* s = session_for(route, req);
  if (!s) return;
  // Answered now: liveness does not wait for the turn's commit.
  capnp::MallocMessageBuilder b;
  wire_io::start(b, req).getBody().initHeartbeat().setSentAtUs(clock_.unix_us());
  send_now(Side::kAgents, route, b);
  auto hb = env.getBody().getHeartbeat();
  if (hb.getDraining() != s->draining_self) {
    s->draining_self = hb.getDraining();
    spdlog::info("agent {} {}", s->name,
                 s->draining_self ? "is draining: no new jobs" : "takes jobs again");
    schedule_dirty_ = true;
  }
  if (s->last_seen_ms - s->last_touched_ms >= static_cast<int64_t>(config_.lease_ms) / 2) {
    store_.touch_agent(s->agent_id);
    s->last_touched_ms = s->last_seen_ms;
  }
  if (hb.hasHeldJobs()) reconcile(*s, read_refs(hb.getHeldJobs()), /*hello=*/false);
}

Intake Coordinator::intake(AgentSession& s, const ResultKey& key, const char* what, Job** out) {
  Job* job = key.job_id <= kMaxId ? table_.find(key.job_id) : nullptr;
  *out = job;
  const IntakeDecision d = judge_result(job, key, s.name);
  // The first result of an attempt shows it started: a benchmark sends
  // samples and no step events, a build its step events.
  if (d.intake == Intake::kStore && job->state == JobState::kAssigned)
    table_.transition(*job, JobState::kRunning);
  if (d.intake != Intake::kRefuse) return d.intake;
  if (s.abandon.insert({key.job_id, key.attempt}).second) {
    spdlog::warn("refused a {} from agent {} for job {} attempt {}: {}; told it to abandon", what,
                 s.name, key.job_id, key.attempt, d.why);
    store_.record_refusal(s.name, key.job_id, key.attempt, what, d.why);
  }
  return Intake::kRefuse;
}

void Coordinator::on_step_started(const std::string& route, uint64_t req,
                                  wire::Envelope::Reader env) {
  AgentSession* s = session_for(route, req);
  if (!s) return;
  auto m = env.getBody().getStepStarted();
  ResultKey key = wire_io::read(m.getKey());
  Job* job = nullptr;
  const Intake in = intake(*s, key, "step start", &job);
  if (in == Intake::kRefuse) return;
  if (in == Intake::kStore) {
    store_.record_step_started(key, m.getIndex(), clean(m.getName()), s->agent_id, s->machine_id,
                               m.getStartedAtUs());
    if (job->agent_started_at_us == 0 || m.getStartedAtUs() < job->agent_started_at_us)
      job->agent_started_at_us = m.getStartedAtUs();
  }
  s->acks.push_back(key);
}

void Coordinator::on_step_finished(const std::string& route, uint64_t req,
                                   wire::Envelope::Reader env) {
  AgentSession* s = session_for(route, req);
  if (!s) return;
  auto m = env.getBody().getStepFinished();
  ResultKey key = wire_io::read(m.getKey());
  Job* job = nullptr;
  const Intake in = intake(*s, key, "step end", &job);
  if (in == Intake::kRefuse) return;
  if (in == Intake::kStore) {
    StepResult step = wire_io::read(m);
    step.name = clean(step.name);
    step.command = clean(step.command);
    store_.record_step_finished(key, step, s->agent_id, s->machine_id);
    step.revision = clean(step.revision);
    if (!step.revision.empty()) {
      store_.record_revision(job->id, job->pipeline_id, step.revision);
      checked_out_[job->id] = step.revision;
    }
  }
  s->acks.push_back(key);
}

void Coordinator::on_log_chunk(const std::string& route, uint64_t req, wire::Envelope::Reader env) {
  AgentSession* s = session_for(route, req);
  if (!s) return;
  auto m = env.getBody().getLogChunk();
  ResultKey key = wire_io::read(m.getKey());
  Job* job = nullptr;
  const Intake in = intake(*s, key, "log chunk", &job);
  if (in == Intake::kRefuse) return;
  if (in == Intake::kStore) {
    auto data = m.getData();
    store_log_chunk(*job, key, stream_name(m.getStream()), m.getStepIndex(),
                    std::string(reinterpret_cast<const char*>(data.begin()), data.size()),
                    m.getAtUs());
  }
  s->acks.push_back(key);
}

void Coordinator::store_log_chunk(Job& job, const ResultKey& key, const std::string& stream,
                                  int32_t step_index, const std::string& data, int64_t at_us) {
  const JobRef ref{job.id, job.attempt};
  auto found = log_caps_.find(ref);
  if (found == log_caps_.end()) {
    // First chunk this coordinator sees for the attempt: learn what is stored.
    LogLayout layout = store_.log_layout(job.id, job.attempt);
    found = log_caps_
                .emplace(ref, LogCap::from_stored(config_.log_cap_bytes, layout.chunks,
                                                  layout.has_marker, layout.head_chunks,
                                                  layout.cut_bytes, layout.cut_chunks))
                .first;
  }
  LogCap& cap = found->second;
  const LogCap::Step step = cap.add(key.seq, data.size());
  if (step.place_marker)  // before the chunk: the marker stands between head and tail
    store_.put_log_marker(job.id, job.attempt, cap.marker_text(), at_us, cap.cut_bytes(),
                          cap.cut_chunks());
  if (step.store) store_.record_log_chunk(key, stream, step_index, data, at_us);
  if (!step.drop.empty()) store_.drop_log_chunks(job.id, job.attempt, step.drop);
  if (step.update_marker)
    store_.put_log_marker(job.id, job.attempt, cap.marker_text(), at_us, cap.cut_bytes(),
                          cap.cut_chunks());
}

void Coordinator::on_job_finished(const std::string& route, uint64_t req,
                                  wire::Envelope::Reader env) {
  AgentSession* s = session_for(route, req);
  if (!s) return;
  auto m = env.getBody().getJobFinished();
  ResultKey key = wire_io::read(m.getKey());
  Job* job = nullptr;
  const Intake in = intake(*s, key, "job end", &job);
  if (in == Intake::kRefuse) return;
  if (in == Intake::kStore) {
    const JobOutcome outcome = wire_io::from_wire(m.getOutcome());
    std::string message = clean(m.getMessage());
    if (outcome == JobOutcome::kLost) {
      table_.job_lost(*job, "agent " + s->name + ": " + message);
    } else {
      JobState to = evaluate_ended_job(*job, to_job_state(outcome), &message, m.getEndedAtUs());
      table_.transition(*job, to, message);
    }
    log_caps_.erase({job->id, key.attempt});
    schedule_dirty_ = true;
  }
  s->acks.push_back(key);
}

void Coordinator::on_sample(const std::string& route, uint64_t req, wire::Envelope::Reader env) {
  AgentSession* s = session_for(route, req);
  if (!s) return;
  auto m = env.getBody().getSample();
  ResultKey key = wire_io::read(m.getKey());
  Job* job = nullptr;
  const Intake in = intake(*s, key, "sample", &job);
  if (in == Intake::kRefuse) return;
  if (in == Intake::kStore) {
    StepResult r = wire_io::read(m);
    store_.record_sample(key, m.getVariantIndex(), clean(m.getVariant()), m.getIndex(), r);
  }
  s->acks.push_back(key);
}

void Coordinator::on_metric(const std::string& route, uint64_t req, wire::Envelope::Reader env) {
  AgentSession* s = session_for(route, req);
  if (!s) return;
  auto m = env.getBody().getMetric();
  ResultKey key = wire_io::read(m.getKey());
  Job* job = nullptr;
  const Intake in = intake(*s, key, "metric", &job);
  if (in == Intake::kRefuse) return;
  if (in == Intake::kStore && std::isfinite(m.getValue()))
    store_.record_metric(key, m.getStepIndex(), clean(m.getVariant()), m.getRunIndex(),
                         clean(m.getName()), m.getValue(), clean(m.getUnit()));
  s->acks.push_back(key);
}

void Coordinator::on_calibration(const std::string& route, uint64_t req,
                                 wire::Envelope::Reader env) {
  AgentSession* s = session_for(route, req);
  if (!s) return;
  auto m = env.getBody().getCalibration();
  ResultKey key = wire_io::read(m.getKey());
  Job* job = nullptr;
  const Intake in = intake(*s, key, "calibration", &job);
  if (in == Intake::kRefuse) return;
  if (in == Intake::kStore && job->spec.kind == "calibrate") {
    CalibrationTimes times;
    times.benchmark = clean(m.getBenchmark());
    for (double t : m.getTimesS()) times.times_s.push_back(t);
    if (auto summary = summarize_calibration(times); summary && !times.benchmark.empty()) {
      std::vector<double> kept;
      for (double t : times.times_s)
        if (std::isfinite(t) && t > 0) kept.push_back(t);
      store_.record_calibration(key, s->machine_id, s->agent_id, *summary, kept);
    } else {
      store_.record_refusal(s->name, key.job_id, key.attempt, "calibration",
                            "a calibration result without a benchmark name or any valid time");
    }
  } else if (in == Intake::kStore) {
    store_.record_refusal(s->name, key.job_id, key.attempt, "calibration",
                          "a calibration result for a job of kind " + job->spec.kind);
  }
  s->acks.push_back(key);
}

void Coordinator::on_deploy_phase(const std::string& route, uint64_t req,
                                  wire::Envelope::Reader env) {
  AgentSession* s = session_for(route, req);
  if (!s) return;
  auto m = env.getBody().getDeployPhase();
  ResultKey key = wire_io::read(m.getKey());
  Job* job = nullptr;
  const Intake in = intake(*s, key, "deploy phase", &job);
  if (in == Intake::kRefuse) return;
  if (in == Intake::kStore && job->spec.kind == "deploy") {
    DeployPhase p = wire_io::read(m);
    p.name = clean(p.name);
    p.detail = clean(p.detail);
    if (p.name.empty() || p.start_us <= 0 || p.end_us < p.start_us)
      store_.record_refusal(s->name, key.job_id, key.attempt, "deploy phase",
                            "a deploy phase without a name or with an end before its start");
    else
      store_.record_deploy_phase(key, p);
  } else if (in == Intake::kStore) {
    store_.record_refusal(s->name, key.job_id, key.attempt, "deploy phase",
                          "a deploy phase for a job of kind " + job->spec.kind);
  }
  s->acks.push_back(key);
}

void Coordinator::on_deploy_result(const std::string& route, uint64_t req,
                                   wire::Envelope::Reader env) {
  AgentSession* s = session_for(route, req);
  if (!s) return;
  auto m = env.getBody().getDeployResult();
  ResultKey key = wire_io::read(m.getKey());
  Job* job = nullptr;
  const Intake in = intake(*s, key, "deploy result", &job);
  if (in == Intake::kRefuse) return;
  if (in == Intake::kStore && job->spec.kind == "deploy") {
    DeployReport r = wire_io::read(m);
    static const std::set<std::string> kOutcomes = {"succeeded", "failed", "rolled back",
                                                    "rollback failed"};
    auto too_big = [](uint64_t n) { return n > static_cast<uint64_t>(INT64_MAX); };
    bool counts_fit = !too_big(r.switch_old) && !too_big(r.switch_new);
    if (r.probe) {
      counts_fit = counts_fit && !too_big(r.probe->sent) && !too_big(r.probe->failed) &&
                   !too_big(r.probe->late);
      for (const auto& [kind, n] : r.probe->failures) counts_fit = counts_fit && !too_big(n);
    }
    if (!kOutcomes.count(r.outcome) || !counts_fit) {
      store_.record_refusal(s->name, key.job_id, key.attempt, "deploy result",
                            !counts_fit ? "a deploy result with counts past 2^63"
                                        : "a deploy result with an unknown outcome");
    } else {
      for (std::string* t : {&r.reason, &r.message, &r.old_version, &r.new_version}) *t = clean(*t);
      if (r.probe) {
        for (double* d : {&r.probe->longest_outage_ms, &r.probe->p50_ms, &r.probe->p99_ms})
          if (!std::isfinite(*d)) *d = 0;
      }
      store_.record_deploy_result(key, r);
    }
  } else if (in == Intake::kStore) {
    store_.record_refusal(s->name, key.job_id, key.attempt, "deploy result",
                          "a deploy result for a job of kind " + job->spec.kind);
  }
  s->acks.push_back(key);
}

const Job* Coordinator::active_calibration(uint64_t machine_id, const std::string& agent) const {
  for (const auto& [id, job] : table_.jobs())
    if (job.spec.kind == "calibrate" && !is_terminal(job.state) &&
        (agent.empty() ? job.target_machine_id == machine_id : job.target_agent == agent))
      return &job;
  return nullptr;
}

const Job& Coordinator::create_calibration(const AgentSession& session,
                                           const std::string& submitter) {
  const std::string definition = "calibrate agent " + session.name + " on machine " +
                                 session.machine_name + " (requested by " + submitter + ")";
  const uint64_t pipeline_id =
      store_.insert_pipeline("calibrate", "", "", submitter, "", definition);
  Job job;
  job.pipeline_id = pipeline_id;
  job.name = "calibrate";
  job.retries = 1;  // a calibration cut short by an agent restart runs once more
  job.target_agent = session.name;
  job.target_machine_id = session.machine_id;
  job.spec.kind = "calibrate";
  job.spec.pipeline_name = "calibrate";
  job.spec.job_name = "calibrate";
  job.spec.pipeline_id = pipeline_id;
  job.spec.slots = kExclusiveSlots;  // never beside another job: that would be noise
  job.spec.timeout_ms = 300'000;
  job.id = store_.insert_job(job);
  const uint64_t id = job.id;
  table_.add(std::move(job));
  Job* added = table_.find(id);
  table_.settle(*added);
  schedule_dirty_ = true;
  return *added;
}

void Coordinator::on_calibrate(const std::string& route, uint64_t req, wire::Envelope::Reader env) {
  const std::string name = clean(env.getBody().getCalibrate().getAgent());
  auto s = sessions_.find(name);
  if (s == sessions_.end()) {
    bool known = false;
    for (const auto& row : store_.agents()) known |= row.name == name;
    reply_error(Side::kClients, route, req, wire::ErrorCode::NOT_FOUND,
                known ? "agent '" + name + "' is not connected: a calibration runs on the agent"
                      : "no agent named '" + name + "'");
    return;
  }
  const Job* job = active_calibration(s->second.machine_id, name);
  const bool existing = job != nullptr;
  if (!job) {
    const std::string who = peer_name_.empty() ? std::string("a client") : peer_name_;
    job = &create_calibration(s->second, who);
    spdlog::info("calibration of agent {} (machine {}) asked by {}: job {}", name,
                 s->second.machine_name, who, job->id);
  }
  capnp::MallocMessageBuilder b;
  auto r = wire_io::start(b, req).getBody().initCalibrateReply();
  r.setPipelineId(job->pipeline_id);
  r.setJobId(job->id);
  r.setExisting(existing);
  reply(Side::kClients, route, b);
}

JobState Coordinator::evaluate_ended_job(Job& job, JobState outcome, std::string* message,
                                         int64_t ended_at_us) {
  if (outcome != JobState::kSucceeded && outcome != JobState::kFailed) return outcome;
  std::vector<BudgetBreach> breaches;
  if (job.spec.bench) {
    const BenchSpec& bench = *job.spec.bench;
    auto runs = store_.bench_runs(job.id, job.attempt);
    for (size_t i = 0; i < runs.size() && i < job.spec.variants.size(); ++i)
      if (runs[i].name.empty()) runs[i].name = job.spec.variants[i].name;
    std::vector<std::string> notes;
    auto results = evaluate_measures(runs, bench, false, &notes);
    for (const auto& note : notes) {
      // A measure the samples cannot give (instructions without counters):
      // said on every row that was judged, never judged on zeros.
      spdlog::warn("job {} {}: {}", job.id, job.name, note);
      for (auto& r : results) r.warnings.push_back(note);
    }
    std::string stop_reason;
    const auto metrics = store_.metric_values(job.id, job.attempt, std::nullopt);
    if (auto it = metrics.find(kStopReasonMetric); it != metrics.end())
      if (auto why = stop_reason_from_code(it->second)) stop_reason = to_string(*why);
    const bool shuffled = bench.interleave && runs.size() > 1;
    store_.save_bench_results(
        job.id, job.attempt, results,
        shuffled ? std::optional<uint64_t>(bench_order_seed(job.id, job.attempt)) : std::nullopt,
        stop_reason);
    std::vector<VariantResult> walls;
    for (const auto& r : results)
      if (r.measure == "wall") walls.push_back(r);
    if (job.spec.budget) breaches = check_bench_wall_budget(*job.spec.budget, walls);
  }
  if (job.spec.budget) {
    Budget budget = *job.spec.budget;
    if (job.spec.bench) budget.wall_ms = 0;  // checked per variant above
    // The agent's own clock, from the first step's start to the job's end:
    // queueing and the coordinator's turns are not the job's time.
    const int64_t started = job.agent_started_at_us ? job.agent_started_at_us : job.started_at_us;
    const int64_t ended = ended_at_us ? ended_at_us : clock_.unix_us();
    const double wall_s = started && ended > started ? (ended - started) / 1e6 : 0.0;
    auto b = check_budget(budget, std::nullopt, wall_s,
                          store_.metric_values(job.id, job.attempt, std::nullopt));
    breaches.insert(breaches.end(), b.begin(), b.end());
  }
  std::map<int, double> walls;
  const size_t offset = job.spec.checkout_repo.empty() ? 0 : 1;  // the checkout step comes first
  for (size_t i = 0; i < job.spec.steps.size(); ++i) {
    if (!job.spec.steps[i].budget) continue;
    if (walls.empty()) walls = store_.step_walls(job.id, job.attempt);
    const int idx = static_cast<int>(i + offset);
    auto w = walls.find(idx);
    if (w == walls.end()) continue;  // the step never ran
    auto b = check_budget(*job.spec.steps[i].budget, idx, w->second,
                          store_.metric_values(job.id, job.attempt, idx));
    breaches.insert(breaches.end(), b.begin(), b.end());
  }
  if (breaches.empty()) return outcome;
  store_.save_budget_breaches(job.id, job.attempt, breaches);
  over_budget_.insert({job.id, job.attempt});
  std::string over;
  bool fail = false;
  for (const auto& b : breaches) {
    char actual[64] = "never reported";
    if (b.actual) std::snprintf(actual, sizeof actual, "%g", *b.actual);
    over += (over.empty() ? "" : "; ") + b.budget + " (actual " + actual + ")";
    fail |= b.fails_job;
  }
  spdlog::warn("job {} {} over budget: {}", job.id, job.name, over);
  if (fail && outcome == JobState::kSucceeded) {
    *message = "over budget: " + over;
    return JobState::kFailed;
  }
  if (message->empty()) *message = "over budget: " + over;
  return outcome;
}

void Coordinator::on_agent_error(const std::string& route, uint64_t, wire::Envelope::Reader env) {
  auto e = env.getBody().getError();
  const std::string name = registry_.name_of(route, "(unregistered)");
  spdlog::warn("agent {} reported an error ({}): {}", name, wire_io::to_string(e.getCode()),
               e.getMessage().cStr());
}

// ---------------------------------------------------------------------------
// Client side

void Coordinator::on_submit(const std::string& route, uint64_t req, wire::Envelope::Reader env) {
  auto m = env.getBody().getSubmit();
  // With CURVE the key's name says who submitted; the name the CLI sends
  // (its login) is only a claim, so it is kept beside it when it differs.
  std::string submitter = clean(m.getSubmitter());
  if (!peer_name_.empty())
    submitter = submitter.empty() || submitter == peer_name_ ? peer_name_
                                                             : peer_name_ + " (" + submitter + ")";
  std::string file = clean(m.getFileName());
  if (file.empty()) file = "pipeline.yml";
  const std::string raw = m.getPipelineYaml();
  if (!is_valid_text(raw)) {
    reply_error(Side::kClients, route, req, wire::ErrorCode::BAD_REQUEST,
                file + ": the file is not UTF-8 text (or holds a NUL byte)");
    return;
  }
  std::string text = raw;
  auto parsed = parse_pipeline(text, file);
  if (!parsed.ok()) {
    std::string msg;
    for (const auto& e : parsed.errors) msg += (msg.empty() ? "" : "\n") + e.to_string();
    reply_error(Side::kClients, route, req, wire::ErrorCode::BAD_REQUEST, msg);
    return;
  }
  const PipelineDef& def = *parsed.pipeline;
  const std::string revision = clean(m.getRevision());
  if (auto problem = revision_problem(revision); !problem.empty()) {
    reply_error(Side::kClients, route, req, wire::ErrorCode::BAD_REQUEST, problem);
    return;
  }
  const std::string branch = clean(m.getBranch());
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
      reply_error(Side::kClients, route, req, wire::ErrorCode::BAD_REQUEST,
                  file + ": the signed submission is refused: " + why);
      return;
    }
  }
  uint64_t pipeline_id =
      store_.insert_pipeline(def.name, revision, branch, submitter, file, text, signed_submission);
  hooks_[pipeline_id] = pipeline_hooks(def);

  std::vector<ConnectedMachine> machines;
  for (const auto& [name, s] : sessions_)
    machines.push_back({s.machine_id, s.machine_name, s.labels});
  std::map<std::string, std::vector<uint64_t>> instances;  // job name -> ids
  std::vector<uint64_t> created;
  for (Job& job :
       expand_submission(def, pipeline_id, revision, branch, machines, signed_submission)) {
    if (def.find_job(job.name)->all_machines && job.target_machine.empty())
      spdlog::warn("pipeline {} job {}: no connected machine matches {}; one job waits for one",
                   pipeline_id, job.name, format_labels(job.on_labels));
    job.id = store_.insert_job(job);
    instances[job.name].push_back(job.id);
    created.push_back(job.id);
    table_.add(std::move(job));
  }
  for (const JobDef& jd : def.jobs)
    for (uint64_t id : instances[jd.name])
      for (const auto& need : jd.needs)
        for (uint64_t need_id : instances[need]) {
          store_.insert_need(id, need_id);
          table_.add_need(id, need_id, needs_no_regression(jd, need));
        }
  for (uint64_t id : created)
    if (Job* job = table_.find(id)) {
      table_.settle(*job);
      // Say at once (in the reply) when no connected agent can take it.
      if (job->state == JobState::kQueued)
        if (auto why = unplaceable_reason(*job); !why.empty()) table_.note(*job, "waiting: " + why);
    }
  schedule_dirty_ = true;

  capnp::MallocMessageBuilder b;
  auto r = wire_io::start(b, req).getBody().initSubmitReply();
  r.setPipelineId(pipeline_id);
  auto jobs = r.initJobs(created.size());
  for (unsigned i = 0; i < created.size(); ++i) {
    const Job* job = table_.find(created[i]);
    JobView v;
    v.id = job->id;
    v.pipeline_id = pipeline_id;
    v.name = job->name;
    v.state = job->state;
    v.attempt = job->attempt;
    v.message = job->message;
    fill_job(jobs[i], v);
  }
  reply(Side::kClients, route, b);
  spdlog::info("pipeline {} ({}) submitted by {}{}: {} jobs", pipeline_id, def.name, submitter,
               signed_submission
                   ? ", signed by " + signing::public_key_text(signed_submission->public_key)
                   : std::string(),
               created.size());
}

void Coordinator::on_status(const std::string& route, uint64_t req, wire::Envelope::Reader env) {
  uint64_t id = env.getBody().getStatus().getId();
  auto not_found = [&] {
    reply_error(Side::kClients, route, req, wire::ErrorCode::NOT_FOUND,
                "no pipeline or job with id " + std::to_string(id));
  };
  if (id == 0 || id > kMaxId) return not_found();
  read_for_client(route, req, [&] {
    auto view = reader_.status(id);
    if (!view) return not_found();
    capnp::MallocMessageBuilder b;
    auto r = wire_io::start(b, req).getBody().initStatusReply();
    r.setPipelineId(view->id);
    r.setPipelineName(view->name);
    r.setRevision(view->revision);
    r.setBranch(view->branch);
    r.setSubmitter(view->submitter);
    r.setSubmittedAtUs(view->submitted_at_us);
    auto jobs = r.initJobs(view->jobs.size());
    for (unsigned i = 0; i < view->jobs.size(); ++i) fill_job(jobs[i], view->jobs[i]);
    reply(Side::kClients, route, b);
  });
}

void Coordinator::on_logs(const std::string& route, uint64_t req, wire::Envelope::Reader env) {
  auto m = env.getBody().getLogs();
  const uint64_t id = m.getJobId();
  auto not_found = [&](const std::string& why) {
    reply_error(Side::kClients, route, req, wire::ErrorCode::NOT_FOUND, why);
  };
  if (id == 0 || id > kMaxId || m.getAfterId() > kMaxId)
    return not_found("no job with id " + std::to_string(id));
  read_for_client(route, req, [&] {
    auto view = reader_.status(id);
    if (!view) return not_found("no job with id " + std::to_string(id));
    if (view->id == id) {
      std::string jobs;
      for (const auto& j : view->jobs)
        jobs += (jobs.empty() ? "" : ", ") + std::to_string(j.id) + " (" + j.name + ")";
      return not_found(std::to_string(id) + " is a pipeline; logs are per job: " + jobs);
    }
    if (view->jobs.size() != 1) return not_found("no job with id " + std::to_string(id));
    uint32_t max_bytes = m.getMaxBytes() == 0 ? 1 << 20 : std::min(m.getMaxBytes(), 8u << 20);
    auto chunks = reader_.logs(id, m.getAfterId(), max_bytes);
    capnp::MallocMessageBuilder b;
    auto r = wire_io::start(b, req).getBody().initLogsReply();
    auto list = r.initChunks(chunks.size());
    uint64_t last = m.getAfterId();
    for (unsigned i = 0; i < chunks.size(); ++i) {
      list[i].setId(chunks[i].id);
      list[i].setAttempt(chunks[i].attempt);
      list[i].setStream(stream_from(chunks[i].stream));
      list[i].setData(kj::arrayPtr(reinterpret_cast<const capnp::byte*>(chunks[i].data.data()),
                                   chunks[i].data.size()));
      last = chunks[i].id;
    }
    r.setLastId(last);
    r.setState(wire_io::to_wire(view->jobs[0].state));
    r.setJobEnded(is_terminal(view->jobs[0].state));
    reply(Side::kClients, route, b);
  });
}

void Coordinator::on_agents(const std::string& route, uint64_t req, wire::Envelope::Reader) {
  read_for_client(route, req, [&] {
    auto rows = reader_.agents();
    capnp::MallocMessageBuilder b;
    auto r = wire_io::start(b, req).getBody().initAgentsReply();
    auto list = r.initAgents(rows.size());
    for (unsigned i = 0; i < rows.size(); ++i) {
      const auto& row = rows[i];
      auto a = list[i];
      a.setName(row.name);
      wire_io::fill_labels(a.initLabels(row.labels.size()), row.labels);
      a.setSlots(row.slots);
      a.setMachine(row.machine);
      a.setLastSeenUs(row.last_seen_us);
      auto s = sessions_.find(row.name);
      a.setConnected(s != sessions_.end());
      a.setDraining(row.draining || (s != sessions_.end() && s->second.draining()));
      a.setCalibratedAtUs(row.calibrated_at_us);
      auto cal = a.initCalibration(row.calibration.size());
      for (unsigned k = 0; k < row.calibration.size(); ++k) {
        cal[k].setBenchmark(row.calibration[k].benchmark);
        cal[k].setMedianS(row.calibration[k].median_s);
        cal[k].setNoise(row.calibration[k].noise);
        cal[k].setRuns(static_cast<uint32_t>(row.calibration[k].runs));
      }
      if (auto noise = machine_noise(row.calibration)) a.setNoise(*noise);
      if (s != sessions_.end()) {
        a.setUsedSlots(used_slots(row.name));
        auto held = table_.held_by(row.name);
        auto ids = a.initRunningJobs(held.size());
        for (unsigned k = 0; k < held.size(); ++k) ids.set(k, held[k]->id);
      }
    }
    reply(Side::kClients, route, b);
  });
}

void Coordinator::on_drain(const std::string& route, uint64_t req, wire::Envelope::Reader env) {
  auto m = env.getBody().getDrain();
  const std::string name = clean(m.getAgent());
  const bool drain = !m.getUndo();
  bool found = sessions_.count(name) > 0;
  if (!found)
    for (const auto& row : store_.agents()) found |= row.name == name;
  if (!found) {
    reply_error(Side::kClients, route, req, wire::ErrorCode::NOT_FOUND,
                "no agent named '" + name + "'");
    return;
  }
  store_.set_agent_draining(name, drain);
  if (drain)
    admin_draining_.insert(name);
  else
    admin_draining_.erase(name);
  if (auto s = sessions_.find(name); s != sessions_.end()) s->second.draining_admin = drain;
  schedule_dirty_ = true;
  spdlog::info("agent {} {} by request", name, drain ? "drains" : "takes jobs again");
  capnp::MallocMessageBuilder b;
  wire_io::start(b, req).getBody().initDrainReply().setFound(true);
  reply(Side::kClients, route, b);
}

void Coordinator::on_cancel(const std::string& route, uint64_t req, wire::Envelope::Reader env) {
  uint64_t id = env.getBody().getCancelRequest().getId();
  if (id == 0 || id > kMaxId) {
    reply_error(Side::kClients, route, req, wire::ErrorCode::NOT_FOUND,
                "no pipeline or job with id " + std::to_string(id));
    return;
  }
  auto pipeline = store_.pipeline_of(id);
  if (!pipeline) {
    reply_error(Side::kClients, route, req, wire::ErrorCode::NOT_FOUND,
                "no pipeline or job with id " + std::to_string(id));
    return;
  }
  std::vector<Job*> targets;
  for (auto& [jid, job] : table_.jobs())
    if (!is_terminal(job.state) && (jid == id || (*pipeline == id && job.pipeline_id == id)))
      targets.push_back(table_.find(jid));
  // Cancel dependents last so that they are cancelled, not skipped.
  std::sort(targets.begin(), targets.end(),
            [](const Job* a, const Job* b) { return a->id > b->id; });
  uint32_t count = 0;
  for (Job* job : targets) {
    if (is_terminal(job->state)) continue;
    cancel_job(*job, "cancelled by request");
    ++count;
  }
  capnp::MallocMessageBuilder b;
  wire_io::start(b, req).getBody().initCancelReply().setCancelled(count);
  reply(Side::kClients, route, b);
}

void Coordinator::on_report(const std::string& route, uint64_t req, wire::Envelope::Reader env) {
  auto m = env.getBody().getReport();
  const std::string name = m.getName();
  std::map<std::string, std::string> vars;
  for (auto kv : m.getParams()) vars[clean(kv.getKey())] = clean(kv.getValue());
  std::vector<std::string> columns, kinds;
  std::vector<std::vector<std::string>> rows;
  std::vector<std::vector<bool>> nulls;
  bool ok = false;
  if (is_computed_report(name, vars)) {
    // Judged here from the samples its helper reports give (comparisons.hpp).
    ReportTable table;
    std::string error;
    auto query = [&](const std::string& report, const std::map<std::string, std::string>& v) {
      TranslatedReport t;
      std::string e;
      if (!translate_report(reports().at(report), v, &t, &e)) throw std::invalid_argument(e);
      ReportTable out;
      reader_.run_report(t.sql, t.params, &out.columns, &out.rows, &out.kinds, &out.nulls);
      return out;
    };
    read_for_client(route, req, [&] {
      try {
        error = run_computed_report(name, vars, query, &table);
      } catch (const std::logic_error& e) {  // a bad variable, a helper report without a column
        error = e.what();
      }
      ok = true;
    });
    if (!ok) return;
    if (!error.empty()) {
      reply_error(Side::kClients, route, req, wire::ErrorCode::BAD_REQUEST,
                  "report " + name + ": " + error);
      return;
    }
    columns = std::move(table.columns);
    kinds = std::move(table.kinds);
    rows = std::move(table.rows);
    nulls = std::move(table.nulls);
  } else {
    auto it = reports().find(name);
    if (it == reports().end()) {
      std::string known;
      for (const auto& [n, text] : reports()) known += (known.empty() ? "" : ", ") + n;
      reply_error(Side::kClients, route, req, wire::ErrorCode::NOT_FOUND,
                  "no report named '" + name + "' (reports: " + known + ")");
      return;
    }
    TranslatedReport t;
    std::string error;
    if (!translate_report(it->second, vars, &t, &error)) {
      reply_error(Side::kClients, route, req, wire::ErrorCode::BAD_REQUEST,
                  "report " + name + ": " + error);
      return;
    }
    read_for_client(route, req, [&] {
      reader_.run_report(t.sql, t.params, &columns, &rows, &kinds, &nulls);
      ok = true;
    });
    if (!ok) return;
  }
  capnp::MallocMessageBuilder b;
  auto r = wire_io::start(b, req).getBody().initReportReply();
  auto cols = r.initColumns(columns.size());
  for (unsigned i = 0; i < columns.size(); ++i) cols.set(i, columns[i]);
  auto out = r.initRows(rows.size());
  for (unsigned i = 0; i < rows.size(); ++i) {
    auto row = out.init(i, rows[i].size());
    for (unsigned k = 0; k < rows[i].size(); ++k) row.set(k, rows[i][k]);
  }
  auto kind_list = r.initKinds(kinds.size());
  for (unsigned i = 0; i < kinds.size(); ++i) kind_list.set(i, kinds[i]);
  auto null_list = r.initNulls(nulls.size());
  for (unsigned i = 0; i < nulls.size(); ++i) {
    auto row = null_list.init(i, nulls[i].size());
    for (unsigned k = 0; k < nulls[i].size(); ++k) row.set(k, nulls[i][k]);
  }
  reply(Side::kClients, route, b);
}

void Coordinator::cancel_job(Job& job, const std::string& why) {
  if (job.state == JobState::kAssigned || job.state == JobState::kRunning) {
    auto s = sessions_.find(job.agent);
    if (s != sessions_.end()) {
      // Kept in the store and sent again with every heartbeat that lists
      // the job, until the agent reports the job's end.
      table_.request_cancel(job);
      capnp::MallocMessageBuilder b;
      auto c = wire_io::start(b, 0).getBody().initCancel();
      c.setJobId(job.id);
      c.setAttempt(job.attempt);
      c.setReason(why);
      reply(Side::kAgents, s->second.route, b);
      return;  // the agent answers with jobFinished(cancelled)
    }
  }
  table_.transition(job, JobState::kCancelled, why);
}

// ---------------------------------------------------------------------------
// Timers and scheduling

void Coordinator::check_leases() {
  const int64_t now = clock_.steady_ms();
  for (const auto& name : registry_.expired(now, config_.lease_ms)) {
    const int64_t silent_ms = now - registry_.find(name)->last_seen_ms;
    // It may come back: a later hello from it abandons what it still runs.
    registry_.remove(name);
    spdlog::warn("agent {} lost: silent for {} ms (lease {} ms)", name, silent_ms,
                 config_.lease_ms);
    table_.agent_lost(name, "agent " + name + " lost");
    schedule_dirty_ = true;
  }
  // Jobs in flight at a restart whose agent never came back.
  std::vector<Job*> orphans;
  for (auto& [id, job] : table_.jobs())
    if ((job.state == JobState::kAssigned || job.state == JobState::kRunning) &&
        !sessions_.count(job.agent) && job.reclaim_deadline_ms != 0 &&
        now >= job.reclaim_deadline_ms)
      orphans.push_back(table_.find(id));
  for (Job* job : orphans) {
    table_.job_lost(*job, "agent " + job->agent + " did not come back after a restart");
    schedule_dirty_ = true;
  }
}

std::string Coordinator::unplaceable_reason(const Job& job) const {
  bool draining_match = false;
  for (const auto& [name, s] : sessions_) {
    AgentCapacity a{name, s.labels, s.machine_id, s.slots, s.slots, true, s.machine_name};
    if (!agent_matches(a, job)) continue;
    if (!s.draining()) return "";
    draining_match = true;
  }
  std::string want = job.on_labels.empty() ? std::string("any agent")
                                           : "labels [" + format_labels(job.on_labels) + "]";
  if (!job.target_machine.empty()) want += " on machine " + job.target_machine;
  if (!job.target_agent.empty())
    return draining_match ? "agent " + job.target_agent + " is draining"
                          : "agent " + job.target_agent + " is not connected";
  return std::string(draining_match ? "every connected agent with " : "no connected agent has ") +
         want + (draining_match ? " is draining" : "");
}

void Coordinator::fail_unplaceable_jobs() {
  const int64_t now = clock_.steady_ms();
  for (Job* job : table_.queued()) {
    const std::string why = unplaceable_reason(*job);
    if (why.empty()) {
      job->unplaceable_since_ms = 0;
      if (job->message.rfind("waiting: ", 0) == 0) table_.note(*job, "");
      continue;
    }
    if (!job->unplaceable_since_ms) job->unplaceable_since_ms = now;
    table_.note(*job, "waiting: " + why);
    if (now - job->unplaceable_since_ms < static_cast<int64_t>(config_.queue_timeout_ms)) continue;
    table_.transition(*job, JobState::kFailed,
                      "no agent could take it: " + why + " (waited " +
                          std::to_string((now - job->unplaceable_since_ms) / 1000) +
                          " s; the coordinator's --queue-timeout-ms)");
    schedule_dirty_ = true;
  }
}

uint32_t Coordinator::used_slots(const std::string& agent) {
  uint32_t used = 0;
  auto s = sessions_.find(agent);
  const uint32_t slots = s == sessions_.end() ? 1 : s->second.slots;
  for (const Job* job : table_.held_by(agent))
    used += std::min(std::max(1u, job->spec.slots), slots);
  return used;
}

void Coordinator::note_concurrency_waits() {
  std::vector<const Job*> held;
  for (const auto& [id, job] : table_.jobs())
    if (job.state == JobState::kAssigned || job.state == JobState::kRunning) held.push_back(&job);
  std::vector<ConcurrencyWait> waits;
  const auto queued = table_.queued();
  concurrency_filter(queued, held, &waits);
  std::map<uint64_t, std::string> why;
  for (auto& w : waits) why[w.job_id] = std::move(w.message);
  static const std::string kPrefix = "waiting for concurrency group ";
  for (Job* job : queued) {
    if (auto it = why.find(job->id); it != why.end())
      table_.note(*job, it->second);
    else if (job->message.rfind(kPrefix, 0) == 0)
      table_.note(*job, "");  // its turn came
  }
}

void Coordinator::retry_undecided_gates() {
  const int64_t now = clock_.steady_ms();
  if (now < next_gate_retry_ms_) return;
  next_gate_retry_ms_ = now + 5000;
  std::vector<uint64_t> undecided;
  for (const auto& [id, job] : table_.jobs())
    if (job.state == JobState::kPending && job.gate_undecided) undecided.push_back(id);
  for (uint64_t id : undecided)
    if (Job* job = table_.find(id)) {
      table_.settle(*job);
      if (job->state != JobState::kPending) schedule_dirty_ = true;
    }
}

void Coordinator::schedule_jobs() {
  if (!schedule_dirty_) return;
  schedule_dirty_ = false;
  auto all_queued = table_.queued();
  if (all_queued.empty()) return;
  std::vector<const Job*> held;
  for (const auto& [id, job] : table_.jobs())
    if (job.state == JobState::kAssigned || job.state == JobState::kRunning) held.push_back(&job);
  // One job of a concurrency group at a time; the rest are told why they wait.
  auto queued = concurrency_filter(all_queued, held);
  if (!queued.empty() && !sessions_.empty()) place(queued);
  note_concurrency_waits();
}

void Coordinator::place(const std::vector<Job*>& queued) {
  std::vector<AgentCapacity> agents;
  for (const auto& [name, s] : sessions_) {
    uint32_t used = used_slots(name);
    agents.push_back({name, s.labels, s.machine_id, s.slots, used >= s.slots ? 0 : s.slots - used,
                      !s.draining(), s.machine_name});
  }
  for (const auto& p : schedule(queued, agents)) {
    Job* job = table_.find(p.job_id);
    const AgentSession& s = sessions_.at(p.agent);
    job->agent = s.name;
    job->agent_id = s.agent_id;
    job->machine_id = s.machine_id;
    job->reclaim_deadline_ms = 0;
    job->assigned_at_ms = clock_.steady_ms();
    job->agent_started_at_us = 0;
    job->spec.job_id = job->id;
    job->spec.attempt = job->attempt;
    job->spec.pipeline_id = job->pipeline_id;
    if (table_.transition(*job, JobState::kAssigned)) send_assign(s, *job);
  }
}

void Coordinator::send_assign(const AgentSession& session, const Job& job) {
  capnp::MallocMessageBuilder b;
  wire_io::fill(wire_io::start(b, 0).getBody().initAssign(), job.spec);
  reply(Side::kAgents, session.route, b);
}

void Coordinator::flush_acks() {
  for (auto& [name, s] : sessions_) {
    if (s.acks.empty()) continue;
    capnp::MallocMessageBuilder b;
    auto keys = wire_io::start(b, 0).getBody().initAck().initKeys(s.acks.size());
    for (unsigned i = 0; i < s.acks.size(); ++i) wire_io::fill(keys[i], s.acks[i]);
    reply(Side::kAgents, s.route, b);
    s.acks.clear();
  }
  for (auto& [name, s] : sessions_) {
    if (s.abandon.empty()) continue;
    capnp::MallocMessageBuilder b;
    auto a = wire_io::start(b, 0).getBody().initAbandon();
    a.setReason("not this agent's current attempt");
    wire_io::fill(a.initJobs(s.abandon.size()),
                  std::vector<JobRef>(s.abandon.begin(), s.abandon.end()));
    reply(Side::kAgents, s.route, b);
    s.abandon.clear();
  }
}

void Coordinator::notify_ended_jobs() {
  std::vector<Job> ended = ended_.take();
  std::set<JobRef> over_budget;
  over_budget.swap(over_budget_);
  for (const Job& job : ended) {
    JobEnd end;
    end.pipeline = job.spec.pipeline_name;
    end.pipeline_id = job.pipeline_id;
    end.job = job.name;
    end.job_id = job.id;
    end.attempt = job.attempt;
    end.kind = job.spec.kind;
    end.state = job.state;
    end.message = job.message;
    end.agent = job.agent;
    if (auto s = sessions_.find(job.agent); s != sessions_.end() && !job.agent.empty())
      end.machine = s->second.machine_name;
    end.revision = job.spec.revision;
    if (auto c = checked_out_.find(job.id); c != checked_out_.end()) {
      end.revision = c->second;
      checked_out_.erase(c);
    }
    end.branch = job.spec.branch;
    end.started_at_us = job.started_at_us;
    end.ended_at_us = job.ended_at_us;
    end.over_budget = over_budget.count({job.id, job.attempt}) > 0;
    if (!notifier_) continue;
    const auto events = job_end_events(end);
    if (events.empty()) continue;
    const std::vector<Webhook>* hooks = hooks_for(job.pipeline_id, job.name);
    if (!hooks) continue;
    for (const Webhook& hook : *hooks)
      if (auto event = event_for(hook, events))
        if (notifier_->post(hook.url, notification_json(end, *event)))
          spdlog::info("job {} {}: {} notified to webhook {}", job.id, job.name, *event,
                       mask_webhook_url(hook.url));
  }
}

const std::vector<Webhook>* Coordinator::hooks_for(uint64_t pipeline_id,
                                                   const std::string& job_name) {
  auto it = hooks_.find(pipeline_id);
  if (it == hooks_.end()) {
    // Submitted before this coordinator started: its stored file says.
    std::optional<std::pair<std::string, std::string>> file;
    try {
      reader_.begin();
      file = reader_.pipeline_file(pipeline_id);
      reader_.commit();
    } catch (const StoreError& e) {
      reader_.rollback();
      spdlog::warn(
          "pipeline {}: cannot read its file for its webhooks ({}); this job end is not "
          "notified",
          pipeline_id, e.what());
      return nullptr;  // not remembered: the next job end tries again
    }
    PipelineHooks hooks;
    if (file) {
      std::string error;
      if (auto h = pipeline_hooks(file->second, file->first, &error))
        hooks = std::move(*h);
      else
        spdlog::warn("pipeline {}: its stored file no longer parses ({}); its jobs notify nobody",
                     pipeline_id, error);
    }
    it = hooks_.emplace(pipeline_id, std::move(hooks)).first;
  }
  auto hooks = it->second.find(job_name);
  return hooks == it->second.end() ? nullptr : &hooks->second;
}

void Coordinator::send_now(Side side, const std::string& route, capnp::MessageBuilder& builder) {
  zmq::socket_t& sock = side == Side::kAgents ? agents_ : clients_;
  try {
    zmq::message_t r(route.data(), route.size());
    auto frame = wire_io::to_message(builder);
    if (sock.send(r, zmq::send_flags::sndmore | zmq::send_flags::dontwait))
      (void)sock.send(frame, zmq::send_flags::dontwait);
  } catch (const zmq::error_t& e) {
    spdlog::debug("send to a gone peer failed: {}", e.what());
  }
}

void Coordinator::reply(Side side, const std::string& route, capnp::MessageBuilder& builder) {
  outbox_.push_back({side, route, wire_io::to_message(builder)});
}

void Coordinator::reply_error(Side side, const std::string& route, uint64_t request_id,
                              wire::ErrorCode code, const std::string& message) {
  outbox_.push_back({side, route, wire_io::error_message(request_id, code, message)});
}

void Coordinator::send_all() {
  for (auto& out : outbox_) {
    zmq::socket_t& sock = out.side == Side::kAgents ? agents_ : clients_;
    try {
      zmq::message_t route(out.route.data(), out.route.size());
      if (!sock.send(route, zmq::send_flags::sndmore | zmq::send_flags::dontwait) ||
          !sock.send(out.frame, zmq::send_flags::dontwait))
        spdlog::warn("peer is not keeping up; dropped a message to it");
    } catch (const zmq::error_t& e) {
      // EHOSTUNREACH under ROUTER_MANDATORY: the peer is gone. Agents resend
      // and clients retry, so nothing is lost by dropping it here.
      spdlog::debug("send to a gone peer failed: {}", e.what());
    }
  }
  outbox_.clear();
}

}  // namespace yardstick
