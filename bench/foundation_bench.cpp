// Figures of the foundation, measured on this machine with a real
// PostgreSQL, a real coordinator and real agents on loopback:
//
//  1. wall time recorded for a `sleep 1` step, against 1 s;
//  2. submit -> step start on an idle agent: p50 and p99 over N submissions;
//  3. trivial jobs per second through one coordinator with 50 connected
//     simulated agents (in-process DEALER sockets that answer each
//     assignment at once with stepStarted, stepFinished and jobFinished);
//  4. resident memory of an idle agent;
//  5. trivial jobs per second end to end through --real-agents real agents
//     of --slots slots each (each job a `true` step, run by the agent).
//
//   build/bench/foundation_bench [--submissions 200] [--jobs 2000] [--agents 50]
//       [--real-agents 2] [--slots 16] [--real-jobs 2000]
#include <signal.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <string>
#include <thread>
#include <vector>
#include <zmq.hpp>

#include "common/wire.hpp"
#include "coordinator/cli/client.hpp"
#include "tests/integration/harness.hpp"

using namespace yardstick;
using namespace yardstick::test;
using namespace std::chrono_literals;

namespace {

int64_t now_us() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

double percentile(std::vector<double> v, double p) {
  std::sort(v.begin(), v.end());
  if (v.empty()) return 0;
  double idx = p * (v.size() - 1);
  size_t lo = static_cast<size_t>(idx);
  size_t hi = std::min(lo + 1, v.size() - 1);
  return v[lo] + (v[hi] - v[lo]) * (idx - lo);
}

// Waits until `jobs` jobs of pipelines named `name` succeeded, asking on one
// connection every 20 ms (a new connection per question, as the tests'
// Cluster::scalar opens, forks a PostgreSQL backend each time: 50 a
// second cost the server most of a core and the figure a third).
void wait_until_succeeded(Cluster& c, const std::string& name, int jobs) {
  pqxx::connection conn(c.dsn());
  wait_for(
      [&] {
        pqxx::nontransaction n(conn);
        return n.exec_params1(
                    "SELECT count(*) FROM jobs j JOIN pipelines p ON p.id = "
                    "j.pipeline_id WHERE p.name = $1 AND j.state = 'succeeded'",
                    name)[0]
                   .as<int>() == jobs;
      },
      600s);
}

uint64_t submit(Client& client, const std::string& yaml) {
  capnp::MallocMessageBuilder b;
  auto s = client.request(b).getBody().initSubmit();
  s.setPipelineYaml(yaml);
  s.setFileName("bench.yml");
  s.setSubmitter("bench");
  auto f = client.call(b);
  return f->envelope().getBody().getSubmitReply().getPipelineId();
}

// Submits `jobs` jobs of one `true` step for agents labelled `label`, in
// pipelines named `name` of 500 jobs each; seconds until all succeeded.
double timed_trivial_jobs(Cluster& c, const std::string& name, const std::string& label, int jobs) {
  zmq::context_t cctx(1);
  Client client(cctx, c.clients_endpoint(), 30s, c.client_security());
  const int per = 500;
  auto t0 = std::chrono::steady_clock::now();
  for (int done = 0; done < jobs; done += per) {
    std::string yaml = "pipeline: " + name + "\njobs:\n";
    for (int j = 0; j < std::min(per, jobs - done); ++j)
      yaml += "  j" + std::to_string(j) + ":\n    on: { labels: [" + label +
              "] }\n    steps: [{run: \"true\"}]\n";
    submit(client, yaml);
  }
  wait_until_succeeded(c, name, jobs);
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

void sleep_accuracy(Cluster& c) {
  std::string yaml = "pipeline: sleep1\njobs:\n  s:\n    steps:\n";
  for (int i = 0; i < 5; ++i) yaml += "      - run: sleep 1\n";
  c.write_file("sleep.yml", yaml);
  auto r = c.cli({"submit", "sleep.yml", "--wait"});
  if (r.code != 0) throw std::runtime_error("sleep pipeline failed: " + r.err);
  auto rows = c.query("SELECT wall_s FROM steps ORDER BY idx");
  std::vector<double> err;
  for (const auto& row : rows) err.push_back((row[0].as<double>() - 1.0) * 100);
  std::printf(
      "| `sleep 1` step: recorded wall time error (median of %zu) | %+.2f %% (max %+.2f %%) |\n",
      err.size(), percentile(err, 0.5), *std::max_element(err.begin(), err.end()));
}

void submit_latency(Cluster& c, int n) {
  zmq::context_t ctx(1);
  Client client(ctx, c.clients_endpoint(), 10s, c.client_security());
  const std::string yaml = "pipeline: latency\njobs:\n  t:\n    steps: [{run: \"true\"}]\n";
  std::vector<std::pair<uint64_t, int64_t>> sent;  // pipeline id, submit time
  for (int i = 0; i < n; ++i) {
    int64_t t0 = now_us();
    uint64_t id = submit(client, yaml);
    sent.emplace_back(id, t0);
    // Wait for this job to end so that the agent is idle for the next one.
    wait_for(
        [&] {
          return c.scalar("SELECT count(*) FROM jobs WHERE pipeline_id = " + std::to_string(id) +
                          " AND state = 'succeeded'") == 1;
        },
        10s);
  }
  std::vector<double> ms;
  for (auto [id, t0] : sent) {
    int64_t started = c.scalar(
        "SELECT (extract(epoch FROM s.started_at) * 1e6)::bigint FROM steps s JOIN jobs j ON "
        "j.id = s.job_id WHERE j.pipeline_id = " +
        std::to_string(id) + " AND s.idx = 0");
    ms.push_back((started - t0) / 1000.0);
  }
  std::printf("| submit -> step start, idle agent (%d submissions) | p50 %.2f ms, p99 %.2f ms |\n",
              n, percentile(ms, 0.5), percentile(ms, 0.99));
}

// 50 agents in one thread: each answers an assignment at once.
void throughput(Cluster& c, int jobs, int agents) {
  zmq::context_t ctx(1);
  std::vector<std::unique_ptr<zmq::socket_t>> socks;
  std::vector<std::string> names;
  for (int i = 0; i < agents; ++i) names.push_back("sim-" + std::to_string(i));
  const auto keys = c.insecure() ? std::vector<CurveKeyPair>(agents) : c.authorize_agents(names);
  for (int i = 0; i < agents; ++i) {
    auto s = std::make_unique<zmq::socket_t>(ctx, zmq::socket_type::dealer);
    s->set(zmq::sockopt::linger, 0);
    c.secure(*s, keys[i]);
    s->connect(c.agents_endpoint());
    capnp::MallocMessageBuilder b;
    auto h = wire_io::start(b, 1).getBody().initAgentHello();
    h.setName("sim-" + std::to_string(i));
    h.setSlots(4);
    auto labels = h.initLabels(1);
    labels[0].setKey("sim");
    labels[0].setValue("yes");
    MachineInfo m{"sim-machine-" + std::to_string(i), "sim", 1, 1, "sim", "sim", "sim", {}, ""};
    wire_io::fill(h.initMachine(), m);
    s->send(wire_io::to_message(b), zmq::send_flags::none);
    socks.push_back(std::move(s));
  }
  std::atomic<bool> stop{false};
  std::atomic<int64_t> finished{0};
  std::thread sim([&] {
    std::vector<zmq::pollitem_t> items;
    for (auto& s : socks) items.push_back({static_cast<void*>(*s), 0, ZMQ_POLLIN, 0});
    auto last_beat = std::chrono::steady_clock::now();
    while (!stop) {
      zmq::poll(items.data(), items.size(), 20ms);
      if (std::chrono::steady_clock::now() - last_beat > 200ms) {
        for (auto& s : socks) {
          capnp::MallocMessageBuilder b;
          wire_io::start(b, 0).getBody().initHeartbeat();
          s->send(wire_io::to_message(b), zmq::send_flags::dontwait);
        }
        last_beat = std::chrono::steady_clock::now();
      }
      for (size_t i = 0; i < items.size(); ++i) {
        if (!(items[i].revents & ZMQ_POLLIN)) continue;
        zmq::message_t msg;
        while (socks[i]->recv(msg, zmq::recv_flags::dontwait)) {
          auto d = wire_io::decode_frame(msg.data(), msg.size());
          auto* f = std::get_if<std::unique_ptr<wire_io::Frame>>(&d);
          if (!f) continue;
          auto body = (*f)->envelope().getBody();
          if (body.which() != wire::Envelope::Body::ASSIGN) continue;
          auto a = body.getAssign();
          ResultKey key{a.getJobId(), a.getAttempt(), 0};
          int64_t t = now_us();
          {
            capnp::MallocMessageBuilder b;
            auto m = wire_io::start(b, 0).getBody().initStepStarted();
            key.seq = 1;
            wire_io::fill(m.initKey(), key);
            m.setName("t");
            m.setStartedAtUs(t);
            socks[i]->send(wire_io::to_message(b), zmq::send_flags::none);
          }
          {
            capnp::MallocMessageBuilder b;
            StepResult r;
            r.name = "t";
            r.started_at_us = t;
            r.ended_at_us = t;
            key.seq = 2;
            wire_io::fill(wire_io::start(b, 0).getBody().initStepFinished(), key, r);
            socks[i]->send(wire_io::to_message(b), zmq::send_flags::none);
          }
          {
            capnp::MallocMessageBuilder b;
            auto m = wire_io::start(b, 0).getBody().initJobFinished();
            key.seq = 3;
            wire_io::fill(m.initKey(), key);
            m.setOutcome(wire::JobOutcome::SUCCEEDED);
            socks[i]->send(wire_io::to_message(b), zmq::send_flags::none);
          }
          ++finished;
        }
      }
    }
  });
  wait_for(
      [&] { return c.scalar("SELECT count(*) FROM agents WHERE name LIKE 'sim-%'") == agents; },
      30s);
  std::this_thread::sleep_for(500ms);
  const double secs = timed_trivial_jobs(c, "throughput", "sim=yes", jobs);
  stop = true;
  sim.join();
  std::printf(
      "| trivial jobs through one coordinator, %d simulated agents (%d jobs) | %.0f jobs/s |\n",
      agents, jobs, jobs / secs);
}

void real_throughput(Cluster& c, int jobs, int agents, int slots) {
  for (int a = 0; a < agents; ++a)
    c.add_agent("real" + std::to_string(a), "real=yes", "real-machine-" + std::to_string(a),
                static_cast<uint32_t>(slots));
  const double secs = timed_trivial_jobs(c, "real-throughput", "real=yes", jobs);
  std::printf("| trivial jobs end to end, %d real agents of %d slots (%d jobs) | %.0f jobs/s |\n",
              agents, slots, jobs, jobs / secs);
}

void agent_rss(Cluster& c) {
  Process& a = c.agent("idle");
  std::this_thread::sleep_for(2s);
  std::ifstream status("/proc/" + std::to_string(a.pid()) + "/status");
  std::string line;
  while (std::getline(status, line))
    if (line.rfind("VmRSS:", 0) == 0) {
      long kb = std::stol(line.substr(6));
      std::printf("| idle agent resident memory (VmRSS) | %.1f MB |\n", kb / 1024.0);
    }
}

}  // namespace

int main(int argc, char** argv) {
  int submissions = 200, jobs = 2000, agents = 50, real_agents = 2, slots = 16, real_jobs = 2000;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string k = argv[i];
    int v = std::atoi(argv[i + 1]);
    if (k == "--submissions") submissions = v;
    if (k == "--jobs") jobs = v;
    if (k == "--agents") agents = v;
    if (k == "--real-agents") real_agents = v;
    if (k == "--slots") slots = v;
    if (k == "--real-jobs") real_jobs = v;
  }
  std::printf("| figure | result |\n|---|---|\n");
  {
    Cluster c;
    c.add_agent("idle", "", "bench-machine");
    agent_rss(c);
    sleep_accuracy(c);
    submit_latency(c, submissions);
  }
  {
    Cluster::Options options;
    options.heartbeat_ms = 1000;
    options.lease_ms = 10000;
    Cluster c(options);
    if (agents > 0) throughput(c, jobs, agents);
  }
  if (real_agents > 0) {
    Cluster c;
    real_throughput(c, real_jobs, real_agents, slots);
  }
  return 0;
}
