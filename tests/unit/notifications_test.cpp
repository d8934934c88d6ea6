// Webhook notifications: the `notify:` syntax, which job ends a webhook
// hears of, and the document it gets.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "common/clock.hpp"
#include "common/pipeline.hpp"
#include "common/secrets.hpp"
#include "coordinator/change_detector.hpp"
#include "coordinator/job_table.hpp"
#include "coordinator/notifications.hpp"

using namespace yardstick;
using json = nlohmann::json;

namespace {

const char* kSlack = "https://hooks.slack.com/services/T000/B000/s3cr3tT0ken";

std::string errors_of(const std::string& yaml) {
  auto r = parse_pipeline(yaml, "p.yml");
  std::string out;
  for (const auto& e : r.errors) out += e.to_string() + "\n";
  return out;
}

// A pipeline with `notify_yaml` at the top and one job.
std::string with_notify(const std::string& notify_yaml) {
  return "pipeline: web\nnotify:\n" + notify_yaml + "jobs:\n  build:\n    steps: [{run: make}]\n";
}

// `rolled_back`: the deploy result said its rollback held (a field: the
// message's words are for people, never read back).
JobEnd end_of(JobState state, JobKind kind = JobKind::kBuild, const std::string& message = "",
              bool rolled_back = false) {
  JobEnd e;
  e.pipeline = "web";
  e.pipeline_id = 41;
  e.job = "ship";
  e.job_id = 42;
  e.attempt = 2;
  e.kind = kind;
  e.rolled_back = rolled_back;
  e.state = state;
  e.message = message;
  e.agent = "a1";
  e.machine = "m1";
  e.revision = "0123456789abcdef0123456789abcdef01234567";
  e.branch = "main";
  e.started_at_us = 1'764'417'600'000'000;  // 2025-11-29T12:00:00Z
  e.ended_at_us = e.started_at_us + 42'500'000;
  return e;
}

using Events = std::vector<std::string>;

}  // namespace

// --- Syntax -----------------------------------------------------------------

TEST(NotifySyntax, PipelineAndJobWebhooksWithTheDefaultEvents) {
  auto r = parse_pipeline(std::string(R"(pipeline: web
notify:
  - webhook: )") + kSlack + R"(
  - { webhook: "http://127.0.0.1:9000/all", on: [succeeded, failed, over_budget, rolled_back] }
jobs:
  build:
    steps: [{run: make}]
  ship:
    notify: [{webhook: "https://ops.example.com/hook?token=abc", on: [rolled_back]}]
    steps: [{run: ./ship}]
)",
                          "p.yml");
  ASSERT_TRUE(r.ok()) << r.errors[0].to_string();
  const PipelineDef& p = *r.pipeline;
  ASSERT_EQ(p.notify.size(), 2u);
  EXPECT_EQ(p.notify[0].url, kSlack);
  EXPECT_EQ(p.notify[0].on, (Events{"rolled_back", "failed"}));  // omitted: the default
  // Kept in the order events are picked, whatever the file's order.
  EXPECT_EQ(p.notify[1].on, (Events{"rolled_back", "failed", "over_budget", "succeeded"}));
  EXPECT_TRUE(p.jobs[0].notify.empty());
  ASSERT_EQ(p.jobs[1].notify.size(), 1u);
  EXPECT_EQ(p.jobs[1].notify[0].on, (Events{"rolled_back"}));
}

TEST(NotifySyntax, AJobsWebhooksAddToThePipelines) {
  auto r = parse_pipeline(R"(pipeline: web
notify: [{webhook: "https://a.example/1", on: [failed]}]
jobs:
  build:
    steps: [{run: make}]
  ship:
    notify:
      - {webhook: "https://a.example/1", on: [succeeded]}
      - {webhook: "https://b.example/2"}
    steps: [{run: ./ship}]
)",
                          "p.yml");
  ASSERT_TRUE(r.ok()) << r.errors[0].to_string();
  const PipelineDef& p = *r.pipeline;
  auto build = webhooks_for(p, p.jobs[0]);
  ASSERT_EQ(build.size(), 1u);
  EXPECT_EQ(build[0].on, (Events{"failed"}));
  auto ship = webhooks_for(p, p.jobs[1]);
  ASSERT_EQ(ship.size(), 2u);  // one URL at both levels is one webhook with both lists
  EXPECT_EQ(ship[0].url, "https://a.example/1");
  EXPECT_EQ(ship[0].on, (Events{"failed", "succeeded"}));
  EXPECT_EQ(ship[1].url, "https://b.example/2");
  EXPECT_EQ(ship[1].on, (Events{"rolled_back", "failed"}));

  auto hooks = pipeline_hooks(p);
  EXPECT_EQ(hooks["build"].size(), 1u);
  EXPECT_EQ(hooks["ship"].size(), 2u);
}

TEST(NotifySyntax, BadEntriesAreReportedWithLineAndKey) {
  auto e = errors_of(with_notify(R"(  - {webhook: "ftp://files.example/x"}
  - {webhook: "https://a.example/1", on: [failed, broken]}
  - {webhook: "https://a.example/2", on: []}
  - {webhook: "https://a.example/3", on: [failed, failed]}
  - {webhook: "https://a.example/4", when: always}
  - {on: [failed]}
  - "https://a.example/5"
  - {webhook: "https:///path-only"}
  - {webhook: "https://a.example/6", on: failed}
)"));
  EXPECT_NE(e.find("p.yml:3:15: notify[0].webhook: expected an http:// or https:// URL"),
            std::string::npos)
      << e;
  EXPECT_NE(e.find("p.yml:4:51: notify[1].on[1]: unknown event 'broken' (expected one of: "
                   "rolled_back, failed, over_budget, succeeded, pipeline_over_budget, regressed, "
                   "improved, bisected)"),
            std::string::npos)
      << e;
  EXPECT_NE(e.find("p.yml:5:42: notify[2].on: an empty list would never call the webhook"),
            std::string::npos)
      << e;
  EXPECT_NE(e.find("p.yml:6:51: notify[3].on[1]: 'failed' is listed twice"), std::string::npos)
      << e;
  EXPECT_NE(e.find("p.yml:7:38: notify[4].when: unknown key (expected one of: webhook, on)"),
            std::string::npos)
      << e;
  EXPECT_NE(e.find("p.yml:8:5: notify[5].webhook: missing key"), std::string::npos) << e;
  EXPECT_NE(e.find("notify[6]: expected {webhook: URL, on: [EVENT, ...]}, not a bare value"),
            std::string::npos)
      << e;
  EXPECT_NE(e.find("notify[7].webhook: expected an http:// or https:// URL"), std::string::npos)
      << e;
  EXPECT_NE(e.find("notify[8].on: expected a list of events"), std::string::npos) << e;
  EXPECT_EQ(errors_of("pipeline: web\nnotify: {webhook: \"https://a.example/1\"}\njobs:\n"
                      "  b:\n    steps: [{run: make}]\n"),
            "p.yml:2:9: notify: expected a list of webhooks, such as [{webhook: https://..., on: "
            "[failed]}]\n");
  // At job level too, with the job's path.
  EXPECT_NE(errors_of("pipeline: web\njobs:\n  b:\n    notify: [{webhook: mailto:me}]\n"
                      "    steps: [{run: make}]\n")
                .find("p.yml:4:24: jobs.b.notify[0].webhook: expected an http:// or https:// URL"),
            std::string::npos);
}

TEST(NotifySyntax, ErrorsNeverShowAWebhooksToken) {
  const std::string token = "s3cr3tT0ken";
  auto e = errors_of(with_notify("  - {webhook: \"" + std::string(kSlack) + "\", on: [failed]}\n" +
                                 "  - {webhook: \"" + std::string(kSlack) + "\"}\n" +
                                 "  - {webhook: \"https://h/" + token + "\", on: [nope]}\n" +
                                 "  - {webhook: \"gopher://h/" + token + "\"}\n" +
                                 "  - {webhook: \"https://h/a b" + token + "\"}\n"));
  EXPECT_NE(e.find("listed twice"), std::string::npos) << e;
  EXPECT_NE(e.find("'gopher://h/***'"), std::string::npos) << e;
  EXPECT_NE(e.find("a space or a control character (https://h/***)"), std::string::npos) << e;
  EXPECT_EQ(e.find(token), std::string::npos) << e;
}

TEST(NotifySyntax, MaskedUrlsKeepSchemeAndHostOnly) {
  EXPECT_EQ(mask_webhook_url(kSlack), "https://hooks.slack.com/***");
  EXPECT_EQ(mask_webhook_url("http://127.0.0.1:8080/hook?token=abc"), "http://127.0.0.1:8080/***");
  EXPECT_EQ(mask_webhook_url("https://example.com?token=abc"), "https://example.com/***");
  EXPECT_EQ(mask_webhook_url("https://user:pw@example.com/x"), "https://***@example.com/***");
  EXPECT_EQ(mask_webhook_url("https://example.com/"), "https://example.com/");
  EXPECT_EQ(mask_webhook_url("https://example.com"), "https://example.com");
  EXPECT_EQ(mask_webhook_url("not a url"), "***");
  EXPECT_EQ(mask_webhook_url("https:///x"), "***");
}

// --- Which job ends a webhook hears of -------------------------------------

TEST(NotifyEvents, EachJobEndHasItsEventsMostSpecificFirst) {
  EXPECT_EQ(job_end_events(end_of(JobState::kSucceeded)), (Events{"succeeded"}));
  EXPECT_EQ(job_end_events(end_of(JobState::kFailed)), (Events{"failed"}));
  EXPECT_EQ(job_end_events(end_of(JobState::kTimedOut)), (Events{"failed"}));
  auto over = end_of(JobState::kSucceeded);
  over.over_budget = true;
  EXPECT_EQ(job_end_events(over), (Events{"over_budget", "succeeded"}));
  over.state = JobState::kFailed;  // budget with fail: true
  EXPECT_EQ(job_end_events(over), (Events{"failed", "over_budget"}));
  EXPECT_EQ(job_end_events(end_of(JobState::kFailed, JobKind::kDeploy,
                                  "step activate exited 1; rolled back", true)),
            (Events{"rolled_back", "failed"}));
  EXPECT_EQ(
      job_end_events(end_of(JobState::kTimedOut, JobKind::kDeploy, "timed out; rolled back", true)),
      (Events{"rolled_back", "failed"}));
  // A rollback that did not hold is a failure, and only a deploy rolls back.
  EXPECT_EQ(job_end_events(end_of(JobState::kFailed, JobKind::kDeploy,
                                  "health deadline; rollback failed", false)),
            (Events{"failed"}));
  EXPECT_EQ(job_end_events(end_of(JobState::kFailed, JobKind::kBuild, "echo; rolled back", true)),
            (Events{"failed"}));
  // The words of a message decide nothing: a step may well print "; rolled back".
  EXPECT_EQ(job_end_events(end_of(JobState::kFailed, JobKind::kDeploy,
                                  "step said: schema rolled back", false)),
            (Events{"failed"}));
  // Nobody hears of these.
  EXPECT_TRUE(job_end_events(end_of(JobState::kCancelled)).empty());
  EXPECT_TRUE(job_end_events(end_of(JobState::kSkipped)).empty());
  EXPECT_TRUE(job_end_events(end_of(JobState::kFailed, JobKind::kCalibrate)).empty());
}

TEST(NotifyEvents, AWebhookGetsOnePostWithTheFirstEventItAskedFor) {
  const Events rolled{"rolled_back", "failed"};
  EXPECT_EQ(event_for({"u", {"rolled_back", "failed"}}, rolled), "rolled_back");
  EXPECT_EQ(event_for({"u", {"failed"}}, rolled), "failed");
  EXPECT_EQ(event_for({"u", {"succeeded"}}, rolled), std::nullopt);
  const Events over{"over_budget", "succeeded"};
  EXPECT_EQ(event_for({"u", {"over_budget", "succeeded"}}, over), "over_budget");
  EXPECT_EQ(event_for({"u", {"succeeded"}}, over), "succeeded");
  EXPECT_EQ(event_for({"u", {"rolled_back", "failed"}}, over), std::nullopt);
  EXPECT_EQ(event_for({"u", {"failed"}}, {}), std::nullopt);
}

// --- The document ----------------------------------------------------------

TEST(NotifyDocument, CarriesSlackTextAndTheStructuredResult) {
  auto end =
      end_of(JobState::kFailed, JobKind::kDeploy, "health deadline passed; rolled back", true);
  json doc = json::parse(notification_json(end, "rolled_back"));
  EXPECT_EQ(doc["text"],
            "yardstick: pipeline web #41 job ship failed (rolled back) in 42.5 s on agent a1 at "
            "revision 0123456789ab: health deadline passed; rolled back");
  EXPECT_EQ(doc["pipeline"], "web");
  EXPECT_EQ(doc["pipeline_id"], 41);
  EXPECT_EQ(doc["job"], "ship");
  EXPECT_EQ(doc["job_id"], 42);
  EXPECT_EQ(doc["attempt"], 2);
  EXPECT_EQ(doc["kind"], "deploy");
  EXPECT_EQ(doc["event"], "rolled_back");
  EXPECT_EQ(doc["events"], json::array({"rolled_back", "failed"}));
  EXPECT_EQ(doc["state"], "failed");
  EXPECT_EQ(doc["message"], "health deadline passed; rolled back");
  EXPECT_EQ(doc["agent"], "a1");
  EXPECT_EQ(doc["machine"], "m1");
  EXPECT_EQ(doc["revision"], "0123456789abcdef0123456789abcdef01234567");
  EXPECT_EQ(doc["branch"], "main");
  EXPECT_EQ(doc["started_at"], "2025-11-29T12:00:00.000Z");
  EXPECT_EQ(doc["ended_at"], "2025-11-29T12:00:42.500Z");
  EXPECT_DOUBLE_EQ(doc["duration_s"].get<double>(), 42.5);
  EXPECT_EQ(doc["over_budget"], false);
  EXPECT_EQ(doc["status_command"], "yardstick status 41");
}

TEST(NotifyDocument, APipelineOverBudgetHasTheJobEndsShapeWithoutAJob) {
  PipelineBudgetBreach breach;
  breach.pipeline_id = 40;
  breach.pipeline = "ship";
  breach.revision = "0123456789abcdef0123456789abcdef01234567";
  breach.branch = "main";
  breach.budget = "wall <= 420s";
  breach.budget_ms = 420'000;
  breach.actual_s = 431.25;
  json doc = json::parse(pipeline_notification_json(breach));
  json job = json::parse(
      notification_json(end_of(JobState::kFailed, JobKind::kBuild, "", false), "failed"));
  for (const auto& [key, value] : job.items()) EXPECT_TRUE(doc.contains(key)) << key;
  EXPECT_EQ(doc["text"],
            "yardstick: pipeline ship #40 over budget: wall &lt;= 420s, took 431.2 s at revision "
            "0123456789ab");
  EXPECT_EQ(doc["event"], "pipeline_over_budget");
  EXPECT_EQ(doc["events"], json::array({"pipeline_over_budget"}));
  EXPECT_EQ(doc["pipeline_id"], 40);
  EXPECT_TRUE(doc["job"].is_null());
  EXPECT_TRUE(doc["job_id"].is_null());
  EXPECT_EQ(doc["state"], "over_budget");
  EXPECT_EQ(doc["budget"], "wall <= 420s");
  EXPECT_DOUBLE_EQ(doc["budget_s"].get<double>(), 420);
  EXPECT_DOUBLE_EQ(doc["actual_s"].get<double>(), 431.25);
  EXPECT_EQ(doc["over_budget"], true);
  EXPECT_EQ(doc["status_command"], "yardstick status 40");
  // Never a job end's event: a webhook on [over_budget] does not get it.
  EXPECT_FALSE(event_for({"https://a.example/", {"over_budget"}}, {kPipelineOverBudget}));
}

TEST(NotifyDocument, AJobThatNeverStartedHasNoStartOrDuration) {
  auto end = end_of(JobState::kFailed, JobKind::kBuild, "no connected agent could take it");
  end.started_at_us = 0;
  end.agent.clear();
  end.machine.clear();
  end.revision.clear();
  json doc = json::parse(notification_json(end, "failed"));
  EXPECT_TRUE(doc["started_at"].is_null());
  EXPECT_TRUE(doc["duration_s"].is_null());
  EXPECT_FALSE(doc["ended_at"].is_null());
  EXPECT_EQ(doc["text"],
            "yardstick: pipeline web #41 job ship failed: no connected agent could take it");
}

TEST(NotifyDocument, TextIsOneEscapedLine) {
  auto end =
      end_of(JobState::kSucceeded, JobKind::kBuild, "over budget: wall <= 1s\n\n(actual 2) & more");
  end.over_budget = true;
  const std::string text = notification_text(end);
  EXPECT_EQ(text.find('\n'), std::string::npos) << text;
  EXPECT_NE(text.find("succeeded (over budget)"), std::string::npos) << text;
  EXPECT_NE(text.find("over budget: wall &lt;= 1s (actual 2) &amp; more"), std::string::npos)
      << text;
  // The structured message is as it was.
  json doc = json::parse(notification_json(end, "over_budget"));
  EXPECT_EQ(doc["message"], end.message);
  EXPECT_EQ(doc["over_budget"], true);

  end.message = std::string(1000, 'x');
  EXPECT_LT(notification_text(end).size(), 500u);
  end.message = "bad \xff byte";
  EXPECT_NO_THROW(json::parse(notification_json(end, "succeeded")));
}

TEST(NotifyDocument, HooksComeBackFromTheStoredFile) {
  std::string error;
  auto hooks =
      pipeline_hooks(with_notify("  - {webhook: \"https://a.example/1\"}\n"), "p.yml", &error);
  ASSERT_TRUE(hooks) << error;
  ASSERT_EQ((*hooks)["build"].size(), 1u);
  EXPECT_EQ((*hooks)["build"][0].url, "https://a.example/1");
  EXPECT_FALSE(pipeline_hooks("calibrate agent a on machine m", "", &error));
  EXPECT_FALSE(error.empty());
}

// --- Job ends, as the coordinator's table makes them -------------------------

namespace {
class CountingStore : public JobStore {
 public:
  void persist_transition(const Job&, JobState, const std::string&) override { ++transitions; }
  void persist_message(const Job&) override { ++messages; }
  void persist_cancel_request(const Job&) override { ++cancels; }
  int transitions = 0, messages = 0, cancels = 0;
};
}  // namespace

TEST(EndedJobs, KeepsEachJobThatEndedAndPassesEveryWriteOn) {
  CountingStore inner;
  EndedJobs ended(inner);
  FakeClock clock;
  JobTable table(ended, clock);
  Job a;
  a.id = 1;
  a.name = "a";
  table.add(a);
  Job b;
  b.id = 2;
  b.name = "b";
  b.needs = {1};
  table.add(b);
  Job* ja = table.find(1);
  table.settle(*ja);
  table.settle(*table.find(2));
  table.note(*ja, JobNote::kNoAgent, "waiting");
  table.transition(*ja, JobState::kAssigned);
  table.transition(*ja, JobState::kRunning);
  table.request_cancel(*ja);
  table.transition(*ja, JobState::kFailed, "exit 1");  // b is skipped with it
  EXPECT_EQ(inner.transitions, 5);
  EXPECT_EQ(inner.messages, 1);
  EXPECT_EQ(inner.cancels, 1);
  auto jobs = ended.take();
  ASSERT_EQ(jobs.size(), 2u);
  EXPECT_EQ(jobs[0].id, 1u);
  EXPECT_EQ(jobs[0].state, JobState::kFailed);
  EXPECT_EQ(jobs[0].message, "exit 1");
  EXPECT_EQ(jobs[1].id, 2u);
  EXPECT_EQ(jobs[1].state, JobState::kSkipped);
  EXPECT_TRUE(ended.take().empty());
}

namespace yardstick {
namespace {

FoundChange a_change(const std::string& kind, const std::string& unit, double ratio) {
  FoundChange f;
  f.series = {"release-build", "build", kind, "compile", unit, 3, "ci-3"};
  f.change.ratio = ratio;
  f.change.ci_low = ratio - 0.02;
  f.change.ci_high = ratio + 0.02;
  f.change.median_before = 60;
  f.change.median_after = 60 * ratio;
  f.change.n_before = 14;
  f.change.n_after = 2;
  f.change.p = 3e-7;
  f.change.detectable = 0.031;
  f.last_good_revision = "3f2a1c9d0e4b5f60718293a4b5c6d7e8f9012345";
  f.first_bad_revision = "8b0e4d2a91c7";
  f.last_good_pipeline_id = 812;
  f.first_bad_pipeline_id = 815;
  f.direction = change_direction(f.series, ratio);
  return f;
}

TEST(ChangeNotification, UpIsARegressionExceptForAPercentMetric) {
  EXPECT_EQ(change_direction({"p", "j", "step", "compile", "s", 1, "m"}, 1.1), "regressed");
  EXPECT_EQ(change_direction({"p", "j", "variant", "default", "s", 1, "m"}, 0.9), "improved");
  EXPECT_EQ(change_direction({"p", "j", "metric", "size", "bytes", 1, "m"}, 1.1), "regressed");
  EXPECT_EQ(change_direction({"p", "j", "metric", "ccache.hit_rate", "%", 1, "m"}, 1.1),
            "improved");
  EXPECT_EQ(change_direction({"p", "j", "metric", "ccache.hit_rate", "%", 1, "m"}, 0.9),
            "regressed");
}

TEST(ChangeNotification, TheDocumentSaysWhatMovedWhereBetweenWhichRevisionsAndByHowMuch) {
  const FoundChange f = a_change("step", "s", 1.248);
  EXPECT_EQ(change_text(f),
            "release-build build step compile on ci-3 regressed +24.8 % (60 s → 74.88 s, interval "
            "+22.8 … +26.8 %) between 3f2a1c9d0e4b and 8b0e4d2a91c7");
  const json doc = json::parse(change_notification_json(f));
  EXPECT_EQ(doc["event"], "regressed");
  EXPECT_EQ(doc["events"], json::array({"regressed"}));
  EXPECT_EQ(doc["pipeline"], "release-build");
  EXPECT_EQ(doc["machine"], "ci-3");
  EXPECT_EQ(doc["last_good_revision"], "3f2a1c9d0e4b5f60718293a4b5c6d7e8f9012345");
  EXPECT_EQ(doc["first_bad_pipeline_id"], 815);
  EXPECT_EQ(doc["points_after"], 2);
  EXPECT_DOUBLE_EQ(doc["ratio"].get<double>(), 1.248);
  EXPECT_EQ(doc["status_command"], "yardstick regressions --pipeline release-build");
  EXPECT_EQ(doc["text"].get<std::string>().rfind("yardstick: release-build build step", 0), 0u);
  // Names that are not UTF-8 still make a document that parses.
  FoundChange bad = f;
  bad.series.what = "compile\xff\xfe";
  EXPECT_NO_THROW(json::parse(change_notification_json(bad)));
}

}  // namespace
}  // namespace yardstick
