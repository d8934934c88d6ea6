// A database written before the run context, the verdicts per measure and
// calibration (migrations 0006-0008) still loads: the coordinator migrates
// it at start, and a benchmark stored then is compared as before, its
// unknown context NULL, never 0.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>

#include <nlohmann/json.hpp>
#include <pqxx/pqxx>

#include "tests/integration/harness.hpp"

namespace yardstick::test {
namespace {

using json = nlohmann::json;

TEST(Upgrade, ABenchmarkStoredBeforeRunContextAndVerdictsStillCompares) {
  const std::string dsn = create_test_database_before(6);
  {
    pqxx::connection conn(dsn);
    pqxx::work w(conn);
    // A benchmark as a coordinator of that schema stored it.
    w.exec0(
        "INSERT INTO machines (id, fingerprint, name, cpu_model, logical_cores, memory_bytes,"
        " os_release, kernel, arch) VALUES (1, 'fp-old', 'old-box', 'cpu', 2, 1, 'os', 'k', 'x')");
    w.exec0("INSERT INTO pipelines (id, name, definition) VALUES (500, 'old', 'pipeline: old')");
    w.exec0(
        "INSERT INTO jobs (id, pipeline_id, name, kind, state, spec, machine_id)"
        " VALUES (501, 500, 'b', 'bench', 'succeeded', '{}', 1)");
    for (int v = 0; v < 2; ++v)
      for (int i = 0; i < 6; ++i)
        w.exec_params(
            "INSERT INTO samples (job_id, attempt, variant_idx, variant, idx, wall_s, user_s,"
            " sys_s, max_rss_kb, exit_code, at) VALUES (501, 1, $1, $2, $3, $4, $4, 0, 1, 0, "
            "now())",
            v, v ? "slow" : "base", i, 0.1 * (1 + v) + 0.001 * i);
    w.exec0(
        "INSERT INTO bench_results (job_id, attempt, variant_idx, variant, n, median_s, ratio,"
        " ci_low, ci_high, p_value, verdict) VALUES (501, 1, 0, 'base', 6, 0.1025, NULL, NULL,"
        " NULL, NULL, NULL), (501, 1, 1, 'slow', 6, 0.2025, 1.976, 1.9, 2.1, 0.002, 'slower')");
    w.commit();
  }

  Cluster::Options options;
  options.dsn = dsn;
  Cluster c(options);
  // Migrated to the latest migration the source tree holds.
  int64_t latest = 0;
  for (const auto& f : std::filesystem::directory_iterator(YARDSTICK_SOURCE_DIR "/sql/migrations"))
    latest = std::max<int64_t>(latest, std::stoll(f.path().filename().string().substr(0, 4)));
  EXPECT_GE(latest, 9);
  EXPECT_EQ(c.scalar("SELECT max(version) FROM schema_migrations"), latest);
  // The old rows: the wall verdict they had; context unknown, not 0.
  EXPECT_EQ(c.text("SELECT measure FROM bench_results WHERE variant = 'slow'"), "wall");
  EXPECT_EQ(c.scalar("SELECT count(*) FROM samples WHERE round IS NULL AND task_clock_s IS NULL"
                     " AND instructions IS NULL AND vol_ctx IS NULL AND NOT contended"),
            12);

  auto r = c.cli({"compare", "500", "--json"});
  ASSERT_EQ(r.code, 0) << r.out << r.err;
  json rows = json::parse(r.out);
  ASSERT_EQ(rows.size(), 2u) << r.out;
  EXPECT_EQ(rows[1]["verdict"], "slower");
  EXPECT_EQ(rows[1]["measure"], "wall");
  EXPECT_EQ(rows[1]["contended"], 0);

  // Recomputed from the old samples, without anything to drop.
  r = c.cli({"compare", "500", "--drop-contended", "--json"});
  ASSERT_EQ(r.code, 0) << r.out << r.err;
  rows = json::parse(r.out);
  ASSERT_EQ(rows.size(), 2u) << r.out;
  EXPECT_EQ(rows[1]["verdict"], "slower") << r.out;
  EXPECT_EQ(rows[1]["n"], 6);
}

}  // namespace
}  // namespace yardstick::test
