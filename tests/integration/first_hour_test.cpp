// What a newcomer meets in the first hour: every wrong input answered with
// a clear error and the right exit code, never a crash.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <cstdio>
#include <filesystem>

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
  EXPECT_NE(r.err.find("the report has no variable 'bogus' (its variables: job, top)"),
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
  EXPECT_NE(r.err.find("reports: compare_machines"), std::string::npos) << r.err;
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
