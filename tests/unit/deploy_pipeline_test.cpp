#include <gtest/gtest.h>

#include <capnp/message.h>

#include <cstdio>
#include <fstream>

#include "agent/deploy_process.hpp"
#include "common/pipeline.hpp"
#include "common/wire.hpp"

using namespace yardstick;
using namespace std::chrono_literals;

namespace {

std::string errors_of(const std::string& yaml) {
  auto r = parse_pipeline(yaml, "p.yml");
  std::string out;
  for (const auto& e : r.errors) out += e.to_string() + "\n";
  return out;
}

}  // namespace

TEST(DeployPipeline, ParsesEveryKeyWithTheDocumentedDefaults) {
  auto r = parse_pipeline(R"(pipeline: web
jobs:
  ship:
    kind: deploy
    deploy:
      steps:
        - { name: push, run: ./push.sh, timeout: 10m }
        - { name: activate, run: ./activate.sh }
      health: { url: "http://127.0.0.1:8080/health", min_healthy: 2s }
      probe: { url: "http://127.0.0.1:8080/", interval: 50ms }
      version: { url: "http://127.0.0.1:8080/version" }
      rollback: { run: ./rollback.sh }
)",
                          "p.yml");
  ASSERT_TRUE(r.ok()) << r.errors[0].to_string();
  const JobDef& j = r.pipeline->jobs[0];
  EXPECT_EQ(j.kind, JobKind::kDeploy);
  ASSERT_TRUE(j.deploy);
  const DeploySpec& d = *j.deploy;
  ASSERT_EQ(d.steps.size(), 2u);
  EXPECT_EQ(d.steps[0].timeout_ms, 600'000u);
  ASSERT_TRUE(d.health);
  EXPECT_EQ(d.health->interval, 1s);
  EXPECT_EQ(d.health->timeout, 5s);
  EXPECT_EQ(d.health->failure_threshold, 3u);
  EXPECT_EQ(d.health->deadline, 300s);
  EXPECT_EQ(d.health->min_healthy, 2s);
  ASSERT_TRUE(d.probe);
  EXPECT_EQ(d.probe->interval, 50ms);
  EXPECT_EQ(d.probe->timeout, 2s);
  EXPECT_TRUE(d.probe->expect.contains(302));
  ASSERT_TRUE(d.version);
  EXPECT_EQ(d.version->expect, "${YARDSTICK_REVISION}");
  ASSERT_TRUE(d.rollback);
  EXPECT_EQ(d.rollback->on,
            (std::vector<std::string>{"step_failed", "health_deadline", "probe_failures"}));
  EXPECT_EQ(d.rollback->max_failed_requests, 0u);
}

TEST(DeployPipeline, BadKeysAreNamedWithTheirLine) {
  const std::string e = errors_of(R"(pipeline: web
jobs:
  ship:
    kind: deploy
    steps: [ { run: make } ]
    deploy:
      steps: []
      health: { url: "ftp://x", run: "true", expect: "2xx", success_threshold: 0 }
      probe: { interval: 0ms }
      rollback: { on: [step_failed, coffee] }
)");
  EXPECT_NE(e.find("p.yml:5:12: jobs.ship.steps: a deploy job's steps go under deploy.steps"),
            std::string::npos)
      << e;
  EXPECT_NE(e.find("jobs.ship.deploy.steps: a deploy needs a list of at least one step"),
            std::string::npos)
      << e;
  EXPECT_NE(e.find("jobs.ship.deploy.health: either url (an HTTP check) or run"), std::string::npos)
      << e;
  EXPECT_NE(e.find("jobs.ship.deploy.health.url: expected an http:// or https:// URL"),
            std::string::npos)
      << e;
  EXPECT_NE(e.find("jobs.ship.deploy.health.expect: expected HTTP statuses"), std::string::npos)
      << e;
  EXPECT_NE(e.find("jobs.ship.deploy.health.success_threshold: expected an integer from 1"),
            std::string::npos)
      << e;
  EXPECT_NE(e.find("jobs.ship.deploy.probe.url: missing key"), std::string::npos) << e;
  EXPECT_NE(e.find("jobs.ship.deploy.probe.interval: must be at least 1ms"), std::string::npos)
      << e;
  EXPECT_NE(e.find("jobs.ship.deploy.rollback.run: missing key"), std::string::npos) << e;
  EXPECT_NE(e.find("p.yml:10:37: jobs.ship.deploy.rollback.on[1]: unknown reason 'coffee'"),
            std::string::npos)
      << e;
}

TEST(DeployPipeline, DeployKeysBelongToDeployJobs) {
  EXPECT_NE(errors_of("pipeline: p\njobs:\n  b:\n    steps: [{run: make}]\n    deploy: {}\n")
                .find("only a job of kind: deploy has deploy"),
            std::string::npos);
  EXPECT_NE(errors_of("pipeline: p\njobs:\n  d:\n    kind: deploy\n")
                .find("missing key: a deploy job needs deploy:"),
            std::string::npos);
  EXPECT_NE(errors_of("pipeline: p\njobs:\n  d:\n    kind: deploy\n    deploy:\n      steps: "
                      "[{run: x}]\n      rollback: {run: y, on: [probe_failures]}\n")
                .find("probe_failures needs a probe: key"),
            std::string::npos);
}

// What the validator makes of a deploy job reaches the agent whole: the
// assignment the coordinator builds, through the wire and back, is equal.
TEST(DeployPipeline, TheAssignmentRoundTripsTheWire) {
  auto r = parse_pipeline(R"(pipeline: web
jobs:
  ship:
    kind: deploy
    deploy:
      steps: [ { name: activate, run: ./release.sh, timeout: 2m } ]
      health: { run: "curl -fs http://127.0.0.1/health", expect: "200,204", interval: 250ms,
                start_period: 1s, success_threshold: 2, failure_threshold: 4, deadline: 90s,
                min_healthy: 3s }
      probe: { url: "https://example.org/", interval: 50ms, timeout: 1s, expect: "200-299" }
      version: { url: "http://127.0.0.1/version", expect: "v-${YARDSTICK_REVISION}" }
      rollback: { run: ./rollback.sh, on: [step_failed], max_failed_requests: 3, timeout: 5m }
)",
                          "p.yml");
  ASSERT_TRUE(r.ok()) << r.errors[0].to_string();
  JobAssignment a = assignment_for(*r.pipeline, r.pipeline->jobs[0], "abc123", "main");
  ASSERT_TRUE(a.deploy);
  capnp::MallocMessageBuilder b;
  wire_io::fill(wire_io::start(b, 1).getBody().initAssign(), a);
  zmq::message_t m = wire_io::to_message(b);
  auto decoded = wire_io::decode_frame(m.data(), m.size());
  ASSERT_TRUE(std::holds_alternative<std::unique_ptr<wire_io::Frame>>(decoded));
  JobAssignment back = wire_io::read(
      std::get<std::unique_ptr<wire_io::Frame>>(decoded)->envelope().getBody().getAssign());
  ASSERT_TRUE(back.deploy);
  EXPECT_EQ(*back.deploy, *a.deploy);
  EXPECT_EQ(back, a);
  EXPECT_EQ(back.deploy->health->interval, 250ms);
  EXPECT_TRUE(back.deploy->health->expect.contains(204));
  EXPECT_FALSE(back.deploy->health->expect.contains(201));
  EXPECT_EQ(back.deploy->probe->interval, 50ms);
  EXPECT_EQ(back.deploy->rollback->on, std::vector<std::string>{"step_failed"});
}

// Every field of what an agent reports of a deploy, with no field left at
// its default, survives the wire and the deploy process's events file.
TEST(DeployPipeline, PhasesAndResultsRoundTripTheWireAndTheEventsFile) {
  const DeployPhase phase{"rollback verified", 1'700'000'000'123'456, 1'700'000'004'654'321, false,
                          "health check: HTTP 503, expected 200-399"};
  DeployReport report;
  report.outcome = DeployOutcome::kRollbackFailed;
  report.reason = "probe_failures";
  report.message = "the probe saw 3 failed requests; rollback failed";
  report.old_version = "v1";
  report.new_version = "v2";
  report.switch_old = 7;
  report.switch_new = 11;
  ProbeCounts c;
  c.sent = 1843;
  c.failed = 15;
  c.failures = {{"status", 1}, {"refused", 2}, {"reset", 3}, {"timeout", 4}, {"other", 5}};
  c.late = 6;
  c.longest_outage_ms = 1205.5;
  c.p50_ms = 1.25;
  c.p99_ms = 9.75;
  c.interval_us = 50'000;
  report.probe = c;
  const ResultKey key{42, 3, 99};

  capnp::MallocMessageBuilder pb;
  wire_io::fill(pb.initRoot<wire::DeployPhase>(), key, phase);
  EXPECT_EQ(wire_io::read(pb.getRoot<wire::DeployPhase>().asReader()), phase);
  EXPECT_EQ(wire_io::read(pb.getRoot<wire::DeployPhase>().asReader().getKey()), key);
  capnp::MallocMessageBuilder rb;
  wire_io::fill(rb.initRoot<wire::DeployResult>(), key, report);
  EXPECT_EQ(wire_io::read(rb.getRoot<wire::DeployResult>().asReader()), report);
  EXPECT_EQ(wire_io::read(rb.getRoot<wire::DeployResult>().asReader().getKey()), key);
  DeployReport no_probe = report;
  no_probe.probe.reset();
  capnp::MallocMessageBuilder nb;
  wire_io::fill(nb.initRoot<wire::DeployResult>(), key, no_probe);
  EXPECT_EQ(wire_io::read(nb.getRoot<wire::DeployResult>().asReader()), no_probe);

  const std::string path = ::testing::TempDir() + "/deploy-events-roundtrip";
  { std::ofstream(path) << event_line(phase) << event_line(report) << event_line(no_probe); }
  size_t offset = 0;
  std::vector<std::string> warnings;
  auto events = read_deploy_events(path, &offset, &warnings);
  EXPECT_TRUE(warnings.empty());
  ASSERT_EQ(events.size(), 3u);
  ASSERT_TRUE(events[0].phase);
  EXPECT_EQ(*events[0].phase, phase);
  ASSERT_TRUE(events[1].result);
  EXPECT_EQ(*events[1].result, report);
  ASSERT_TRUE(events[2].result);
  EXPECT_EQ(*events[2].result, no_probe);
  std::remove(path.c_str());
}
