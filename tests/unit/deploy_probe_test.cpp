#include <gtest/gtest.h>

#include <thread>

#include "agent/deploy_probe.hpp"
#include "common/http.hpp"
#include "tests/support/http_server.hpp"

using namespace yardstick;
using namespace yardstick::test;
using namespace std::chrono_literals;

TEST(StatusRange, ParsesRangesListsAndRefusesNonsense) {
  std::string error;
  auto r = StatusRange::parse("200-299, 301,404", &error);
  ASSERT_TRUE(r) << error;
  EXPECT_TRUE(r->contains(200));
  EXPECT_TRUE(r->contains(299));
  EXPECT_TRUE(r->contains(301));
  EXPECT_TRUE(r->contains(404));
  EXPECT_FALSE(r->contains(300));
  EXPECT_FALSE(r->contains(503));
  for (const char* bad : {"", "abc", "300-200", "99", "200-", "200-700", "2xx"}) {
    error.clear();
    EXPECT_FALSE(StatusRange::parse(bad, &error)) << bad;
    EXPECT_NE(error.find("expected HTTP statuses"), std::string::npos) << bad;
  }
  EXPECT_TRUE(StatusRange().contains(399));
  EXPECT_FALSE(StatusRange().contains(400));
}

TEST(Http, EachFailureHasItsKind) {
  HttpServer server;
  auto a = http_get(server.url("/health"), 2s);
  EXPECT_TRUE(a.ok()) << a.error;
  EXPECT_EQ(a.status, 200);
  EXPECT_EQ(a.body, "ok");

  server.set(HttpServer::Mode::kAnswer, 503, "down");
  a = http_get(server.url(), 2s);
  EXPECT_EQ(a.failure, HttpFailure::kStatus);
  EXPECT_EQ(a.status, 503);
  EXPECT_NE(a.error.find("HTTP 503, expected 200-399"), std::string::npos) << a.error;

  server.set(HttpServer::Mode::kReset);
  EXPECT_EQ(http_get(server.url(), 2s).failure, HttpFailure::kReset);

  server.set(HttpServer::Mode::kHang);
  a = http_get(server.url(), 200ms);
  EXPECT_EQ(a.failure, HttpFailure::kTimeout) << a.error;

  server.set(HttpServer::Mode::kDown);
  EXPECT_EQ(http_get(server.url(), 2s).failure, HttpFailure::kRefused);

  server.set(HttpServer::Mode::kAnswer, 200, "v2");
  a = http_get(server.url(), 2s);
  EXPECT_TRUE(a.ok()) << a.error;
  EXPECT_EQ(a.body, "v2");
}

TEST(Http, PostsJson) {
  HttpServer server;
  auto a = http_post_json(server.url("/hook"), R"({"text":"deploy failed"})", 2s);
  EXPECT_TRUE(a.ok()) << a.error;
  auto seen = server.requests();
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_EQ(seen[0], "POST /hook\n\n{\"text\":\"deploy failed\"}");
  server.set(HttpServer::Mode::kAnswer, 500);
  EXPECT_EQ(http_post_json(server.url("/hook"), "{}", 2s).failure, HttpFailure::kStatus);
}

namespace {

ProbeRecord rec(int64_t tick, int64_t interval_us, HttpFailure f, double latency_ms = 1) {
  ProbeRecord r;
  r.tick = tick;
  r.sent_us = tick * interval_us;
  r.failure = f;
  r.latency_s = latency_ms / 1000;
  return r;
}

}  // namespace

TEST(ProbeSummary, LongestOutageRunsFromFirstFailureToNextGoodRequest) {
  const int64_t iv = 100'000;
  std::vector<ProbeRecord> r;
  for (int t = 0; t < 10; ++t) r.push_back(rec(t, iv, HttpFailure::kNone, t + 1));
  for (int t = 10; t < 13; ++t) r.push_back(rec(t, iv, HttpFailure::kRefused));  // 300 ms
  for (int t = 13; t < 20; ++t) r.push_back(rec(t, iv, HttpFailure::kNone, 5));
  r.push_back(rec(20, iv, HttpFailure::kTimeout));  // 100 ms
  for (int t = 21; t < 25; ++t) r.push_back(rec(t, iv, HttpFailure::kNone, 5));
  r.push_back(rec(25, iv, HttpFailure::kStatus));  // to the end, 2.5 s -> 2.65 s: 150 ms
  std::reverse(r.begin(), r.end());                // arrival order does not matter
  ProbeSummary s = summarize_probe(r, 2'650'000, iv);
  EXPECT_EQ(s.sent, 26u);
  EXPECT_EQ(s.failed, 5u);
  EXPECT_EQ(s.failures["refused"], 3u);
  EXPECT_EQ(s.failures["timeout"], 1u);
  EXPECT_EQ(s.failures["status"], 1u);
  EXPECT_DOUBLE_EQ(s.longest_outage_ms, 300);
  EXPECT_EQ(s.text(),
            "5 failed requests of 26 (refused 3, status 1, timeout 1), longest outage 300 ms");
  EXPECT_EQ(s.late, 0u);
}

TEST(ProbeSummary, CountsWithThousandsAndLateTicks) {
  std::vector<ProbeRecord> r;
  for (int t = 0; t < 1843; ++t) r.push_back(rec(t, 1000, HttpFailure::kNone));
  r[7].late_us = 2500;  // more than one interval late
  ProbeSummary s = summarize_probe(r, 1'843'000, 1000);
  EXPECT_EQ(s.text(), "0 failed requests of 1,843");
  EXPECT_EQ(s.late, 1u);
  EXPECT_DOUBLE_EQ(s.max_late_ms, 2.5);
}

// A real outage of a loopback server: every tick is sent (none skipped), the
// failures are refusals, and the reported outage is the real one within one
// interval (the bound here is looser: this machine may be busy).
TEST(Prober, SeesARealOutageWithoutSkippingTicks) {
  HttpServer server;
  ProbeSpec spec;
  spec.url = server.url("/");
  spec.interval = 20ms;
  spec.timeout = 1s;
  Prober probe(spec);
  probe.start();
  std::this_thread::sleep_for(300ms);
  auto down = server.set(HttpServer::Mode::kDown);
  std::this_thread::sleep_for(500ms);
  auto up = server.set(HttpServer::Mode::kAnswer);
  std::this_thread::sleep_for(300ms);
  probe.stop();
  const double real_ms = std::chrono::duration<double, std::milli>(up - down).count();
  auto records = probe.records();
  std::sort(records.begin(), records.end(),
            [](const ProbeRecord& a, const ProbeRecord& b) { return a.tick < b.tick; });
  ASSERT_GT(records.size(), 30u);
  for (size_t i = 0; i < records.size(); ++i) ASSERT_EQ(records[i].tick, static_cast<int64_t>(i));
  ProbeSummary s = probe.summary();
  // Refused, but for a request caught in the listen queue as it closed,
  // which is reset.
  EXPECT_GE(s.failures["refused"] + 2, s.failed) << s.text();
  EXPECT_GT(s.failed, 10u);
  EXPECT_GT(s.longest_outage_ms, real_ms - 300);
  EXPECT_LT(s.longest_outage_ms, real_ms + 300);
  EXPECT_GT(s.p50_ms, 0);
}

// A server that hangs must not stall the probe: ticks keep going out while
// earlier requests wait for their timeout.
TEST(Prober, AHungServerDoesNotDelayTheNextTicks) {
  HttpServer server;
  server.set(HttpServer::Mode::kHang);
  ProbeSpec spec;
  spec.url = server.url("/");
  spec.interval = 20ms;
  spec.timeout = 400ms;
  Prober probe(spec);
  probe.start();
  std::this_thread::sleep_for(600ms);
  probe.stop();
  ProbeSummary s = probe.summary();
  EXPECT_GE(s.sent, 25u);  // 600 ms / 20 ms = 30 ticks, not 600 / 400
  EXPECT_EQ(s.failures["timeout"], s.failed);
  EXPECT_EQ(s.failed, s.sent);
}
