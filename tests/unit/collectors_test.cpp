// Collector parsers on the formats the tools write, and their warnings.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "agent/collectors.hpp"

namespace yardstick {
namespace {

double find(const std::vector<CollectedMetric>& m, const std::string& name) {
  for (const auto& x : m)
    if (x.name == name) return x.value;
  return -1;
}

TEST(Collectors, CcacheStats) {
  auto s = parse_ccache_stats(
      "cache_miss\t156\ndirect_cache_hit\t3\npreprocessed_cache_hit\t5\n"
      "stats_updated_timestamp\t1700000000\ngarbage\n");
  EXPECT_EQ(s["cache_miss"], 156);
  EXPECT_EQ(s["direct_cache_hit"], 3);
  EXPECT_EQ(s.count("garbage"), 0u);
}

TEST(Collectors, SccacheJsonSumsLanguages) {
  // The shape of `sccache --show-stats --stats-format=json` (0.4 and later).
  const std::string j =
      R"({"stats":{"compile_requests":20,"cache_hits":{"counts":{"Rust":9,"C/C++":2},
    "adv_counts":{}},"cache_misses":{"counts":{"Rust":1},"adv_counts":{}}},"cache_location":"x"})";
  double hits = 0, misses = 0;
  ASSERT_TRUE(parse_sccache_json(j, &hits, &misses));
  EXPECT_EQ(hits, 11);
  EXPECT_EQ(misses, 1);
  EXPECT_FALSE(parse_sccache_json("not json", &hits, &misses));
  EXPECT_FALSE(parse_sccache_json("{}", &hits, &misses));
}

TEST(Collectors, CargoTimingsUnitData) {
  const std::string html = R"(<script>
const UNIT_DATA = [
  {"i": 0, "name": "syn", "version": "2.0.0", "mode": "todo", "target": "", "start": 0.1, "duration": 3.25},
  {"i": 1, "name": "serde", "version": "1.0.0", "mode": "run-custom-build", "target": " build-script", "start": 0.2, "duration": 0.5}
];
const CONCURRENCY_DATA = [];
</script>)";
  std::vector<CollectedMetric> m;
  ASSERT_TRUE(parse_cargo_timings(html, &m));
  EXPECT_DOUBLE_EQ(find(m, "cargo.crate.syn"), 3.25);
  EXPECT_DOUBLE_EQ(find(m, "cargo.crate.serde (build script)"), 0.5);
  EXPECT_DOUBLE_EQ(find(m, "cargo.units"), 2);
  std::vector<CollectedMetric> none;
  EXPECT_FALSE(parse_cargo_timings("<html>no data</html>", &none));
  EXPECT_FALSE(parse_cargo_timings("const UNIT_DATA = [ {broken ];", &none));
}

TEST(Collectors, CargoTimingsKeepsUnitsOfOneCrateApartAndSkipsWrongTypes) {
  // Units as cargo 1.95 writes them for a crate with a build script, a
  // library and a binary, plus entries of the wrong types (skipped, no throw).
  const std::string html = R"js(const UNIT_DATA = [
  {"name": "app", "target": " build-script", "duration": 0.25},
  {"name": "app", "target": " build-script (run)", "duration": 0.5},
  {"name": "app", "target": "", "duration": 1.5},
  {"name": "app", "target": " app \"bin\"", "duration": 0.75},
  {"name": "app", "target": " tool \"bin\"", "duration": 0.125},
  {"name": 7, "target": "", "duration": 1},
  {"name": "x", "target": 3, "duration": "slow"},
  "not a unit"
];)js";
  std::vector<CollectedMetric> m;
  ASSERT_TRUE(parse_cargo_timings(html, &m));
  EXPECT_DOUBLE_EQ(find(m, "cargo.crate.app (build script)"), 0.25);
  EXPECT_DOUBLE_EQ(find(m, "cargo.crate.app (build script run)"), 0.5);
  EXPECT_DOUBLE_EQ(find(m, "cargo.crate.app"), 1.5);
  EXPECT_DOUBLE_EQ(find(m, "cargo.crate.app (bin)"), 0.75);
  EXPECT_DOUBLE_EQ(find(m, "cargo.crate.app (bin tool)"), 0.125);
  EXPECT_DOUBLE_EQ(find(m, "cargo.units"), 5);
}

TEST(Collectors, NinjaLogKeepsOnlyThisBuildsEntries) {
  const std::string log = "# ninja log v5\n0\t100\t0\ta.o\tdeadbeef\n100\t350\t0\tb.o\tfeedface\n";
  std::vector<CollectedMetric> all;
  ASSERT_TRUE(parse_ninja_log(log, nullptr, &all));
  EXPECT_DOUBLE_EQ(find(all, "ninja.target.a.o"), 0.1);
  EXPECT_DOUBLE_EQ(find(all, "ninja.target.b.o"), 0.25);
  EXPECT_DOUBLE_EQ(find(all, "ninja.targets"), 2);
  // Appended: the line of a.o was there before the build.
  const std::unordered_set<std::string> before = {"# ninja log v5", "0\t100\t0\ta.o\tdeadbeef"};
  std::vector<CollectedMetric> tail;
  ASSERT_TRUE(parse_ninja_log(log, &before, &tail));
  EXPECT_DOUBLE_EQ(find(tail, "ninja.targets"), 1);
  EXPECT_DOUBLE_EQ(find(tail, "ninja.target.b.o"), 0.25);
  // Recompacted first (older entries rewritten, in another order), then
  // this build's entry appended: still only this build's.
  const std::string compacted =
      "# ninja log v5\n0\t100\t0\ta.o\tdeadbeef\n0\t40\t0\tc.o\tcafe\n5\t80\t0\tb.o\tbeef\n";
  const std::unordered_set<std::string> old = {"# ninja log v5", "0\t40\t0\tc.o\tcafe",
                                               "0\t100\t0\ta.o\tdeadbeef", "0\t40\t0\tc.o\tcafe"};
  std::vector<CollectedMetric> rebuilt;
  ASSERT_TRUE(parse_ninja_log(compacted, &old, &rebuilt));
  EXPECT_DOUBLE_EQ(find(rebuilt, "ninja.targets"), 1);
  EXPECT_DOUBLE_EQ(find(rebuilt, "ninja.target.b.o"), 0.075);
  std::vector<CollectedMetric> bad;
  EXPECT_FALSE(parse_ninja_log("not a log", nullptr, &bad));
}

TEST(Collectors, NinjaLogFindsTheBuildDirectoryThatAColdBuildCreates) {
  namespace fs = std::filesystem;
  const fs::path dir = fs::temp_directory_path() / ("ys-ninja-" + std::to_string(getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir);
  auto c = make_collector("ninja-log", dir.string(), {});
  ASSERT_TRUE(c);
  c->before();  // no build/ yet: the step creates it
  fs::create_directories(dir / "build");
  std::ofstream(dir / "build" / ".ninja_log") << "# ninja log v5\n0\t1500\t0\tapp\tab\n";
  std::vector<std::string> warnings;
  auto m = c->after(&warnings);
  EXPECT_TRUE(warnings.empty()) << warnings[0];
  EXPECT_DOUBLE_EQ(find(m, "ninja.target.app"), 1.5);
  fs::remove_all(dir);
}

TEST(Collectors, MetricsFileReadsNewWholeLinesAndWarnsOnBadOnes) {
  const std::string path =
      (std::filesystem::temp_directory_path() / ("ys-metrics-" + std::to_string(getpid())))
          .string();
  {
    std::ofstream f(path);
    f << "size 123 bytes\nrate 0.5\nbad line with words\nnan_value nan\npartial 1";
  }
  size_t offset = 0;
  std::vector<std::string> warnings;
  auto m = read_metrics_file(path, &offset, &warnings);
  ASSERT_EQ(m.size(), 2u);
  EXPECT_EQ(m[0].name, "size");
  EXPECT_EQ(m[0].unit, "bytes");
  EXPECT_DOUBLE_EQ(m[1].value, 0.5);
  EXPECT_EQ(warnings.size(), 2u);  // the bad line and nan; the partial line waits
  {
    std::ofstream f(path, std::ios::app);
    f << "0\n";
  }
  warnings.clear();
  auto more = read_metrics_file(path, &offset, &warnings);
  ASSERT_EQ(more.size(), 1u);
  EXPECT_EQ(more[0].name, "partial");
  EXPECT_DOUBLE_EQ(more[0].value, 10);
  std::filesystem::remove(path);
  std::vector<std::string> w;
  size_t o = 0;
  EXPECT_TRUE(read_metrics_file("/nonexistent/metrics", &o, &w).empty());
}

TEST(Collectors, MissingReportsAreWarningsNotErrors) {
  const std::string dir = std::filesystem::temp_directory_path().string();
  std::vector<std::string> warnings;
  for (const char* spec : {"ninja-log:does-not-exist", "cargo-timings:nope"}) {
    auto c = make_collector(spec, dir, {});
    ASSERT_TRUE(c);
    c->before();
    EXPECT_TRUE(c->after(&warnings).empty());
  }
  EXPECT_EQ(warnings.size(), 2u);
  auto fake_tool = [](const std::string&, const std::vector<std::string>&,
                      const std::string&) -> std::string { return "garbage"; };
  auto sc = make_collector("sccache", dir, {}, fake_tool);
  sc->before();
  EXPECT_TRUE(sc->after(&warnings).empty());
  EXPECT_EQ(warnings.size(), 3u);
  EXPECT_FALSE(make_collector("gprof", dir, {}));
}

}  // namespace
}  // namespace yardstick
