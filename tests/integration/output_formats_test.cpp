// Every output format is that format alone on stdout, for every command
// and every flag combination: JSON parses whole, CSV has one field count,
// a Markdown table is a table, and a table has its rows. JSON and CSV carry
// numbers at full precision; tables and Markdown round them for people
// (durations scaled to s, ms, µs); a budget breach is shown once, with the
// value it was judged on.
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <map>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "tests/integration/harness.hpp"

namespace yardstick::test {
namespace {

using json = nlohmann::json;
using namespace std::chrono_literals;

// RFC 4180 records: fields split at commas outside quotes, "" inside quotes.
std::vector<std::vector<std::string>> parse_csv(const std::string& text, std::string* error) {
  std::vector<std::vector<std::string>> records;
  std::vector<std::string> record;
  std::string field;
  bool quoted = false;
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (quoted) {
      if (c == '"' && i + 1 < text.size() && text[i + 1] == '"') {
        field += '"';
        ++i;
      } else if (c == '"') {
        quoted = false;
      } else {
        field += c;
      }
    } else if (c == '"' && field.empty()) {
      quoted = true;
    } else if (c == ',') {
      record.push_back(field);
      field.clear();
    } else if (c == '\n') {
      record.push_back(field);
      records.push_back(record);
      record.clear();
      field.clear();
    } else {
      field += c;
    }
  }
  if (quoted) *error = "an unterminated quote";
  if (!field.empty() || !record.empty()) *error = "no newline after the last record";
  return records;
}

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string l; std::getline(in, l);) out.push_back(l);
  return out;
}

// The number of cells of a Markdown table row ("| a | b \| c |" has 2).
int markdown_cells(const std::string& line) {
  int bars = 0;
  for (size_t i = 0; i < line.size(); ++i)
    if (line[i] == '|' && (i == 0 || line[i - 1] != '\\')) ++bars;
  return bars - 1;
}

class Formats {
 public:
  explicit Formats(Cluster& c) : c_(c) {}

  // Runs `args` in each format it takes and checks each is that format
  // alone; returns the JSON.
  // `notes`: lines a table may print below itself (--drop-contended says
  // the verdicts are recomputed).
  json check(std::vector<std::string> args, bool tabular, size_t notes = 0) {
    const std::string what = join(args);
    json parsed;
    auto r = run(args, "--json");
    auto j = json::parse(r.out, nullptr, false);
    EXPECT_FALSE(j.is_discarded()) << what << " --json is not JSON alone:\n" << r.out;
    if (!j.is_discarded()) parsed = j;
    auto table = run(args, "");
    EXPECT_FALSE(table.out.empty()) << what;
    if (!tabular) return parsed;
    const auto rows = parsed.is_array() ? parsed.size() : 0;
    // The table: headings, then one line per row (or "(no rows)").
    auto tl = lines_of(table.out);
    EXPECT_EQ(tl.size(), (rows == 0 ? 2 : rows + 1) + notes) << what << ":\n" << table.out;
    // CSV: a header and one record per row, every record as wide.
    auto csv = run(args, "--csv");
    std::string error;
    auto records = parse_csv(csv.out, &error);
    EXPECT_EQ(error, "") << what << " --csv:\n" << csv.out;
    EXPECT_EQ(records.size(), rows + 1) << what << " --csv:\n" << csv.out;
    for (const auto& r : records)
      EXPECT_EQ(r.size(), records.empty() ? 0 : records[0].size()) << what << " --csv";
    // Markdown: heading, rule, rows; every line as many cells.
    auto md = run(args, "--markdown");
    auto ml = lines_of(md.out);
    EXPECT_EQ(ml.size(), rows + 2) << what << " --markdown:\n" << md.out;
    for (const auto& l : ml) {
      EXPECT_TRUE(l.size() >= 2 && l.front() == '|' && l.back() == '|') << what << ": " << l;
      EXPECT_EQ(markdown_cells(l), ml.empty() ? 0 : markdown_cells(ml[0])) << what << ": " << l;
    }
    return parsed;
  }

  CliResult run(std::vector<std::string> args, const std::string& flag) {
    if (!flag.empty()) args.push_back(flag);
    auto r = c_.cli(args);
    EXPECT_EQ(r.code, 0) << join(args) << ": " << r.err << r.out;
    return r;
  }

 private:
  static std::string join(const std::vector<std::string>& args) {
    std::string s = "yardstick";
    for (const auto& a : args) s += " " + a;
    return s;
  }
  Cluster& c_;
};

std::string fmt_pipeline() {
  return R"(pipeline: fmt
jobs:
  nap:
    kind: bench
    on: { labels: [pool=fmt], machines: all }
    bench: { run: sleep 0.01, runs: 6 }
    variants: [{name: short}, {name: long}]
    budget: { wall: 1ms }
  sizes:
    on: { labels: [pool=fmt] }
    steps:
      - name: measure
        run: |
          echo measuring
          echo "binary.size 123456789 bytes" >> "$YARDSTICK_METRICS"
          echo "cache.hit_rate 0.8123456789" >> "$YARDSTICK_METRICS"
)";
}

TEST(OutputFormats, EveryCommandInEveryFormatIsThatFormatAloneAtFullPrecision) {
  Cluster c;
  c.add_agent("a", "pool=fmt", "m1");
  c.add_agent("b", "pool=fmt", "m2");
  c.write_file("fmt.yml", fmt_pipeline());
  Formats f(c);
  // submit, in each of its forms.
  json first = f.check({"submit", "fmt.yml", "--revision", "aaaa1111", "--wait"}, false);
  ASSERT_TRUE(first.contains("pipeline_id")) << first.dump();
  const std::string p1 = std::to_string(first["pipeline_id"].get<uint64_t>());
  auto quiet = f.run({"submit", "fmt.yml", "--revision", "bbbb2222", "-q"}, "");
  EXPECT_TRUE(std::regex_match(quiet.out, std::regex("[0-9]+\n"))) << quiet.out;
  ASSERT_TRUE(wait_for(
      [&] { return c.scalar("SELECT count(*) FROM jobs WHERE ended_at IS NULL") == 0; }, 60s));
  const std::string p2 = std::to_string(c.scalar("SELECT max(id) FROM pipelines"));

  // Non-tabular commands: JSON alone, and text that says something.
  f.check({"status", p1}, false);
  f.check({"agents"}, false);
  auto logs = f.run({"logs", std::to_string(c.scalar("SELECT min(id) FROM jobs WHERE name = "
                                                     "'sizes'"))},
                    "");
  EXPECT_NE(logs.out.find("── step measure · attempt 1"), std::string::npos)
      << logs.out << logs.err;

  // Every report, in every format, with the variables it needs.
  const std::map<std::string, std::string> values = {
      {"pipeline", p1},  {"pipeline_name", "fmt"},     {"job", "nap"},    {"rev_a", "aaaa"},
      {"rev_b", "bbbb"}, {"agent", c.agent_name("a")}, {"machine", "m1"}, {"step", "measure"},
      {"ids", p1},       {"kind", "variant"},          {"what", "base"}};
  int reports = 0;
  for (const auto& entry :
       std::filesystem::directory_iterator(std::string(YARDSTICK_SOURCE_DIR) + "/sql/reports")) {
    const std::string name = entry.path().stem();
    auto help = f.run({"report", name, "--help"}, "");
    std::vector<std::string> args = {"report", name};
    for (const auto& l : lines_of(help.out)) {
      std::smatch m;
      if (!std::regex_search(l, m, std::regex("-v ([a-z_0-9]+)=\\.\\.\\. +required"))) continue;
      ASSERT_TRUE(values.count(m[1])) << name << " needs " << m[1] << ": give the test a value";
      args.insert(args.end(), {"-v", m[1].str() + "=" + values.at(m[1])});
    }
    f.check(args, true);
    ++reports;
  }
  EXPECT_GE(reports, 12);

  // compare, metrics: every form, every format.
  json variants = f.check({"compare", p1}, true);
  f.check({"compare", "--machines", "--job", "nap"}, true);
  f.check({"compare", "--machines", "--job", "nap", "--pipeline", "fmt"}, true);
  f.check({"compare", "--revisions", "aaaa", "bbbb", "--job", "nap"}, true);
  f.check({"compare", p1, "--drop-contended"}, true, 1);
  json metrics = f.check({"metrics", p1}, true);
  f.check({"metrics", "--pipeline", "fmt", "--metric", "cache."}, true);
  auto key = json::parse(f.run({"keygen", "--out", c.dir() + "/k1"}, "--json").out, nullptr, false);
  EXPECT_TRUE(key.is_object()) << key;
  EXPECT_FALSE(f.run({"keygen", "--out", c.dir() + "/k2"}, "").out.empty());
  f.check({"drain", c.agent_name("b")}, false);
  f.check({"drain", c.agent_name("b"), "--undo"}, false);
  f.check({"cancel", p2}, false);
  f.check({"calibrate", c.agent_name("a")}, false);

  // JSON at full precision: the stored medians, to the last bit.
  ASSERT_EQ(variants.size(), 4u) << variants.dump();
  for (const auto& v : variants) {
    const double stored = std::strtod(
        c.text("SELECT r.median_s::text FROM bench_results r JOIN jobs j ON j.id = r.job_id JOIN "
               "machines m ON m.id = j.machine_id WHERE j.pipeline_id = " +
               p1 + " AND m.name = '" + v["machine"].get<std::string>() + "' AND r.variant = '" +
               v["variant"].get<std::string>() + "' AND r.measure = 'wall'")
            .c_str(),
        nullptr);
    EXPECT_EQ(v["median_s"].get<double>(), stored) << v.dump();
    EXPECT_TRUE(v["warnings"].is_array()) << v.dump();
  }
  bool rate = false;
  for (const auto& m : metrics)
    if (m["metric"] == "cache.hit_rate") {
      EXPECT_EQ(m["value"].get<double>(), 0.8123456789) << m.dump();
      rate = true;
    }
  EXPECT_TRUE(rate) << metrics.dump();
  // The table, for people: durations with their unit, 4 significant digits.
  auto table = f.run({"compare", p1}, "");
  EXPECT_TRUE(std::regex_search(table.out, std::regex("\\b[0-9]+\\.[0-9]+ ms\\b"))) << table.out;
  EXPECT_EQ(table.out.find("MEDIAN_S"), std::string::npos) << table.out;
  // A breach, once, with the value it was judged on: one per variant and
  // machine, each actual exactly a stored one.
  const std::string out = f.run({"status", p1}, "").out;
  std::set<double> stored;
  for (const auto& r : c.query("SELECT b.actual FROM budget_breaches b JOIN jobs j ON j.id = "
                               "b.job_id WHERE j.pipeline_id = " +
                               p1))
    stored.insert(r[0].as<double>());
  const std::regex breach(
      "over budget: median wall of variant (short|long) <= 0\\.001s \\(actual ([^)]+)\\)");
  size_t shown = 0;
  for (auto it = std::sregex_iterator(out.begin(), out.end(), breach); it != std::sregex_iterator();
       ++it, ++shown)
    EXPECT_TRUE(stored.count(std::strtod((*it)[2].str().c_str(), nullptr)))
        << (*it)[0] << " is not a stored value";
  EXPECT_EQ(stored.size(), 4u);
  EXPECT_EQ(shown, 4u) << "each breach once:\n" << out;
}

}  // namespace
}  // namespace yardstick::test

namespace yardstick::test {
namespace {

// `compare --machines --job build` counted steps of unrelated pipelines
// that share the job's name, a bench job's setup step as a benchmark, and
// said RUNS 1 for a 6-run bench: --pipeline scopes it, setup steps are no
// benchmarks, and runs counts runs (pipelines counts pipelines).
TEST(OutputFormats, CompareMachinesIsScopedByPipelineAndCountsRuns) {
  Cluster c;
  c.add_agent("a", "pool=x", "m1");
  c.add_agent("b", "pool=x", "m2");
  c.write_file("app.yml", R"(pipeline: app
jobs:
  build:
    on: { labels: [pool=x], machines: all }
    steps: [{name: compile, run: sleep 0.05}]
)");
  c.write_file("docs.yml", R"(pipeline: docs
jobs:
  build:
    on: { labels: [pool=x], machines: all }
    steps: [{name: render, run: sleep 0.05}]
)");
  c.write_file("bench.yml", R"(pipeline: speed
jobs:
  build:
    kind: bench
    on: { labels: [pool=x], machines: all }
    bench: { setup: sleep 0.2, run: sleep 0.01, runs: 6 }
)");
  for (const char* f : {"app.yml", "docs.yml", "bench.yml"}) {
    auto r = c.cli({"submit", f, "--wait"});
    ASSERT_EQ(r.code, 0) << f << ": " << r.out << r.err;
  }
  auto rows = [&](std::vector<std::string> args) {
    args.insert(args.begin(), {"compare", "--machines", "--job", "build"});
    args.push_back("--json");
    auto r = c.cli(args);
    EXPECT_EQ(r.code, 0) << r.err;
    auto j = json::parse(r.out, nullptr, false);
    EXPECT_TRUE(j.is_array()) << r.out;
    std::map<std::string, json> by;  // machine + benchmark
    if (j.is_array()) {
      for (const auto& row : j)
        by[row["machine"].get<std::string>() + " " + row["benchmark"].get<std::string>()] = row;
    }
    return by;
  };
  auto all = rows({});
  std::set<std::string> seen;
  for (const auto& [k, row] : all) seen.insert(row["benchmark"].get<std::string>());
  EXPECT_EQ(seen, (std::set<std::string>{"step compile", "step render", "variant default"}))
      << "no setup step among the benchmarks";
  ASSERT_TRUE(all.count("m1 variant default"));
  EXPECT_EQ(all["m1 variant default"]["runs"], 6) << all["m1 variant default"].dump();
  EXPECT_EQ(all["m1 variant default"]["pipelines"], 1);
  EXPECT_EQ(all["m1 step compile"]["runs"], 1);
  auto app = rows({"--pipeline", "app"});
  EXPECT_EQ(app.size(), 2u);
  EXPECT_TRUE(app.count("m1 step compile") && app.count("m2 step compile"));
  // A name that ran nothing is said, not an empty table.
  auto none = c.cli({"compare", "--machines", "--job", "build", "--pipeline", "nope"});
  EXPECT_EQ(none.code, 4);
  EXPECT_NE(none.err.find("no benchmark results of job 'build' of pipeline 'nope'"),
            std::string::npos)
      << none.err;
  // --pipeline belongs to --machines and --revisions.
  EXPECT_EQ(c.cli({"compare", "1", "--pipeline", "app"}).code, 2);
}

// Custom metrics have a command: per job of one pipeline, and per revision
// and machine over a pipeline name.
TEST(OutputFormats, MetricsArePerJobAndPerRevisionAndMachine) {
  Cluster c;
  c.add_agent("a", "pool=x", "m1");
  c.write_file("m.yml", R"(pipeline: sizes
jobs:
  pack:
    on: { labels: [pool=x] }
    steps:
      - name: measure
        run: |
          echo "app.size ${SIZE:-100} bytes" >> "$YARDSTICK_METRICS"
          echo "other.value 7" >> "$YARDSTICK_METRICS"
)");
  ASSERT_EQ(c.cli({"submit", "m.yml", "--revision", "aaaa", "--wait"}).code, 0);
  ASSERT_EQ(c.cli({"submit", "m.yml", "--revision", "bbbb", "--wait"}).code, 0);
  const std::string last = std::to_string(c.scalar("SELECT max(id) FROM pipelines"));
  auto one = c.cli({"metrics", last});
  EXPECT_EQ(one.code, 0) << one.err;
  EXPECT_NE(one.out.find("app.size"), std::string::npos) << one.out;
  EXPECT_NE(one.out.find("measure"), std::string::npos) << one.out;
  auto history = c.cli({"metrics", "--pipeline", "sizes", "--metric", "app.", "--json"});
  EXPECT_EQ(history.code, 0) << history.err;
  auto j = json::parse(history.out, nullptr, false);
  ASSERT_TRUE(j.is_array()) << history.out;
  ASSERT_EQ(j.size(), 2u) << history.out;  // two revisions, one machine, one metric
  EXPECT_EQ(j[0]["revision"], "bbbb");
  EXPECT_EQ(j[1]["revision"], "aaaa");
  EXPECT_EQ(j[0]["machine"], "m1");
  EXPECT_EQ(j[0]["value"], 100);
  EXPECT_EQ(j[0]["unit"], "bytes");
  // Nothing to show is said, with exit 4; a wrong combination is exit 2.
  auto none = c.cli({"metrics", "--pipeline", "sizes", "--metric", "nope."});
  EXPECT_EQ(none.code, 4);
  EXPECT_NE(none.err.find("no metrics starting 'nope.'"), std::string::npos) << none.err;
  EXPECT_EQ(c.cli({"metrics"}).code, 2);
  EXPECT_EQ(c.cli({"metrics", last, "--pipeline", "sizes"}).code, 2);
}

}  // namespace
}  // namespace yardstick::test
