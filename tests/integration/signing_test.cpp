// Signed jobs, end to end: the real CLI signs (`submit --signing-key`), the
// real coordinator stores and forwards the signed submission, and a real
// agent run with --trusted-submitters runs only what a trusted key signed,
// exactly as signed. A refused job runs nothing: each test's step would
// create a marker file whose absence it asserts.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <filesystem>
#include <string>

#include "common/signing.hpp"
#include "tests/integration/harness.hpp"

namespace yardstick::test {
namespace {

using namespace std::chrono_literals;
namespace fs = std::filesystem;

// Writes DIR/NAME.sign and DIR/NAME.sign.pub; returns the secret key's path.
std::string make_key(const Cluster& c, const std::string& name) {
  signing::write_signing_key_files(c.dir() + "/" + name);
  return c.dir() + "/" + name + ".sign";
}

// A pipeline whose one step creates `marker`.
std::string marker_pipeline(Cluster& c, const std::string& marker) {
  return c.write_file("signed.yml",
                      "pipeline: signed\njobs:\n  touch:\n    steps:\n"
                      "      - name: touch\n        run: echo ran; touch '" +
                          marker + "'\n");
}

// Starts an agent that trusts only the keys of `trusted_file`.
void add_strict_agent(Cluster& c, const std::string& trusted_file) {
  c.add_agent("strict", "pool=signed", "machine-strict", 1, {"--trusted-submitters", trusted_file});
}

std::string job_state(Cluster& c, int64_t job) {
  return c.text("SELECT state FROM jobs WHERE id = " + std::to_string(job));
}

// Waits for job `job` to end; returns its state.
std::string wait_ended(Cluster& c, int64_t job) {
  std::string state;
  wait_for(
      [&] {
        state = job_state(c, job);
        return state != "queued" && state != "assigned" && state != "running" && state != "pending";
      },
      20s);
  return state;
}

int64_t only_job(Cluster& c, int64_t pipeline) {
  return c.scalar("SELECT id FROM jobs WHERE pipeline_id = " + std::to_string(pipeline));
}

TEST(SignedSubmissions, SignedSubmissionRunsOnAnAgentThatRequiresSignatures) {
  Cluster c;
  const std::string key = make_key(c, "alice");
  add_strict_agent(c, key + ".pub");
  const std::string marker = c.dir() + "/ran";
  marker_pipeline(c, marker);
  auto r = c.cli({"submit", "signed.yml", "--signing-key", key, "--revision", "r1", "--branch",
                  "main", "--wait"});
  ASSERT_EQ(r.code, 0) << r.out << r.err;
  EXPECT_TRUE(fs::exists(marker));
  // The pipeline row keeps who signed, and the signature.
  auto row = c.query("SELECT signing_key, length(signature) FROM pipelines");
  ASSERT_EQ(row.size(), 1u);
  const std::string pub = signing::read_signing_key(key).public_key;
  EXPECT_EQ(row[0][0].as<std::string>(), signing::public_key_text(pub));
  EXPECT_EQ(row[0][1].as<int>(), 64);
  // Every job's stored spec carries the signed original.
  EXPECT_EQ(c.text("SELECT spec->'signedSubmission'->>'revision' FROM jobs"), "r1");
  EXPECT_NE(c.agent("strict").log().find("signed by alice (ed25519:"), std::string::npos);
  // The same key signed through the environment variable works too.
  fs::remove(marker);
  setenv("YARDSTICK_SIGNING_KEY", key.c_str(), 1);
  r = c.cli({"submit", "signed.yml", "--revision", "r1", "--branch", "main", "--wait"});
  unsetenv("YARDSTICK_SIGNING_KEY");
  ASSERT_EQ(r.code, 0) << r.out << r.err;
  EXPECT_TRUE(fs::exists(marker));
}

TEST(SignedSubmissions, UnsignedSubmissionIsRefusedAndNothingRuns) {
  Cluster c;
  const std::string key = make_key(c, "alice");
  add_strict_agent(c, key + ".pub");
  const std::string marker = c.dir() + "/ran";
  marker_pipeline(c, marker);
  auto r = c.cli({"submit", "signed.yml", "--revision", "r1", "--branch", "main", "--wait"});
  EXPECT_EQ(r.code, 1) << r.out << r.err;  // a job did not succeed
  const int64_t pipeline = c.scalar("SELECT id FROM pipelines");
  const int64_t job = only_job(c, pipeline);
  EXPECT_EQ(job_state(c, job), "failed");
  EXPECT_FALSE(fs::exists(marker)) << "the refused job ran its step";
  EXPECT_EQ(c.scalar("SELECT count(*) FROM steps WHERE job_id = " + std::to_string(job)), 0);
  const std::string why =
      "unsigned job refused: this agent requires signatures (--trusted-submitters)";
  auto status = c.cli({"status", std::to_string(pipeline)});
  EXPECT_NE(status.out.find(why), std::string::npos) << status.out;
  auto logs = c.cli({"logs", std::to_string(job)});
  EXPECT_NE(logs.out.find("refused this job: " + why), std::string::npos) << logs.out;
  EXPECT_TRUE(c.query("SELECT signing_key FROM pipelines")[0][0].is_null());
}

TEST(SignedSubmissions, SpecChangedInTheStoreAfterSigningIsRefusedAndNothingRuns) {
  Cluster c;
  const std::string key = make_key(c, "alice");
  const std::string original = c.dir() + "/original-ran";
  const std::string marker = c.dir() + "/tampered-ran";
  c.write_file("signed.yml",
               "pipeline: signed\njobs:\n  build:\n    steps:\n      - name: build\n"
               "        run: touch '" +
                   original + "'\n");
  // No agent yet: the job waits in the queue, its spec in PostgreSQL.
  auto r = c.cli(
      {"submit", "signed.yml", "--signing-key", key, "--revision", "r1", "--branch", "main", "-q"});
  ASSERT_EQ(r.code, 0) << r.out << r.err;
  const int64_t pipeline = std::stoll(r.out);
  const int64_t job = only_job(c, pipeline);
  // Someone with the database edits the command, and the coordinator restarts on it.
  c.query("UPDATE jobs SET spec = jsonb_set(spec, '{steps,0,run}', to_jsonb('touch ''" + marker +
          "''; echo tampered'::text)) WHERE id = " + std::to_string(job));
  ASSERT_NE(c.text("SELECT spec->'steps'->0->>'run' FROM jobs WHERE id = " + std::to_string(job))
                .find("tampered"),
            std::string::npos);
  c.kill_coordinator();
  c.start_coordinator();
  add_strict_agent(c, key + ".pub");
  EXPECT_EQ(wait_ended(c, job), "failed");
  EXPECT_FALSE(fs::exists(marker)) << "the tampered command ran";
  EXPECT_FALSE(fs::exists(original));
  const std::string why = "job 'build' differs from what was signed: step 1 run";
  EXPECT_NE(c.text("SELECT message FROM jobs WHERE id = " + std::to_string(job)).find(why),
            std::string::npos);
  auto status = c.cli({"status", std::to_string(job)});
  EXPECT_NE(status.out.find(why), std::string::npos) << status.out;
  auto logs = c.cli({"logs", std::to_string(job)});
  EXPECT_NE(logs.out.find(why), std::string::npos) << logs.out;
}

TEST(SignedSubmissions, KeyTheAgentDoesNotTrustIsRefused) {
  Cluster c;
  const std::string alice = make_key(c, "alice");
  const std::string mallory = make_key(c, "mallory");
  add_strict_agent(c, alice + ".pub");
  const std::string marker = c.dir() + "/ran";
  marker_pipeline(c, marker);
  auto r = c.cli({"submit", "signed.yml", "--signing-key", mallory, "--revision", "r1", "--branch",
                  "main", "--wait"});
  EXPECT_EQ(r.code, 1) << r.out << r.err;
  EXPECT_FALSE(fs::exists(marker));
  const int64_t job = c.scalar("SELECT id FROM jobs");
  const std::string message = c.text("SELECT message FROM jobs WHERE id = " + std::to_string(job));
  const std::string pub = signing::public_key_text(signing::read_signing_key(mallory).public_key);
  EXPECT_NE(message.find("signed by " + pub + ", a key this agent does not trust"),
            std::string::npos)
      << message;
}

TEST(SignedSubmissions, SecretKeyOthersCanReadIsRefusedAndNothingIsSubmitted) {
  Cluster c;
  const std::string key = make_key(c, "alice");
  chmod(key.c_str(), 0644);
  marker_pipeline(c, c.dir() + "/ran");
  auto r = c.cli({"submit", "signed.yml", "--signing-key", key, "--revision", "r1"});
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find("group or others"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("nothing was submitted"), std::string::npos) << r.err;
  EXPECT_EQ(c.scalar("SELECT count(*) FROM pipelines"), 0);
}

TEST(SignedSubmissions, AgentWithAMalformedTrustedFileRefusesToStart) {
  Cluster c;
  const std::string file = c.write_file("trusted", "# keys\nnot-a-key bob\n");
  Process agent({binary("yardstick-agent"), "--coordinator", c.agents_endpoint(), "--name", "bad",
                 "--home", c.dir() + "/home-bad", "--trusted-submitters", file},
                c.dir() + "/agent-bad.log");
  const int status = agent.wait(10s);
  ASSERT_TRUE(WIFEXITED(status)) << status;
  EXPECT_EQ(WEXITSTATUS(status), 2);
  EXPECT_NE(agent.log().find(file + ":2: expected a signing public key"), std::string::npos)
      << agent.log();
}

}  // namespace
}  // namespace yardstick::test
