// What a connected fleet costs the coordinator when nothing runs: N
// simulated agents register, then heartbeat at the default interval (2 s),
// spread evenly over it as a real fleet's are; the coordinator's CPU time
// (utime + stime from /proc) and resident memory are read over a window,
// with PostgreSQL's committed transactions in that database.
//
// The agents are DEALER sockets in child processes (a socket costs two file
// descriptors; a process holds 20,000 at most), each child with one ZeroMQ
// context. The coordinator runs --insecure: CURVE's handshake is paid once
// per connection, not per heartbeat.
//
// With --fixed 1 the coordinator keeps the interval whatever the fleet
// (--max-heartbeats-per-second 0); by default a fleet over 500 heartbeats/s
// is told a longer interval, which the simulated agents follow.
//
// With --queued N, N jobs that no agent can take (a label none has) wait
// in the queue through the window, as a backlog behind a busy or missing
// part of the fleet would: what a heartbeat and the wait checks cost must
// not grow with them.
//
//   build/bench/heartbeat_bench [--agents 1000,5000,10000] [--window 20] [--interval-ms 2000]
//                               [--fixed 0|1] [--queued 0]
#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>
#include <zmq.hpp>

#include "common/wire.hpp"
#include "tests/integration/harness.hpp"

using namespace yardstick;
using namespace yardstick::test;
using namespace std::chrono_literals;
using SteadyClock = std::chrono::steady_clock;

namespace {

constexpr int kPerChild = 2500;

zmq::message_t hello(const std::string& name, int machine) {
  capnp::MallocMessageBuilder b;
  auto h = wire_io::start(b, 1).getBody().initAgentHello();
  h.setName(name);
  h.setSlots(4);
  h.setHourlyCost(-1);
  MachineInfo m{
      "sim-host-" + std::to_string(machine), "sim", 4, 1ULL << 33, "sim", "sim", "x86_64", {}, ""};
  wire_io::fill(h.initMachine(), m);
  h.initHeldJobs(0);
  h.setAgentVersion("sim");
  h.setIncarnation("sim-" + name);
  return wire_io::to_message(b);
}

zmq::message_t heartbeat() {
  capnp::MallocMessageBuilder b;
  wire_io::start(b, 0).getBody().initHeartbeat().initHeldJobs(0);
  return wire_io::to_message(b);
}

// One child's agents: register, then heartbeat until `seconds` pass. It
// writes "welcomed answered" to `out` at the end.
void simulate(const std::string& endpoint, int first, int count, int interval_ms, int seconds,
              int out) {
  zmq::context_t ctx(1);
  ctx.set(zmq::ctxopt::max_sockets, count + 16);
  std::vector<zmq::socket_t> socks;
  socks.reserve(count);
  for (int i = 0; i < count; ++i) {
    socks.emplace_back(ctx, zmq::socket_type::dealer);
    socks.back().set(zmq::sockopt::linger, 0);
    socks.back().connect(endpoint);
  }
  std::vector<char> welcomed(count, 0);
  // As the agent does: the interval of the welcome, then of any answer that names one.
  std::vector<int> interval(count, interval_ms);
  long n_welcomed = 0, answered = 0;
  auto drain = [&] {
    zmq::message_t m;
    for (int i = 0; i < count; ++i)
      while (socks[i].recv(m, zmq::recv_flags::dontwait)) {
        auto decoded = wire_io::decode_frame(m.data(), m.size());
        auto* f = std::get_if<std::unique_ptr<wire_io::Frame>>(&decoded);
        if (!f) continue;
        auto which = (*f)->envelope().getBody().which();
        auto body = (*f)->envelope().getBody();
        if (which == wire::Envelope::Body::WELCOME && !welcomed[i]) {
          welcomed[i] = 1;
          ++n_welcomed;
          interval[i] = static_cast<int>(body.getWelcome().getHeartbeatIntervalMs());
        } else if (which == wire::Envelope::Body::HEARTBEAT) {
          ++answered;
          if (body.getHeartbeat().getIntervalMs() > 0)
            interval[i] = static_cast<int>(body.getHeartbeat().getIntervalMs());
        } else if (which == wire::Envelope::Body::ERROR) {
          welcomed[i] = 0;  // not registered (again): say hello again
          socks[i].send(hello("sim-" + std::to_string(first + i), (first + i) % 100),
                        zmq::send_flags::dontwait);
        }
      }
  };
  // Hellos in waves of 250, as agents starting over some seconds would.
  for (int i = 0; i < count; i += 250) {
    for (int j = i; j < std::min(count, i + 250); ++j)
      socks[j].send(hello("sim-" + std::to_string(first + j), (first + j) % 100),
                    zmq::send_flags::dontwait);
    const auto wave_end = SteadyClock::now() + 30s;
    while (n_welcomed < std::min(count, i + 250) && SteadyClock::now() < wave_end) {
      drain();
      std::this_thread::sleep_for(5ms);
    }
  }
  // Heartbeats: agent i beats at phase (first + i) / N of the interval.
  const auto start = SteadyClock::now();
  const auto end = start + std::chrono::seconds(seconds);
  std::vector<SteadyClock::time_point> next(count);
  for (int i = 0; i < count; ++i)
    next[i] = start + std::chrono::milliseconds(static_cast<int64_t>(interval_ms) * i / count);
  while (SteadyClock::now() < end) {
    const auto now = SteadyClock::now();
    for (int i = 0; i < count; ++i)
      if (welcomed[i] && now >= next[i]) {
        socks[i].send(heartbeat(), zmq::send_flags::dontwait);
        next[i] = now + std::chrono::milliseconds(interval[i]);
      }
    drain();
    std::this_thread::sleep_for(20ms);
  }
  const std::string line = std::to_string(n_welcomed) + " " + std::to_string(answered) + "\n";
  (void)!write(out, line.data(), line.size());
}

double cpu_seconds(int pid) {
  std::ifstream f("/proc/" + std::to_string(pid) + "/stat");
  std::string s((std::istreambuf_iterator<char>(f)), {});
  std::istringstream in(s.substr(s.rfind(')') + 2));
  std::string field;
  long utime = 0, stime = 0;
  for (int i = 3; i <= 15 && in >> field; ++i) {
    if (i == 14) utime = std::stol(field);
    if (i == 15) stime = std::stol(field);
  }
  return static_cast<double>(utime + stime) / sysconf(_SC_CLK_TCK);
}

double rss_mb(int pid) {
  std::ifstream status("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(status, line))
    if (line.rfind("VmRSS:", 0) == 0) return std::stol(line.substr(6)) / 1024.0;
  return 0;
}

void run(int agents, int window_s, int interval_ms, bool fixed, int queued) {
  Cluster::Options options;
  if (fixed) options.coordinator_args = {"--max-heartbeats-per-second", "0"};
  options.insecure = true;
  options.heartbeat_ms = interval_ms;
  options.lease_ms = 5 * interval_ms;
  Cluster c(options);
  const int pid = c.coordinator().pid();
  // Registration of every child's agents, a settling interval, then the window.
  const int settle_s = 3 * interval_ms / 1000 + 2;
  const int register_s = 20 + agents / 250;
  const int submit_s = queued > 0 ? 15 + queued / 250 : 0;  // the backlog's submissions
  const int lifetime_s = register_s + submit_s + settle_s + window_s + 2;
  std::vector<std::pair<pid_t, int>> children;
  for (int first = 0; first < agents; first += kPerChild) {
    int fds[2];
    if (pipe(fds) != 0) throw std::runtime_error("pipe");
    pid_t child = fork();
    if (child == 0) {
      close(fds[0]);
      simulate(c.agents_endpoint(), first, std::min(kPerChild, agents - first), interval_ms,
               lifetime_s - register_s, fds[1]);
      _exit(0);
    }
    close(fds[1]);
    children.emplace_back(child, fds[0]);
  }
  wait_for([&] { return c.scalar("SELECT count(*) FROM agents") >= agents; },
           std::chrono::seconds(register_s));
  const int64_t registered = c.scalar("SELECT count(*) FROM agents");
  for (int done = 0; done < queued; done += 500) {
    std::string yaml = "pipeline: backlog\njobs:\n";
    for (int j = 0; j < std::min(500, queued - done); ++j)
      yaml += "  j" + std::to_string(j) +
              ":\n    on: { labels: [pool=absent] }\n    steps: [{run: \"true\"}]\n";
    c.write_file("backlog.yml", yaml);
    if (c.cli({"submit", "backlog.yml"}).code != 0) throw std::runtime_error("submit failed");
  }
  if (queued > 0)
    wait_for([&] { return c.scalar("SELECT count(*) FROM jobs WHERE state = 'queued'") >= queued; },
             60s);
  std::this_thread::sleep_for(std::chrono::seconds(settle_s));
  auto commits = [&] {
    return c.scalar("SELECT xact_commit FROM pg_stat_database WHERE datname = current_database()");
  };
  const double cpu0 = cpu_seconds(pid);
  const int64_t tx0 = commits();
  const auto t0 = SteadyClock::now();
  std::this_thread::sleep_for(std::chrono::seconds(window_s));
  const double cpu1 = cpu_seconds(pid);
  const int64_t tx1 = commits();
  const double wall = std::chrono::duration<double>(SteadyClock::now() - t0).count();
  const double rss = rss_mb(pid);
  long welcomed = 0, answered = 0;
  for (auto [child, fd] : children) {
    int status = 0;
    waitpid(child, &status, 0);
    char buf[64] = {};
    (void)!read(fd, buf, sizeof buf - 1);
    close(fd);
    long w = 0, a = 0;
    std::sscanf(buf, "%ld %ld", &w, &a);
    welcomed += w;
    answered += a;
  }
  std::printf("| %d, %s, %d queued | %lld | %.2f %% | %.0f MB | %.1f | %ld |\n", agents,
              fixed ? "fixed interval" : "default", queued, static_cast<long long>(registered),
              100.0 * (cpu1 - cpu0) / wall, rss, (tx1 - tx0 - 2) / wall, answered);
  std::fflush(stdout);
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<int> counts{1000, 5000, 10000};
  int window = 20, interval = 2000;
  bool fixed = false;
  int queued = 0;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string k = argv[i], v = argv[i + 1];
    if (k == "--agents") {
      counts.clear();
      std::istringstream in(v);
      std::string item;
      while (std::getline(in, item, ',')) counts.push_back(std::stoi(item));
    }
    if (k == "--window") window = std::stoi(v);
    if (k == "--interval-ms") interval = std::stoi(v);
    if (k == "--fixed") fixed = v == "1";
    if (k == "--queued") queued = std::stoi(v);
  }
  rlimit r{};
  getrlimit(RLIMIT_NOFILE, &r);
  r.rlim_cur = r.rlim_max;  // the coordinator holds one descriptor per agent
  setrlimit(RLIMIT_NOFILE, &r);
  signal(SIGPIPE, SIG_IGN);
  std::printf(
      "| agents | registered | coordinator CPU (of one core) | coordinator RSS | PostgreSQL "
      "transactions/s | heartbeats answered |\n|---|---|---|---|---|---|\n");
  for (int n : counts) run(n, window, interval, fixed, queued);
  return 0;
}
