// Webhook notifications end to end: a real coordinator, agent and
// PostgreSQL, the real CLI, and webhook receivers on loopback
// (tests/support/http_server.hpp) that answer, refuse or hang.
#include <gtest/gtest.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <thread>

#include "tests/integration/harness.hpp"
#include "tests/support/http_server.hpp"

namespace yardstick::test {
namespace {

using namespace std::chrono_literals;
using json = nlohmann::json;

// The path of every receiver: a token, as Slack's webhook URLs carry one.
const std::string kTokenPath = "/services/T000/B000/s3cr3tT0ken";

// The JSON bodies of the POSTs `server` got to kTokenPath.
std::vector<json> posted(const HttpServer& server) {
  std::vector<json> out;
  for (const auto& r : server.requests()) {
    const std::string head = "POST " + kTokenPath + "\n\n";
    EXPECT_EQ(r.rfind(head, 0), 0u) << r;
    out.push_back(json::parse(r.substr(head.size())));
  }
  return out;
}

// Every job end the coordinator handed to its notifier was delivered or
// given up: nothing else is on its way (the jobs all ended before
// `submit --wait` returned, so no other hand-over will come).
void wait_until_every_notification_settled(Cluster& c) {
  EXPECT_TRUE(wait_for(
      [&] {
        const std::string log = c.coordinator().log();
        return count_of(log, "notified to webhook") ==
               count_of(log, ": delivered (attempt") + count_of(log, ": gave up after");
      },
      20s))
      << c.coordinator().log();
}

// Seconds from the first job's start to the last job's end, as stored.
double span_s(Cluster& c, int64_t pipeline_id) {
  return std::stod(c.text(
      "SELECT extract(epoch FROM max(ended_at) - min(started_at)) FROM jobs WHERE pipeline_id = " +
      std::to_string(pipeline_id)));
}

TEST(Notify, AFailedJobIsPostedToItsWebhookWithTheResult) {
  HttpServer receiver;
  Cluster c;
  c.add_agent("a", "", "m1");
  c.write_file("p.yml", "pipeline: notified\nnotify:\n  - webhook: " + receiver.url(kTokenPath) +
                            "\njobs:\n"
                            "  broken:\n    steps: [{run: echo before; exit 3}]\n"
                            "  fine:\n    steps: [{run: 'true'}]\n");
  auto r = c.cli({"submit", "p.yml", "--wait", "--revision", "r1", "--branch", "main"});
  ASSERT_EQ(r.code, 1) << r.out << r.err;
  ASSERT_TRUE(wait_for([&] { return receiver.request_count() >= 1; }, 10s))
      << c.coordinator().log();
  wait_until_every_notification_settled(c);
  auto bodies = posted(receiver);
  ASSERT_EQ(bodies.size(), 1u) << "the default is [failed, rolled_back]: 'fine' is not sent";
  const json& b = bodies[0];
  const int64_t pipeline = c.scalar("SELECT id FROM pipelines");
  EXPECT_EQ(b["pipeline"], "notified");
  EXPECT_EQ(b["pipeline_id"], pipeline);
  EXPECT_EQ(b["job"], "broken");
  EXPECT_EQ(b["job_id"], c.scalar("SELECT id FROM jobs WHERE name = 'broken'"));
  EXPECT_EQ(b["attempt"], 1);
  EXPECT_EQ(b["kind"], "build");
  EXPECT_EQ(b["event"], "failed");
  EXPECT_EQ(b["state"], "failed");
  EXPECT_EQ(b["message"], c.text("SELECT message FROM jobs WHERE name = 'broken'"));
  EXPECT_NE(b["message"].get<std::string>().find("exited with 3"), std::string::npos) << b;
  EXPECT_EQ(b["agent"], c.agent_name("a"));
  EXPECT_EQ(b["machine"], "m1");
  EXPECT_EQ(b["revision"], "r1");
  EXPECT_EQ(b["branch"], "main");
  EXPECT_TRUE(b["started_at"].is_string()) << b;
  EXPECT_TRUE(b["ended_at"].is_string()) << b;
  EXPECT_GE(b["duration_s"].get<double>(), 0.0);
  EXPECT_LT(b["duration_s"].get<double>(), 10.0);
  EXPECT_EQ(b["over_budget"], false);
  EXPECT_EQ(b["status_command"], "yardstick status " + std::to_string(pipeline));
  const std::string text = b["text"];
  EXPECT_EQ(text.rfind("yardstick: pipeline notified #" + std::to_string(pipeline) +
                           " job broken failed in ",
                       0),
            0u)
      << text;
  EXPECT_NE(text.find(" on agent " + c.agent_name("a") + " at revision r1: "), std::string::npos)
      << text;
  // What the user runs next works.
  auto st = c.cli({"status", std::to_string(pipeline)});
  EXPECT_EQ(st.code, 0) << st.err;
  // The coordinator's log names the webhook without its token.
  const std::string log = c.coordinator().log();
  EXPECT_NE(log.find("failed notified to webhook http://127.0.0.1:" +
                     std::to_string(receiver.port()) + "/***"),
            std::string::npos)
      << log;
  EXPECT_EQ(log.find("s3cr3tT0ken"), std::string::npos);
}

TEST(Notify, EachWebhookHearsOnlyOfTheEventsItAskedFor) {
  HttpServer on_success, on_failure, on_both, on_budget;
  Cluster c;
  c.add_agent("a", "", "m1");
  c.write_file("p.yml",
               "pipeline: quiet\n"
               "notify: [{webhook: " +
                   on_failure.url(kTokenPath) +
                   "}]\n"
                   "jobs:\n"
                   "  fine:\n"
                   "    notify:\n"
                   "      - {webhook: " +
                   on_success.url(kTokenPath) +
                   ", on: [succeeded]}\n"
                   "      - {webhook: " +
                   on_both.url(kTokenPath) +
                   ", on: [failed, succeeded]}\n"
                   "    steps: [{run: 'true'}]\n"
                   "  heavy:\n"
                   "    budget: {wall: 10ms}\n"
                   "    notify: [{webhook: " +
                   on_budget.url(kTokenPath) +
                   ", on: [over_budget, succeeded]}]\n"
                   "    steps: [{run: sleep 0.3}]\n");
  auto r = c.cli({"submit", "p.yml", "--wait"});
  ASSERT_EQ(r.code, 0) << r.out << r.err;
  for (HttpServer* s : {&on_success, &on_both, &on_budget})
    ASSERT_TRUE(wait_for([&] { return s->request_count() >= 1; }, 10s)) << c.coordinator().log();
  wait_until_every_notification_settled(c);
  auto got = posted(on_success);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0]["event"], "succeeded");
  EXPECT_EQ(got[0]["state"], "succeeded");
  EXPECT_EQ(got[0]["job"], "fine");
  got = posted(on_both);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0]["event"], "succeeded");
  // Over budget and succeeded: one POST, as the first event it asked for.
  got = posted(on_budget);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0]["job"], "heavy");
  EXPECT_EQ(got[0]["event"], "over_budget");
  EXPECT_EQ(got[0]["events"], json::array({"over_budget", "succeeded"}));
  EXPECT_EQ(got[0]["state"], "succeeded");
  EXPECT_EQ(got[0]["over_budget"], true);
  EXPECT_EQ(got[0]["message"].get<std::string>().rfind("over budget: ", 0), 0u) << got[0];
  EXPECT_EQ(on_failure.request_count(), 0u) << "the pipeline's webhook asked for failures only";
}

// A webhook that refuses connections or never answers delays neither the
// job, nor the job after it, nor `submit --wait`: each pipeline takes about
// as long as the same pipeline without a webhook.
TEST(Notify, ADeadOrHangingWebhookDelaysNothing) {
  HttpServer dead, hanging;
  dead.set(HttpServer::Mode::kDown);
  hanging.set(HttpServer::Mode::kHang);
  Cluster c;
  c.add_agent("a", "", "m1");
  auto pipeline = [](const std::string& name, const std::string& url) {
    std::string p = "pipeline: " + name + "\n";
    if (!url.empty()) p += "notify: [{webhook: " + url + ", on: [succeeded, failed]}]\n";
    return p +
           "jobs:\n"
           "  first:\n    steps: [{run: sleep 0.3}]\n"
           "  second:\n    needs: first\n    steps: [{run: sleep 0.3; exit 1}]\n";
  };
  struct Run {
    int code;
    double wall_s;  // submit --wait, as a user waits
    double span_s;  // first's start to second's end, as stored
  };
  auto run = [&](const std::string& file) {
    const auto t0 = std::chrono::steady_clock::now();
    auto r = c.cli({"submit", file, "--wait"});
    const double wall =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    const int64_t id = c.scalar("SELECT max(id) FROM pipelines");
    return Run{r.code, wall, span_s(c, id)};
  };
  c.write_file("none.yml", pipeline("plain", ""));
  c.write_file("dead.yml", pipeline("to-dead", dead.url(kTokenPath)));
  c.write_file("hang.yml", pipeline("to-hanging", hanging.url(kTokenPath)));
  run("none.yml");  // warm-up: the agent's first job
  const Run base = run("none.yml");
  const Run to_dead = run("dead.yml");
  const Run to_hanging = run("hang.yml");
  for (const Run& r : {base, to_dead, to_hanging}) EXPECT_EQ(r.code, 1) << "second fails";
  // A notifier that waited for the hanging webhook would add its 5 s
  // timeout per job end; the dead one, its retries' backoff (1 s, 2 s ...).
  EXPECT_LT(to_dead.span_s, base.span_s + 1.5) << base.span_s;
  EXPECT_LT(to_hanging.span_s, base.span_s + 1.5) << base.span_s;
  EXPECT_LT(to_dead.wall_s, base.wall_s + 1.5) << base.wall_s;
  EXPECT_LT(to_hanging.wall_s, base.wall_s + 1.5) << base.wall_s;
  // Both were tried: the hanging one was sent the document; the dead one's
  // failures are logged, masked, and retried.
  EXPECT_TRUE(wait_for([&] { return hanging.request_count() >= 1; }, 5s));
  const std::string dead_url = "http://127.0.0.1:" + std::to_string(dead.port()) + "/***";
  EXPECT_TRUE(wait_for(
      [&] {
        return c.coordinator().log().find("webhook " + dead_url + ": attempt 2 failed") !=
               std::string::npos;
      },
      10s))
      << c.coordinator().log();
  EXPECT_EQ(c.coordinator().log().find("s3cr3tT0ken"), std::string::npos);
  // And the coordinator still serves at once.
  const auto t0 = std::chrono::steady_clock::now();
  EXPECT_EQ(c.cli({"status", std::to_string(c.scalar("SELECT max(id) FROM pipelines"))}).code, 0);
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 3s);
}

// A deploy whose rollback held is `rolled_back` to a webhook that asked for
// it and `failed` to one that asked for failures only; a rollback that did
// not hold is a failure to both.
TEST(Notify, ARolledBackDeployIsRolledBackOnlyWhereAskedFor) {
  HttpServer both, failures;
  Cluster c;
  c.add_agent("a", "", "m1");
  c.write_file("p.yml", "pipeline: site\nnotify:\n  - webhook: " + both.url(kTokenPath) +
                            "\n  - webhook: " + failures.url(kTokenPath) +
                            "\n    on: [failed]\njobs:\n"
                            "  held:\n    kind: deploy\n    deploy:\n"
                            "      steps: [{name: release, run: exit 1}]\n"
                            "      rollback: {run: 'true'}\n"
                            "  lost:\n    kind: deploy\n    deploy:\n"
                            "      steps: [{name: release, run: exit 1}]\n"
                            "      rollback: {run: exit 2}\n");
  auto r = c.cli({"submit", "p.yml", "--wait"});
  ASSERT_EQ(r.code, 1) << r.out << r.err;
  ASSERT_TRUE(wait_for([&] { return both.request_count() >= 2; }, 10s)) << c.coordinator().log();
  ASSERT_TRUE(wait_for([&] { return failures.request_count() >= 2; }, 10s));
  wait_until_every_notification_settled(c);
  std::map<std::string, json> to_both, to_failures;
  for (const auto& b : posted(both)) to_both[b["job"]] = b;
  for (const auto& b : posted(failures)) to_failures[b["job"]] = b;
  ASSERT_EQ(to_both.size(), 2u);
  ASSERT_EQ(to_failures.size(), 2u);
  EXPECT_EQ(both.request_count(), 2u) << "one POST per webhook per job end";
  EXPECT_EQ(failures.request_count(), 2u);
  EXPECT_EQ(to_both["held"]["event"], "rolled_back");
  EXPECT_EQ(to_both["held"]["events"], json::array({"rolled_back", "failed"}));
  EXPECT_EQ(to_both["held"]["state"], "failed");
  EXPECT_EQ(to_both["held"]["kind"], "deploy");
  EXPECT_EQ(to_both["held"]["message"], c.text("SELECT message FROM jobs WHERE name = 'held'"));
  EXPECT_NE(to_both["held"]["text"].get<std::string>().find("job held failed (rolled back)"),
            std::string::npos)
      << to_both["held"];
  EXPECT_EQ(to_failures["held"]["event"], "failed");
  EXPECT_EQ(to_both["lost"]["event"], "failed");
  EXPECT_EQ(to_both["lost"]["events"], json::array({"failed"}));
  EXPECT_NE(to_both["lost"]["message"].get<std::string>().find("rollback failed"),
            std::string::npos)
      << to_both["lost"];
  EXPECT_EQ(to_failures["lost"]["event"], "failed");
}

// Submitted at a branch, the document names the commit that was checked out.
TEST(Notify, TheRevisionIsTheCommitTheCheckoutReported) {
  HttpServer receiver;
  Cluster c;
  c.add_agent("a", "", "m1");
  const std::string repo = c.dir() + "/repo";
  std::filesystem::create_directories(repo);
  ASSERT_EQ(std::system(("cd " + repo +
                         " && git init -q -b trunk && git config user.email t@e && "
                         "git config user.name t && echo one > f.txt && git add f.txt && "
                         "git commit -qm one")
                            .c_str()),
            0);
  c.write_file("p.yml", "pipeline: co\ncheckout: { repo: " + repo +
                            " }\nnotify:\n  - webhook: " + receiver.url(kTokenPath) +
                            "\njobs:\n  read:\n    steps: [{run: cat f.txt; exit 1}]\n");
  auto r = c.cli({"submit", "p.yml", "--wait", "--revision", "trunk", "--branch", "trunk"});
  ASSERT_EQ(r.code, 1) << r.out << r.err;
  ASSERT_TRUE(wait_for([&] { return receiver.request_count() >= 1; }, 10s));
  auto bodies = posted(receiver);
  ASSERT_EQ(bodies.size(), 1u);
  const std::string commit = c.text("SELECT revision FROM jobs");
  EXPECT_EQ(commit.size(), 40u) << commit;
  EXPECT_EQ(bodies[0]["revision"], commit);
  EXPECT_EQ(bodies[0]["branch"], "trunk");
  EXPECT_NE(bodies[0]["text"].get<std::string>().find(" at revision " + commit.substr(0, 12) + ":"),
            std::string::npos)
      << bodies[0];
}

// The webhooks are part of the stored pipeline file: a job that ends after
// a coordinator restart still notifies them.
TEST(Notify, AJobEndingAfterACoordinatorRestartIsStillNotified) {
  HttpServer receiver;
  Cluster c;
  c.add_agent("a", "", "m1");
  const std::string go = c.dir() + "/go";
  c.write_file("p.yml", "pipeline: survives\nnotify:\n  - webhook: " + receiver.url(kTokenPath) +
                            "\n    on: [failed]\njobs:\n  slow:\n    steps:\n"
                            "      - run: while [ ! -f " +
                            go + " ]; do sleep 0.1; done; exit 4\n");
  ASSERT_EQ(c.cli({"submit", "p.yml"}).code, 0);
  ASSERT_TRUE(wait_for([&] { return c.text("SELECT state FROM jobs") == "running"; }, 10s));
  c.kill_coordinator();
  c.start_coordinator();
  std::ofstream(go) << "go\n";
  ASSERT_TRUE(wait_for([&] { return c.text("SELECT state FROM jobs") == "failed"; }, 20s))
      << c.text("SELECT state || ' ' || message FROM jobs");
  ASSERT_TRUE(wait_for([&] { return receiver.request_count() >= 1; }, 10s))
      << c.coordinator().log();
  auto bodies = posted(receiver);
  ASSERT_EQ(bodies.size(), 1u);
  EXPECT_EQ(bodies[0]["job"], "slow");
  EXPECT_EQ(bodies[0]["event"], "failed");
  EXPECT_NE(bodies[0]["message"].get<std::string>().find("exited with 4"), std::string::npos)
      << bodies[0];
}

}  // namespace
}  // namespace yardstick::test
