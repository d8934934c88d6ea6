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

#include "bench/ingest.hpp"
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
  const IngestResult r = ingest_samples(c, samples);
  int64_t stored = c.scalar("SELECT count(*) FROM samples WHERE job_id = " + std::to_string(r.job));
  std::printf(
      "| samples into PostgreSQL, sent by one simulated agent, committed and acknowledged "
      "| %.0f samples/s (%d in %.2f s, %lld stored) |\n",
      r.per_s, samples, r.seconds, static_cast<long long>(stored));
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
