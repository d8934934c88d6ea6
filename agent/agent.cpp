#include "agent/agent.hpp"

#include <sys/signalfd.h>
#include <unistd.h>

#include <spdlog/spdlog.h>

#include <set>

#include "common/wire.hpp"
#include "common/zmq_util.hpp"

namespace yardstick {

namespace {
constexpr const char* kVersion = "0.1.0";

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

Agent::Agent(AgentConfig config, zmq::context_t& context, ProcessLauncher& launcher,
             const Clock& clock, int sigchld_fd)
    : config_(std::move(config)),
      context_(context),
      launcher_(launcher),
      clock_(clock),
      sigchld_fd_(sigchld_fd) {}

Agent::~Agent() = default;

void Agent::connect() {
  socket_ = std::make_unique<zmq::socket_t>(context_, zmq::socket_type::dealer);
  configure_dealer(*socket_);
  socket_->set(zmq::sockopt::reconnect_ivl, 100);
  socket_->set(zmq::sockopt::reconnect_ivl_max, 2000);
  socket_->connect(config_.coordinator);
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
  std::set<JobRef> held;
  for (const auto& [ref, runner] : runners_) held.insert(ref);
  for (const auto& [key, bytes] : pending_) held.insert({key.job_id, key.attempt});
  auto list = hello.initHeldJobs(held.size());
  unsigned i = 0;
  for (const auto& ref : held) {
    list[i].setJobId(ref.job_id);
    list[i].setAttempt(ref.attempt);
    ++i;
  }
  send(wire_io::to_message(b));
  link_ = Link::kHelloSent;
  hello_deadline_ms_ = clock_.steady_ms() + config_.hello_timeout_ms + backoff_ms_;
  spdlog::debug("hello sent to {} ({} jobs held)", config_.coordinator, held.size());
}

void Agent::send(zmq::message_t message) {
  if (!socket_) return;
  try {
    if (!socket_->send(message, zmq::send_flags::dontwait))
      spdlog::debug("send queue full; the message will be sent again if it matters");
  } catch (const zmq::error_t& e) {
    spdlog::warn("send failed: {}", e.what());
  }
}

void Agent::enqueue(const ResultKey& key, capnp::MessageBuilder& builder, bool hold) {
  auto words = capnp::messageToFlatArray(builder);
  auto bytes = words.asBytes();
  std::string data(reinterpret_cast<const char*>(bytes.begin()), bytes.size());
  if (hold) {
    if (held_.empty()) send_held_at_ms_ = clock_.steady_ms() + kHoldMs;
    held_.push_back(key);
  } else {
    send_held();
    if (link_ == Link::kUp) send(zmq::message_t(data.data(), data.size()));
  }
  pending_.emplace(key, std::move(data));
}

void Agent::send_held() {
  if (link_ == Link::kUp)
    for (const auto& key : held_) {
      auto it = pending_.find(key);
      if (it != pending_.end()) send(zmq::message_t(it->second.data(), it->second.size()));
    }
  held_.clear();
}

void Agent::resend_pending() {
  held_.clear();
  for (const auto& [key, data] : pending_) send(zmq::message_t(data.data(), data.size()));
  if (!pending_.empty()) spdlog::info("sent {} unacknowledged results again", pending_.size());
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
  auto m = wire_io::start(b, 0).getBody().initSample();
  wire_io::fill(m.initKey(), key);
  m.setVariant(variant);
  m.setVariantIndex(variant_index);
  m.setIndex(run_index);
  m.setWallNs(run.wall_ns);
  m.setUserUs(run.user_us);
  m.setSysUs(run.sys_us);
  m.setMaxRssKb(run.max_rss_kb);
  m.setExitCode(run.exit_code);
  m.setSignal(run.signal);
  m.setAtUs(run.started_at_us);
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

void Agent::on_assign(const JobAssignment& job) {
  JobRef ref{job.job_id, job.attempt};
  if (runners_.count(ref)) return;  // a duplicate assignment
  spdlog::info("job {} attempt {} assigned: {} / {} ({} steps)", job.job_id, job.attempt,
               job.pipeline_name, job.job_name, job.steps.size());
  RunnerOptions opts;
  opts.home = config_.home;
  opts.agent_name = config_.name;
  opts.kill_grace_ms = config_.kill_grace_ms;
  auto runner = std::make_unique<JobRunner>(job, opts, launcher_, clock_, *this);
  JobRunner* raw = runner.get();
  runners_.emplace(ref, std::move(runner));
  raw->start();
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
        for (auto a : w.getAbandon()) {
          JobRef ref{a.getJobId(), a.getAttempt()};
          spdlog::warn("coordinator abandoned job {} attempt {}: stopping it", ref.job_id,
                       ref.attempt);
          if (auto it = runners_.find(ref); it != runners_.end()) it->second->cancel("abandoned");
          for (auto it = pending_.begin(); it != pending_.end();)
            it = (it->first.job_id == ref.job_id && it->first.attempt == ref.attempt)
                     ? pending_.erase(it)
                     : std::next(it);
        }
        if (link_ != Link::kUp)
          spdlog::info("registered with {} as agent {} (heartbeat {} ms, lease {} ms)",
                       config_.coordinator, w.getAgentId(), heartbeat_ms_, lease_ms_);
        link_ = Link::kUp;
        backoff_ms_ = 250;
        next_heartbeat_ms_ = clock_.steady_ms() + heartbeat_ms_;
        resend_pending();
        break;
      }
      case wire::Envelope::Body::REJECT:
        spdlog::error("the coordinator rejected this agent: {}",
                      body.getReject().getReason().cStr());
        link_ = Link::kHelloSent;
        hello_deadline_ms_ = clock_.steady_ms() + config_.max_backoff_ms;
        break;
      case wire::Envelope::Body::HEARTBEAT:
        break;
      case wire::Envelope::Body::ASSIGN:
        on_assign(wire_io::read(body.getAssign()));
        break;
      case wire::Envelope::Body::CANCEL: {
        auto c = body.getCancel();
        auto it = runners_.find({c.getJobId(), c.getAttempt()});
        if (it != runners_.end()) it->second->cancel(c.getReason());
        break;
      }
      case wire::Envelope::Body::ACK:
        for (auto k : body.getAck().getKeys()) pending_.erase(wire_io::read(k));
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
  if (!held_.empty() && clock_.steady_ms() >= send_held_at_ms_) send_held();
  for (auto it = runners_.begin(); it != runners_.end();) {
    it->second->tick();
    it = it->second->done() ? runners_.erase(it) : std::next(it);
  }
  const int64_t now = clock_.steady_ms();
  switch (link_) {
    case Link::kDown:
      connect();
      break;
    case Link::kHelloSent:
      if (now >= hello_deadline_ms_) {
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
        wire_io::start(b, next_request_++).getBody().initHeartbeat().setSentAtUs(clock_.unix_us());
        send(wire_io::to_message(b));
        next_heartbeat_ms_ = now + heartbeat_ms_;
      }
      break;
  }
}

void Agent::run(const std::atomic<bool>& stop) {
  connect();
  last_heard_ms_ = clock_.steady_ms();
  int64_t stop_deadline = 0;
  for (;;) {
    if (stop.load() && stop_deadline == 0) {
      spdlog::info("stopping: cancelling {} running jobs", runners_.size());
      for (auto& [ref, runner] : runners_) runner->cancel("the agent is stopping");
      stop_deadline = clock_.steady_ms() + config_.kill_grace_ms + 2000;
    }
    if (stop_deadline && (runners_.empty() || clock_.steady_ms() > stop_deadline)) {
      // Give the last results a moment to be acknowledged.
      if (pending_.empty() || clock_.steady_ms() > stop_deadline) break;
    }
    std::vector<zmq::pollitem_t> items;
    items.push_back({static_cast<void*>(*socket_), 0, ZMQ_POLLIN, 0});
    items.push_back({nullptr, sigchld_fd_, ZMQ_POLLIN, 0});
    std::vector<std::pair<JobRunner*, int>> fd_owner;
    for (auto& [ref, runner] : runners_)
      for (int fd : runner->fds()) {
        items.push_back({nullptr, fd, ZMQ_POLLIN, 0});
        fd_owner.emplace_back(runner.get(), fd);
      }
    int64_t timeout = 50;
    const int64_t now = clock_.steady_ms();
    if (!held_.empty()) timeout = std::min(timeout, std::max<int64_t>(0, send_held_at_ms_ - now));
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
    tick();
  }
}

}  // namespace yardstick
