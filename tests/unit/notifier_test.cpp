#include <gtest/gtest.h>

#include <chrono>
#include <mutex>
#include <thread>
#include <vector>

#include "coordinator/notifier.hpp"
#include "tests/support/http_server.hpp"

using namespace yardstick;
using namespace yardstick::test;
using namespace std::chrono_literals;

namespace {

struct Outcomes {
  std::mutex mu;
  std::vector<Notifier::Outcome> seen;
  Notifier::OutcomeHook hook() {
    return [this](const Notifier::Outcome& o) {
      std::lock_guard lock(mu);
      seen.push_back(o);
    };
  }
  // Waits up to 10 s for `n` outcomes.
  std::vector<Notifier::Outcome> wait(size_t n) {
    for (int i = 0; i < 1000; ++i) {
      {
        std::lock_guard lock(mu);
        if (seen.size() >= n) return seen;
      }
      std::this_thread::sleep_for(10ms);
    }
    std::lock_guard lock(mu);
    return seen;
  }
};

Notifier::Options fast() {
  Notifier::Options o;
  o.timeout = 500ms;
  o.first_backoff = 50ms;
  o.max_backoff = 200ms;
  o.retry_for = 2s;
  return o;
}

}  // namespace

TEST(Notifier, PostsTheJson) {
  HttpServer server;
  Outcomes out;
  Notifier n(fast(), out.hook());
  EXPECT_TRUE(n.post(server.url("/hook"), R"({"text":"deploy of web failed"})"));
  auto seen = out.wait(1);
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_TRUE(seen[0].delivered);
  EXPECT_EQ(seen[0].attempts, 1u);
  ASSERT_EQ(server.requests().size(), 1u);
  EXPECT_EQ(server.requests()[0], "POST /hook\n\n{\"text\":\"deploy of web failed\"}");
}

TEST(Notifier, RetriesAFailingWebhookWithBackoff) {
  HttpServer server;
  server.set(HttpServer::Mode::kAnswer, 503, "busy");
  Outcomes out;
  Notifier n(fast(), out.hook());
  n.post(server.url("/hook"), "{}");
  const auto deadline = std::chrono::steady_clock::now() + 10s;
  while (server.request_count() < 2 && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(10ms);
  ASSERT_GE(server.request_count(), 2u) << "no retry within 10 s";
  server.set(HttpServer::Mode::kAnswer, 200);
  auto seen = out.wait(1);
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_TRUE(seen[0].delivered);
  EXPECT_GE(seen[0].attempts, 3u);
}

TEST(Notifier, GivesUpAfterRetryFor) {
  HttpServer server;
  server.set(HttpServer::Mode::kDown);
  Outcomes out;
  auto o = fast();
  o.retry_for = 300ms;
  Notifier n(o, out.hook());
  n.post(server.url("/hook"), "{}");
  auto seen = out.wait(1);
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_FALSE(seen[0].delivered);
  EXPECT_GE(seen[0].attempts, 2u);
  EXPECT_FALSE(seen[0].error.empty());
  EXPECT_EQ(n.given_up(), 1u);
}

// A webhook that never answers holds up neither the caller nor another webhook.
TEST(Notifier, ADeadWebhookDoesNotDelayAnother) {
  HttpServer dead, live;
  dead.set(HttpServer::Mode::kHang);
  Outcomes out;
  auto o = fast();
  o.timeout = 5s;
  Notifier n(o, out.hook());
  const auto t0 = std::chrono::steady_clock::now();
  n.post(dead.url("/hook"), "{}");
  n.post(live.url("/hook"), "{}");
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 1s);  // post never waits for delivery
  auto seen = out.wait(1);
  ASSERT_GE(seen.size(), 1u);
  EXPECT_TRUE(seen[0].delivered);
  EXPECT_EQ(seen[0].url, live.url("/hook"));
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 4s);  // well before the dead one's timeout
}

// docs/pipelines.md (Notifications) states these.
TEST(Notifier, DefaultsAreTheDocumentedOnes) {
  const Notifier::Options o;
  EXPECT_EQ(o.timeout, 5s);
  EXPECT_EQ(o.first_backoff, 1s);
  EXPECT_EQ(o.max_backoff, 60s);
  EXPECT_EQ(o.retry_for, 10min);
}

// Webhooks that hang hold no more than the bounds: requests open at once,
// and notifications held in all (new, in flight, waiting to retry). Past
// them a new one is dropped at once, and the coordinator is never held up.
TEST(Notifier, HangingWebhooksHoldNoMoreThanItsBounds) {
  HttpServer server;
  server.set(HttpServer::Mode::kHang);
  Notifier::Options o = fast();
  o.timeout = 300ms;
  o.retry_for = 60s;
  o.max_queued = 40;
  o.max_in_flight = 4;
  Outcomes out;
  Notifier n(o, out.hook());
  size_t accepted = 0;
  for (int i = 0; i < 100; ++i) accepted += n.post(server.url("/hook"), "{}") ? 1 : 0;
  EXPECT_EQ(accepted, 40u);
  EXPECT_LE(n.held(), 40u);
  // Several rounds of timeouts and retries: the bounds hold throughout.
  const auto until = std::chrono::steady_clock::now() + 2s;
  while (std::chrono::steady_clock::now() < until) {
    EXPECT_LE(n.in_flight(), 4u);
    EXPECT_LE(n.held(), 40u);
    std::this_thread::sleep_for(20ms);
  }
  EXPECT_EQ(n.most_in_flight(), 4u);
  EXPECT_GT(server.request_count(), 8u);  // it kept trying, four at a time
  EXPECT_FALSE(n.post(server.url("/hook"), "{}"));
}
