// The cost of CURVE, measured side by side against --insecure in one run:
// submit -> step start (p50, p99), sample ingestion per second, and the
// coordinator's CPU time per 1,000 heartbeats. Each round starts a fresh
// cluster of each kind, in alternating order; figures are medians over
// rounds.
//
//   build/bench/security_bench [--rounds 3] [--submissions 40] [--samples 50000]
//                              [--heartbeats 20000]
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "bench/ingest.hpp"
#include "common/wire.hpp"
#include "coordinator/cli/client.hpp"
#include "tests/integration/harness.hpp"

using namespace yardstick;
using namespace yardstick::test;
using namespace std::chrono_literals;

namespace {

double percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  double idx = p * (v.size() - 1);
  size_t lo = static_cast<size_t>(idx), hi = std::min(lo + 1, v.size() - 1);
  return v[lo] + (v[hi] - v[lo]) * (idx - lo);
}

int64_t now_us() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// utime + stime of a process, in seconds.
double cpu_seconds(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string all((std::istreambuf_iterator<char>(in)), {});
  std::istringstream rest(all.substr(all.rfind(')') + 2));
  std::string field;
  double ticks = 0;
  for (int i = 3; i <= 15 && rest >> field; ++i)
    if (i == 14 || i == 15) ticks += std::stod(field);
  return ticks / static_cast<double>(sysconf(_SC_CLK_TCK));
}

zmq::socket_t sim_agent(zmq::context_t& ctx, Cluster& c, const CurveKeyPair& key,
                        const std::string& name) {
  zmq::socket_t s(ctx, zmq::socket_type::dealer);
  s.set(zmq::sockopt::linger, 0);
  s.set(zmq::sockopt::sndhwm, 0);
  s.set(zmq::sockopt::rcvhwm, 0);
  c.secure(s, key);
  s.connect(c.agents_endpoint());
  capnp::MallocMessageBuilder b;
  auto h = wire_io::start(b, 1).getBody().initAgentHello();
  h.setName(name);
  h.setSlots(1);
  auto labels = h.initLabels(1);
  labels[0].setKey("sim");
  labels[0].setValue(name);
  wire_io::fill(h.initMachine(), MachineInfo{name, "sim", 1, 1, "", "", "", {}, ""});
  s.send(wire_io::to_message(b), zmq::send_flags::none);
  for (;;) {
    zmq::message_t m;
    if (!s.recv(m)) continue;
    auto d = wire_io::decode_frame(m.data(), m.size());
    auto* f = std::get_if<std::unique_ptr<wire_io::Frame>>(&d);
    if (f && (*f)->envelope().getBody().which() == wire::Envelope::Body::WELCOME) return s;
  }
}

std::vector<CurveKeyPair> keys_for(Cluster& c, const std::vector<std::string>& names) {
  return c.insecure() ? std::vector<CurveKeyPair>(names.size()) : c.authorize_agents(names);
}

std::vector<double> submit_to_start_ms(Cluster& c, int n) {
  zmq::context_t ctx(1);
  Client client(ctx, c.clients_endpoint(), 10s, c.client_security());
  const std::string yaml =
      "pipeline: latency\njobs:\n  t:\n    on: { labels: [role=real] }\n"
      "    steps: [{run: \"true\"}]\n";
  std::vector<double> ms;
  for (int i = 0; i < n; ++i) {
    capnp::MallocMessageBuilder b;
    auto s = client.request(b).getBody().initSubmit();
    s.setPipelineYaml(yaml);
    s.setFileName("bench.yml");
    s.setSubmitter("bench");
    const int64_t t0 = now_us();
    const uint64_t id = client.call(b)->envelope().getBody().getSubmitReply().getPipelineId();
    const std::string where = "j.pipeline_id = " + std::to_string(id);
    wait_for(
        [&] {
          return c.scalar("SELECT count(*) FROM jobs j WHERE " + where +
                          " AND state = 'succeeded'") == 1;
        },
        10s);
    const int64_t started = c.scalar(
        "SELECT (extract(epoch FROM s.started_at) * 1e6)::bigint FROM steps s JOIN jobs j ON "
        "j.id = s.job_id WHERE " +
        where + " AND s.idx = 0");
    ms.push_back((started - t0) / 1000.0);
  }
  return ms;
}

// 50 simulated agents each send a heartbeat and wait for its answer, in
// rounds; the coordinator's CPU time over the whole exchange, per 1,000.
double cpu_ms_per_1000_heartbeats(Cluster& c, int heartbeats) {
  zmq::context_t ctx(1);
  const int agents = 50;
  std::vector<std::string> names;
  for (int i = 0; i < agents; ++i) names.push_back("hb-" + std::to_string(i));
  const auto keys = keys_for(c, names);
  std::vector<zmq::socket_t> socks;
  for (int i = 0; i < agents; ++i) socks.push_back(sim_agent(ctx, c, keys[i], names[i]));
  const double cpu0 = cpu_seconds(c.coordinator().pid());
  int answered = 0;
  for (int round = 0; answered < heartbeats; ++round) {
    for (auto& s : socks) {
      capnp::MallocMessageBuilder b;
      wire_io::start(b, 100 + round).getBody().initHeartbeat().setSentAtUs(now_us());
      s.send(wire_io::to_message(b), zmq::send_flags::none);
    }
    for (auto& s : socks) {
      for (;;) {
        zmq::message_t m;
        if (!s.recv(m)) continue;
        auto d = wire_io::decode_frame(m.data(), m.size());
        auto* f = std::get_if<std::unique_ptr<wire_io::Frame>>(&d);
        if (f && (*f)->envelope().getBody().which() == wire::Envelope::Body::HEARTBEAT) break;
      }
      ++answered;
    }
  }
  return (cpu_seconds(c.coordinator().pid()) - cpu0) * 1000.0 / (answered / 1000.0);
}

struct Figures {
  std::vector<double> p50, p99, ingest, hb_cpu;
};

}  // namespace

int main(int argc, char** argv) {
  int rounds = 3, submissions = 40, samples = 50000, heartbeats = 20000;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string a = argv[i];
    int v = std::atoi(argv[i + 1]);
    if (a == "--rounds") rounds = v;
    if (a == "--submissions") submissions = v;
    if (a == "--samples") samples = v;
    if (a == "--heartbeats") heartbeats = v;
  }
  std::map<bool, Figures> by_mode;  // insecure?
  for (int round = 0; round < rounds; ++round) {
    for (int k = 0; k < 2; ++k) {
      const bool insecure = (round + k) % 2 == 1;
      Cluster::Options options;
      options.insecure = insecure;
      options.heartbeat_ms = 1000;
      options.lease_ms = 30000;
      Cluster c(options);
      c.add_agent("real", "role=real", "bench-machine");
      auto lat = submit_to_start_ms(c, submissions);
      Figures& f = by_mode[insecure];
      f.p50.push_back(percentile(lat, 0.5));
      f.p99.push_back(percentile(lat, 0.99));
      f.ingest.push_back(ingest_samples(c, samples).per_s);
      f.hb_cpu.push_back(cpu_ms_per_1000_heartbeats(c, heartbeats));
      std::fprintf(stderr,
                   "round %d %s: submit->start p50 %.2f ms p99 %.2f ms, %.0f samples/s, %.1f ms "
                   "CPU per 1000 heartbeats\n",
                   round + 1, insecure ? "insecure" : "CURVE", f.p50.back(), f.p99.back(),
                   f.ingest.back(), f.hb_cpu.back());
    }
  }
  auto med = [](const std::vector<double>& v) { return percentile(v, 0.5); };
  const Figures &cu = by_mode[false], &in = by_mode[true];
  std::printf("| figure (median of %d rounds) | CURVE | --insecure | CURVE / insecure |\n", rounds);
  std::printf("|---|---|---|---|\n");
  auto row = [&](const char* what, double a, double b, const char* unit) {
    std::printf("| %s | %.2f %s | %.2f %s | %.3f |\n", what, a, unit, b, unit, b ? a / b : 0);
  };
  row("submit -> step start, p50", med(cu.p50), med(in.p50), "ms");
  row("submit -> step start, p99", med(cu.p99), med(in.p99), "ms");
  row("samples ingested and acknowledged", med(cu.ingest), med(in.ingest), "/s");
  row("coordinator CPU per 1,000 heartbeats", med(cu.hb_cpu), med(in.hb_cpu), "ms");
  return 0;
}
