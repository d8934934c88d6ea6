// Figures of yardstick's verdicts on a noisy machine (docs/benchmarks.md,
// "Noise figures"):
//
//  1. A/A trials, before and after: the same CPU-bound ~30 ms command as two
//     variants, 2 warm-ups and `--runs` rounds. "Before" runs them in a
//     fixed order (A B A B ...) and judges with the Mann-Whitney test, as
//     yardstick did; "after" shuffles the order within each round and judges
//     with the Wilcoxon signed-rank test of each round's log ratio. The two
//     run trial by trial, side by side, in this process; the false-verdict
//     rate is how often either says "faster" or "slower".
//  2. The same with a 2 % slower variant (exactly 2 % more iterations):
//     the detection rate, before and after.
//  3. Real pipelines through a coordinator, an agent and PostgreSQL: the
//     A/A false-verdict rate and the 2 % detection rate of the stored
//     verdicts, and, from A/A jobs of 20 and 100 rounds, the run-to-run
//     spread of wall time, CPU time, task-clock and instructions (where the
//     kernel counts them) and the minimum detectable effect the job stored.
//  4. The same spread and minimum detectable effect for a cold `make -j2`
//     of a small generated C project.
//
//   build/bench/noise_bench [--trials 40] [--detect-trials 20] [--runs 20]
//                           [--make-runs 20] [--target-ms 30] [--skip-make]
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <vector>

#include "agent/bench_plan.hpp"
#include "common/stats.hpp"
#include "tests/integration/harness.hpp"

using namespace yardstick;
using namespace yardstick::test;

namespace {

std::string g_spin;  // yardstick-test-spin ITERATIONS: a deterministic CPU-bound command

// Runs the spinning command once; its wall time in seconds.
double spin_once(uint64_t n) {
  const std::string arg = std::to_string(n);
  const auto t0 = std::chrono::steady_clock::now();
  pid_t pid = fork();
  if (pid == 0) {
    execl(g_spin.c_str(), g_spin.c_str(), arg.c_str(), static_cast<char*>(nullptr));
    _exit(127);
  }
  int status = 0;
  waitpid(pid, &status, 0);
  const auto t1 = std::chrono::steady_clock::now();
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) throw std::runtime_error("spin failed");
  return std::chrono::duration<double>(t1 - t0).count();
}

// Iterations for about `ms` milliseconds on this machine.
uint64_t calibrate(double ms) {
  uint64_t n = 1000000;
  for (int i = 0; i < 6; ++i) {
    std::vector<double> t;
    for (int k = 0; k < 5; ++k) t.push_back(spin_once(n));
    std::sort(t.begin(), t.end());
    n = static_cast<uint64_t>(n * (ms / 1000) / t[2]);
  }
  return n;
}

// "faster" or "slower": a verdict of change ("within noise" is none).
bool judged(Verdict v) {
  return v == Verdict::kFaster || v == Verdict::kSlower;
}

struct Trial {
  bool before = false, after = false;  // "faster" or "slower" was said
};

// One in-process trial: before (fixed order, Mann-Whitney) then after
// (shuffled order, Wilcoxon signed-rank), each with its own runs.
Trial in_process_trial(uint64_t a, uint64_t b, int rounds, uint64_t seed) {
  Trial t;
  std::vector<double> wa, wb;
  for (int w = 0; w < 2; ++w) spin_once(a), spin_once(b);
  for (int r = 0; r < rounds; ++r) {
    wa.push_back(spin_once(a));
    wb.push_back(spin_once(b));
  }
  t.before = judged(compare(wa, wb).verdict);

  BenchSpec spec;
  spec.run = "spin";
  BenchPlan plan(spec, {Variant{"a", {}, ""}, Variant{"b", {}, ""}}, seed);
  wa.assign(rounds, 0);
  wb.assign(rounds, 0);
  for (int w = 0; w < 2; ++w) spin_once(a), spin_once(b);
  for (int r = 0; r < rounds; ++r)
    for (size_t v : plan.round_order(r)) (v == 0 ? wa : wb)[r] = spin_once(v == 0 ? a : b);
  t.after = judged(compare_paired(wa, wb).verdict);
  return t;
}

double robust_spread(std::vector<double> v) {
  if (v.size() < 2) return NAN;
  Summary s = summarize(v);
  return s.median > 0 ? 1.4826 * s.mad / s.median : NAN;
}

std::string pct(double x) {
  if (std::isnan(x)) return "—";
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.2f %%", 100 * x);
  return buf;
}

bool has_column(Cluster& c, const std::string& table, const std::string& column) {
  return c.scalar("SELECT count(*) FROM information_schema.columns WHERE table_name = '" + table +
                  "' AND column_name = '" + column + "'") > 0;
}

// Submits a two-variant bench pipeline and waits; returns the pipeline's name.
std::string submit(Cluster& c, const std::string& run_a, const std::string& run_b, int runs,
                   const std::string& extra = "") {
  static int seq = 0;
  const std::string name = "noise-" + std::to_string(++seq);
  c.write_file(name + ".yml", "pipeline: " + name + "\njobs:\n  b:\n    kind: bench\n    bench:\n" +
                                  "      warmup: 2\n      runs: " + std::to_string(runs) + "\n" +
                                  extra + "    variants:\n      - { name: a, run: \"" + run_a +
                                  "\" }\n      - { name: b, run: \"" + run_b + "\" }\n");
  auto r = c.cli({"submit", name + ".yml", "--wait"});
  if (r.code != 0) throw std::runtime_error("pipeline " + name + " failed: " + r.out + r.err);
  return name;
}

std::string job_of(const std::string& pipeline) {
  return "(SELECT j.id FROM jobs j JOIN pipelines p ON p.id = j.pipeline_id WHERE p.name = '" +
         pipeline + "')";
}

std::string verdict_of(Cluster& c, const std::string& pipeline) {
  std::string where = "variant_idx = 1 AND job_id = " + job_of(pipeline);
  if (has_column(c, "bench_results", "measure")) where += " AND measure = 'wall'";
  return c.text("SELECT verdict FROM bench_results WHERE " + where);
}

struct Spread {
  double wall = NAN, cpu = NAN, task_clock = NAN, instructions = NAN;
  double mde = NAN;
  int n = 0;
};

// The spread of the baseline's runs of `pipeline`, and the minimum
// detectable effect the coordinator stored for its comparison.
Spread spread_of(Cluster& c, const std::string& pipeline) {
  Spread s;
  const bool ctx = has_column(c, "samples", "task_clock_s");
  auto rows = c.query(std::string("SELECT wall_s, user_s + sys_s, ") +
                      (ctx ? "task_clock_s, instructions" : "NULL::float8, NULL::bigint") +
                      " FROM samples WHERE variant_idx = 0 AND job_id = " + job_of(pipeline));
  std::vector<double> wall, cpu, tc, ins;
  for (const auto& r : rows) {
    wall.push_back(r[0].as<double>());
    cpu.push_back(r[1].as<double>());
    if (!r[2].is_null()) tc.push_back(r[2].as<double>());
    if (!r[3].is_null()) ins.push_back(r[3].as<double>());
  }
  s.n = static_cast<int>(wall.size());
  s.wall = robust_spread(wall);
  s.cpu = robust_spread(cpu);
  s.task_clock = robust_spread(tc);
  s.instructions = robust_spread(ins);
  if (has_column(c, "bench_results", "mde")) {
    std::string where = "variant_idx = 1 AND job_id = " + job_of(pipeline);
    if (has_column(c, "bench_results", "measure")) where += " AND measure = 'wall'";
    auto r = c.query("SELECT mde FROM bench_results WHERE " + where);
    if (!r.empty() && !r[0][0].is_null()) s.mde = r[0][0].as<double>();
  }
  return s;
}

// A small C project: `files` translation units that take a moment each.
std::string make_project(const std::string& dir, int files) {
  std::filesystem::create_directories(dir);
  std::ofstream mk(dir + "/Makefile");
  mk << "OBJS =";
  for (int f = 0; f < files; ++f) mk << " u" << f << ".o";
  mk << "\nprog: $(OBJS)\n\tcc -o prog $(OBJS)\n%.o: %.c\n\tcc -O2 -c $< -o $@\n"
     << "clean:\n\trm -f prog *.o\n";
  for (int f = 0; f < files; ++f) {
    std::ofstream c(dir + "/u" + std::to_string(f) + ".c");
    for (int g = 0; g < 40; ++g) {
      c << "double f" << f << "_" << g << "(double x, int n) {\n  double s = 0;\n"
        << "  for (int i = 0; i < n; ++i) {\n";
      for (int k = 0; k < 12; ++k)
        c << "    s += (x * " << k + 1 << ".5 - i) / (1.0 + s * s + " << k << ");\n";
      c << "  }\n  return s;\n}\n";
    }
    if (f == 0) c << "int main(void) { return (int)f0_0(1.0, 3) * 0; }\n";
  }
  return dir;
}

}  // namespace

int main(int argc, char** argv) {
  int trials = 40, detect_trials = 20, runs = 20, make_runs = 20;
  double target_ms = 30;
  bool skip_make = false;
  for (int i = 1; i < argc; ++i) {
    std::string k = argv[i];
    if (k == "--skip-make") {
      skip_make = true;
      continue;
    }
    if (i + 1 >= argc) break;
    double v = std::atof(argv[++i]);
    if (k == "--trials") trials = static_cast<int>(v);
    if (k == "--detect-trials") detect_trials = static_cast<int>(v);
    if (k == "--runs") runs = static_cast<int>(v);
    if (k == "--make-runs") make_runs = static_cast<int>(v);
    if (k == "--target-ms") target_ms = v;
  }
  g_spin = YARDSTICK_SPIN;
  const uint64_t n = calibrate(target_ms);
  const uint64_t n2 = static_cast<uint64_t>(std::llround(n * 1.02));
  std::fprintf(stderr, "noise_bench: spin %llu iterations (~%.0f ms), 2 %% slower: %llu\n",
               static_cast<unsigned long long>(n), target_ms, static_cast<unsigned long long>(n2));

  // 1 and 2: in this process, before and after side by side.
  int aa_before = 0, aa_after = 0, det_before = 0, det_after = 0;
  for (int t = 0; t < trials; ++t) {
    std::fprintf(stderr, "in-process A/A trial %d of %d\n", t + 1, trials);
    Trial r = in_process_trial(n, n, runs, 0x5eed0000 + t);
    aa_before += r.before;
    aa_after += r.after;
  }
  for (int t = 0; t < detect_trials; ++t) {
    std::fprintf(stderr, "in-process 2 %% trial %d of %d\n", t + 1, detect_trials);
    Trial r = in_process_trial(n, n2, runs, 0xd00d0000 + t);
    det_before += r.before;
    det_after += r.after;
  }

  // 3: real pipelines.
  Cluster c;
  c.add_agent("noise", "", "noise-machine");
  const std::string a = g_spin + " " + std::to_string(n), b2 = g_spin + " " + std::to_string(n2);
  int aa_real = 0, det_real = 0;
  std::map<std::string, int> aa_verdicts;
  for (int t = 0; t < trials; ++t) {
    std::fprintf(stderr, "A/A pipeline %d of %d\n", t + 1, trials);
    const std::string v = verdict_of(c, submit(c, a, a, runs));
    ++aa_verdicts[v];
    aa_real += v == "faster" || v == "slower";
  }
  for (int t = 0; t < detect_trials; ++t) {
    std::fprintf(stderr, "2 %% pipeline %d of %d\n", t + 1, detect_trials);
    det_real += verdict_of(c, submit(c, a, b2, runs)) == "slower";
  }
  std::fprintf(stderr, "A/A and 100-round spread pipelines\n");
  const Spread s20 = spread_of(c, submit(c, a, a, 20));
  const Spread s100 = spread_of(c, submit(c, a, a, 100));

  std::printf("Spin command: %llu iterations, about %.0f ms; %d rounds a benchmark.\n\n",
              static_cast<unsigned long long>(n), target_ms, runs);
  std::printf("| figure | before: fixed order, Mann-Whitney | after: shuffled, paired |\n");
  std::printf("|---|---|---|\n");
  std::printf("| A/A false verdicts, in process (%d trials) | %d (%.1f %%) | %d (%.1f %%) |\n",
              trials, aa_before, 100.0 * aa_before / trials, aa_after, 100.0 * aa_after / trials);
  std::printf("| 2 %% slower detected, in process (%d trials) | %d (%.0f %%) | %d (%.0f %%) |\n",
              detect_trials, det_before, 100.0 * det_before / detect_trials, det_after,
              100.0 * det_after / detect_trials);
  std::printf("| A/A false verdicts, real pipelines (%d) | | %d (%.1f %%) |\n", trials, aa_real,
              100.0 * aa_real / trials);
  std::printf("| 2 %% slower judged slower, real pipelines (%d) | | %d (%.0f %%) |\n",
              detect_trials, det_real, 100.0 * det_real / detect_trials);
  std::printf("\nA/A verdicts of the real pipelines:");
  for (const auto& [v, k] : aa_verdicts) std::printf(" %s %d;", v.c_str(), k);
  std::printf(
      "\n\n| command | rounds | spread of wall | of CPU time | of task-clock | "
      "of instructions | minimum detectable effect |\n|---|---|---|---|---|---|---|\n");
  std::printf("| spin ~%.0f ms | %d | %s | %s | %s | %s | %s |\n", target_ms, s20.n,
              pct(s20.wall).c_str(), pct(s20.cpu).c_str(), pct(s20.task_clock).c_str(),
              pct(s20.instructions).c_str(), pct(s20.mde).c_str());
  std::printf("| spin ~%.0f ms | %d | %s | %s | %s | %s | %s |\n", target_ms, s100.n,
              pct(s100.wall).c_str(), pct(s100.cpu).c_str(), pct(s100.task_clock).c_str(),
              pct(s100.instructions).c_str(), pct(s100.mde).c_str());

  // 4: a cold make -j2.
  if (!skip_make) {
    const std::string proj = make_project(c.dir() + "/cproj", 16);
    const std::string mk = "make -s -C " + proj + " -j2 prog";
    std::fprintf(stderr, "cold make -j2 pipeline, %d rounds\n", make_runs);
    const Spread m = spread_of(
        c, submit(c, mk, mk, make_runs, "      prepare: make -s -C " + proj + " clean\n"));
    std::printf("| cold `make -j2`, 16 files | %d | %s | %s | %s | %s | %s |\n", m.n,
                pct(m.wall).c_str(), pct(m.cpu).c_str(), pct(m.task_clock).c_str(),
                pct(m.instructions).c_str(), pct(m.mde).c_str());
  }
  std::printf(
      "\nSpread: 1.4826 x MAD / median of the baseline's runs (a robust relative standard "
      "deviation); —: not measured on this machine.\n");
  return 0;
}
