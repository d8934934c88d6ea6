// Logs by month (sql/migrations/0015_log_partitions.sql) on a database
// filled before them: the migration keeps every row and every report's
// answer, and the coordinator's --keep-logs drops old months of logs and
// nothing else.
#include <gtest/gtest.h>

#include <algorithm>
#include <pqxx/pqxx>

#include "coordinator/reports.hpp"
#include "tests/integration/harness.hpp"
#include "tests/integration/history.hpp"

namespace yardstick::test {
namespace {

constexpr int kPartitionedAt = 15;  // the migration that partitions log_chunks

// A new database at the schema before logs by month, with a small history
// over `months` months.
std::string filled_before_partitioning(int months) {
  const std::string dsn = create_test_database_before(kPartitionedAt);
  HistoryShape shape;
  shape.months = months;
  shape.machines = 6;
  shape.pipelines = 360;
  shape.samples_per_variant = 3;
  shape.metrics_per_build = 3;
  shape.log_lines_per_job = 4;
  generate_history(dsn, shape);
  return dsn;
}

// Every report of sql/reports, run as psql would on `dsn`, its rows as text.
std::map<std::string, std::vector<std::string>> every_report(const std::string& dsn) {
  pqxx::connection conn(dsn);
  pqxx::work w(conn);
  const auto one = [&](const std::string& sql) { return w.exec1(sql)[0].as<std::string>(); };
  const std::string bench = one("SELECT max(pipeline_id)::text FROM jobs WHERE name = 'bench'");
  const std::string build =
      one("SELECT max(pipeline_id)::text FROM jobs WHERE name = 'cold-build'");
  const std::string rev_a =
      one("SELECT revision FROM jobs WHERE name = 'bench' ORDER BY id DESC OFFSET 10 LIMIT 1");
  const std::string rev_b =
      one("SELECT revision FROM jobs WHERE name = 'bench' ORDER BY id DESC LIMIT 1");
  const std::map<std::string, std::map<std::string, std::string>> vars = {
      {"bisect_values",
       {{"ids", build}, {"job", "cold-build"}, {"kind", "step"}, {"what", "compile"}}},
      {"cache_hit_rates", {{"pipeline_name", "release-build"}}},
      {"compare_machines", {{"job", "cold-build"}}},
      {"compare_variants", {{"pipeline", bench}}},
      {"metric_history", {{"pipeline_name", "release-build"}, {"job", "cold-build"}}},
      {"metrics", {{"pipeline", build}}},
      {"over_budget", {{"pipeline_name", "release-build"}}},
      {"recent_builds", {{"pipeline_name", "release-build"}, {"job", "cold-build"}}},
      {"regressions", {{"pipeline_name", "nightly-bench"}}},
      {"revision_samples", {{"job", "bench"}, {"rev_a", rev_a}, {"rev_b", rev_b}}},
      {"slowest_units", {{"job", "cold-build"}}},
      {"step_times_by_machine", {{"pipeline_name", "release-build"}, {"step", "compile"}}},
      {"summary", {{"pipeline", bench}}},
      {"variant_samples", {{"pipeline", bench}}},
  };
  std::map<std::string, std::vector<std::string>> out;
  for (const auto& [name, text] : reports()) {
    // Their tables and columns come with migrations 17 and 18, after these.
    if (name == "change_points" || name == "pipeline_definition") continue;
    TranslatedReport t;
    std::string error;
    const auto v = vars.find(name);
    EXPECT_TRUE(translate_report(
        text, v == vars.end() ? std::map<std::string, std::string>{} : v->second, &t, &error))
        << name << ": " << error;
    auto& rows = out[name];
    for (const auto& r : w.exec_params(t.sql, pqxx::prepare::make_dynamic_params(t.params))) {
      std::string line;
      for (const auto& f : r) line += (f.is_null() ? "NULL" : f.c_str()) + std::string("|");
      rows.push_back(line);
    }
  }
  return out;
}

std::vector<std::string> log_rows(const std::string& dsn) {
  pqxx::connection conn(dsn);
  pqxx::work w(conn);
  std::vector<std::string> out;
  for (const auto& r :
       w.exec("SELECT id, job_id, attempt, seq, stream, step_idx, md5(data), at FROM log_chunks"
              " ORDER BY id")) {
    std::string line;
    for (const auto& f : r) line += (f.is_null() ? "NULL" : f.c_str()) + std::string("|");
    out.push_back(line);
  }
  return out;
}

TEST(History, TheLogPartitioningKeepsEveryRowAndEveryReportsAnswer) {
  const std::string dsn = filled_before_partitioning(24);
  const auto before = every_report(dsn);
  const auto logs_before = log_rows(dsn);
  size_t rows = 0;
  for (const auto& [name, r] : before) rows += r.size();
  ASSERT_GT(rows, 200u);  // the reports have something to lose
  ASSERT_EQ(logs_before.size(), 1440u);

  Cluster::Options o;
  o.dsn = dsn;
  Cluster c(o);  // migrates
  EXPECT_GE(c.scalar("SELECT max(version) FROM schema_migrations"), kPartitionedAt);
  EXPECT_EQ(c.text("SELECT relkind::text FROM pg_class WHERE relname = 'log_chunks'"), "p");
  // A month a partition: the 24 filled, this one and the next two at least.
  EXPECT_GE(c.scalar("SELECT count(*) FROM pg_inherits WHERE inhparent = 'log_chunks'::regclass"),
            26);
  EXPECT_EQ(c.scalar("SELECT count(*) FROM log_chunks_default"), 0);

  const auto after = every_report(dsn);
  ASSERT_EQ(after.size(), before.size());
  for (const auto& [name, r] : before) EXPECT_EQ(after.at(name), r) << name;
  EXPECT_EQ(log_rows(dsn), logs_before);

  // The CLI reads an old job's log, and a new job's log goes in and reads back.
  const std::string old_job = c.text("SELECT min(id)::text FROM jobs");
  auto r = c.cli({"logs", old_job});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("[1/4] Compiling crate-"), std::string::npos) << r.out;
  c.add_agent("a", "", "m1");
  c.write_file("p.yml", "pipeline: p\njobs:\n  a:\n    steps: [{run: \"echo new-log-line\"}]\n");
  r = c.cli({"submit", "p.yml", "--wait"});
  ASSERT_EQ(r.code, 0) << r.out << r.err;
  r = c.cli({"logs", c.text("SELECT max(id)::text FROM jobs")});
  EXPECT_NE(r.out.find("new-log-line"), std::string::npos) << r.out << r.err;
}

TEST(History, KeepLogsDropsTheMonthsPastItAndKeepsEveryMeasuredNumber) {
  const std::string dsn = filled_before_partitioning(12);
  pqxx::connection conn(dsn);
  const auto count = [&](const std::string& sql) {
    return pqxx::nontransaction(conn).exec1(sql)[0].as<int64_t>();
  };
  const int64_t samples = count("SELECT count(*) FROM samples");
  const int64_t steps = count("SELECT count(*) FROM steps");
  const int64_t metrics = count("SELECT count(*) FROM metrics");
  const int64_t recent =
      count("SELECT count(*) FROM log_chunks WHERE at >= now() - interval '90 days'");
  // What retention may drop: the months that ended 90 days ago or before.
  const int64_t droppable = count(
      "SELECT count(*) FROM log_chunks WHERE at < date_trunc('month', now() - interval '90 days',"
      " 'UTC')");
  ASSERT_GT(droppable, 600);
  ASSERT_GT(recent, 200);

  Cluster::Options o;
  o.dsn = dsn;
  o.coordinator_args = {"--keep-logs", "90d"};
  Cluster c(o);
  ASSERT_TRUE(wait_for(
      [&] { return c.coordinator().log().find("dropped (--keep-logs)") != std::string::npos; },
      std::chrono::seconds(10)))
      << c.coordinator().log();
  EXPECT_EQ(count("SELECT count(*) FROM log_chunks WHERE at < date_trunc('month', now() -"
                  " interval '90 days', 'UTC')"),
            0);
  EXPECT_EQ(count("SELECT count(*) FROM log_chunks WHERE at >= now() - interval '90 days'"),
            recent);
  EXPECT_EQ(count("SELECT count(*) FROM samples"), samples);
  EXPECT_EQ(count("SELECT count(*) FROM steps"), steps);
  EXPECT_EQ(count("SELECT count(*) FROM metrics"), metrics);

  // An old job's log says it was removed; a recent one's is there.
  auto r = c.cli({"logs", c.text("SELECT min(id)::text FROM jobs")});
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("this job's log was removed: logs older than"), std::string::npos)
      << r.out << r.err;
  r = c.cli({"logs", c.text("SELECT max(id)::text FROM jobs")});
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("Compiling crate-"), std::string::npos) << r.out;
  // The numbers of the old job are all there.
  r = c.cli({"status", c.text("SELECT min(pipeline_id)::text FROM jobs")});
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("compile"), std::string::npos) << r.out;
}

TEST(History, KeepLogsRefusesLessThanADayNamingTheFlag) {
  const std::string dir = make_temp_dir("keep-logs");
  for (const char* value : {"3h", "ninety days"}) {
    Process refused({binary("yardstick-coordinator"), "--db", "host=127.0.0.1 port=1", "--insecure",
                     "--keep-logs", value},
                    dir + "/refused.log");
    const int status = refused.wait(std::chrono::seconds(10));
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) != 0) << refused.log();
    EXPECT_NE(refused.log().find("--keep-logs: expected a duration of a day or more"),
              std::string::npos)
        << refused.log();
  }
}

}  // namespace
}  // namespace yardstick::test
