// What the foreign share sees (common/run_context.hpp), on this machine: a
// single-threaded and a parallel benchmark (one, then two spinning
// processes under one shell), each alone, beside a busy loop, and beside a
// second build (the parallel tree in a loop), --runs counted runs each,
// through a real coordinator and agent. Printed per case: the foreign
// share's median and range, the runs flagged contended (by the whole rule,
// and by the old single-thread rule alone), and the median wall.
//
//   build/bench/neighbours_bench [--runs 20] [--iterations 300000000] [--verbose 1]
#include <signal.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "tests/integration/harness.hpp"

using namespace yardstick;
using namespace yardstick::test;

namespace {

std::string spin() {
  return std::string(YARDSTICK_BUILD_DIR) + "/tests/integration/yardstick-test-spin";
}

double quantile(std::vector<double> v, double q) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  return v[static_cast<size_t>(q * (v.size() - 1) + 0.5)];
}

}  // namespace

int main(int argc, char** argv) {
  int runs = 20;
  long iterations = 300'000'000;
  bool verbose = false;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (!std::strcmp(argv[i], "--runs")) runs = std::atoi(argv[i + 1]);
    if (!std::strcmp(argv[i], "--iterations")) iterations = std::atol(argv[i + 1]);
    if (!std::strcmp(argv[i], "--verbose")) verbose = std::atoi(argv[i + 1]) != 0;
  }
  try {
    Cluster c;
    c.add_agent("a", "pool=n", "m1", 1, {"--no-host-lock"});
    const std::string s = spin() + " " + std::to_string(iterations);
    const std::vector<std::pair<std::string, std::string>> workloads = {
        {"single-threaded", s}, {"parallel (2 processes)", s + " & " + s + " & wait"}};
    const std::vector<std::pair<std::string, std::string>> neighbours = {
        {"alone", ""},
        {"beside a busy loop", "while :; do :; done"},
        {"beside a second build", "while :; do " + s + " & " + s + " & wait; done"}};
    std::printf(
        "| bench | neighbour | foreign share: median (min-max) | contended (rule) | contended "
        "(single-thread part alone) | median wall |\n|---|---|---|---|---|---|\n");
    int n = 0;
    for (const auto& [wname, run] : workloads)
      for (const auto& [nname, loop] : neighbours) {
        const std::string pipeline = "case" + std::to_string(++n);
        c.write_file(pipeline + ".yml", "pipeline: " + pipeline +
                                            "\njobs:\n  b:\n    kind: bench\n    bench:\n"
                                            "      run: \"" +
                                            run + "\"\n      runs: " + std::to_string(runs) + "\n");
        std::unique_ptr<Process> neighbour;
        if (!loop.empty())
          neighbour = std::make_unique<Process>(std::vector<std::string>{"/bin/sh", "-c", loop},
                                                c.dir() + "/neighbour.log");
        auto r = c.cli({"submit", pipeline + ".yml", "--wait"});
        if (neighbour) {
          neighbour->signal(SIGKILL);
          neighbour->wait(std::chrono::seconds(5));
        }
        if (r.code != 0) throw std::runtime_error(pipeline + " failed: " + r.err);
        std::vector<double> share, wall;
        int contended = 0, single_rule = 0;
        for (const auto& row :
             c.query("SELECT s.foreign_share, s.wall_s, s.contended, s.invol_ctx,"
                     " s.user_s + s.sys_s FROM samples s JOIN jobs j ON j.id = s.job_id JOIN"
                     " pipelines p ON p.id = j.pipeline_id WHERE p.name = '" +
                     pipeline + "'")) {
          if (!row[0].is_null()) share.push_back(row[0].as<double>());
          wall.push_back(row[1].as<double>());
          contended += row[2].as<bool>();
          // The old rule: preempted often, off the CPU a good part of wall.
          const double cpu = row[4].as<double>(), w = row[1].as<double>();
          const double invol = row[3].is_null() ? 0 : row[3].as<double>();
          single_rule += invol >= 2 && invol >= 100 * cpu && cpu <= 0.8 * w;
          if (verbose)
            std::fprintf(stderr, "%s: share %s wall %.3f cpu %.3f invol %.0f%s\n", pipeline.c_str(),
                         row[0].is_null() ? "-" : row[0].c_str(), w, cpu, invol,
                         row[2].as<bool>() ? " contended" : "");
        }
        std::printf("| %s | %s | %.3f (%.3f-%.3f) | %d of %zu | %d of %zu | %.3f s |\n",
                    wname.c_str(), nname.c_str(), quantile(share, 0.5), quantile(share, 0),
                    quantile(share, 1), contended, wall.size(), single_rule, wall.size(),
                    quantile(wall, 0.5));
        std::fflush(stdout);
      }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "neighbours_bench: %s\n", e.what());
    return 1;
  }
  return 0;
}
