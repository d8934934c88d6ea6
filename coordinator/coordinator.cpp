#include "coordinator/coordinator.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <array>
#include <map>
#include <set>
#include <stdexcept>

#include "common/atomic_file.hpp"
#include "common/wire.hpp"

namespace yardstick {

Coordinator::Coordinator(CoordinatorConfig config, zmq::context_t& context, Store store,
                         Reader reader, const Clock& clock, const Authority* authority)
    : config_(std::move(config)),
      clock_(clock),
      store_(store),
      reader_(reader),
      ended_(store.pipelines),
      table_(ended_, clock),
      gate_(store.evaluation),
      placement_(config_, clock, table_, agents_, outbox_),
      calibrations_(store.pipelines, table_, placement_),
      notices_(reader, agents_),
      channel_(config_, clock, store.agents, table_, agents_, outbox_, placement_, calibrations_),
      intake_(config_, clock, store, table_, agents_, outbox_, placement_),
      clients_(store, reader, table_, agents_, outbox_, placement_, calibrations_, notices_),
      boundary_(handlers_, store.session, store.results, outbox_, agents_, authority, clock),
      engine_(config_, context, clock, store.session, boundary_, outbox_, *this) {
  table_.set_gate(&gate_);
  channel_.install(handlers_);
  intake_.install(handlers_);
  clients_.install(handlers_);
}

void Coordinator::set_metrics(CoordinatorMetrics* metrics) {
  metrics_ = metrics;
  engine_.set_metrics(metrics);
  placement_.set_metrics(metrics);
}

void Coordinator::start() {
  reload_state();
  engine_.set_store_up();
  engine_.bind();
  if (metrics_) {
    metrics_->store_up.store(true);
    metrics_->sockets_bound.store(true);
    metrics_->last_turn_unix_ms.store(clock_.unix_us() / 1000);
    publish_metrics();
  }
  if (config_.secret_key.empty())
    spdlog::warn(
        "--insecure: no encryption and no authentication; any local user or process can "
        "submit jobs to {} or pose as an agent on {}",
        engine_.clients_endpoint(), engine_.agents_endpoint());
  spdlog::info("listening: agents on {}, clients on {} (heartbeat {} ms, lease {} ms)",
               engine_.agents_endpoint(), engine_.clients_endpoint(), config_.heartbeat_interval_ms,
               config_.lease_ms);
  write_ready_file();
}

void Coordinator::write_ready_file() {
  if (config_.ready_file.empty()) return;
  std::string error;
  if (!write_file_atomically(
          config_.ready_file,
          "agents=" + engine_.agents_endpoint() + "\nclients=" + engine_.clients_endpoint() + "\n" +
              (config_.http_address.empty() ? "" : "http=" + config_.http_address + "\n"),
          &error))
    throw std::runtime_error("the ready file: " + error);
}

void Coordinator::reload_state() {
  table_.clear();
  intake_.clear();
  store_.session.begin();
  LoadedJobs loaded = store_.pipelines.load_active_jobs();
  // A row that does not decode costs its job, never the start.
  for (const auto& u : loaded.unloadable) {
    spdlog::error("job {} attempt {} cannot be loaded ({}); it is failed", u.id, u.attempt, u.why);
    store_.pipelines.fail_unloadable(u);
  }
  agents_.set_admin_draining(store_.agents.draining_agents());
  // The agents come back within their interval, which grew with the fleet.
  const Cadence cadence = fleet_cadence(config_, store_.agents.agents_seen_within(600));
  store_.session.commit();
  const int64_t deadline = clock_.steady_ms() + cadence.lease_ms;
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
  // cause this, but a hand-edited database or an unloadable need can).
  store_.session.begin();
  for (uint64_t id : pending)
    if (Job* j = table_.find(id)) table_.settle(*j);
  store_.session.commit();
  ended_.clear();
  placement_.mark_dirty();
}

bool Coordinator::recover() {
  if (clock_.steady_ms() < next_recover_ms_) return false;
  next_recover_ms_ = clock_.steady_ms() + 1000;
  if (leadership_) switch (leadership_->regain()) {
      case Leadership::Regain::kLeading:
        break;
      case Leadership::Regain::kWait:
        return false;
      case Leadership::Regain::kLost:
        throw LostLeadership("another coordinator leads now: " + leadership_->leader_description());
    }
  try {
    reload_state();
  } catch (const StoreError& e) {
    store_.session.rollback();
    spdlog::warn("store still unavailable: {}", e.what());
    return false;
  }
  // Sessions may name rows that were rolled back: make every agent register
  // again. Their hellos list the jobs they hold, so nothing is lost by it.
  channel_.reset_sessions();
  engine_.send_all();
  if (metrics_) {
    metrics_->store_recoveries.fetch_add(1);
    metrics_->store_up.store(true);
  }
  spdlog::info("store available again; state reloaded");
  return true;
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
          channel_.answer_heartbeat(in.route, req);  // else it registers once the store is back
          continue;
        }
      }
    } catch (const kj::Exception&) {
    }
    // Agents keep their results and send them again; clients retry.
    if (in.side == Side::kClients)
      outbox_.error(Side::kClients, in.route, req, wire::ErrorCode::UNAVAILABLE,
                    "the coordinator cannot reach PostgreSQL; try again");
  }
}

void Coordinator::stalled(int64_t gap_ms) {
  agents_.extend(gap_ms);
  placement_.extend(gap_ms);
}

void Coordinator::finish(bool timers_due) {
  if (timers_due) {
    channel_.check_leases();
    // Once a second: it visits every queued job (a backlog of 10,000 every
    // 100 ms cost a few % of a core), and the queue timeout is in seconds.
    if (const int64_t now = clock_.steady_ms(); now >= next_wait_check_ms_) {
      placement_.check_waits();
      next_wait_check_ms_ = now + 1000;
    }
  }
  placement_.schedule();
  // A pipeline with a budget whose last job ended in this turn: its own
  // wall budget, in the turn's transaction (the job ends are stored by now).
  std::set<uint64_t> pipelines;
  for (const Job& job : ended_.ended())
    if (job.pipeline_budgeted) pipelines.insert(job.pipeline_id);
  for (uint64_t id : pipelines)
    if (auto breach = store_.pipelines.judge_pipeline_budget(id)) {
      spdlog::warn("pipeline {} {} over budget: {} (actual {:.3f}s)", id, breach->pipeline,
                   breach->budget, breach->actual_s);
      pipeline_breaches_.push_back(std::move(*breach));
    }
  channel_.flush_acks();
  if (timers_due) {
    publish_metrics();
    if (clock_.steady_ms() >= next_log_months_ms_) keep_log_months();
  }
}

void Coordinator::keep_log_months() {
  const auto dropped = store_.logs.keep_log_months(config_.keep_logs_ms);
  next_log_months_ms_ = clock_.steady_ms() + (dropped ? 3'600'000 : 60'000);
  if (!dropped)
    spdlog::warn("logs: a reader holds the log table; the months are looked after in a minute");
  else if (*dropped > 0)
    spdlog::info("logs: {} month{} older than {} days dropped (--keep-logs)", *dropped,
                 *dropped == 1 ? "" : "s", config_.keep_logs_ms / 86'400'000);
}

void Coordinator::publish_metrics() {
  if (!metrics_) return;
  std::array<int64_t, kMetricJobStates> by_state{};
  int64_t queued = 0, oldest_queued_us = 0;
  for (const auto& [id, job] : table_.jobs()) {
    const auto i = static_cast<size_t>(job.state);
    if (i < by_state.size()) ++by_state[i];
    if (job.state == JobState::kQueued) {
      ++queued;
      if (job.queued_at_us && (!oldest_queued_us || job.queued_at_us < oldest_queued_us))
        oldest_queued_us = job.queued_at_us;
    }
  }
  for (size_t i = 0; i < by_state.size(); ++i) metrics_->jobs_in_memory[i].store(by_state[i]);
  for (const auto& [state, n] : table_.transition_counts()) {
    const auto i = static_cast<size_t>(state);
    if (i < metrics_->transitions.size()) metrics_->transitions[i].store(n);
  }
  metrics_->queue_depth.store(queued);
  metrics_->oldest_queued_age_ms.store(
      oldest_queued_us ? std::max<int64_t>(0, (clock_.unix_us() - oldest_queued_us) / 1000) : 0);
  metrics_->results_acknowledged.store(channel_.acks_sent());
  // The per-agent figures visit the whole fleet: once a second, or at
  // once when an agent came or went.
  const int64_t now = clock_.steady_ms();
  const auto connected = static_cast<int64_t>(agents_.sessions().size());
  if (now < next_agent_metrics_ms_ && connected == metrics_->agents_connected.load()) return;
  next_agent_metrics_ms_ = now + 1000;
  int64_t draining = 0;
  std::map<std::string, uint64_t> spool;
  for (const auto& [name, s] : agents_.sessions()) {
    draining += s.draining();
    spool[name] = s.spool_backlog;
  }
  metrics_->agents_connected.store(static_cast<int64_t>(agents_.sessions().size()));
  metrics_->agents_draining.store(draining);
  metrics_->publish_spool(std::move(spool));
}

void Coordinator::undone() {
  ended_.clear();
  notices_.discard_bisections();
  pipeline_breaches_.clear();
  channel_.discard_acks();
}

void Coordinator::committed() {
  notices_.notify(ended_.take());
  notices_.notify_pipeline(pipeline_breaches_);
  pipeline_breaches_.clear();
  notices_.notify_bisections();
  if (++turns_committed_ % 64 == 0) {
    table_.prune();
    std::set<uint64_t> live_pipelines;
    for (const auto& [id, job] : table_.jobs()) live_pipelines.insert(job.pipeline_id);
    notices_.prune(live_pipelines);
    intake_.prune();
  }
}

}  // namespace yardstick
