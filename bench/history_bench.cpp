// Years of history (docs/benchmarks.md "Two years of history"): fills a
// new database with a generated history (tests/integration/history.hpp;
// by default two years, 100 machines, 1,000,000 jobs, 3,000,000 steps,
// 10,000,000 samples, 5,000,000 metrics and 50,000,000 log lines), starts a
// real coordinator on it (which migrates it: the time is printed), and
// times every report of sql/reports and the CLI's reading commands through
// the real CLI: the median and the slowest of --runs runs, each a new
// process, as a user types them; then the dashboard's pages (server time
// over one keep-alive connection, --runs requests each).
//
//   build/bench/history_bench [--pipelines 250000] [--months 24] [--runs 5]
//   build/bench/history_bench --dsn DSN [--runs 5]     # a database filled before
//   build/bench/history_bench ... --keep-logs 90d      # the coordinator's retention
//
// The database is kept (its DSN is printed), so that the same history can
// be timed again by another build with --dsn.
#include <httplib.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <pqxx/pqxx>

#include "tests/integration/harness.hpp"
#include "tests/integration/history.hpp"

using namespace yardstick::test;

namespace {

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.empty() ? 0 : v[v.size() / 2];
}

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

}  // namespace

int main(int argc, char** argv) {
  HistoryShape shape;
  std::string dsn, keep_logs;
  int runs = 5;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (!std::strcmp(argv[i], "--pipelines")) shape.pipelines = std::atoll(argv[i + 1]);
    if (!std::strcmp(argv[i], "--months")) shape.months = std::atoi(argv[i + 1]);
    if (!std::strcmp(argv[i], "--runs")) runs = std::atoi(argv[i + 1]);
    if (!std::strcmp(argv[i], "--dsn")) dsn = argv[i + 1];
    if (!std::strcmp(argv[i], "--keep-logs")) keep_logs = argv[i + 1];
  }
  if (dsn.empty()) {
    // The schema as a coordinator makes it, then the history.
    dsn = create_test_database();
    {
      Cluster::Options o;
      o.dsn = dsn;
      Cluster migrate_only(o);
    }
    const auto t0 = std::chrono::steady_clock::now();
    generate_history(dsn, shape, [&](const std::string& what) {
      std::printf("  %-20s done at %6.1f s\n", what.c_str(), seconds_since(t0));
      std::fflush(stdout);
    });
  }
  std::printf("database: %s\n", dsn.c_str());
  {
    pqxx::connection conn(dsn);
    pqxx::nontransaction n(conn);
    auto r = n.exec(
        "SELECT (SELECT count(*) FROM pipelines), (SELECT count(*) FROM jobs),"
        " (SELECT count(*) FROM steps), (SELECT count(*) FROM samples),"
        " (SELECT count(*) FROM metrics), (SELECT count(*) FROM log_chunks),"
        " (SELECT COALESCE(sum(length(convert_from(data, 'UTF8')) - length(replace("
        "   convert_from(data, 'UTF8'), E'\\n', '')) + 1), 0) FROM log_chunks),"
        " pg_size_pretty(pg_database_size(current_database()))");
    std::printf(
        "history: %s pipelines, %s jobs, %s steps, %s samples, %s metrics, %s log chunks"
        " (%s lines); %s\n",
        r[0][0].c_str(), r[0][1].c_str(), r[0][2].c_str(), r[0][3].c_str(), r[0][4].c_str(),
        r[0][5].c_str(), r[0][6].c_str(), r[0][7].c_str());
  }

  Cluster::Options o;
  o.dsn = dsn;
  o.start_timeout = std::chrono::hours(2);
  o.coordinator_args = {"--http", "127.0.0.1:0"};
  if (!keep_logs.empty()) {
    o.coordinator_args.push_back("--keep-logs");
    o.coordinator_args.push_back(keep_logs);
  }
  const auto t0 = std::chrono::steady_clock::now();
  Cluster c(o);
  std::printf("coordinator started (migrations included) in %.1f s\n", seconds_since(t0));

  const std::string bench_pipeline = c.text(
      "SELECT max(pipeline_id)::text FROM jobs WHERE name = 'bench' AND state = 'succeeded'");
  const std::string build_pipeline = c.text(
      "SELECT max(pipeline_id)::text FROM jobs WHERE name = 'cold-build' AND state = "
      "'succeeded'");
  const std::string build_job =
      c.text("SELECT max(id)::text FROM jobs WHERE pipeline_id = " + build_pipeline +
             " AND name = 'cold-build'");
  const std::string old_job = c.text("SELECT min(id)::text FROM jobs WHERE name = 'cold-build'");
  const std::string rev_a =
      c.text("SELECT revision FROM jobs WHERE name = 'bench' ORDER BY id DESC OFFSET 40 LIMIT 1");
  const std::string rev_b = c.text(
      "SELECT revision FROM jobs WHERE id = (SELECT max(id) FROM "
      "jobs WHERE name = 'bench')");

  const std::vector<std::vector<std::string>> commands = {
      {"report", "cache_hit_rates", "-v", "pipeline_name=release-build", "-v", "job=cold-build"},
      {"report", "compare_machines", "-v", "job=cold-build"},
      {"report", "compare_variants", "-v", "pipeline=" + bench_pipeline},
      {"report", "cost"},
      {"report", "deploy_phases"},
      {"report", "deploy_success_rates"},
      {"report", "machine_calibrations"},
      {"report", "metric_history", "-v", "pipeline_name=release-build", "-v", "job=cold-build",
       "-v", "metric=ccache.hit_rate"},
      {"report", "metrics", "-v", "pipeline=" + build_pipeline},
      {"report", "over_budget", "-v", "pipeline_name=release-build"},
      {"report", "pipelines"},
      {"report", "recent_builds", "-v", "pipeline_name=release-build", "-v", "job=cold-build"},
      {"report", "refusals"},
      {"report", "regressions", "-v", "pipeline_name=nightly-bench"},
      {"report", "revision_samples", "-v", "job=bench", "-v", "rev_a=" + rev_a, "-v",
       "rev_b=" + rev_b},
      {"report", "slowest_units", "-v", "job=cold-build", "-v", "pipeline_name=release-build"},
      {"report", "step_times_by_machine", "-v", "pipeline_name=release-build", "-v",
       "step=compile"},
      {"report", "success_rates"},
      {"report", "summary", "-v", "pipeline=" + bench_pipeline},
      {"report", "variant_samples", "-v", "pipeline=" + bench_pipeline},
      {"status", bench_pipeline},
      {"status", build_job},
      {"compare", bench_pipeline},
      {"compare", "--machines", "--job", "cold-build"},
      {"compare", "--revisions", rev_a, rev_b, "--job", "bench"},
      {"summary", bench_pipeline},
      {"metrics", build_pipeline},
      {"metrics", "--pipeline", "release-build", "--job", "cold-build"},
      {"pipelines"},
      {"agents"},
      {"logs", build_job},
      {"logs", old_job},
  };
  std::printf("\n| command | median | slowest | exit | output lines |\n|---|---|---|---|---|\n");
  for (const auto& cmd : commands) {
    std::vector<double> ms;
    CliResult last;
    for (int i = 0; i < runs; ++i) {
      const auto t = std::chrono::steady_clock::now();
      last = c.cli(cmd);
      ms.push_back(seconds_since(t) * 1000);
    }
    std::string line;
    for (const auto& a : cmd) line += (line.empty() ? "" : " ") + a;
    std::printf("| `%s` | %.0f ms | %.0f ms | %d | %lld |\n", line.c_str(), median(ms),
                *std::max_element(ms.begin(), ms.end()), last.code,
                static_cast<long long>(std::count(last.out.begin(), last.out.end(), '\n')));
    std::fflush(stdout);
  }

  const std::string address = c.http_address();
  httplib::Client web(address.substr(0, address.rfind(':')),
                      std::stoi(address.substr(address.rfind(':') + 1)));
  web.set_keep_alive(true);
  web.set_read_timeout(60, 0);
  std::printf("\n| page | median | slowest | status | bytes |\n|---|---|---|---|---|\n");
  for (const std::string& path :
       {std::string("/"), "/pipelines/" + bench_pipeline, "/compare/" + bench_pipeline,
        std::string("/trends?pipeline=release-build&job=cold-build&step=compile"),
        std::string("/trends?pipeline=nightly-bench&job=bench"),
        std::string("/trends?pipeline=nightly-bench&job=bench&last=500"), std::string("/machines"),
        std::string("/metrics")}) {
    std::vector<double> ms;
    int status = -1;
    size_t bytes = 0;
    for (int i = 0; i < runs; ++i) {
      const auto t = std::chrono::steady_clock::now();
      auto res = web.Get(path.c_str());
      ms.push_back(seconds_since(t) * 1000);
      status = res ? res->status : -1;
      bytes = res ? res->body.size() : 0;
    }
    std::printf("| `%s` | %.0f ms | %.0f ms | %d | %zu |\n", path.c_str(), median(ms),
                *std::max_element(ms.begin(), ms.end()), status, bytes);
  }
  return 0;
}
