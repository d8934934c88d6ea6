// Secrets end to end: values held by the agent reach the steps that name
// them and nothing else; they appear in no table of the database and in no
// log, stored or streamed, also when printed across two reads. Steps see
// only the allowed part of the agent's environment. Credentials in a
// checkout URL are refused before anything is stored.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <filesystem>
#include <pqxx/pqxx>

#include "tests/integration/harness.hpp"

namespace yardstick::test {
namespace {

using namespace std::chrono_literals;

// "table.column" of every column, of any table of the database, whose
// value holds `needle` somewhere: bytea compared as bytes, anything else
// (text, jsonb, arrays, ...) as its text form.
std::vector<std::string> columns_holding(Cluster& c, const std::string& needle) {
  pqxx::connection conn(c.dsn());
  pqxx::work w(conn);
  auto columns = w.exec(
      "SELECT table_schema, table_name, column_name, data_type FROM information_schema.columns"
      " JOIN information_schema.tables USING (table_catalog, table_schema, table_name)"
      " WHERE table_schema NOT IN ('pg_catalog', 'information_schema')"
      " AND table_type = 'BASE TABLE'");
  EXPECT_GT(columns.size(), 20u);
  std::vector<std::string> found;
  for (const auto& col : columns) {
    const std::string table =
        w.quote_name(col[0].as<std::string>()) + "." + w.quote_name(col[1].as<std::string>());
    const std::string name = w.quote_name(col[2].as<std::string>());
    const std::string where =
        col[3].as<std::string>() == "bytea"
            ? "position(convert_to(" + w.quote(needle) + ", 'UTF8') in " + name + ") > 0"
            : "strpos(" + name + "::text, " + w.quote(needle) + ") > 0";
    if (w.exec("SELECT count(*) FROM " + table + " WHERE " + where)[0][0].as<int64_t>() > 0)
      found.push_back(col[1].as<std::string>() + "." + col[2].as<std::string>());
  }
  return found;
}

std::string joined(const std::vector<std::string>& v) {
  std::string out;
  for (const auto& s : v) out += (out.empty() ? "" : ", ") + s;
  return out;
}

std::string write_secrets_file(Cluster& c, const std::string& name, const std::string& text,
                               mode_t mode) {
  const std::string path = c.write_file(name, text);
  EXPECT_EQ(chmod(path.c_str(), mode), 0);
  return path;
}

// The value, and the two halves a step prints in two writes: an agent that
// did not carry a possible start of a value over to the next read would
// send the halves in two chunks, and neither would hold the whole value.
const std::string kValue = "s3cr3t-VALUE-0123456789-xyz";
const std::string kFirstHalf = kValue.substr(0, 12);
const std::string kSecondHalf = kValue.substr(12);
const std::string kEnvValue = "env-held-Zq9-secret-value";

TEST(Secrets, ValueIsInNoTableAndNoLogStoredOrStreamedAlsoWhenSplitAcrossReads) {
  Cluster c;
  const std::string file =
      write_secrets_file(c, "agent.secrets", "# the agent's\nTOKEN=" + kValue + "\n", 0600);
  setenv("YS_TEST_ENV_TOKEN", kEnvValue.c_str(), 1);  // a secret from the agent's environment
  c.add_agent("holder", "role=secret", "machine-s", 1, {"--secrets-file", file});
  unsetenv("YS_TEST_ENV_TOKEN");
  // The step compares with files, so that the values are not in the pipeline file (which is
  // stored as submitted).
  const std::string expected = c.write_file("expected-token", kValue);
  const std::string expected_env = c.write_file("expected-env-token", kEnvValue);
  c.write_file("p.yml", R"Y(pipeline: secrets
secrets: [YS_TEST_ENV_TOKEN]
jobs:
  use:
    on: { labels: [role=secret] }
    secrets: [TOKEN]
    env: { AUTH: "Bearer ${TOKEN}", EXPECTED: ")Y" +
                            expected + R"Y(", EXPECTED_ENV: ")Y" + expected_env + R"Y(" }
    steps:
      - name: use
        run: |
          [ "$TOKEN" = "$(cat "$EXPECTED")" ] || { echo "TOKEN did not reach the step"; exit 3; }
          [ "$YS_TEST_ENV_TOKEN" = "$(cat "$EXPECTED_ENV")" ] || exit 4
          echo "full: $TOKEN and $AUTH"
          printf 'split: %s' "$(printf '%s' "$TOKEN" | head -c 12)"
          sleep 0.7
          printf '%s end\n' "$(printf '%s' "$TOKEN" | tail -c +13)"
          echo "from the environment: $YS_TEST_ENV_TOKEN" >&2
)Y");
  auto r = c.cli({"submit", "p.yml", "--follow", "--revision", "r1"});
  ASSERT_EQ(r.code, 0) << r.out << r.err;  // the step saw both values
  const std::string job = std::to_string(c.scalar("SELECT id FROM jobs"));
  auto logs = c.cli({"logs", job});
  ASSERT_EQ(logs.code, 0) << logs.err;
  const std::string stored = c.stored_log(c.scalar("SELECT id FROM jobs"), 1);
  auto status = c.cli({"status", job});

  // What users see: the output with the values masked, split or not. (--follow prints
  // each chunk's lines with a prefix, so there the split line shows in two parts.)
  for (const std::string* seen : std::vector<const std::string*>{&r.out, &logs.out, &stored}) {
    EXPECT_NE(seen->find("full: *** and Bearer ***"), std::string::npos) << *seen;
    EXPECT_NE(seen->find("*** end"), std::string::npos) << *seen;
    EXPECT_NE(seen->find("from the environment: ***"), std::string::npos) << *seen;
  }
  EXPECT_NE(logs.out.find("split: *** end"), std::string::npos) << logs.out;
  const std::string agent_log = c.agent("holder").log();
  const std::string coordinator_log = c.coordinator().log();
  for (const std::string& fragment : {kValue, kFirstHalf, kSecondHalf, kEnvValue}) {
    SCOPED_TRACE(fragment);
    EXPECT_EQ(r.out.find(fragment), std::string::npos) << r.out;
    EXPECT_EQ(r.err.find(fragment), std::string::npos) << r.err;
    EXPECT_EQ(logs.out.find(fragment), std::string::npos) << logs.out;
    EXPECT_EQ(status.out.find(fragment), std::string::npos) << status.out;
    EXPECT_EQ(agent_log.find(fragment), std::string::npos);
    EXPECT_EQ(coordinator_log.find(fragment), std::string::npos);
    EXPECT_EQ(columns_holding(c, fragment), std::vector<std::string>{});
  }
  // The search finds what is there: the names travel, the masks are stored.
  EXPECT_NE(joined(columns_holding(c, "YS_TEST_ENV_TOKEN")).find("jobs.spec"), std::string::npos);
  EXPECT_NE(joined(columns_holding(c, "*** end")).find("log_chunks.data"), std::string::npos);
  // The value did straddle two chunks: the one with "split: " was sent before the rest came.
  EXPECT_GE(c.scalar("SELECT count(*) FROM log_chunks WHERE position('split: '::bytea in data) > 0"
                     " AND position('*** end'::bytea in data) = 0"),
            1);
}

TEST(Secrets, AStepSeesOnlyTheAllowedPartOfTheAgentsEnvironment) {
  Cluster c;
  setenv("YARDSTICK_TEST_LEAK", "leaked", 1);
  setenv("MY_PASSED", "2", 1);
  setenv("MYGLOB_ONE", "g1", 1);
  c.add_agent("envy", "role=env", "machine-e", 1, {"--pass-env", "MY_PASSED, MYGLOB_*"});
  unsetenv("YARDSTICK_TEST_LEAK");
  unsetenv("MY_PASSED");
  unsetenv("MYGLOB_ONE");
  c.write_file("p.yml", R"(pipeline: env
jobs:
  show:
    on: { labels: [role=env] }
    env: { OWN: mine }
    steps:
      - run: env | sort
)");
  auto r = c.cli({"submit", "p.yml", "--wait"});
  ASSERT_EQ(r.code, 0) << r.out << r.err;
  const std::string log =
      "\n" + c.cli({"logs", std::to_string(c.scalar("SELECT id FROM jobs"))}).out;
  EXPECT_NE(log.find("\nMY_PASSED=2\n"), std::string::npos) << log;
  EXPECT_NE(log.find("\nMYGLOB_ONE=g1\n"), std::string::npos) << log;
  EXPECT_NE(log.find("\nPATH="), std::string::npos) << log;
  EXPECT_NE(log.find("\nHOME="), std::string::npos) << log;
  EXPECT_NE(log.find("\nOWN=mine\n"), std::string::npos) << log;
  EXPECT_NE(log.find("\nYARDSTICK_JOB_ID="), std::string::npos) << log;
  EXPECT_EQ(log.find("YARDSTICK_TEST_LEAK"), std::string::npos) << log;
  EXPECT_EQ(log.find("leaked"), std::string::npos) << log;
  // Nor the agent's own settings.
  EXPECT_EQ(log.find("YARDSTICK_TEST_DSN"), std::string::npos) << log;
}

TEST(Secrets, ASecretsFileOthersMayReadIsRefusedAtStart) {
  Cluster c;
  const std::string path = write_secrets_file(c, "open.secrets", "TOKEN=abc\n", 0644);
  auto start = [&](const std::string& name) {
    return std::make_unique<Process>(
        std::vector<std::string>{binary("yardstick-agent"), "--coordinator", c.agents_endpoint(),
                                 "--name", c.agent_name(name), "--home", c.dir() + "/home-" + name,
                                 "--secrets-file", path},
        c.dir() + "/agent-" + name + ".log");
  };
  auto refused = start("open");
  const int status = refused->wait(20s);
  ASSERT_NE(status, -1) << "the agent did not exit";
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) != 0) << status;
  EXPECT_NE(refused->log().find(path), std::string::npos) << refused->log();
  EXPECT_NE(refused->log().find("mode 0644"), std::string::npos) << refused->log();
  EXPECT_EQ(c.scalar("SELECT count(*) FROM agents"), 0);

  // A malformed line is named, its text is not shown.
  write_secrets_file(c, "open.secrets", "TOKEN=abc\nno-equals-s3cret\n", 0600);
  auto malformed = start("malformed");
  ASSERT_NE(malformed->wait(20s), -1);
  EXPECT_NE(malformed->log().find("line 2: expected NAME=VALUE"), std::string::npos)
      << malformed->log();
  EXPECT_EQ(malformed->log().find("no-equals-s3cret"), std::string::npos);

  // Mode 0600: the agent starts and registers.
  write_secrets_file(c, "open.secrets", "TOKEN=abc\n", 0600);
  c.add_agent("closed", "role=x", "machine-x", 1, {"--secrets-file", path});
  EXPECT_EQ(c.scalar("SELECT count(*) FROM agents"), 1);
}

TEST(Secrets, AMissingSecretFailsTheJobNamingItBeforeAnyStepRuns) {
  Cluster c;
  c.add_agent("plain", "role=plain", "machine-p");
  const std::string marker = c.dir() + "/step-ran";
  c.write_file("p.yml", R"(pipeline: missing
jobs:
  needs-secret:
    on: { labels: [role=plain] }
    secrets: [ABSENT_TOKEN]
    steps:
      - run: touch ')" + marker +
                            R"('
)");
  auto r = c.cli({"submit", "p.yml", "--wait"});
  EXPECT_NE(r.code, 0) << r.out << r.err;
  EXPECT_EQ(c.text("SELECT state FROM jobs"), "failed");
  EXPECT_NE(c.text("SELECT message FROM jobs").find("ABSENT_TOKEN"), std::string::npos)
      << c.text("SELECT message FROM jobs");
  EXPECT_NE((r.out + r.err).find("ABSENT_TOKEN"), std::string::npos) << r.out << r.err;
  EXPECT_EQ(c.scalar("SELECT count(*) FROM steps"), 0);
  EXPECT_FALSE(std::filesystem::exists(marker));
  EXPECT_NE(c.cli({"logs", std::to_string(c.scalar("SELECT id FROM jobs"))})
                .out.find("no secret ABSENT_TOKEN"),
            std::string::npos);
}

TEST(Secrets, CredentialsInACheckoutUrlAreRefusedAndStoredNowhere) {
  Cluster c;
  c.add_agent("git", "role=git", "machine-g");
  c.write_file("p.yml", R"(pipeline: creds
checkout: { repo: "https://user:s3cretPW@example.invalid/x.git" }
jobs:
  build:
    on: { labels: [role=git] }
    steps: [{run: "true"}]
)");
  auto r = c.cli({"submit", "p.yml", "--wait", "--revision", "abc"});
  EXPECT_EQ(r.code, 2) << r.out << r.err;
  EXPECT_NE(r.err.find("checkout.repo"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("https://***@example.invalid/x.git"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("nothing was submitted"), std::string::npos) << r.err;
  EXPECT_EQ((r.out + r.err).find("s3cretPW"), std::string::npos) << r.out << r.err;
  EXPECT_EQ(c.scalar("SELECT count(*) FROM pipelines"), 0);
  EXPECT_EQ(columns_holding(c, "s3cretPW"), std::vector<std::string>{});
  EXPECT_EQ(c.coordinator().log().find("s3cretPW"), std::string::npos);
  EXPECT_EQ(c.agent("git").log().find("s3cretPW"), std::string::npos);
}

}  // namespace
}  // namespace yardstick::test
