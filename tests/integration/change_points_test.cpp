// Change points end to end: a real git repository whose commit 8 makes a
// step and a benchmark 25 % slower, a pipeline run at each commit by a real
// agent, the coordinator's search after each pipeline, the rows in
// PostgreSQL, `yardstick regressions`, the webhook it tells and the deploy
// gate that reads them.
//
// The slow part is a sleep, not a spin: a sleep's time is this machine's
// timer, while a spin's on a shared host swings by more than twice between
// runs of the same command (docs/change-points.md measures detection on
// spins, with this machine's noise, in bench/change_points_bench.cpp).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <future>
#include <nlohmann/json.hpp>
#include <random>
#include <stdexcept>
#include <thread>

#include "tests/integration/harness.hpp"
#include "tests/support/http_server.hpp"

namespace yardstick::test {
namespace {

using namespace std::chrono_literals;
using json = nlohmann::json;

std::string run(const std::string& cmd) {
  std::string out;
  FILE* p = popen(cmd.c_str(), "r");
  if (!p) throw std::runtime_error("cannot run " + cmd);
  char buf[256];
  while (fgets(buf, sizeof buf, p)) out += buf;
  if (pclose(p) != 0) throw std::runtime_error("failed: " + cmd);
  while (!out.empty() && out.back() == '\n') out.pop_back();
  return out;
}

// A repository of `commits` commits whose file `s` holds the seconds to
// sleep: `before`, and from commit `slow_from` on (counted from 0) `after`;
// commit `failing` (when not -1) alone holds a file `fail`. Returns each
// commit's id, oldest first.
// A repository of one commit a text: commit i's file `s` holds
// contents[i]; commit `failing` (when not -1) alone holds a file `fail`.
// Returns each commit's id, oldest first.
std::vector<std::string> make_history_of(const std::string& dir,
                                         const std::vector<std::string>& contents,
                                         int failing = -1) {
  std::filesystem::create_directories(dir);
  run("cd '" + dir + "' && git init -q && git config user.email t@e && git config user.name t");
  std::vector<std::string> ids;
  for (size_t i = 0; i < contents.size(); ++i) {
    std::ofstream(dir + "/s") << contents[i];
    run("cd '" + dir + "' && " + (static_cast<int>(i) == failing ? "touch fail" : "rm -f fail") +
        " && echo " + std::to_string(i) + " > commit && git add -A && git commit -qm 'commit " +
        std::to_string(i) + "'");
    ids.push_back(run("git -C '" + dir + "' rev-parse HEAD"));
  }
  return ids;
}

// A repository of `commits` commits whose file `s` holds the seconds to
// sleep: `before`, and from commit `slow_from` on (counted from 0) `after`;
// commit `failing` (when not -1) alone holds a file `fail`.
std::vector<std::string> make_history(const std::string& dir, int commits,
                                      const std::string& before, int slow_from,
                                      const std::string& after, int failing = -1) {
  std::vector<std::string> contents;
  for (int i = 0; i < commits; ++i) contents.push_back((i >= slow_from ? after : before) + "\n");
  return make_history_of(dir, contents, failing);
}

// Writes FILE.yml: pipeline `name` checking out the cluster's repository,
// of one job `build` (with `job_keys`, each line indented by 4) whose one
// step `compile` runs `run`. Returns its path.
std::string compile_pipeline(Cluster& c, const std::string& file, const std::string& name,
                             const std::string& run, const std::string& job_keys = "") {
  return c.write_file(file + ".yml", "pipeline: " + name + "\ncheckout: { repo: " + c.dir() +
                                         "/repo }\njobs:\n  build:\n" + job_keys +
                                         "    steps:\n      - name: compile\n        run: " + run +
                                         "\n");
}

// A step's run that sleeps `seconds` (shell words) and reports metric
// `metric` as that many seconds.
std::string sleep_and_report(const std::string& seconds, const std::string& metric) {
  return "sleep " + seconds + " && echo \"" + metric + " " + seconds +
         " s\" >> \"$YARDSTICK_METRICS\"";
}

// The change points and the series' points, for a failure's message.
std::string dump(Cluster& c) {
  std::string out;
  for (const auto& row :
       c.query("SELECT kind || ' ' || what || ' ' || last_good_pipeline_id || '|' || "
               "first_bad_pipeline_id || ' ' || ratio FROM change_points ORDER BY id"))
    out += row[0].as<std::string>() + "\n";
  for (const auto& row :
       c.query("SELECT j.pipeline_id || ' compile ' || s.wall_s FROM jobs j JOIN steps s ON "
               "s.job_id = j.id AND s.name = 'compile' ORDER BY j.pipeline_id"))
    out += row[0].as<std::string>() + "\n";
  for (const auto& row :
       c.query("SELECT j.pipeline_id || ' runs ' || string_agg(s.wall_s::text, ' ') FROM jobs j "
               "JOIN samples s ON s.job_id = j.id GROUP BY j.pipeline_id ORDER BY j.pipeline_id"))
    out += row[0].as<std::string>() + "\n";
  return out;
}

bool all_searched(Cluster& c) {
  return c.scalar("SELECT count(*) FROM pipelines WHERE changes_checked_at IS NULL") == 0;
}

TEST(ChangePoints, ASlowdownAtOneCommitIsFoundBetweenItAndTheOneBeforeToldAndGated) {
  HttpServer receiver;
  Cluster c;
  c.add_agent("a", "", "m1");
  // 16 commits; from commit 8 the step and each benchmark run sleep 25 %
  // longer, and the metric the step writes (the seconds) is 25 % larger.
  const auto ids = make_history(c.dir() + "/repo", 16, "0.20", 8, "0.25");
  const std::string jobs =
      "pipeline: cp\ncheckout: { repo: " + c.dir() +
      "/repo }\nnotify:\n  - webhook: " + receiver.url("/hook") +
      "\n    on: [regressed, improved]\njobs:\n"
      "  build:\n    steps:\n      - name: compile\n        run: sleep $(cat s) && echo "
      "\"sleep.seconds $(cat s) s\" >> \"$YARDSTICK_METRICS\"\n"
      "  speed:\n    kind: bench\n    bench: { run: \"sleep $(cat s)\", runs: 5, warmup: 0 }\n";
  c.write_file("cp.yml", jobs);
  for (const auto& id : ids) {
    auto r = c.cli({"submit", "--wait", c.dir() + "/cp.yml", "--revision", id});
    ASSERT_EQ(r.code, 0) << r.out << r.err;
  }
  ASSERT_TRUE(wait_for([&] { return all_searched(c); }, 30s)) << c.coordinator().log();

  // One change point of more than 10 %, 25 % up, in the metric (exactly,
  // between commits 7 and 8) and in the benchmark (the median of 5 runs;
  // between the same commits, or one commit off when a busy machine made a
  // run next to the change as slow as the change). The step's single run a
  // pipeline is searched too but not held to anything here: with other
  // tests busy on both cores one of its runs took twice as long as the rest
  // and moved its change point. A drift of 1 or 2 % in a sleep's overhead may be found too; it
  // is not held to anything, nor is the checkout step's (git's) time.
  auto rows = c.query(
      "SELECT kind, what, last_good_revision, first_bad_revision, ratio, ratio_low, ratio_high, "
      "direction, points_before, points_after, median_before, median_after, unit "
      "FROM change_points WHERE kind <> 'step' AND abs(ratio - 1) > 0.1 ORDER BY kind");
  ASSERT_EQ(rows.size(), 2u) << dump(c);
  for (const auto& row : rows) {
    SCOPED_TRACE(row[0].as<std::string>());
    const std::string last_good = row[2].as<std::string>();
    EXPECT_TRUE(last_good == ids[7] || last_good == ids[6] || last_good == ids[8]) << dump(c);
    const auto at = std::find(ids.begin(), ids.end(), last_good);
    if (at != ids.end() && at + 1 != ids.end()) {
      EXPECT_EQ(row[3].as<std::string>(), *(at + 1));
    }
    EXPECT_GT(row[4].as<double>(), 1.15);
    EXPECT_LT(row[4].as<double>(), 1.35);
    EXPECT_LE(row[5].as<double>(), row[4].as<double>());
    EXPECT_GE(row[6].as<double>(), row[4].as<double>());
    EXPECT_GT(row[5].as<double>(), 1.0);
    EXPECT_EQ(row[7].as<std::string>(), "regressed");
    EXPECT_GE(row[8].as<int>(), 7);
    EXPECT_GE(row[9].as<int>(), 2);
    EXPECT_EQ(row[12].as<std::string>(), "s");
  }
  EXPECT_EQ(rows[0][0].as<std::string>(), "metric");
  EXPECT_EQ(rows[0][8].as<int>(), 8);
  EXPECT_EQ(rows[0][9].as<int>(), 8);
  EXPECT_EQ(rows[0][1].as<std::string>(), "sleep.seconds");
  EXPECT_NEAR(rows[0][4].as<double>(), 1.25, 1e-9);
  EXPECT_NEAR(rows[0][5].as<double>(), 1.25, 1e-9);
  EXPECT_EQ(rows[0][2].as<std::string>(), ids[7]);
  EXPECT_EQ(rows[0][10].as<double>(), 0.2);
  EXPECT_EQ(rows[0][11].as<double>(), 0.25);
  EXPECT_EQ(rows.back()[0].as<std::string>(), "variant");
  EXPECT_EQ(c.scalar("SELECT count(*) FROM change_points WHERE kind = 'variant' AND "
                     "abs(ratio - 1) > 0.1"),
            1);

  // The CLI: a sentence each, and the rows as JSON.
  auto r = c.cli({"regressions", "--pipeline", "cp"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("cp build metric sleep.seconds on m1: regressed +25.0 % (0.2 → 0.25 s"),
            std::string::npos)
      << r.out;
  EXPECT_NE(r.out.find("cp speed variant default on m1: regressed +"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("between " + ids[7].substr(0, 12) + " (#"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find(" and " + ids[8].substr(0, 12) + " (#"), std::string::npos) << r.out;
  const std::string metric_line = r.out.substr(r.out.find("cp build metric"));
  EXPECT_NE(metric_line.find(ids[7].substr(0, 12)), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("1 of 1 machines"), std::string::npos) << r.out;
  r = c.cli({"regressions", "--pipeline", "cp", "--json"});
  ASSERT_EQ(r.code, 0) << r.err;
  std::vector<json> doc;
  for (const auto& row : json::parse(r.out))
    if (row["kind"] != "step" && std::abs(row["change_pct"].get<double>()) > 10) doc.push_back(row);
  ASSERT_EQ(doc.size(), rows.size()) << r.out;
  for (const auto& row : doc) {
    if (row["kind"] == "metric") {
      EXPECT_EQ(row["first_bad"], ids[8].substr(0, 12));
      EXPECT_EQ(row["last_good"], ids[7].substr(0, 12));
      EXPECT_EQ(row["change_pct"].get<double>(), 25);
    }
    EXPECT_EQ(row["direction"], "regressed");
    EXPECT_EQ(row["machine"], "m1");
    EXPECT_EQ(row["machines"], "1 of 1");
    EXPECT_GT(row["change_pct"].get<double>(), 15);
  }
  EXPECT_EQ(c.cli({"regressions", "--pipeline", "other"}).out.find("no change points"), 0u);
  r = c.cli({"regressions", "--since", "last week"});
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find("--since takes a date, YYYY-MM-DD"), std::string::npos) << r.err;

  // The webhook heard of each change once, when the search that first
  // found it committed.
  auto told = [&] {
    std::vector<json> out;
    for (const auto& req : receiver.requests()) {
      json b = json::parse(req.substr(req.find("\n\n") + 2));
      if (b["kind"] != "step" && std::abs(b["ratio"].get<double>() - 1) > 0.1)
        out.push_back(std::move(b));
    }
    return out;
  };
  ASSERT_TRUE(wait_for([&] { return told().size() >= rows.size(); }, 20s)) << c.coordinator().log();
  std::this_thread::sleep_for(1s);  // anything more would arrive now
  const auto bodies = told();
  ASSERT_GE(bodies.size(), rows.size()) << dump(c);
  EXPECT_EQ(std::count_if(bodies.begin(), bodies.end(),
                          [](const json& b) { return b["kind"] == "metric"; }),
            1)
      << dump(c);
  for (const auto& b : bodies) {
    EXPECT_EQ(b["event"], "regressed");
    EXPECT_EQ(b["pipeline"], "cp");
    if (b["kind"] != "metric") continue;
    EXPECT_EQ(b["first_bad_revision"], ids[8]);
    EXPECT_EQ(b["last_good_revision"], ids[7]);
    EXPECT_EQ(b["first_bad_pipeline_id"],
              c.scalar("SELECT id FROM pipelines WHERE revision = '" + ids[8] + "'"));
    EXPECT_NE(b["text"].get<std::string>().find(" regressed +"), std::string::npos) << b["text"];
  }

  // The deploy gate: the benchmark at the newest commit is as slow as the
  // commit before it, but its series has stayed up since commit 8.
  c.write_file("ship.yml", jobs +
                               "  ship:\n    needs: [{job: speed, no_regression: true}]\n"
                               "    steps: [{run: 'true'}]\n");
  r = c.cli({"submit", "--wait", c.dir() + "/ship.yml", "--revision", ids[15]});
  EXPECT_EQ(r.code, 1) << r.out << r.err;
  const std::string note =
      c.text("SELECT message FROM jobs WHERE name = 'ship' ORDER BY id DESC LIMIT 1");
  EXPECT_NE(note.find("speed judged slower: variant default on machine m1 has stayed slower "
                      "since a change of +"),
            std::string::npos)
      << note;
  EXPECT_NE(note.find(" between "), std::string::npos) << note;
  EXPECT_EQ(c.text("SELECT state FROM jobs WHERE name = 'ship'"), "skipped");

  // A later small move down (as a 1 or 2 % drift of a sleep's overhead can
  // be found) does not undo the regression; one that takes back most of it
  // does. Each is a change point newer than every other of the series,
  // written as the search writes them, read by the gate's own query.
  ASSERT_TRUE(wait_for([&] { return all_searched(c); }, 30s)) << c.coordinator().log();
  auto newer_change = [&](double factor) {
    c.query(
        "INSERT INTO change_points (pipeline_name, job, kind, what, unit, machine_id, "
        "last_good_pipeline_id, first_bad_pipeline_id, last_good_revision, first_bad_revision, "
        "points_before, points_after, median_before, median_after, ratio, ratio_low, ratio_high, "
        "p_value, detectable, direction, found_by_pipeline_id) "
        "SELECT pipeline_name, job, kind, what, unit, machine_id, m.id - 1, m.id, '" +
        ids[14] + "', '" + ids[15] + "', 5, 5, median_after, median_after * " +
        std::to_string(factor) + ", " + std::to_string(factor) + ", " + std::to_string(factor) +
        ", " + std::to_string(factor) +
        ", 0.001, 0.01, 'improved', m.id FROM change_points, (SELECT max(id) + 1000 AS id FROM "
        "pipelines) m WHERE kind = 'variant' AND what = 'default' ORDER BY first_bad_pipeline_id "
        "DESC LIMIT 1");
  };
  // The ship job's state and its note.
  auto ship = [&] {
    auto r = c.cli({"submit", "--wait", c.dir() + "/ship.yml", "--revision", ids[15]});
    (void)r;
    return c.text(
        "SELECT state || ': ' || message FROM jobs WHERE name = 'ship' ORDER BY id DESC LIMIT 1");
  };
  const std::string stayed = "has stayed slower since a change of +";
  newer_change(0.97);
  std::string now = ship();
  EXPECT_EQ(now.rfind("skipped: ", 0), 0u) << now << "\n" << dump(c);
  EXPECT_NE(now.find(stayed), std::string::npos) << now;
  ASSERT_TRUE(wait_for([&] { return all_searched(c); }, 30s)) << c.coordinator().log();
  // Back: the change point no longer refuses. (The same bench against the
  // previous revision, 5 runs each, still may: a busy host can make one
  // revision's runs slower, a verdict of its own with its own note.)
  newer_change(0.8);
  now = ship();
  EXPECT_EQ(now.find(stayed), std::string::npos) << now << "\n" << dump(c);
  EXPECT_TRUE(now.rfind("succeeded", 0) == 0 ||
              now.find(" slower than revision " + ids[14].substr(0, 12)) != std::string::npos)
      << now;
}

// What the search left undone is done by the next coordinator, and one
// pipeline whose search the database refuses is said, marked, and holds up
// no other.
TEST(ChangePoints, AnUnsearchedPipelineIsSearchedAfterARestartAndARefusedSearchHoldsUpNoOther) {
  Cluster c;
  c.add_agent("a", "", "m1");
  // A metric that doubles at the fifth of eight pipelines, in two
  // pipelines of different names.
  for (const std::string name : {"left", "refused"})
    for (int i = 0; i < 8; ++i) {
      c.write_file(name + ".yml",
                   "pipeline: " + name + "\njobs:\n  m:\n    steps:\n      - run: echo \"size " +
                       std::to_string(i < 4 ? 100 : 200) + " bytes\" >> \"$YARDSTICK_METRICS\"\n");
      auto r = c.cli({"submit", "--wait", c.dir() + "/" + name + ".yml", "--revision",
                      "r" + std::to_string(i)});
      ASSERT_EQ(r.code, 0) << r.err;
    }
  ASSERT_TRUE(wait_for([&] { return all_searched(c); }, 30s)) << c.coordinator().log();
  ASSERT_EQ(c.scalar("SELECT count(*) FROM change_points WHERE kind = 'metric'"), 2) << dump(c);

  // The coordinator is killed; as if it had died before searching, its
  // change points are gone and its pipelines unsearched; and the database
  // refuses any change point of the pipelines named 'refused'.
  c.kill_coordinator();
  c.query(
      "DELETE FROM change_points; UPDATE pipelines SET changes_checked_at = NULL; "
      "CREATE FUNCTION refuse() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
      "IF NEW.pipeline_name = 'refused' THEN RAISE EXCEPTION 'refused by a test'; END IF; "
      "RETURN NEW; END $$; "
      "CREATE TRIGGER refuse BEFORE INSERT ON change_points FOR EACH ROW EXECUTE FUNCTION "
      "refuse()");
  c.start_coordinator();
  ASSERT_TRUE(wait_for([&] { return all_searched(c); }, 30s)) << c.coordinator().log();
  auto rows = c.query(
      "SELECT pipeline_name, last_good_revision, first_bad_revision, ratio FROM change_points "
      "WHERE kind = 'metric'");
  ASSERT_EQ(rows.size(), 1u) << dump(c);
  EXPECT_EQ(rows[0][0].as<std::string>(), "left");
  EXPECT_EQ(rows[0][1].as<std::string>(), "r3");
  EXPECT_EQ(rows[0][2].as<std::string>(), "r4");
  EXPECT_NEAR(rows[0][3].as<double>(), 2.0, 1e-9);
  const std::string log = c.coordinator().log();
  EXPECT_NE(log.find("refused: its series could not be searched for change points: "),
            std::string::npos)
      << log;
  EXPECT_NE(log.find("refused by a test"), std::string::npos);
  // Marked: not searched again and again.
  std::this_thread::sleep_for(2s);
  EXPECT_EQ(count_of(c.coordinator().log(), "could not be searched"),
            count_of(log, "could not be searched"));
}

// The same kind of repository with no change: 30 commits, each holding
// four metrics drawn around 1.0 with 3 % log-normal noise (a fixed seed,
// so the test is the same on every host), a pipeline at each commit.
// Four series of 30 points at the coordinator's alpha of 0.01 find no
// change point (the false-alarm rate itself is counted over thousands of
// A/A series by ChangePoints.FalseAlarmsOnAASeriesStayWithinAlpha), and
// `regressions` says so. The step's own wall time is searched too, but a
// shared host's speed moves it for real, so it is not held to anything.
TEST(ChangePoints, ThirtyRunsOfAnUnchangedSeriesFindNoChangePoint) {
  Cluster c;
  c.add_agent("a", "", "m1");
  std::mt19937 random(23);
  std::normal_distribution<double> noise(0.0, 0.03);
  std::vector<std::string> contents;
  for (int i = 0; i < 30; ++i) {
    std::string s;
    for (const char* m : {"a", "b", "c", "d"})
      s += std::string("work.") + m + " " + std::to_string(std::exp(noise(random))) + " s\n";
    contents.push_back(s);
  }
  const auto ids = make_history_of(c.dir() + "/repo", contents);
  compile_pipeline(c, "steady", "steady", "cat s >> \"$YARDSTICK_METRICS\"");
  for (const auto& id : ids) {
    auto r = c.cli({"submit", "--wait", c.dir() + "/steady.yml", "--revision", id});
    ASSERT_EQ(r.code, 0) << r.out << r.err;
  }
  ASSERT_TRUE(wait_for([&] { return all_searched(c); }, 30s)) << c.coordinator().log();
  // Every point arrived: 30 pipelines times four metrics.
  ASSERT_EQ(c.scalar("SELECT count(*) FROM metrics WHERE name LIKE 'work.%'"), 120) << dump(c);
  EXPECT_EQ(c.scalar("SELECT count(*) FROM change_points WHERE kind = 'metric'"), 0) << dump(c);
  auto rows = json::parse(c.cli({"regressions", "--pipeline", "steady", "--json"}).out);
  for (const auto& row : rows) EXPECT_EQ(row["kind"], "step") << rows.dump(2);
}

// A change that shows on one machine only: from commit 6 the step does
// more work, but only in m2's environment (here: its agent's name, as a
// tool present on one machine only would). Both machines run every
// pipeline; the change point is m2's alone and is said to be.
TEST(ChangePoints, ASlowdownOnOneMachineOnlyIsToldAsThatMachines) {
  Cluster c;
  c.add_agent("a", "", "m1");
  c.add_agent("b", "", "m2");
  const auto ids = make_history(c.dir() + "/repo", 12, "0", 6, "1");
  // m2 is calibrated before the pipelines and again after them.
  auto cal = c.cli({"calibrate", c.agent_name("b"), "--wait"});
  ASSERT_EQ(cal.code, 0) << cal.out << cal.err;
  compile_pipeline(c, "one", "one",
                   "t=0.20; if [ $(cat s) = 1 ] && [ \"$YARDSTICK_AGENT\" = " + c.agent_name("b") +
                       " ]; then t=0.25; fi; " + sleep_and_report("$t", "work.seconds"),
                   "    on: { machines: all }\n");
  for (const auto& id : ids) {
    auto r = c.cli({"submit", "--wait", c.dir() + "/one.yml", "--revision", id});
    ASSERT_EQ(r.code, 0) << r.out << r.err;
  }
  ASSERT_TRUE(wait_for([&] { return all_searched(c); }, 30s)) << c.coordinator().log();
  // Without a calibration after the change, the question stays open.
  auto rows = json::parse(c.cli({"regressions", "--pipeline", "one", "--json"}).out);
  int metric = 0;
  for (const auto& row : rows) {
    if (row["kind"] != "metric") continue;
    ++metric;
    EXPECT_EQ(row["machine"], "m2");
    EXPECT_EQ(row["machines"], "1 of 2");
    EXPECT_EQ(row["note"], "only on m2: machine or environment?");
    EXPECT_EQ(row["last_good"], ids[5].substr(0, 12));
    EXPECT_EQ(row["first_bad"], ids[6].substr(0, 12));
  }
  EXPECT_EQ(metric, 1) << rows.dump(2);
  auto text = c.cli({"regressions", "--pipeline", "one"});
  EXPECT_NE(text.out.find("one build metric work.seconds on m2: regressed +25.0 %"),
            std::string::npos)
      << text.out;
  EXPECT_NE(text.out.find("1 of 2 machines; only on m2: machine or environment?"),
            std::string::npos)
      << text.out;

  // Calibrated again after the change: the note says whether m2's
  // calibration moved (a benchmark by more than 5 % and 3 times its noise)
  // or held, from the two real calibrations stored.
  cal = c.cli({"calibrate", c.agent_name("b"), "--wait"});
  ASSERT_EQ(cal.code, 0) << cal.out << cal.err;
  auto note = [&] {
    for (const auto& row : json::parse(c.cli({"regressions", "--pipeline", "one", "--json"}).out))
      if (row["kind"] == "metric") return row["note"].get<std::string>();
    return std::string("no metric change point");
  };
  auto pairs = c.query(
      "SELECT b.benchmark, a.median_s / b.median_s, greatest(a.noise, b.noise) FROM "
      "machine_calibrations b JOIN machine_calibrations a ON a.benchmark = b.benchmark AND "
      "a.job_id > b.job_id");
  ASSERT_EQ(pairs.size(), 4u);
  bool moved = false;
  for (const auto& p : pairs) {
    const double shift = std::abs(std::log(p[1].as<double>()));
    moved = moved || (shift > std::log(1.05) && shift > 3 * p[2].as<double>());
  }
  const std::string real = note();
  EXPECT_EQ(real.rfind(moved ? "only on m2, whose calibration moved too ("
                             : "only on m2, whose calibration held (at most ",
                       0),
            0u)
      << real;

  // The same, with both calibrations steady (noise 1 %: a busy CI host
  // can measure 15 %, which hides a 40 % move) and the second one's cpu
  // made 40 % slower (as a machine whose CPU was throttled would measure),
  // then every benchmark within 2 % of the first.
  const std::string second = "job_id = (SELECT max(job_id) FROM machine_calibrations)";
  c.query("UPDATE machine_calibrations SET noise = 0.01");
  c.query(
      "UPDATE machine_calibrations a SET median_s = b.median_s * CASE a.benchmark WHEN "
      "'cpu' THEN 1.4 ELSE 1.01 END FROM machine_calibrations b WHERE a." +
      second + " AND b.job_id < a.job_id AND b.benchmark = a.benchmark");
  EXPECT_EQ(note(), "only on m2, whose calibration moved too (cpu +40.0 %): the machine?");
  c.query(
      "UPDATE machine_calibrations a SET median_s = b.median_s * CASE a.benchmark WHEN "
      "'io' THEN 0.98 ELSE 1.01 END FROM machine_calibrations b WHERE a." +
      second + " AND b.job_id < a.job_id AND b.benchmark = a.benchmark");
  EXPECT_EQ(note(), "only on m2, whose calibration held (at most io -2.0 %): environment?");
  text = c.cli({"regressions", "--pipeline", "one"});
  EXPECT_NE(text.out.find("1 of 2 machines; only on m2, whose calibration held"), std::string::npos)
      << text.out;
}

// Bisection. A 64-commit repository whose commit 41 makes the step 25 %
// slower (a sleep, as above) and its metric 25 % larger; the pipeline runs
// on both machines at every 8th commit, which puts the change points
// between commits 40 and 48; `yardstick bisect` then names commit 41 on
// each machine: on m1 following the step's time between revisions given
// on the command line, on m2 the metric, from its change point alone.
TEST(Bisect, ASlowdownAtCommit41IsNamedOnEachOfTwoMachinesInAtMostFourSteps) {
  Cluster c;
  c.add_agent("a", "", "m1");
  c.add_agent("b", "", "m2");
  const auto ids = make_history(c.dir() + "/repo", 64, "0.20", 41, "0.25");
  compile_pipeline(c, "cp64", "cp64", sleep_and_report("$(cat s)", "sleep.seconds"),
                   "    on: { machines: all }\n");
  for (int i = 0; i < 64; i += 8) {
    auto r = c.cli({"submit", "--wait", c.dir() + "/cp64.yml", "--revision", ids[i]});
    ASSERT_EQ(r.code, 0) << r.out << r.err;
  }
  auto r = c.cli({"submit", "--wait", c.dir() + "/cp64.yml", "--revision", ids[63]});
  ASSERT_EQ(r.code, 0) << r.out << r.err;
  ASSERT_TRUE(wait_for([&] { return all_searched(c); }, 30s)) << c.coordinator().log();
  auto cps = c.query(
      "SELECT m.name, last_good_revision, first_bad_revision FROM change_points p JOIN machines m "
      "ON m.id = p.machine_id WHERE kind = 'metric' ORDER BY m.name");
  ASSERT_EQ(cps.size(), 2u) << dump(c);
  for (const auto& row : cps) {
    EXPECT_EQ(row[1].as<std::string>(), ids[40]) << row[0].as<std::string>();
    EXPECT_EQ(row[2].as<std::string>(), ids[48]) << row[0].as<std::string>();
  }
  // The metric moved on both machines at the same revision: the commit.
  for (const auto& row : json::parse(c.cli({"regressions", "--pipeline", "cp64", "--json"}).out))
    if (row["kind"] == "metric") {
      EXPECT_EQ(row["machines"], "2 of 2");
      EXPECT_EQ(row["note"], "on every machine that ran it: the commit");
    }
  const int64_t pipelines_before = c.scalar("SELECT count(*) FROM pipelines");

  // m1, the step's time, the revisions given.
  auto b1 = c.cli({"bisect", "cp64", "build", "--step", "compile", "--good", ids[40], "--bad",
                   ids[48], "--machine", "m1", "--json"});
  ASSERT_EQ(b1.code, 0) << b1.out << b1.err;
  const json j = json::parse(b1.out);
  EXPECT_EQ(j["outcome"], "found") << b1.out;
  EXPECT_EQ(j["commit"], ids[41]) << b1.err;
  EXPECT_EQ(j["subject"], "commit 41");
  EXPECT_LE(j["steps"].get<int>(), 4);
  EXPECT_GE(j["runs_per_revision"].get<int>(), 3);
  EXPECT_GT(j["step_change_pct"].get<double>(), 15);
  EXPECT_LT(j["step_change_pct"].get<double>(), 40);
  EXPECT_LT(j["low_pct"].get<double>(), j["step_change_pct"].get<double>());
  EXPECT_GT(j["high_pct"].get<double>(), j["step_change_pct"].get<double>());
  // Each run a pipeline of the job alone, at its revision, on m1 only,
  // stored as a bisection's and never searched into a series.
  const int64_t runs = j["runs"].get<int64_t>();
  EXPECT_EQ(c.scalar("SELECT count(*) FROM pipelines WHERE bisection IS NOT NULL"), runs);
  EXPECT_EQ(c.scalar("SELECT count(*) FROM pipelines"), pipelines_before + runs);
  EXPECT_EQ(c.scalar("SELECT count(*) FROM jobs j JOIN pipelines p ON p.id = j.pipeline_id JOIN "
                     "machines m ON m.id = j.machine_id WHERE p.bisection IS NOT NULL AND "
                     "m.name = 'm1' AND j.name = 'build' AND j.state = 'succeeded'"),
            runs);
  EXPECT_EQ(c.scalar("SELECT count(*) FROM pipelines WHERE bisection IS NOT NULL AND name <> "
                     "'cp64.bisect'"),
            0);
  // Commit 41: measured once as a midpoint, once to confirm it.
  EXPECT_EQ(c.scalar("SELECT count(*) FROM pipelines WHERE bisection IS NOT NULL AND revision = '" +
                     ids[41] + "'"),
            2 * j["runs_per_revision"].get<int64_t>());
  EXPECT_LT(j["confirm_p"].get<double>(), 0.05);
  ASSERT_TRUE(wait_for([&] { return all_searched(c); }, 30s));
  EXPECT_EQ(c.scalar("SELECT count(*) FROM change_points WHERE pipeline_name <> 'cp64'"), 0);
  EXPECT_NE(b1.err.find("bisect: 8 commits after good " + ids[40].substr(0, 7)), std::string::npos)
      << b1.err;

  // m1's bisection is one record, its outcome written over its progress.
  EXPECT_EQ(c.text("SELECT string_agg(outcome, ' ') FROM bisections"), "found");

  // m2, the metric: the revisions and the machine from its change point.
  // While it runs, `regressions` says where it is: the step it last judged.
  auto running = std::async(std::launch::async, [&] {
    return c.cli({"bisect", "cp64", "build", "--metric", "sleep.seconds", "--machine", "m2"});
  });
  const std::string under_way =
      "SELECT count(*) FROM bisections WHERE machine = 'm2' AND outcome = 'running' AND message "
      "LIKE 'step 1: % is % from good); % commits left between %'";
  ASSERT_TRUE(wait_for(
      [&] { return c.scalar(under_way) == 1 || running.wait_for(0s) == std::future_status::ready; },
      60s));
  auto during = c.cli({"regressions", "--pipeline", "cp64"});
  EXPECT_NE(during.out.find("\n  bisecting: step 1: "), std::string::npos) << during.out;
  EXPECT_NE(during.out.find(" s ago)"), std::string::npos) << during.out;
  auto b2 = running.get();
  ASSERT_EQ(b2.code, 0) << b2.out << b2.err;
  EXPECT_EQ(b2.out.rfind("first slow commit " + ids[41].substr(0, 7) +
                             " \"commit 41\" (+25.0 %, interval +25.0 … +25.0 %, 3 steps, ",
                         0),
            0u)
      << b2.out << b2.err;
  EXPECT_NE(b2.out.find("on m2: 0.2 → 0.25 (medians of 3 and 3 runs at " + ids[40].substr(0, 7) +
                        " and " + ids[41].substr(0, 7) + ")"),
            std::string::npos)
      << b2.out;
  EXPECT_NE(b2.err.find("from the change point on m2 between " + ids[40].substr(0, 12)),
            std::string::npos)
      << b2.err;
  EXPECT_EQ(c.scalar("SELECT count(*) FROM jobs j JOIN pipelines p ON p.id = j.pipeline_id JOIN "
                     "machines m ON m.id = j.machine_id WHERE p.bisection IS NOT NULL AND "
                     "m.name = 'm2'"),
            c.scalar("SELECT count(*) FROM pipelines WHERE bisection IS NOT NULL") - runs);

  // Both recorded; `regressions` names the commit under the change points
  // whose revisions were bisected: m2's metric (and m1's step, when its
  // change point fell between the same commits), and no other.
  EXPECT_EQ(c.scalar("SELECT count(*) FROM bisections WHERE outcome = 'found' AND commit = '" +
                     ids[41] + "'"),
            2);
  auto reg = c.cli({"regressions", "--pipeline", "cp64"});
  ASSERT_EQ(reg.code, 0) << reg.err;
  EXPECT_EQ(count_of(reg.out, "bisected: first slow commit " + ids[41].substr(0, 7) +
                                  " \"commit 41\" (+25.0 %"),
            1)
      << reg.out;
  auto regj = json::parse(c.cli({"regressions", "--pipeline", "cp64", "--json"}).out);
  int named = 0;
  for (const auto& row : regj) {
    if (row["culprit"] == "") continue;
    EXPECT_EQ(row["culprit"], ids[41]);
    if (row["kind"] == "metric") {
      ++named;
      EXPECT_EQ(row["machine"], "m2");
    } else {
      EXPECT_EQ(row["machine"], "m1");
      EXPECT_EQ(row["what"], "compile");
    }
  }
  EXPECT_EQ(named, 1) << regj.dump(2);

  // Said plainly: what is missing, what does not exist.
  auto none = c.cli({"bisect", "cp64", "build", "--good", ids[40], "--bad", ids[48]});
  EXPECT_EQ(none.code, 2);
  EXPECT_NE(none.err.find("--step NAME, --variant NAME or --metric NAME"), std::string::npos);
  auto backwards = c.cli({"bisect", "cp64", "build", "--step", "compile", "--good", ids[48],
                          "--bad", ids[40], "--machine", "m1"});
  EXPECT_EQ(backwards.code, 2);
  EXPECT_NE(backwards.err.find("does not come after"), std::string::npos) << backwards.err;
  auto nojob = c.cli({"bisect", "cp64", "link", "--step", "compile", "--good", ids[40], "--bad",
                      ids[48], "--machine", "m1"});
  EXPECT_EQ(nojob.code, 2);
  EXPECT_NE(nojob.err.find("has no job 'link'"), std::string::npos) << nojob.err;
}

// A commit whose build fails is skipped, as `git bisect skip` does, and
// the culprit is still named; a change the machine cannot see stops after
// the ends, saying so; and --max-time stops bisection when it runs out.
TEST(Bisect, AFailingMidpointIsSkippedAChangeTooSmallToSeeStopsAndMaxTimeIsKept) {
  Cluster c;
  c.add_agent("a", "", "m1");
  // Commits 0-8: commit 6 makes it 25 % slower, commit 4's build fails.
  const auto ids = make_history(c.dir() + "/repo", 9, "0.20", 6, "0.25", 4);
  compile_pipeline(c, "skip", "skip", "test ! -e fail && sleep $(cat s)");
  auto first = c.cli({"submit", "--wait", c.dir() + "/skip.yml", "--revision", ids[0]});
  ASSERT_EQ(first.code, 0) << first.err;
  auto b = c.cli({"bisect", "skip", "build", "--step", "compile", "--good", ids[0], "--bad", ids[8],
                  "--machine", "m1", "--json"});
  ASSERT_EQ(b.code, 0) << b.out << b.err;
  json j = json::parse(b.out);
  EXPECT_EQ(j["commit"], ids[6]) << b.err;
  bool skipped = false;
  for (const auto& r : j["revisions"])
    if (r["commit"] == ids[4]) {
      EXPECT_EQ(r["verdict"], "skipped");
      skipped = true;
    }
  EXPECT_TRUE(skipped) << b.out;
  EXPECT_NE(b.err.find("its job failed; skipped"), std::string::npos) << b.err;

  // A step whose time is drawn between 0.20 and 0.29 s at each run, and a
  // change of 1 %: 5 runs cannot see it. It stops after the ends' 5 runs.
  compile_pipeline(c, "noisy", "skip",
                   "sleep 0.2$(shuf -i 0-9 -n 1)$(test $(cat commit) -lt 6 || echo 2)");
  ASSERT_EQ(c.cli({"submit", "--wait", c.dir() + "/noisy.yml", "--revision", ids[0]}).code, 0);
  auto small = c.cli({"bisect", "skip", "build", "--step", "compile", "--good", ids[0], "--bad",
                      ids[8], "--machine", "m1", "--max-runs", "5", "--json"});
  EXPECT_EQ(small.code, 1) << small.out << small.err;
  j = json::parse(small.out);
  EXPECT_EQ(j["outcome"], "below_detectable") << small.out;
  EXPECT_EQ(j["runs"], 10);
  EXPECT_NE(j["message"].get<std::string>().find("is below what m1 can see: with 5 runs a "
                                                 "revision it could see "),
            std::string::npos)
      << small.out;

  // A real change and a budget of 2 s: it stops when the time is up, after
  // the run under way, and says so.
  ASSERT_EQ(c.cli({"submit", "--wait", c.dir() + "/skip.yml", "--revision", ids[0]}).code, 0);
  auto tight = c.cli({"bisect", "skip", "build", "--step", "compile", "--good", ids[0], "--bad",
                      ids[8], "--machine", "m1", "--max-time", "2s", "--json"});
  EXPECT_EQ(tight.code, 1) << tight.out << tight.err;
  j = json::parse(tight.out);
  EXPECT_EQ(j["outcome"], "budget") << tight.out;
  EXPECT_NE(j["message"].get<std::string>().find("--max-time 2 s ran out"), std::string::npos)
      << tight.out;
  EXPECT_LT(j["seconds"].get<double>(), 10) << tight.out;
}

// A bisection waits through a coordinator killed and started again, as
// `submit --wait` does, and still names the commit.
TEST(Bisect, ACoordinatorKilledMidBisectionIsWaitedForAndTheCommitStillNamed) {
  Cluster c;
  c.add_agent("a", "", "m1");
  const auto ids = make_history(c.dir() + "/repo", 9, "0.20", 6, "0.25");
  compile_pipeline(c, "restart", "restart",
                   "sleep 0.1 && echo \"work.seconds $(cat s) s\" >> \"$YARDSTICK_METRICS\"");
  ASSERT_EQ(c.cli({"submit", "--wait", c.dir() + "/restart.yml", "--revision", ids[0]}).code, 0);
  CliResult b;
  std::thread bisect([&] {
    b = c.cli({"bisect", "restart", "build", "--metric", "work.seconds", "--good", ids[0], "--bad",
               ids[8], "--machine", "m1", "--json"});
  });
  ASSERT_TRUE(wait_for(
      [&] { return c.scalar("SELECT count(*) FROM pipelines WHERE bisection IS NOT NULL") >= 4; },
      60s));
  c.kill_coordinator();
  std::this_thread::sleep_for(1s);
  c.start_coordinator();
  bisect.join();
  ASSERT_EQ(b.code, 0) << b.out << b.err;
  const json j = json::parse(b.out);
  EXPECT_EQ(j["commit"], ids[6]) << b.err;
  EXPECT_GT(j["id"].get<int64_t>(), 0);  // recorded with the coordinator that came back
  EXPECT_EQ(c.scalar("SELECT count(*) FROM bisections WHERE commit = '" + ids[6] + "'"), 1);
}

// `bisect: auto`: a new regression of a job that asks for it is bisected
// by the coordinator itself, with no one at a terminal: pipelines at every
// other commit of 12, commit 5 makes the step's metric 25 % larger (the
// step's own time does not move, so that one bisection runs, whatever the
// load); the change point falls between commits 4 and 6, and the
// bisection the coordinator starts names commit 5, which `regressions`
// then shows.
TEST(Bisect, AJobWithBisectAutoIsBisectedByTheCoordinatorOnItsOwn) {
  HttpServer receiver;
  Cluster c;
  c.add_agent("a", "", "m1", 2);
  const auto ids = make_history(c.dir() + "/repo", 12, "0.10", 5, "0.125");
  compile_pipeline(c, "auto", "auto",
                   "sleep 0.05 && echo \"sleep.seconds $(cat s) s\" >> \"$YARDSTICK_METRICS\"",
                   "    bisect: auto\n    notify: [{webhook: \"" + receiver.url("/hook") +
                       "\", on: [bisected]}]\n");
  for (int i = 0; i < 12; i += 2) {
    auto r = c.cli({"submit", "--wait", c.dir() + "/auto.yml", "--revision", ids[i]});
    ASSERT_EQ(r.code, 0) << r.out << r.err;
  }
  // The metric's bisection records its commit; then every bisection the
  // coordinator started has ended (none is left running past the test).
  ASSERT_TRUE(wait_for(
      [&] { return c.scalar("SELECT count(*) FROM bisections WHERE kind = 'metric'") == 1; }, 120s))
      << c.coordinator().log();
  ASSERT_TRUE(wait_for(
      [&] {
        const std::string log = c.coordinator().log();
        return count_of(log, "bisect: auto: ") > 0 &&
               count_of(log, ": started (pid ") == count_of(log, ": ended (");
      },
      120s))
      << c.coordinator().log();
  auto row = c.query(
      "SELECT outcome, commit, subject, good_revision, bad_revision, machine, steps, submitter "
      "FROM bisections WHERE kind = 'metric'");
  EXPECT_EQ(row[0][0].as<std::string>(), "found");
  EXPECT_EQ(row[0][1].as<std::string>(), ids[5]);
  EXPECT_EQ(row[0][2].as<std::string>(), "commit 5");
  EXPECT_EQ(row[0][3].as<std::string>(), ids[4]);
  EXPECT_EQ(row[0][4].as<std::string>(), ids[6]);
  EXPECT_EQ(row[0][5].as<std::string>(), "m1");
  EXPECT_EQ(row[0][6].as<int>(), 1);
  const std::string log = c.coordinator().log();
  EXPECT_NE(log.find("bisect: auto: auto job build metric sleep.seconds on m1 between " +
                     ids[4].substr(0, 12) + " and " + ids[6].substr(0, 12) + ": started"),
            std::string::npos)
      << log;
  EXPECT_NE(log.find("auto job build metric sleep.seconds on m1: ended (a commit named)"),
            std::string::npos)
      << log;
  auto reg = c.cli({"regressions", "--pipeline", "auto"});
  EXPECT_NE(
      reg.out.find("bisected: first slow commit " + ids[5].substr(0, 7) + " \"commit 5\" (+25.0 %"),
      std::string::npos)
      << reg.out;
  // Its runs are the job alone on m1, never searched into a series.
  EXPECT_EQ(c.scalar("SELECT count(*) FROM change_points WHERE pipeline_name <> 'auto'"), 0);
  EXPECT_GT(c.scalar("SELECT count(*) FROM pipelines WHERE name = 'auto.bisect'"), 0);

  // The job's webhook that asked for "bisected" heard of each outcome once
  // (its step's time may have moved and been bisected too), the metric's
  // with the commit.
  const int64_t ended = c.scalar("SELECT count(*) FROM bisections WHERE outcome <> 'running'");
  ASSERT_TRUE(wait_for([&] { return receiver.request_count() >= static_cast<size_t>(ended); }, 10s))
      << c.coordinator().log();
  std::this_thread::sleep_for(300ms);
  ASSERT_EQ(receiver.request_count(), static_cast<size_t>(ended));
  int metric = 0;
  for (const std::string& req : receiver.requests()) {
    const json doc = json::parse(req.substr(req.find("\n\n") + 2));
    EXPECT_EQ(doc["event"], "bisected");
    EXPECT_EQ(doc["pipeline"], "auto");
    EXPECT_EQ(doc["job"], "build");
    EXPECT_EQ(doc["machine"], "m1");
    if (doc["kind"] != "metric") continue;
    ++metric;
    EXPECT_EQ(doc["outcome"], "found");
    EXPECT_EQ(doc["commit"], ids[5]);
    EXPECT_EQ(doc["subject"], "commit 5");
    EXPECT_EQ(doc["good"], ids[4]);
    EXPECT_EQ(doc["bad"], ids[6]);
    EXPECT_EQ(doc["change_pct"].get<double>(), 25);
    EXPECT_EQ(doc["bisection_id"], c.scalar("SELECT id FROM bisections WHERE kind = 'metric'"));
    EXPECT_NE(doc["text"].get<std::string>().find(
                  "yardstick: bisection of auto build metric sleep.seconds on m1: first slow "
                  "commit " +
                  ids[5].substr(0, 7)),
              std::string::npos)
        << doc["text"];
  }
  EXPECT_EQ(metric, 1);
}

}  // namespace
}  // namespace yardstick::test
