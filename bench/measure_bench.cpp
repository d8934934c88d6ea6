// Figures of the benchmark runner, side by side with hyperfine (Debian's
// package) in one run on one machine, and the ingestion rate of samples:
//
//  1. `sleep 0.05`: yardstick's median against hyperfine's (default: through
//     a shell, whose measured start-up hyperfine subtracts) and hyperfine
//     -N's (no shell, as yardstick runs a plain command);
//  2. `true`: per-run overhead (the median wall of a process that does
//     nothing) against hyperfine -N (no shell);
//  3. relative spread (stddev / mean, and MAD / median) of both on
//     `sleep 0.05`;
//  4. samples per second into PostgreSQL through one coordinator, sent by a
//     simulated agent as fast as the socket takes them, until acknowledged.
//
// Each comparison alternates the two tools `--rounds` times and reports
// the median over rounds.
//
//   build/bench/measure_bench [--rounds 5] [--runs 40] [--samples 200000]
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>
#include <zmq.hpp>

#include "common/stats.hpp"
#include "common/wire.hpp"
#include "coordinator/cli/client.hpp"
#include "tests/integration/harness.hpp"

using namespace yardstick;
using namespace yardstick::test;
using namespace std::chrono_literals;
using json = nlohmann::json;

namespace {

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.empty() ? 0 : quantile_sorted(v, 0.5);
}

std::vector<double> hyperfine(const std::string& flags, const std::string& cmd, int runs,
                              const std::string& dir) {
  const std::string out = dir + "/hf.json";
  std::string line = "hyperfine --style none --warmup 3 --runs " + std::to_string(runs) + " " +
                     flags + " --export-json " + out + " '" + cmd + "' >/dev/null 2>&1";
  if (std::system(line.c_str()) != 0) throw std::runtime_error("hyperfine failed: " + line);
  std::ifstream in(out);
  json j = json::parse(in);
  return j["results"][0]["times"].get<std::vector<double>>();
}

std::vector<double> yardstick_runs(Cluster& c, const std::string& cmd, int runs, int round) {
  const std::string name = "bench-" + std::to_string(round) + "-" + std::to_string(std::rand());
  c.write_file(name + ".yml", "pipeline: " + name +
                                  "\njobs:\n  b:\n    kind: bench\n    bench: " + "{ run: \"" +
                                  cmd + "\", warmup: 3, runs: " + std::to_string(runs) + " }\n");
  auto r = c.cli({"submit", name + ".yml", "--wait"});
  if (r.code != 0) throw std::runtime_error("yardstick bench failed: " + r.err);
  std::vector<double> out;
  for (const auto& row : c.query("SELECT s.wall_s FROM samples s JOIN jobs j ON j.id = s.job_id"
                                 " JOIN pipelines p ON p.id = j.pipeline_id WHERE p.name = '" +
                                 name + "' ORDER BY s.idx"))
    out.push_back(row[0].as<double>());
  return out;
}

// Relative spread two ways: stddev / mean (what hyperfine prints, ruled by
// the odd slow run) and MAD / median (robust).
double spread(const std::vector<double>& v) {
  Summary s = summarize(v);
  return s.mean > 0 ? s.stddev / s.mean : 0;
}

double robust_spread(const std::vector<double>& v) {
  Summary s = summarize(v);
  return s.median > 0 ? s.mad / s.median : 0;
}

void ingestion(Cluster& c, int samples) {
  zmq::context_t ctx(1);
  zmq::socket_t s(ctx, zmq::socket_type::dealer);
  s.set(zmq::sockopt::linger, 0);
  s.set(zmq::sockopt::sndhwm, 0);
  s.set(zmq::sockopt::rcvhwm, 0);
  if (!c.insecure()) c.secure(s, c.authorize_agent("ingest-sim"));
  s.connect(c.agents_endpoint());
  {
    capnp::MallocMessageBuilder b;
    auto h = wire_io::start(b, 1).getBody().initAgentHello();
    h.setName("ingest-sim");
    h.setSlots(1);
    auto labels = h.initLabels(1);
    labels[0].setKey("ingest");
    labels[0].setValue("yes");
    wire_io::fill(h.initMachine(), MachineInfo{"ingest-machine", "sim", 1, 1, "", "", "", {}});
    s.send(wire_io::to_message(b), zmq::send_flags::none);
  }
  c.write_file("ingest.yml",
               "pipeline: ingest\njobs:\n  b:\n    kind: bench\n    on: { labels: [ingest=yes] }\n"
               "    bench: { run: \"true\", runs: 1 }\n");
  if (c.cli({"submit", "ingest.yml"}).code != 0) throw std::runtime_error("submit failed");
  uint64_t job = 0;
  uint32_t attempt = 0;
  while (!job) {
    zmq::message_t m;
    if (!s.recv(m)) continue;
    auto d = wire_io::decode_frame(m.data(), m.size());
    auto* f = std::get_if<std::unique_ptr<wire_io::Frame>>(&d);
    if (f && (*f)->envelope().getBody().which() == wire::Envelope::Body::ASSIGN) {
      job = (*f)->envelope().getBody().getAssign().getJobId();
      attempt = (*f)->envelope().getBody().getAssign().getAttempt();
    }
  }
  // One thread owns the socket: send while the socket takes frames, read
  // acknowledgements whenever they arrive, stop when all are acknowledged.
  auto t0 = std::chrono::steady_clock::now();
  const auto deadline = t0 + 300s;
  int sent = 0, acked = 0;
  while (acked < samples) {
    if (std::chrono::steady_clock::now() > deadline)
      throw std::runtime_error("ingestion: only " + std::to_string(acked) + " of " +
                               std::to_string(samples) + " acknowledged after 300 s");
    zmq::pollitem_t item{static_cast<void*>(s), 0,
                         static_cast<short>(ZMQ_POLLIN | (sent < samples ? ZMQ_POLLOUT : 0)), 0};
    zmq::poll(&item, 1, std::chrono::milliseconds(100));
    for (int burst = 0; sent < samples && burst < 256; ++burst) {
      capnp::MallocMessageBuilder b;
      auto m = wire_io::start(b, 0).getBody().initSample();
      wire_io::fill(m.initKey(), {job, attempt, static_cast<uint64_t>(sent + 1)});
      m.setVariant("default");
      m.setIndex(sent);
      m.setWallNs(1'000'000 + sent);
      m.setAtUs(1'700'000'000'000'000);
      if (!s.send(wire_io::to_message(b), zmq::send_flags::dontwait)) break;
      ++sent;
    }
    zmq::message_t m;
    while (s.recv(m, zmq::recv_flags::dontwait)) {
      auto d = wire_io::decode_frame(m.data(), m.size());
      auto* f = std::get_if<std::unique_ptr<wire_io::Frame>>(&d);
      if (f && (*f)->envelope().getBody().which() == wire::Envelope::Body::ACK)
        acked += (*f)->envelope().getBody().getAck().getKeys().size();
    }
  }
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  int64_t stored = c.scalar("SELECT count(*) FROM samples WHERE job_id = " + std::to_string(job));
  std::printf(
      "| samples into PostgreSQL, sent by one simulated agent, committed and acknowledged "
      "| %.0f samples/s (%d in %.2f s, %lld stored) |\n",
      samples / secs, samples, secs, static_cast<long long>(stored));
}

}  // namespace

int main(int argc, char** argv) {
  int rounds = 5, runs = 40, samples = 200000;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string k = argv[i];
    int v = std::atoi(argv[i + 1]);
    if (k == "--rounds") rounds = v;
    if (k == "--runs") runs = v;
    if (k == "--samples") samples = v;
  }
  std::fprintf(stderr, "measure_bench: %d rounds of %d runs, then %d samples\n", rounds, runs,
               samples);
  Cluster c;
  c.add_agent("bench", "", "bench-machine");
  std::vector<double> ys_sleep, hf_sleep, hfn_sleep, ys_true, hf_true, ys_spread, hf_spread, ys_mad,
      hf_mad;
  for (int r = 0; r < rounds; ++r) {
    std::fprintf(stderr, "round %d of %d\n", r + 1, rounds);
    auto a = yardstick_runs(c, "sleep 0.05", runs, r);
    auto b = hyperfine("", "sleep 0.05", runs, c.dir());
    hfn_sleep.push_back(median(hyperfine("-N", "sleep 0.05", runs, c.dir())));
    ys_sleep.push_back(median(a));
    hf_sleep.push_back(median(b));
    ys_spread.push_back(spread(a));
    hf_spread.push_back(spread(b));
    ys_mad.push_back(robust_spread(a));
    hf_mad.push_back(robust_spread(b));
    auto t1 = yardstick_runs(c, "true", runs * 5, r);
    auto t2 = hyperfine("-N", "true", runs * 5, c.dir());
    ys_true.push_back(median(t1));
    hf_true.push_back(median(t2));
  }
  std::printf("| figure | yardstick | hyperfine | difference |\n|---|---|---|---|\n");
  std::printf(
      "| `sleep 0.05`: median wall (median of %d rounds of %d runs) | %.3f ms | %.3f ms | "
      "%+.2f %% |\n",
      rounds, runs, median(ys_sleep) * 1e3, median(hf_sleep) * 1e3,
      100 * (median(ys_sleep) / median(hf_sleep) - 1));
  std::printf(
      "| `sleep 0.05`: the same against hyperfine -N (neither starts a shell) | %.3f ms | "
      "%.3f ms | %+.2f %% |\n",
      median(ys_sleep) * 1e3, median(hfn_sleep) * 1e3,
      100 * (median(ys_sleep) / median(hfn_sleep) - 1));
  std::printf(
      "| `true`: per-run overhead, median wall (%d runs; hyperfine -N) | %.3f ms | %.3f ms "
      "| %+.3f ms |\n",
      runs * 5, median(ys_true) * 1e3, median(hf_true) * 1e3,
      (median(ys_true) - median(hf_true)) * 1e3);
  std::printf("| `sleep 0.05`: relative spread (stddev / mean) | %.2f %% | %.2f %% | |\n",
              100 * median(ys_spread), 100 * median(hf_spread));
  std::printf("| `sleep 0.05`: relative spread (MAD / median) | %.2f %% | %.2f %% | |\n",
              100 * median(ys_mad), 100 * median(hf_mad));
  std::printf("\n| figure | result |\n|---|---|\n");
  ingestion(c, samples);
  return 0;
}
