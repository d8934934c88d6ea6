// Change-point detection on this machine (docs/change-points.md):
//
//  1. the noise: runs the tests' CPU-bound command (yardstick-test-spin)
//     --runs times, started without a shell, and keeps each wall time in
//     the order they were taken, drift and all;
//  2. false alarms and detection: series of --points points (half before
//     a change, half after), each point the median of R consecutive
//     measured runs (R runs per revision: 1, 3, 5, 10), taken from a random
//     place in the measured stream; the points after the change are
//     multiplied by 1.05, 1.10 or 1.25 (none: an A/A series). A series is
//     flagged when it has any change point; found at the change when one
//     is at the true index;
//  3. cost: the search of --cost-series series of --length points each
//     (generated, with and without a change), CPU time per series;
//  4. with --dsn, the coordinator's search of the newest --pipelines
//     pipelines of a filled database (bench/history_bench's two years), as
//     it runs after a pipeline ends: reading each series' points from
//     PostgreSQL, searching, writing; wall time per pipeline. It migrates
//     the database first and marks those pipelines not searched.
//
//   build/bench/change_points_bench [--runs 3000] [--iterations 4000000] [--series 1000]
//       [--points 20] [--cost-series 10000] [--length 1000]
//   build/bench/change_points_bench --dsn DSN [--pipelines 40]
#include <spawn.h>
#include <sys/wait.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <string>
#include <vector>

#include "common/change_points.hpp"
#include "common/stats.hpp"
#include "coordinator/change_detector.hpp"
#include "coordinator/store/pg_store.hpp"

extern char** environ;

namespace {

// Part 4: the detector's pass on a filled database.
int on_database(const std::string& dsn, int pipelines) {
  {
    yardstick::PgSession session(dsn);
    session.connect();
    std::printf("schema at version %d\n", yardstick::migrate(session));
  }
  pqxx::connection conn(dsn);
  {
    pqxx::work w(conn);
    w.exec_params(
        "UPDATE pipelines SET changes_checked_at = NULL WHERE id IN (SELECT id FROM pipelines "
        "ORDER BY id DESC LIMIT $1)",
        pipelines);
    w.commit();
  }
  yardstick::ChangeDetector detector(dsn, {}, nullptr);
  std::vector<double> per_pipeline;
  for (int i = 0; i < pipelines; ++i) {
    const auto t0 = std::chrono::steady_clock::now();
    if (detector.pass(conn, 1) == 0) break;
    per_pipeline.push_back(
        std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
  }
  pqxx::work w(conn);
  const auto r = w.exec(
      "SELECT count(*), (SELECT count(*) FROM pipelines WHERE changes_checked_at IS NULL) FROM "
      "change_points");
  const auto s = yardstick::summarize(per_pipeline);
  std::printf(
      "%zu pipelines searched: per pipeline median %.1f ms, max %.1f ms; %s change "
      "points stored, %s pipelines left\n",
      per_pipeline.size(), s.median * 1e3, s.max * 1e3, r[0][0].c_str(), r[0][1].c_str());
  return 0;
}

double run_once(const std::string& iterations) {
  const std::string spin = YARDSTICK_SPIN;
  char* argv[] = {const_cast<char*>(spin.c_str()), const_cast<char*>(iterations.c_str()), nullptr};
  const auto t0 = std::chrono::steady_clock::now();
  pid_t pid;
  if (posix_spawn(&pid, spin.c_str(), nullptr, nullptr, argv, environ) != 0) std::exit(2);
  int status = 0;
  waitpid(pid, &status, 0);
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

}  // namespace

int main(int argc, char** argv) {
  int runs = 3000, series = 1000, points = 20, cost_series = 10000, length = 1000;
  std::string iterations = "4000000", dsn;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string k = argv[i];
    if (k == "--runs") runs = std::atoi(argv[i + 1]);
    if (k == "--iterations") iterations = argv[i + 1];
    if (k == "--series") series = std::atoi(argv[i + 1]);
    if (k == "--points") points = std::atoi(argv[i + 1]);
    if (k == "--cost-series") cost_series = std::atoi(argv[i + 1]);
    if (k == "--length") length = std::atoi(argv[i + 1]);
    if (k == "--dsn") dsn = argv[i + 1];
    if (k == "--pipelines") series = std::atoi(argv[i + 1]);
  }
  if (!dsn.empty()) return on_database(dsn, series == 1000 ? 40 : series);
  using yardstick::ChangeOptions;
  using yardstick::find_change_points;

  std::vector<double> measured;
  for (int i = 0; i < runs; ++i) measured.push_back(run_once(iterations));
  const auto s = yardstick::summarize(measured);
  std::printf(
      "noise: %d runs of yardstick-test-spin %s: median %.3f ms, MAD/median %.1f %%, "
      "min %.3f ms, max %.3f ms\n\n",
      runs, iterations.c_str(), s.median * 1e3, 100 * s.mad / s.median, s.min * 1e3, s.max * 1e3);

  const ChangeOptions options;  // the coordinator's
  std::mt19937_64 rng(2026);
  // In the order the runs were taken (this machine's drift included), and
  // shuffled (its noise without the drift: independent points).
  std::vector<double> shuffled = measured;
  std::shuffle(shuffled.begin(), shuffled.end(), rng);
  for (const auto* stream : {&measured, &shuffled}) {
    std::printf(
        "%s\n\n| runs per revision | A/A: false alarms | 5 %%: found (at the change) | "
        "10 %%: found (at) | 25 %%: found (at) |\n|---|---|---|---|---|\n",
        stream == &measured ? "points from consecutive runs, in the order taken:"
                            : "points from the same runs, shuffled:");
    for (int per : {1, 3, 5, 10}) {
      const int need = per * points;
      if (need > runs) continue;
      std::uniform_int_distribution<int> start(0, runs - need);
      std::printf("| %d |", per);
      for (double shift : {0.0, 0.05, 0.10, 0.25}) {
        int flagged = 0, at = 0;
        for (int k = 0; k < series; ++k) {
          const int from = start(rng);
          std::vector<double> v;
          for (int p = 0; p < points; ++p) {
            std::vector<double> block(stream->begin() + from + p * per,
                                      stream->begin() + from + (p + 1) * per);
            double x = yardstick::summarize(block).median;
            if (p >= points / 2) x *= 1 + shift;
            v.push_back(x);
          }
          const auto found = find_change_points(v, {}, options);
          flagged += !found.empty();
          for (const auto& c : found) at += c.index == static_cast<size_t>(points / 2);
        }
        if (shift == 0)
          std::printf(" %.1f %% |", 100.0 * flagged / series);
        else
          std::printf(" %.1f %% (%.1f %%) |", 100.0 * flagged / series, 100.0 * at / series);
      }
      std::printf("\n");
    }
    std::printf("\n");
  }

  // Cost: generated series with 2 % log-normal noise, half with a 10 %
  // step in the middle.
  std::normal_distribution<double> noise(0, 0.02);
  std::vector<std::vector<double>> all(cost_series);
  for (int k = 0; k < cost_series; ++k)
    for (int p = 0; p < length; ++p)
      all[k].push_back((k % 2 && p >= length / 2 ? 1.1 : 1.0) * std::exp(noise(rng)));
  size_t found = 0;
  std::vector<double> per_series[2];
  for (int k = 0; k < cost_series; ++k) {
    const auto t0 = std::chrono::steady_clock::now();
    found += find_change_points(all[k], {}, options).size();
    per_series[k % 2].push_back(
        std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
  }
  double total = 0;
  for (const auto& v : per_series)
    for (double t : v) total += t;
  std::printf(
      "\ncost: %d series of %d points: %.2f s in all; per series, median %.3f ms with "
      "no change, %.3f ms with one; %zu change points found\n",
      cost_series, length, total, yardstick::summarize(per_series[0]).median * 1e3,
      yardstick::summarize(per_series[1]).median * 1e3, found);
  return 0;
}
