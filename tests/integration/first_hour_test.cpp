// What a newcomer meets in the first hour: every wrong input answered with
// a clear error and the right exit code, never a crash.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <csignal>
#include <cstdio>
#include <filesystem>
#include <thread>

#include <nlohmann/json.hpp>

#include "tests/integration/harness.hpp"

namespace yardstick::test {
namespace {

using namespace std::chrono_literals;

TEST(FirstHour, EndpointWithoutASchemeIsAUsageErrorNamingIt) {
  Cluster c;
  auto r = c.cli({"--coordinator", "localhost:46399", "agents"});
  EXPECT_EQ(r.code, 2) << r.err;
  EXPECT_NE(r.err.find("endpoint 'localhost:46399' has no scheme: write tcp://localhost:46399"),
            std::string::npos)
      << r.err;

  Process agent(
      {binary("yardstick-agent"), "--coordinator", "127.0.0.1:55057", "--home", c.dir() + "/h"},
      c.dir() + "/agent.log");
  EXPECT_EQ(WEXITSTATUS(agent.wait(10s)), 2);
  EXPECT_NE(agent.log().find("has no scheme: write tcp://127.0.0.1:55057"), std::string::npos)
      << agent.log();

  Process coordinator({binary("yardstick-coordinator"), "--db", c.dsn(), "--clients",
                       "127.0.0.1:47003", "--agents", "tcp://127.0.0.1:*"},
                      c.dir() + "/coordinator2.log");
  EXPECT_EQ(WEXITSTATUS(coordinator.wait(10s)), 2);
  EXPECT_NE(coordinator.log().find("--clients: endpoint '127.0.0.1:47003' has no scheme"),
            std::string::npos)
      << coordinator.log();
}

TEST(FirstHour, CliPointedAtTheAgentsPortIsToldSo) {
  Cluster c;
  auto r = c.cli({"--coordinator", c.agents_endpoint(), "agents"});
  // A client key is refused on the agents socket: the user is told, and
  // the coordinator logs whose key knocked on the wrong port.
  EXPECT_EQ(r.code, 4) << r.err;
  EXPECT_NE(r.err.find("refused this key"), std::string::npos) << r.err;
  EXPECT_TRUE(wait_for(
      [&] {
        return c.coordinator().log().find("client key of 'submitter' on the agents socket") !=
               std::string::npos;
      },
      5s))
      << c.coordinator().log();
}

TEST(FirstHour, EveryBinaryHasVersionAndGlobalOptionsGoAfterTheSubcommand) {
  Cluster c;
  for (const char* name : {"yardstick", "yardstick-agent", "yardstick-coordinator"}) {
    Process p({binary(name), "--version"}, c.dir() + "/version-" + name + ".log");
    EXPECT_EQ(WEXITSTATUS(p.wait(10s)), 0);
    EXPECT_NE(p.log().find(std::string(name) + " 0.1.0 (git "), std::string::npos) << p.log();
  }
  // The harness puts --coordinator first; here it comes after the subcommand.
  auto r = c.cli({"--coordinator", "tcp://127.0.0.1:1", "agents", "--coordinator",
                  c.clients_endpoint(), "--timeout-ms", "3000"});
  EXPECT_EQ(r.code, 2) << "--coordinator given twice is refused: " << r.err;
  r = c.cli({"--timeout-ms", "3000", "agents"});
  EXPECT_EQ(r.code, 0) << r.err;
  r = c.cli({"agents", "--timeout-ms", "3000"});
  EXPECT_EQ(r.code, 0) << r.err;
}

TEST(FirstHour, WrongInputGetsAUsageErrorNotEmptyOutput) {
  Cluster c;
  auto r = c.cli({"submit", "."});
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find(". is a directory"), std::string::npos) << r.err;
  r = c.cli({"--timeout-ms", "0", "agents"});
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find("--timeout-ms"), std::string::npos) << r.err;
}

// Typing errors are usage errors (exit 2) that name the nearest right word,
// and input that could never work is refused before anything is stored.
TEST(FirstHour, TyposAndInputsThatCannotWorkAreUsageErrorsNamingTheNearestWord) {
  Cluster c;
  c.add_agent("a", "pool=x", "m1");
  auto r = c.cli({"stauts", "8"});
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find("unknown command 'stauts'; did you mean 'status'?"), std::string::npos)
      << r.err;
  r = c.cli({"report", "comapre_machines"});
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find("no report named 'comapre_machines'; did you mean 'compare_machines'?"),
            std::string::npos)
      << r.err;
  // A key given twice, a label that is not key=value, a relative checkout:
  // each with its file, line and column; nothing stored.
  c.write_file("twice.yml",
               "pipeline: p\njobs:\n  j:\n    timeout: 5m\n    steps: [{run: x}]\n    timeout: "
               "1s\n");
  r = c.cli({"submit", "twice.yml"});
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find("twice.yml:6:5: jobs.j.timeout: given twice in one mapping (first on line "
                       "4)"),
            std::string::npos)
      << r.err;
  c.write_file("label.yml",
               "pipeline: p\njobs:\n  j:\n    on: { labels: [role:laptop] }\n    steps: [{run: "
               "x}]\n");
  r = c.cli({"submit", "label.yml"});
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find("label.yml:4:"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("did you mean 'role=laptop'?"), std::string::npos) << r.err;
  c.write_file("here.yml",
               "pipeline: p\ncheckout: { repo: . }\njobs:\n  j:\n    steps: [{run: x}]\n");
  r = c.cli({"submit", "here.yml"});
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find("here.yml:2:19: checkout.repo: '.' is a path relative to where you are"),
            std::string::npos)
      << r.err;
  EXPECT_EQ(c.scalar("SELECT count(*) FROM pipelines"), 0);
  // A public key given as the CLI's secret key is named as such.
  r = c.cli({"--key", c.coordinator_public_key_file(), "agents"});
  EXPECT_NE(r.code, 0);
  EXPECT_NE(r.err.find("holds no secret key but a public one (a .pub file)"), std::string::npos)
      << r.err;
  EXPECT_EQ(r.err.find("chmod"), std::string::npos) << r.err;
}

TEST(FirstHour, SubmitWaitJsonPrintsOnlyJsonOnStdout) {
  Cluster c;
  c.add_agent("a", "", "m1");
  c.write_file("p.yml", "pipeline: p\njobs:\n  j:\n    steps: [{run: \"sleep 1.5\"}]\n");
  auto r = c.cli({"submit", "--wait", "--json", "p.yml"});
  ASSERT_EQ(r.code, 0) << r.err;
  auto parsed = nlohmann::json::parse(r.out, nullptr, false);
  ASSERT_FALSE(parsed.is_discarded()) << r.out;
  EXPECT_NE(r.err.find("submitted"), std::string::npos) << r.err;
  // --wait shows progress on standard error: each state as the job reaches it.
  EXPECT_NE(r.err.find(" j@m1 running on "), std::string::npos) << r.err;
  EXPECT_NE(r.err.find(" j@m1 succeeded on "), std::string::npos) << r.err;
}

// --follow with --json: the logs go to standard error, and standard output
// is the JSON alone.
TEST(FirstHour, SubmitFollowJsonPrintsOnlyJsonOnStdoutAndTheLogsOnStderr) {
  Cluster c;
  c.add_agent("a", "", "m1");
  c.write_file("p.yml",
               "pipeline: p\njobs:\n  j:\n    steps:\n      - { name: greet, run: \"echo hello "
               "from the step; sleep 0.5\" }\n");
  auto r = c.cli({"submit", "p.yml", "--follow", "--json"});
  ASSERT_EQ(r.code, 0) << r.err;
  auto parsed = nlohmann::json::parse(r.out, nullptr, false);
  ASSERT_FALSE(parsed.is_discarded()) << r.out;
  EXPECT_EQ(parsed["jobs"][0]["state"], "succeeded") << r.out;
  EXPECT_EQ(r.out.find("hello from the step"), std::string::npos) << r.out;
  EXPECT_NE(r.err.find("[j@m1] hello from the step"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("[j@m1] ── step greet · attempt 1 on " + c.agent_name("a") + " ──"),
            std::string::npos)
      << r.err;
  // Without --json the logs are the output.
  auto text = c.cli({"submit", "p.yml", "--follow"});
  ASSERT_EQ(text.code, 0) << text.err;
  EXPECT_NE(text.out.find("[j@m1] hello from the step"), std::string::npos) << text.out;
}

// A job retried after its agent was stopped: `logs` prints attempt after
// attempt, never interleaved, each step and attempt under a header;
// --attempt and --step pick one; `status` says how the first attempt ended.
TEST(FirstHour, LogsAreHeadedByStepAndAttemptAndStatusListsEarlierAttempts) {
  Cluster c;
  c.add_agent("a", "pool=x", "m1");
  c.write_file("p.yml", R"(pipeline: retried
jobs:
  work:
    on: { labels: [pool=x] }
    retries: 1
    steps:
      - { name: prepare, run: "echo prepared $YARDSTICK_ATTEMPT" }
      - name: count
        run: for i in 1 2 3; do echo "tick $i of attempt $YARDSTICK_ATTEMPT"; if [ "$YARDSTICK_ATTEMPT" = 1 ] && [ $i = 2 ]; then sleep 60; fi; done
)");
  ASSERT_EQ(c.cli({"submit", "p.yml"}).code, 0);
  const int64_t job = c.scalar("SELECT max(id) FROM jobs");
  ASSERT_TRUE(wait_for(
      [&] { return c.stored_log(job, 1).find("tick 2 of attempt 1") != std::string::npos; }, 20s));
  c.add_agent("b", "pool=x", "m2");
  c.agent("a").signal(SIGTERM);
  std::this_thread::sleep_for(300ms);
  c.agent("a").signal(SIGTERM);  // the second ends the job lost: it runs again on b
  c.agent("a").wait(20s);
  ASSERT_TRUE(wait_for([&] { return c.text("SELECT state FROM jobs") == "succeeded"; }, 20s))
      << c.text("SELECT state || ' ' || message FROM jobs");
  ASSERT_EQ(c.scalar("SELECT attempt FROM jobs"), 2);

  auto logs = c.cli({"logs", std::to_string(job)});
  ASSERT_EQ(logs.code, 0) << logs.err;
  const std::string a = c.agent_name("a"), b = c.agent_name("b");
  const std::vector<std::string> in_order = {"── step prepare · attempt 1 on " + a + " ──",
                                             "prepared 1",
                                             "── step count · attempt 1 on " + a + " ──",
                                             "tick 1 of attempt 1",
                                             "tick 2 of attempt 1",
                                             "── step prepare · attempt 2 on " + b + " ──",
                                             "prepared 2",
                                             "── step count · attempt 2 on " + b + " ──",
                                             "tick 1 of attempt 2",
                                             "tick 3 of attempt 2"};
  size_t at = 0;
  for (const auto& part : in_order) {
    const size_t found = logs.out.find(part, at);
    ASSERT_NE(found, std::string::npos) << "'" << part << "' not after byte " << at << ":\n"
                                        << logs.out;
    at = found + part.size();
  }
  EXPECT_EQ(logs.out.find("tick 3 of attempt 1"), std::string::npos) << logs.out;

  auto second = c.cli({"logs", std::to_string(job), "--attempt", "2", "--step", "count"});
  ASSERT_EQ(second.code, 0) << second.err;
  EXPECT_NE(second.out.find("tick 3 of attempt 2"), std::string::npos) << second.out;
  EXPECT_EQ(second.out.find("attempt 1"), std::string::npos) << second.out;
  EXPECT_EQ(second.out.find("prepared"), std::string::npos) << second.out;
  auto typo = c.cli({"logs", std::to_string(job), "--step", "cuont"});
  EXPECT_EQ(typo.code, 4) << typo.out;
  EXPECT_NE(typo.err.find("has no log of a step named 'cuont' (steps: count, prepare); did you "
                          "mean 'count'?"),
            std::string::npos)
      << typo.err;
  auto none = c.cli({"logs", std::to_string(job), "--attempt", "3"});
  EXPECT_EQ(none.code, 4);
  EXPECT_NE(none.err.find("has no log of attempt 3 (attempts with a log: 1, 2)"), std::string::npos)
      << none.err;

  auto status = c.cli({"status", std::to_string(job)});
  ASSERT_EQ(status.code, 0) << status.err;
  EXPECT_NE(status.out.find("work: attempt 1 on " + a + " lost"), std::string::npos) << status.out;
  auto js = nlohmann::json::parse(c.cli({"status", std::to_string(job), "--json"}).out);
  ASSERT_EQ(js["jobs"][0]["earlier_attempts"].size(), 1u) << js.dump(2);
  EXPECT_EQ(js["jobs"][0]["earlier_attempts"][0]["agent"], a);
  EXPECT_EQ(js["jobs"][0]["earlier_attempts"][0]["state"], "lost");
}

std::string capture(const std::string& cmd) {
  std::string out;
  FILE* p = popen(cmd.c_str(), "r");
  char buf[256];
  while (p && fgets(buf, sizeof buf, p)) out += buf;
  if (p) pclose(p);
  while (!out.empty() && out.back() == '\n') out.pop_back();
  return out;
}

TEST(FirstHour, TheRevisionThatRanIsRecordedWhereverTheCliRuns) {
  Cluster c;
  c.add_agent("a", "", "m1");
  const std::string repo = c.dir() + "/repo", other = c.dir() + "/unrelated",
                    plain = c.dir() + "/plain";
  for (const auto& dir : {repo, other}) {
    std::filesystem::create_directories(dir);
    ASSERT_EQ(std::system(("cd " + dir +
                           " && git init -q && git config user.email t@e && git config user.name t"
                           " && echo " +
                           dir + " > f.txt && git add f.txt && git commit -qm one")
                              .c_str()),
              0);
  }
  std::filesystem::create_directories(plain);
  const std::string head = capture("git -C " + repo + " rev-parse HEAD");
  ASSERT_EQ(head.size(), 40u);
  c.write_file("p.yml", "pipeline: rev\ncheckout: { repo: " + repo +
                            " }\njobs:\n  read:\n    steps: [{run: cat f.txt}]\n");
  // From a directory that is no git repository, and from an unrelated one.
  for (const auto& cwd : {plain, other}) {
    auto r = c.cli({"submit", "--wait", c.dir() + "/p.yml"}, cwd);
    ASSERT_EQ(r.code, 0) << cwd << ": " << r.out << r.err;
    EXPECT_NE(r.err.find("the agents check out its default branch"), std::string::npos) << r.err;
  }
  EXPECT_EQ(c.scalar("SELECT count(*) FROM pipelines WHERE revision = '" + head + "'"), 2);
  EXPECT_EQ(c.scalar("SELECT count(*) FROM jobs WHERE revision = '" + head + "'"), 2);
  // From the repository itself, its HEAD is sent and kept.
  auto r = c.cli({"submit", "--wait", c.dir() + "/p.yml"}, repo);
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(c.scalar("SELECT count(*) FROM pipelines WHERE revision = '" + head + "'"), 3);
  // A later commit, run from outside the repository: compare --revisions
  // finds both, by the commits that ran.
  ASSERT_EQ(std::system(("cd " + repo + " && echo two > f.txt && git commit -qam two").c_str()), 0);
  const std::string next = capture("git -C " + repo + " rev-parse HEAD");
  ASSERT_EQ(c.cli({"submit", "--wait", c.dir() + "/p.yml"}, plain).code, 0);
  EXPECT_EQ(c.scalar("SELECT count(*) FROM pipelines WHERE revision = '" + next + "'"), 1);
  // A revision the repository does not have is refused before anything runs.
  const int64_t before = c.scalar("SELECT count(*) FROM pipelines");
  auto bad = c.cli({"submit", c.dir() + "/p.yml", "--revision", "no-such-branch"}, plain);
  EXPECT_EQ(bad.code, 2) << bad.err;
  EXPECT_NE(bad.err.find("has no revision 'no-such-branch'"), std::string::npos) << bad.err;
  bad = c.cli({"submit", c.dir() + "/p.yml", "--revision", "0123456789abcdef"}, repo);
  EXPECT_EQ(bad.code, 2) << bad.err;
  EXPECT_EQ(c.scalar("SELECT count(*) FROM pipelines"), before);
  auto cmp = c.cli(
      {"compare", "--revisions", head.substr(0, 8), next.substr(0, 8), "--job", "read", "--json"});
  EXPECT_EQ(cmp.code, 0) << cmp.err;
  auto rows = nlohmann::json::parse(cmp.out, nullptr, false);
  ASSERT_TRUE(rows.is_array()) << cmp.out;
  EXPECT_GE(rows.size(), 1u) << cmp.out;
}

TEST(FirstHour, CompareWithUnknownNamesSaysSoInsteadOfPrintingNoRows) {
  Cluster c;
  auto r = c.cli({"compare", "424242"});
  EXPECT_EQ(r.code, 4);
  EXPECT_NE(r.err.find("pipeline 424242 has no benchmark results"), std::string::npos) << r.err;
  r = c.cli({"compare", "--machines", "--job", "nosuchjob"});
  EXPECT_EQ(r.code, 4);
  EXPECT_NE(r.err.find("no benchmark results of job 'nosuchjob'"), std::string::npos) << r.err;
  r = c.cli({"compare", "--revisions", "dead", "beef", "--job", "nosuchjob"});
  EXPECT_EQ(r.code, 4);
  r = c.cli({"compare", "--machines", "--job", "x", "--last", "0"});
  EXPECT_EQ(r.code, 2);
  r = c.cli({"report", "slowest_units", "-v", "job=x", "-v", "bogus=1"});
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(
      r.err.find("the report has no variable 'bogus' (its variables: job, pipeline_name, top)"),
      std::string::npos)
      << r.err;
}

TEST(FirstHour, ReportHelpListsTheReportsVariables) {
  Cluster c;
  auto r = c.cli({"report", "compare_machines", "--help"});
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("-v job=...   required"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("-v last=...   default: '10'"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("Machines side by side"), std::string::npos) << r.out;
  r = c.cli({"report", "nope", "--help"});
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find("(reports: "), std::string::npos) << r.err;
  EXPECT_NE(r.err.find(" compare_machines "), std::string::npos) << r.err;
}

TEST(FirstHour, WaitingOnABenchmarkShowsTheRunsMeasured) {
  Cluster c;
  c.add_agent("a", "", "m1");
  c.write_file("b.yml", R"(pipeline: b
jobs:
  nap:
    kind: bench
    bench: { run: sleep 0.2, runs: 12 }
)");
  auto r = c.cli({"submit", "--wait", "b.yml"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.err.find(" runs measured"), std::string::npos) << r.err;
  auto st = c.cli({"status", std::to_string(c.scalar("SELECT id FROM jobs")), "--json"});
  auto json = nlohmann::json::parse(st.out, nullptr, false);
  ASSERT_FALSE(json.is_discarded()) << st.out;
  EXPECT_EQ(json["jobs"][0]["runs_measured"], 12) << st.out;
  EXPECT_EQ(json["jobs"][0]["runs_planned"], 12) << st.out;
  EXPECT_NE(r.err.find(" of 12 runs measured"), std::string::npos) << r.err;
}

// A field of a JSON answer and the type it must have.
struct Field {
  const char* name;
  nlohmann::json::value_t type;
};

void expect_fields(const nlohmann::json& object, std::initializer_list<Field> fields,
                   const std::string& what) {
  ASSERT_TRUE(object.is_object()) << what << ": " << object.dump();
  for (const auto& f : fields) {
    ASSERT_TRUE(object.contains(f.name)) << what << ": no " << f.name << " in " << object.dump();
    const auto t = object.at(f.name).type();
    // Unsigned and signed integers are the same JSON kind.
    const bool integral = (t == nlohmann::json::value_t::number_integer ||
                           t == nlohmann::json::value_t::number_unsigned) &&
                          (f.type == nlohmann::json::value_t::number_integer ||
                           f.type == nlohmann::json::value_t::number_unsigned);
    EXPECT_TRUE(t == f.type || integral)
        << what << ": " << f.name << " is " << object.at(f.name).type_name() << " in "
        << object.dump();
  }
}

TEST(FirstHour, EveryJsonOutputIsWholeJsonWithTypedFields) {
  using V = nlohmann::json::value_t;
  Cluster c;
  c.add_agent("a", "", "m1");
  c.write_file("b.yml", R"(pipeline: b
jobs:
  nap:
    kind: bench
    bench: { run: sleep 0.01, runs: 4 }
    variants: [{name: one}, {name: two}]
    budget: { wall: 1ms }
)");
  auto parse = [&](const CliResult& r, const std::string& what) {
    EXPECT_EQ(r.code, 0) << what << ": " << r.err;
    auto j = nlohmann::json::parse(r.out, nullptr, false);
    EXPECT_FALSE(j.is_discarded()) << what << " is not JSON alone: " << r.out;
    return j;
  };
  auto submitted = parse(c.cli({"submit", "--json", "b.yml"}), "submit --json");
  expect_fields(submitted, {{"pipeline_id", V::number_unsigned}, {"jobs", V::array}}, "submit");
  ASSERT_TRUE(wait_for([&] { return c.text("SELECT state FROM jobs") == "succeeded"; },
                       std::chrono::seconds(20)));
  auto st = parse(c.cli({"status", "--json", std::to_string(submitted["pipeline_id"].get<int>())}),
                  "status --json");
  expect_fields(st, {{"pipeline_id", V::number_unsigned}, {"jobs", V::array}}, "status");
  expect_fields(st["jobs"][0],
                {{"id", V::number_unsigned},
                 {"name", V::string},
                 {"state", V::string},
                 {"attempt", V::number_unsigned},
                 {"over_budget", V::boolean},
                 {"runs_measured", V::number_unsigned},
                 {"budget_breaches", V::array}},
                "status job");
  auto agents = parse(c.cli({"agents", "--json"}), "agents --json");
  ASSERT_TRUE(agents.is_array());
  expect_fields(agents[0],
                {{"name", V::string},
                 {"connected", V::boolean},
                 {"draining", V::boolean},
                 {"slots", V::number_unsigned},
                 {"labels", V::array},
                 {"last_seen_us", V::number_integer}},
                "agents");
  auto cmp =
      parse(c.cli({"compare", "--json", std::to_string(submitted["pipeline_id"].get<int>())}),
            "compare --json");
  ASSERT_TRUE(cmp.is_array());
  ASSERT_EQ(cmp.size(), 2u) << cmp.dump();
  expect_fields(cmp[0],
                {{"n", V::number_integer}, {"median_s", V::number_float}, {"variant", V::string}},
                "compare");
  auto over =
      parse(c.cli({"report", "over_budget", "-v", "pipeline_name=b", "--json"}), "report --json");
  ASSERT_TRUE(over.is_array());
  ASSERT_GE(over.size(), 1u) << over.dump();
  expect_fields(over[0], {{"fails_job", V::boolean}}, "over_budget");
  auto drained = parse(c.cli({"drain", "--json", c.agent_name("a")}), "drain --json");
  expect_fields(drained, {{"agent", V::string}, {"draining", V::boolean}}, "drain");
  auto cancelled =
      parse(c.cli({"cancel", "--json", std::to_string(submitted["pipeline_id"].get<int>())}),
            "cancel --json");
  expect_fields(cancelled, {{"cancelled", V::number_unsigned}}, "cancel");
}

TEST(FirstHour, NegativeReportNumberIsAUsageError) {
  Cluster c;
  auto r = c.cli({"report", "over_budget", "-v", "pipeline_name=x", "-v", "last=-3"});
  EXPECT_EQ(r.code, 2) << r.err;
  EXPECT_NE(r.err.find("variable 'last' must be a number of at least 0, not '-3'"),
            std::string::npos)
      << r.err;
}

TEST(FirstHour, LogsOfAPipelineIdNameItsJobs) {
  Cluster c;
  c.add_agent("a", "", "m1");
  c.write_file("p.yml", "pipeline: p\njobs:\n  one:\n    steps: [{run: \"true\"}]\n");
  ASSERT_EQ(c.cli({"submit", "--wait", "p.yml"}).code, 0);
  const std::string pid = std::to_string(c.scalar("SELECT id FROM pipelines"));
  const std::string jid = std::to_string(c.scalar("SELECT id FROM jobs"));
  auto r = c.cli({"logs", pid});
  EXPECT_EQ(r.code, 4);
  EXPECT_NE(r.err.find(pid + " is a pipeline; logs are per job: " + jid + " (one)"),
            std::string::npos)
      << r.err;
}

}  // namespace
}  // namespace yardstick::test
