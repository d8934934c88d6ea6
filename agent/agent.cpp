#include "agent/agent.hpp"

#include <sys/signalfd.h>
#include <unistd.h>
#include <csignal>

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <random>
#include <set>

#include "agent/signed_jobs.hpp"
#include "common/version.hpp"
#include "common/wire.hpp"
#include "common/zmq_util.hpp"

namespace yardstick {

namespace {

wire::Stream to_wire(LogStream s) {
  switch (s) {
    case LogStream::kStdout:
      return wire::Stream::STDOUT;
    case LogStream::kStderr:
      return wire::Stream::STDERR;
    default:
      return wire::Stream::SYSTEM;
  }
}
}  // namespace

namespace {
constexpr const char* kRunning = "/running";
// The sequence number of the job end an agent sends for a job its previous
// life was running (above any sequence a runner uses).
constexpr uint64_t kLostJobSeq = uint64_t{1} << 61;

std::string random_hex() {
  std::random_device rd;
  char buf[33];
  std::snprintf(buf, sizeof buf, "%08x%08x%08x%08x", rd(), rd(), rd(), rd());
  return buf;
}
}  // namespace

Agent::Agent(AgentConfig config, zmq::context_t& context, ProcessLauncher& launcher,
             const Clock& clock, int sigchld_fd)
    : config_(std::move(config)),
      context_(context),
      launcher_(launcher),
      clock_(clock),
      sigchld_fd_(sigchld_fd),
      incarnation_(random_hex()),
      host_lock_(config_.lock_dir) {
  SpoolOptions options;
  options.dir = config_.spool_in_memory ? "" : config_.home + "/spool";
  options.max_bytes = config_.spool_max_bytes;
  spool_ = std::make_unique<Spool>(options);
  outbox_ = std::make_unique<ResultOutbox>(
      *spool_, clock_, config_.window_bytes,
      [this](std::string_view frame) { return send(zmq::message_t(frame.data(), frame.size())); });
}

Agent::~Agent() = default;

void Agent::recover() {
  if (const size_t left = outbox_->recover())
    spdlog::info("the spool holds {} results of a previous life: they are sent first", left);
  namespace fs = std::filesystem;
  std::error_code ec;
  fs::create_directories(config_.home + kRunning, ec);
  std::set<std::string> keep;
  for (const auto& entry : fs::directory_iterator(config_.home + kRunning, ec)) {
    const std::string name = entry.path().filename().string();
    unsigned long long job = 0;
    unsigned attempt = 0;
    if (std::sscanf(name.c_str(), "%llu-%u", &job, &attempt) != 2) continue;
    std::ifstream in(entry.path());
    std::string tag;
    std::getline(in, tag);
    int killed = 0;
    if (tag.rfind("YARDSTICK_RUN_TAG=", 0) == 0)
      for (int round = 0; round < 50; ++round) {
        int n = launcher_.signal_tagged_anywhere(tag, SIGKILL);
        if (n == 0) break;
        killed += n;
        usleep(2000);
      }
    const std::string work = JobRunner::workspace_path(config_.home, job, attempt);
    fs::remove_all(work, ec);
    for (const char* left : {".metrics", ".deploy", ".deploy-events"}) fs::remove(work + left, ec);
    spdlog::warn(
        "job {} attempt {} was running when this agent last stopped: {} processes stopped, "
        "workspace removed, reported lost",
        job, attempt, killed);
    capnp::MallocMessageBuilder b;
    auto m = wire_io::start(b, 0).getBody().initJobFinished();
    const ResultKey key{job, attempt, kLostJobSeq};
    wire_io::fill(m.initKey(), key);
    m.setOutcome(wire::JobOutcome::LOST);
    m.setMessage("the agent restarted while running it");
    m.setEndedAtUs(clock_.unix_us());
    enqueue(key, b);
    fs::remove(entry.path(), ec);
  }
  // Workspaces of no job of this life are stale.
  for (const auto& entry : fs::directory_iterator(config_.home + "/work", ec)) {
    spdlog::info("removing the stale workspace {}", entry.path().string());
    fs::remove_all(entry.path(), ec);
  }
}

void Agent::write_running_marker(const JobRunner& runner) {
  const JobRef ref = runner.ref();
  const std::string path = config_.home + kRunning + "/" + std::to_string(ref.job_id) + "-" +
                           std::to_string(ref.attempt);
  std::ofstream out(path, std::ios::trunc);
  out << runner.tag() << "\n";
}

void Agent::remove_running_marker(const JobRef& ref) {
  std::error_code ec;
  std::filesystem::remove(config_.home + kRunning + "/" + std::to_string(ref.job_id) + "-" +
                              std::to_string(ref.attempt),
                          ec);
}

std::vector<JobRef> Agent::held_jobs() const {
  std::set<JobRef> held = outbox_->held();
  for (const auto& [ref, runner] : runners_) held.insert(ref);
  for (const auto& ref : abandoned_) held.erase(ref);
  return {held.begin(), held.end()};
}

void Agent::connect() {
  watch_.reset();
  socket_ = std::make_unique<zmq::socket_t>(context_, zmq::socket_type::dealer);
  configure_dealer(*socket_);
  socket_->set(zmq::sockopt::reconnect_ivl, 100);
  socket_->set(zmq::sockopt::reconnect_ivl_max, 2000);
  apply_client_security(*socket_, config_.security);
  watch_ = std::make_unique<HandshakeWatch>(context_, *socket_, config_.coordinator);
  connect_all(*socket_, config_.coordinator);
  // A new connection: whatever was in flight on the old one may be gone.
  outbox_->requeue_in_flight();
  send_hello();
}

void Agent::send_hello() {
  capnp::MallocMessageBuilder b;
  auto hello = wire_io::start(b, next_request_++).getBody().initAgentHello();
  hello.setName(config_.name);
  wire_io::fill_labels(hello.initLabels(config_.labels.size()), config_.labels);
  hello.setSlots(config_.slots);
  wire_io::fill(hello.initMachine(), config_.machine);
  hello.setAgentVersion(kVersion);
  hello.setIncarnation(incarnation_);
  hello.setHost(config_.host);
  hello.setHourlyCost(config_.hourly_cost);
  hello.setDraining(draining_);
  const auto held = held_jobs();
  wire_io::fill(hello.initHeldJobs(held.size()), held);
  // Given several coordinators, a send waits for a completed connection
  // (the leader's): until then the hello is sent again every tick.
  hello_unsent_ = !send(wire_io::to_message(b));
  link_ = Link::kHelloSent;
  hello_deadline_ms_ = clock_.steady_ms() + config_.hello_timeout_ms + backoff_ms_;
  spdlog::debug("hello sent to {} ({} jobs held)", config_.coordinator, held.size());
}

bool Agent::send(zmq::message_t message) {
  if (!socket_) return false;
  try {
    if (socket_->send(message, zmq::send_flags::dontwait)) return true;
    spdlog::debug("send queue full; sending again later");
  } catch (const zmq::error_t& e) {
    spdlog::warn("send failed: {}", e.what());
  }
  return false;
}

void Agent::enqueue(const ResultKey& key, capnp::MessageBuilder& builder, bool hold) {
  if (abandoned_.count({key.job_id, key.attempt})) return;  // the coordinator does not want it
  auto words = capnp::messageToFlatArray(builder);
  auto bytes = words.asBytes();
  outbox_->enqueue(
      key, std::string_view(reinterpret_cast<const char*>(bytes.begin()), bytes.size()), hold);
}

void Agent::step_started(const ResultKey& key, uint32_t index, const std::string& name,
                         int64_t started_at_us) {
  capnp::MallocMessageBuilder b;
  auto m = wire_io::start(b, 0).getBody().initStepStarted();
  wire_io::fill(m.initKey(), key);
  m.setIndex(index);
  m.setName(name);
  m.setStartedAtUs(started_at_us);
  enqueue(key, b);
}

void Agent::step_finished(const ResultKey& key, const StepResult& step) {
  capnp::MallocMessageBuilder b;
  wire_io::fill(wire_io::start(b, 0).getBody().initStepFinished(), key, step);
  enqueue(key, b);
  spdlog::info("job {} attempt {}: step {} '{}' ended: exit {} in {:.3f} s", key.job_id,
               key.attempt, step.index, step.name, step.exit_code, step.wall_ns / 1e9);
}

void Agent::log_chunk(const ResultKey& key, LogStream stream, int32_t step_index,
                      const std::string& data, int64_t at_us) {
  capnp::MallocMessageBuilder b;
  auto m = wire_io::start(b, 0).getBody().initLogChunk();
  wire_io::fill(m.initKey(), key);
  m.setStream(to_wire(stream));
  m.setStepIndex(step_index);
  m.setData(kj::arrayPtr(reinterpret_cast<const capnp::byte*>(data.data()), data.size()));
  m.setAtUs(at_us);
  enqueue(key, b);
}

void Agent::job_finished(const ResultKey& key, JobOutcome outcome, const std::string& message,
                         int64_t at_us) {
  capnp::MallocMessageBuilder b;
  auto m = wire_io::start(b, 0).getBody().initJobFinished();
  wire_io::fill(m.initKey(), key);
  m.setOutcome(wire_io::to_wire(outcome));
  m.setMessage(message);
  m.setEndedAtUs(at_us);
  enqueue(key, b);
  spdlog::info("job {} attempt {} ended: {}{}", key.job_id, key.attempt,
               to_string(to_job_state(outcome)), message.empty() ? "" : " (" + message + ")");
}

void Agent::sample(const ResultKey& key, const std::string& variant, uint32_t variant_index,
                   uint32_t run_index, const StepResult& run) {
  capnp::MallocMessageBuilder b;
  wire_io::fill(wire_io::start(b, 0).getBody().initSample(), key, variant, variant_index, run_index,
                run);
  enqueue(key, b, /*hold=*/true);
}

void Agent::metric(const ResultKey& key, int32_t step_index, const std::string& variant,
                   int32_t run_index, const CollectedMetric& metric) {
  capnp::MallocMessageBuilder b;
  auto m = wire_io::start(b, 0).getBody().initMetric();
  wire_io::fill(m.initKey(), key);
  m.setStepIndex(step_index);
  m.setVariant(variant);
  m.setRunIndex(run_index);
  m.setName(metric.name);
  m.setValue(metric.value);
  m.setUnit(metric.unit);
  enqueue(key, b, /*hold=*/step_index < 0);
}

void Agent::calibration(const ResultKey& key, const CalibrationTimes& times) {
  capnp::MallocMessageBuilder b;
  auto m = wire_io::start(b, 0).getBody().initCalibration();
  wire_io::fill(m.initKey(), key);
  m.setBenchmark(times.benchmark);
  auto list = m.initTimesS(times.times_s.size());
  for (unsigned i = 0; i < times.times_s.size(); ++i) list.set(i, times.times_s[i]);
  enqueue(key, b);
}

void Agent::deploy_phase(const ResultKey& key, const DeployPhase& phase) {
  capnp::MallocMessageBuilder b;
  wire_io::fill(wire_io::start(b, 0).getBody().initDeployPhase(), key, phase);
  enqueue(key, b);
}

void Agent::deploy_result(const ResultKey& key, const DeployReport& report) {
  capnp::MallocMessageBuilder b;
  wire_io::fill(wire_io::start(b, 0).getBody().initDeployResult(), key, report);
  enqueue(key, b);
}

void Agent::refuse(const JobAssignment& job, const std::string& why) {
  const JobRef ref{job.job_id, job.attempt};
  if (!refused_.insert(ref).second) return;  // refused already; its results are spooled
  if (refused_.size() > 10'000) refused_.erase(refused_.begin());
  spdlog::error("job {} attempt {} ({} / {}) refused: {}", job.job_id, job.attempt,
                job.pipeline_name, job.job_name, why);
  const int64_t now = clock_.unix_us();
  log_chunk({job.job_id, job.attempt, 1}, LogStream::kSystem, -1,
            "[yardstick] agent " + config_.name + " refused this job: " + why + "\n", now);
  job_finished({job.job_id, job.attempt, 2}, JobOutcome::kFailed, why, now);
}

void Agent::on_assign(const JobAssignment& job) {
  JobRef ref{job.job_id, job.attempt};
  if (runners_.count(ref)) return;  // a duplicate assignment
  if (draining_) {
    // Assigned before the coordinator heard of the drain: hand it back.
    spdlog::info("job {} attempt {} assigned while draining: handing it back", job.job_id,
                 job.attempt);
    capnp::MallocMessageBuilder b;
    auto m = wire_io::start(b, 0).getBody().initJobFinished();
    const ResultKey key{job.job_id, job.attempt, kLostJobSeq};
    wire_io::fill(m.initKey(), key);
    m.setOutcome(wire::JobOutcome::LOST);
    m.setMessage("the agent is draining");
    m.setEndedAtUs(clock_.unix_us());
    enqueue(key, b);
    return;
  }
  // A calibration job runs nothing but this agent's own micro-benchmarks
  // (the runner refuses one that carries anything else): no signature to check.
  if (config_.trusted_submitters && job.kind != JobKind::kCalibrate) {
    std::string signer;
    if (std::string why =
            check_signed_job(job, *config_.trusted_submitters, config_.labels, &signer);
        !why.empty())
      return refuse(job, why);
    spdlog::info("job {} attempt {}: signed by {}; it is what was signed", job.job_id, job.attempt,
                 signer);
  }
  spdlog::info("job {} attempt {} assigned: {} / {} ({} steps)", job.job_id, job.attempt,
               job.pipeline_name, job.job_name, job.steps.size());
  RunnerOptions opts;
  opts.home = config_.home;
  opts.agent_name = config_.name;
  opts.kill_grace_ms = config_.kill_grace_ms;
  opts.allow_absolute_workdir = config_.allow_absolute_workdir;
  opts.inherited = config_.step_environment;
  opts.secrets_file = config_.secrets_file;
  opts.environment = config_.environment;
  opts.self_exe = config_.self_exe;
  opts.host_lock = &host_lock_;
  auto runner = std::make_unique<JobRunner>(job, opts, launcher_, clock_, *this);
  JobRunner* raw = runner.get();
  write_running_marker(*raw);
  runners_.emplace(ref, std::move(runner));
  raw->start();
}

void Agent::abandon(const JobRef& ref, const std::string& why) {
  if (!abandoned_.insert(ref).second) return;
  spdlog::warn(
      "the coordinator abandoned job {} attempt {} ({}): stopping it, dropping its results",
      ref.job_id, ref.attempt, why);
  if (auto it = runners_.find(ref); it != runners_.end()) it->second->cancel("abandoned: " + why);
  outbox_->drop(ref);
}

void Agent::handle(zmq::message_t& frame) {
  auto decoded = wire_io::decode_frame(frame.data(), frame.size());
  if (auto* err = std::get_if<wire_io::DecodeError>(&decoded)) {
    spdlog::warn("bad frame from the coordinator: {}", err->message);
    send(wire_io::error_message(err->request_id, err->code, err->message));
    return;
  }
  last_heard_ms_ = clock_.steady_ms();
  auto& f = std::get<std::unique_ptr<wire_io::Frame>>(decoded);
  try {
    auto env = f->envelope();
    auto body = env.getBody();
    switch (body.which()) {
      case wire::Envelope::Body::WELCOME: {
        auto w = body.getWelcome();
        heartbeat_ms_ = std::max(50u, w.getHeartbeatIntervalMs());
        lease_ms_ = std::max(heartbeat_ms_ + 1, w.getLeaseMs());
        for (auto a : w.getAbandon()) abandon({a.getJobId(), a.getAttempt()}, "not this agent's");
        if (link_ != Link::kUp)
          spdlog::info("registered with {} as agent {} (heartbeat {} ms, lease {} ms)",
                       config_.coordinator, w.getAgentId(), heartbeat_ms_, lease_ms_);
        link_ = Link::kUp;
        rejections_ = 0;
        backoff_ms_ = 250;
        next_heartbeat_ms_ = clock_.steady_ms() + heartbeat_ms_;
        outbox_->resend_all();
        break;
      }
      case wire::Envelope::Body::REJECT:
        spdlog::error("the coordinator rejected this agent: {}",
                      body.getReject().getReason().cStr());
        // A rejection can be passing (this process restarted while the
        // coordinator still hears its previous life); one that lasts ends
        // the agent with the reason.
        if (++rejections_ >= config_.max_rejections)
          rejected_ = body.getReject().getReason().cStr();
        link_ = Link::kHelloSent;
        hello_deadline_ms_ = clock_.steady_ms() + config_.max_backoff_ms;
        break;
      case wire::Envelope::Body::HEARTBEAT: {
        // The coordinator's fleet grew or shrank: beat at its new interval.
        auto hb = body.getHeartbeat();
        if (hb.getIntervalMs() > 0 && hb.getIntervalMs() != heartbeat_ms_) {
          heartbeat_ms_ = std::clamp(hb.getIntervalMs(), 50u, 3'600'000u);
          lease_ms_ = std::max(heartbeat_ms_ + 1, hb.getLeaseMs());
          next_heartbeat_ms_ = clock_.steady_ms() + heartbeat_ms_;
          spdlog::info("heartbeat every {} ms from now on (lease {} ms), as the coordinator says",
                       heartbeat_ms_, lease_ms_);
        }
        break;
      }
      case wire::Envelope::Body::ASSIGN:
        on_assign(wire_io::read(body.getAssign()));
        break;
      case wire::Envelope::Body::CANCEL: {
        auto c = body.getCancel();
        auto it = runners_.find({c.getJobId(), c.getAttempt()});
        if (it != runners_.end()) it->second->cancel(c.getReason());
        break;
      }
      case wire::Envelope::Body::ABANDON: {
        auto a = body.getAbandon();
        for (auto r : a.getJobs()) abandon({r.getJobId(), r.getAttempt()}, a.getReason());
        break;
      }
      case wire::Envelope::Body::ACK:
        for (auto k : body.getAck().getKeys()) outbox_->ack(wire_io::read(k));
        break;
      case wire::Envelope::Body::ERROR: {
        auto e = body.getError();
        if (e.getCode() == wire::ErrorCode::NOT_REGISTERED) {
          spdlog::info("the coordinator does not know this agent (it restarted?): registering");
          send_hello();
        } else {
          spdlog::warn("coordinator error ({}): {}", wire_io::to_string(e.getCode()),
                       e.getMessage().cStr());
        }
        break;
      }
      default:
        send(wire_io::error_message(env.getRequestId(), wire::ErrorCode::UNIMPLEMENTED,
                                    "agents do not implement message body " +
                                        std::to_string(static_cast<int>(body.which()))));
    }
  } catch (const kj::Exception& e) {
    spdlog::warn("undecodable message from the coordinator: {}", e.getDescription().cStr());
  }
}

void Agent::reap() {
  signalfd_siginfo info;
  while (::read(sigchld_fd_, &info, sizeof info) == sizeof info) {
  }
  for (const auto& exit : reap_children()) {
    bool ours = false;
    for (auto& [ref, runner] : runners_)
      if (runner->on_exit(exit)) {
        ours = true;
        break;
      }
    if (!ours) spdlog::debug("reaped orphan {}", exit.pid);
  }
}

void Agent::tick() {
  for (auto it = runners_.begin(); it != runners_.end();) {
    it->second->tick();
    if (it->second->done()) {
      remove_running_marker(it->first);
      it = runners_.erase(it);
    } else {
      ++it;
    }
  }
  const int64_t now = clock_.steady_ms();
  if (now >= next_resend_check_ms_) {
    next_resend_check_ms_ = now + 500;
    // Sent long ago and never acknowledged: lost on the way, or the
    // coordinator lost its turn. Sent again, in order.
    if (outbox_->stale(config_.resend_ms) && link_ == Link::kUp) outbox_->resend_all();
  }
  switch (link_) {
    case Link::kDown:
      connect();
      break;
    case Link::kHelloSent:
      if (hello_unsent_) {
        send_hello();
      } else if (now >= hello_deadline_ms_) {
        spdlog::warn("no welcome from {}; connecting again", config_.coordinator);
        backoff_ms_ = std::min<int64_t>(backoff_ms_ * 2, config_.max_backoff_ms);
        connect();
      }
      break;
    case Link::kUp:
      if (now - last_heard_ms_ > lease_ms_) {
        spdlog::warn("coordinator silent for {} ms; connecting again", now - last_heard_ms_);
        connect();
      } else if (now >= next_heartbeat_ms_) {
        capnp::MallocMessageBuilder b;
        auto hb = wire_io::start(b, next_request_++).getBody().initHeartbeat();
        hb.setSentAtUs(clock_.unix_us());
        hb.setDraining(draining_);
        hb.setSpoolBacklog(unacknowledged());
        const auto held = held_jobs();
        wire_io::fill(hb.initHeldJobs(held.size()), held);
        send(wire_io::to_message(b));
        next_heartbeat_ms_ = now + heartbeat_ms_;
      }
      break;
  }
}

void Agent::run(const std::atomic<bool>& drain, const std::atomic<bool>& stop) {
  recover();
  connect();
  last_heard_ms_ = clock_.steady_ms();
  int64_t stop_deadline = 0, idle_since = 0;
  for (;;) {
    const int64_t now = clock_.steady_ms();
    if (drain.load() && !draining_) {
      draining_ = true;
      spdlog::info("draining: {} running jobs finish, no new one is taken", runners_.size());
      next_heartbeat_ms_ = now;  // tell the coordinator at once
    }
    if (stop.load() && stop_deadline == 0) {
      draining_ = true;
      spdlog::info("stopping: {} running jobs end as lost (they run again elsewhere)",
                   runners_.size());
      for (auto& [ref, runner] : runners_)
        runner->cancel("the agent on which it ran was stopped", JobOutcome::kLost);
      stop_deadline = now + config_.kill_grace_ms + 2000;
      next_heartbeat_ms_ = now;
    }
    if (draining_ && runners_.empty()) {
      // Done: give the last results a moment to be acknowledged; whatever
      // is not stays in the spool for the next start.
      if (!idle_since) idle_since = now;
      if (outbox_->unacknowledged() == 0) break;
      if (now - idle_since > static_cast<int64_t>(config_.drain_ack_wait_ms)) {
        spdlog::warn("exiting with {} results not acknowledged; they stay in the spool",
                     outbox_->unacknowledged());
        break;
      }
    }
    if (!rejected_.empty() && runners_.empty()) break;
    if (stop_deadline && now > stop_deadline) {
      spdlog::warn("exiting with {} jobs still stopping", runners_.size());
      break;
    }
    // A full spool stops the reading of jobs' output: their writes block.
    const bool throttled = !spool_->would_fit(1u << 20);
    std::vector<zmq::pollitem_t> items;
    items.push_back({static_cast<void*>(*socket_), 0, ZMQ_POLLIN, 0});
    items.push_back({nullptr, sigchld_fd_, ZMQ_POLLIN, 0});
    std::vector<std::pair<JobRunner*, int>> fd_owner;
    if (!throttled)
      for (auto& [ref, runner] : runners_)
        for (int fd : runner->fds()) {
          items.push_back({nullptr, fd, ZMQ_POLLIN, 0});
          fd_owner.emplace_back(runner.get(), fd);
        }
    int64_t timeout = 50;
    if (const int64_t hold = outbox_->hold_until_ms())
      timeout = std::min(timeout, std::max<int64_t>(0, hold - now));
    for (auto& [ref, runner] : runners_)
      timeout = std::min(timeout, std::max<int64_t>(0, runner->next_deadline_ms() - now));
    yardstick::poll(items.data(), items.size(), std::chrono::milliseconds(timeout));
    if (items[1].revents & ZMQ_POLLIN) reap();
    for (size_t i = 0; i < fd_owner.size(); ++i)
      if (items[i + 2].revents & (ZMQ_POLLIN | ZMQ_POLLERR))
        fd_owner[i].first->on_readable(fd_owner[i].second);
    // Children may have exited while we read their output.
    reap();
    if (items[0].revents & ZMQ_POLLIN) {
      for (int n = 0; n < 1000; ++n) {
        zmq::message_t frame;
        if (!socket_->recv(frame, zmq::recv_flags::dontwait)) break;
        handle(frame);
      }
    }
    if (watch_)
      for (const auto& problem : watch_->poll()) {
        // The coordinator is not the one whose key we were given, or it
        // refuses ours: said at once, then once every 30 s while it lasts.
        auto& said = said_at_ms_[problem];
        if (said == 0 || now - said >= 30'000) {
          spdlog::error("{}", problem);
          said = now;
        }
      }
    tick();
    outbox_->pump(link_ == Link::kUp);
  }
  spool_->sync();
}

}  // namespace yardstick
