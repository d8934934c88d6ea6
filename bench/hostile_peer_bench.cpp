// What one agent holding a listed key can do to everyone else: it takes a
// bench job per case and sends, for each, one result carrying a value out
// of its bounds (docs/protocol.md, "Bounds"), a good sample and the job's
// end, and resends whatever is not acknowledged every 250 ms, registering
// again whenever it is told to, as every agent does. Meanwhile another
// user submits one-step pipelines to a real agent, one after the other,
// with `yardstick submit --wait`; the same submissions are first timed with
// no hostile peer, side by side in one run.
//
// Printed: the other user's submit -> success time (p50, max) without and
// with the hostile peer, the coordinator's store recoveries (log lines
// "store failed"), how often the peer was told to register again, its
// resends, and the refusals recorded in PostgreSQL by reason.
//
//   build/bench/hostile_peer_bench [--seconds 30] [--case NAME]
//   YARDSTICK_BIN_DIR=DIR  the binaries of another build (the same tree's
//                          tests/integration/harness.cpp says how)
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <functional>
#include <limits>
#include <string>
#include <thread>
#include <vector>

#include "tests/integration/harness.hpp"
#include "tests/integration/hostile_peer.hpp"
#include "tests/integration/sim_agent.hpp"

using namespace yardstick;
using namespace yardstick::test;
using namespace std::chrono_literals;
using SteadyClock = std::chrono::steady_clock;

namespace {

double percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  const double idx = p * (v.size() - 1);
  const size_t lo = static_cast<size_t>(idx), hi = std::min(lo + 1, v.size() - 1);
  return v[lo] + (v[hi] - v[lo]) * (idx - lo);
}

// The other user: one-step pipelines, one after another, until `stop`.
std::vector<double> probe(Cluster& c, const std::atomic<bool>& stop, int at_least) {
  std::vector<double> ms;
  for (int i = 0; !stop || i < at_least; ++i) {
    const auto t0 = SteadyClock::now();
    auto r = c.cli({"submit", "probe.yml", "--wait"});
    const double took = std::chrono::duration<double, std::milli>(SteadyClock::now() - t0).count();
    if (r.code != 0)
      std::fprintf(stderr, "the other user's pipeline failed (%d): %s\n", r.code, r.err.c_str());
    ms.push_back(took);
    if (stop && i + 1 >= at_least) break;
  }
  return ms;
}

}  // namespace

int main(int argc, char** argv) {
  int seconds = 30;
  std::string only;
  for (int i = 1; i < argc; ++i) {
    if (!std::strcmp(argv[i], "--seconds") && i + 1 < argc)
      seconds = std::atoi(argv[++i]);
    else if (!std::strcmp(argv[i], "--case") && i + 1 < argc)
      only = argv[++i];
    else {
      std::fprintf(stderr, "usage: hostile_peer_bench [--seconds 30] [--case NAME]\n");
      return 2;
    }
  }
  std::vector<HostileCase> all = hostile_cases();
  if (!only.empty())
    std::erase_if(all, [&](const HostileCase& k) {
      return std::string(k.name).find(only) == std::string::npos;
    });
  if (all.empty()) {
    std::fprintf(stderr, "no case matches '%s'\n", only.c_str());
    return 2;
  }
  try {
    Cluster c;
    c.start_coordinator();
    c.add_agent("real", "role=real", "real-machine");
    c.write_file("probe.yml",
                 "pipeline: other-user\njobs:\n  one:\n    on: { labels: [role=real] }\n"
                 "    steps: [{run: \"true\"}]\n");
    c.write_file("hostile.yml", hostile_pipeline(all.size()));

    // Quiet: the other user alone.
    std::atomic<bool> stop{true};
    const std::vector<double> quiet = probe(c, stop, 20);

    // Hostile: the peer's jobs, and the other user meanwhile.
    SimAgent::Options peer_options;
    peer_options.labels = {{"role", "hostile"}};
    SimAgent peer(c, c.agent_name("hostile"), peer_options);
    if (!peer.register_now(10s)) throw std::runtime_error("the hostile peer was not welcomed");
    const size_t log_from = c.coordinator().log().size();
    if (c.cli({"submit", "hostile.yml"}).code != 0) throw std::runtime_error("submit failed");
    stop = false;
    std::vector<double> loud;
    std::thread other([&] { loud = probe(c, stop, 1); });
    const auto end = SteadyClock::now() + std::chrono::seconds(seconds);
    size_t started = 0;
    while (SteadyClock::now() < end) {
      auto job = peer.wait_assign(std::chrono::duration_cast<std::chrono::milliseconds>(
          std::min<SteadyClock::duration>(end - SteadyClock::now(), 500ms)));
      if (!job) continue;
      send_hostile_job(peer, *job, all);
      ++started;
    }
    stop = true;
    other.join();
    const std::string log = c.coordinator().log().substr(log_from);

    std::printf("| hostile peer, %d s, %zu cases, %zu assignments | |\n", seconds, all.size(),
                started);
    std::printf("|---|---|\n");
    std::printf("| other user's pipeline, alone: p50 / max | %.0f ms / %.0f ms (%zu) |\n",
                percentile(quiet, 0.5), percentile(quiet, 1), quiet.size());
    std::printf("| other user's pipeline, beside the peer: p50 / max | %.0f ms / %.0f ms (%zu) |\n",
                percentile(loud, 0.5), percentile(loud, 1), loud.size());
    std::printf("| store recoveries (\"store failed\" in the coordinator's log) | %zu |\n",
                count_of(log, "store failed"));
    std::printf("| peer told to register again | %d |\n", peer.reregistrations());
    std::printf("| peer's results resent / still unacknowledged | %llu / %zu |\n",
                static_cast<unsigned long long>(peer.resent()), peer.unacked());
    for (const auto& row : c.query("SELECT what, left(reason, 90), count(*) FROM refusals"
                                   " GROUP BY 1, 2 ORDER BY 1, 2"))
      std::printf("| refused: %s: %s | %lld |\n", row[0].c_str(), row[1].c_str(),
                  static_cast<long long>(row[2].as<int64_t>()));
    for (const auto& row : c.query("SELECT j.name, j.state, left(j.message, 80) FROM jobs j"
                                   " JOIN pipelines p ON p.id = j.pipeline_id"
                                   " WHERE p.name = 'hostile' ORDER BY j.id"))
      std::printf("| job %s | %s %s |\n", row[0].c_str(), row[1].c_str(), row[2].c_str());
  } catch (const std::exception& e) {
    std::fprintf(stderr, "hostile_peer_bench: %s\n", e.what());
    return 1;
  }
  return 0;
}
