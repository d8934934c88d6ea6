// The dashboard (coordinator/web/) on a coordinator whose database real
// pipeline runs filled: its pages checked in headless Chromium
// (tests/browser/dashboard_check.py), /healthz and /metrics (promtool)
// through a PostgreSQL outage, and hostile HTTP clients that must not slow
// the scheduler down.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <httplib.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <thread>

#include "tests/integration/harness.hpp"

namespace yardstick::test {
namespace {

using namespace std::chrono_literals;
using json = nlohmann::json;

Cluster::Options with_dashboard(const std::string& dsn = "") {
  Cluster::Options o;
  o.coordinator_args = {"--http", "127.0.0.1:0"};
  o.dsn = dsn;
  return o;
}

std::pair<std::string, int> host_port(const std::string& address) {
  const auto colon = address.rfind(':');
  return {address.substr(0, colon), std::stoi(address.substr(colon + 1))};
}

// One GET with a deadline; status -1 when no answer came.
struct Got {
  int status = -1;
  std::string body;
  double seconds = 0;
};
Got get(const std::string& address, const std::string& path, int timeout_s = 10) {
  auto [host, port] = host_port(address);
  httplib::Client client(host, port);
  client.set_connection_timeout(timeout_s, 0);
  client.set_read_timeout(timeout_s, 0);
  const auto t0 = std::chrono::steady_clock::now();
  auto res = client.Get(path.c_str());
  Got g;
  g.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  if (res) {
    g.status = res->status;
    g.body = res->body;
  }
  return g;
}

// Runs `command` through the shell; its exit status and output.
std::pair<int, std::string> run(const std::string& command) {
  std::string out;
  FILE* p = popen((command + " 2>&1").c_str(), "r");
  if (!p) return {-1, ""};
  char buf[4096];
  while (size_t n = fread(buf, 1, sizeof buf, p)) out.append(buf, n);
  const int status = pclose(p);
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, out};
}

TEST(Dashboard, EveryPageShowsRealRunsInHeadlessChromium) {
  Cluster c(with_dashboard());
  c.add_agent("a", "pool=web", "box-a");
  c.add_agent("b", "pool=web", "box-b");
  ASSERT_FALSE(c.http_address().empty()) << c.coordinator().log();
  const std::string base = "http://" + c.http_address();

  // A build on both machines, twice: one job within its budget, one over it.
  c.write_file("build.yml", R"(pipeline: web-build
jobs:
  compile:
    on: { labels: [pool=web], machines: all }
    budget: { wall: 60s }
    steps:
      - name: compile
        run: 'echo compiling; echo "cache.hits 3" >> "$YARDSTICK_METRICS"; sleep 0.2'
      - name: link
        run: sleep 0.1
  package:
    on: { labels: [pool=web] }
    budget: { wall: 1ms }
    steps:
      - run: sleep 0.05
)");
  for (const char* rev : {"1111aaaa", "2222bbbb"}) {
    auto r = c.cli({"submit", "build.yml", "--wait", "--revision", rev});
    ASSERT_EQ(r.code, 0) << r.out << r.err;
  }
  // A two-variant benchmark on both machines.
  c.write_file("bench.yml", R"(pipeline: web-bench
jobs:
  naps:
    kind: bench
    on: { labels: [pool=web], machines: all }
    bench: { run: sleep 0.04, warmup: 1, runs: 10 }
    variants:
      - name: long
      - name: short
        run: sleep 0.005
)");
  auto r = c.cli({"submit", "bench.yml", "--wait"});
  ASSERT_EQ(r.code, 0) << r.out << r.err;
  // A failed job, whose step's name is markup (it must be shown as text).
  const std::string html_name = "<i id=\"injected\">x</i>";
  c.write_file("fail.yml",
               "pipeline: web-fail\njobs:\n  broken:\n    on: { labels: [pool=web] }\n"
               "    steps: [{name: '" +
                   html_name + "', run: 'echo no; exit 3'}]\n");
  EXPECT_EQ(c.cli({"submit", "fail.yml", "--wait"}).code, 1);
  // A deploy whose release fails and is rolled back, probed meanwhile.
  c.write_file("deploy.yml",
               "pipeline: web-deploy\njobs:\n  ship:\n    kind: deploy\n"
               "    on: { labels: [pool=web] }\n    deploy:\n"
               "      steps: [{name: release, run: 'sleep 0.5; exit 1'}]\n"
               "      probe: { url: \"" +
                   base + "/healthz\", interval: 100ms }\n" + "      rollback: { run: 'true' }\n");
  EXPECT_EQ(c.cli({"submit", "deploy.yml", "--wait"}).code, 1);
  ASSERT_EQ(c.text("SELECT outcome FROM deploys"), "rolled back")
      << c.text("SELECT string_agg(name || ' ' || ok, ', ') FROM deploy_phases");
  // A job that prints its last line only once the browser has its page open.
  const std::string go = c.dir() + "/go";
  const std::string marker = "after-line-" + std::to_string(::getpid());
  c.write_file("live.yml",
               "pipeline: web-live\njobs:\n  live:\n    on: { labels: [pool=web] }\n"
               "    steps:\n      - run: 'echo before-line; while [ ! -e " +
                   go + " ]; do sleep 0.1; done; echo " + marker + "'\n");
  ASSERT_EQ(c.cli({"submit", "live.yml"}).code, 0);
  const int64_t live_job = c.scalar(
      "SELECT j.id FROM jobs j JOIN pipelines p ON p.id = j.pipeline_id WHERE p.name = 'web-live'");

  json x;
  x["base"] = base;
  x["profile"] = c.dir() + "/chromium";
  x["screenshots"] = c.dir();
  x["go_file"] = go;
  x["live_job"] = live_job;
  x["live_marker"] = marker;
  x["pipelines"] = c.scalar("SELECT count(*) FROM pipelines");
  x["machines"] = {"box-a", "box-b"};
  x["build_name"] = "web-build";
  x["build_job_name"] = "compile";
  x["build_pipeline"] = c.scalar("SELECT max(id) FROM pipelines WHERE name = 'web-build'");
  x["build_jobs"] = 3;  // compile on two machines, package on one
  x["build_job"] =
      c.scalar("SELECT min(j.id) FROM jobs j WHERE j.name = 'compile' AND j.pipeline_id = " +
               std::to_string(x["build_pipeline"].get<int64_t>()));
  x["build_job_steps"] = c.scalar("SELECT count(*) FROM steps WHERE job_id = " +
                                  std::to_string(x["build_job"].get<int64_t>()));
  x["trend_points"] = 4;  // two revisions x two machines
  x["bench_name"] = "web-bench";
  x["bench_job_name"] = "naps";
  x["bench_pipeline"] = c.scalar("SELECT id FROM pipelines WHERE name = 'web-bench'");
  x["bench_bars"] = 4;  // two machines x two variants
  x["failed_pipeline"] = c.scalar("SELECT id FROM pipelines WHERE name = 'web-fail'");
  x["failed_job"] = c.scalar(
      "SELECT j.id FROM jobs j JOIN pipelines p ON p.id = j.pipeline_id"
      " WHERE p.name = 'web-fail'");
  x["html_name"] = html_name;
  std::ofstream(c.dir() + "/expect.json") << x.dump(2);

  auto [code, out] =
      run("/usr/bin/python3 " YARDSTICK_SOURCE_DIR "/tests/browser/dashboard_check.py " + c.dir() +
          "/expect.json");
  std::printf("%s", out.c_str());  // every check the browser made
  EXPECT_EQ(code, 0) << out << "\ncoordinator log tail:\n"
                     << c.coordinator().log().substr(c.coordinator().log().size() > 4000
                                                         ? c.coordinator().log().size() - 4000
                                                         : 0);
}

TEST(Dashboard, HealthzFollowsPostgresAndMetricsPassPromtool) {
  PrivatePg pg;
  Cluster c(with_dashboard(pg.dsn()));
  c.add_agent("a", "", "m-health");
  const std::string http = c.http_address();
  ASSERT_FALSE(http.empty());
  c.write_file("ok.yml", "pipeline: ok\njobs:\n  a:\n    steps: [{run: 'echo hi'}]\n");
  ASSERT_EQ(c.cli({"submit", "ok.yml", "--wait"}).code, 0);

  auto h = get(http, "/healthz");
  EXPECT_EQ(h.status, 200) << h.body;
  EXPECT_EQ(h.body, "ok\n");
  // The turn publishes its numbers every 100 ms.
  std::string metrics;
  ASSERT_TRUE(wait_for(
      [&] {
        metrics = get(http, "/metrics").body;
        return metrics.find("yardstick_job_transitions_total{state=\"succeeded\"} 1") !=
               std::string::npos;
      },
      5s))
      << metrics;
  for (const char* series :
       {"yardstick_agents_connected 1", "yardstick_queue_depth 0",
        "yardstick_dispatch_latency_seconds_count 1", "yardstick_store_up 1",
        "yardstick_agent_spool_backlog{agent=", "yardstick_turn_duration_seconds_bucket{le=",
        "yardstick_store_commit_seconds_count", "yardstick_results_acknowledged_total",
        "yardstick_refusals_total"})
    EXPECT_NE(metrics.find(series), std::string::npos) << series << "\n" << metrics;
  std::ofstream(c.dir() + "/metrics.txt") << metrics;
  auto [code, out] = run("promtool check metrics < " + c.dir() + "/metrics.txt");
  EXPECT_EQ(code, 0) << out;
  EXPECT_EQ(out.find("problem"), std::string::npos) << out;

  pg.stop();
  Got during;
  ASSERT_TRUE(wait_for(
      [&] {
        during = get(http, "/healthz");
        return during.status == 503;
      },
      10s))
      << during.status << " " << during.body;
  EXPECT_NE(during.body.find("PostgreSQL does not answer"), std::string::npos) << during.body;
  // A page while PostgreSQL is down: an error page at once, not a hang.
  auto page = get(http, "/pipelines/1");
  EXPECT_EQ(page.status, 503) << page.body;
  EXPECT_NE(page.body.find("PostgreSQL"), std::string::npos) << page.body;
  EXPECT_LT(page.seconds, 5.0);
  // /metrics still answers with the turn's own series.
  auto m = get(http, "/metrics");
  EXPECT_EQ(m.status, 200);
  EXPECT_NE(m.body.find("yardstick_agents_connected"), std::string::npos);

  pg.start();
  Got after;
  EXPECT_TRUE(wait_for(
      [&] {
        after = get(http, "/healthz");
        return after.status == 200;
      },
      30s))
      << after.status << " " << after.body;
  EXPECT_EQ(get(http, "/pipelines/1").status, 200);
  ASSERT_EQ(c.cli({"submit", "ok.yml", "--wait"}).code, 0);
  EXPECT_NE(get(http, "/metrics").body.find("yardstick_store_recoveries_total 1"),
            std::string::npos);
}

// Connects to `address` (HOST:PORT); -1 on failure.
int connect_to(const std::string& address) {
  auto [host, port] = host_port(address);
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_port = htons(static_cast<uint16_t>(port));
  ::inet_pton(AF_INET, host.c_str(), &sa.sin_addr);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

TEST(Dashboard, HostileHttpClientsDoNotDelayTheScheduler) {
  Cluster c(with_dashboard());
  c.add_agent("a", "", "m-hostile");
  const std::string http = c.http_address();
  ASSERT_FALSE(http.empty());
  c.write_file("ok.yml", "pipeline: ok\njobs:\n  a:\n    steps: [{run: 'true'}]\n");
  ASSERT_EQ(c.cli({"submit", "ok.yml", "--wait"}).code, 0);

  // 200 connections that send nothing and read nothing.
  std::vector<int> idle;
  for (int i = 0; i < 200; ++i) {
    int fd = connect_to(http);
    ASSERT_GE(fd, 0) << "connection " << i;
    idle.push_back(fd);
  }
  // One client sending a 10 MB header line, as fast as the server reads it.
  std::string big_answer = "(none)";
  std::thread big([&] {
    int fd = connect_to(http);
    if (fd < 0) return;
    std::string head = "GET / HTTP/1.1\r\nHost: x\r\nX-Big: ";
    (void)!::send(fd, head.data(), head.size(), MSG_NOSIGNAL);
    const std::string chunk(64 << 10, 'a');
    for (size_t sent = 0; sent < (10u << 20);) {
      ssize_t n = ::send(fd, chunk.data(), chunk.size(), MSG_NOSIGNAL);
      if (n <= 0) break;
      sent += static_cast<size_t>(n);
    }
    (void)!::send(fd, "\r\n\r\n", 4, MSG_NOSIGNAL);
    char buf[256];
    timeval tv{5, 0};
    ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    const ssize_t got = ::recv(fd, buf, sizeof buf, 0);
    if (got > 0) big_answer = std::string(buf, static_cast<size_t>(got)).substr(0, 30);
    ::close(fd);
  });

  // Meanwhile the scheduler runs a pipeline as fast as ever, and the
  // dashboard answers after the idle connections' turns (1 s each, 32 at once).
  CliResult r;
  double submit_wait_s = 0;
  std::thread submitter([&] {
    const auto t0 = std::chrono::steady_clock::now();
    r = c.cli({"submit", "ok.yml", "--wait"});
    submit_wait_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  });
  auto first = get(http, "/healthz", 30);
  submitter.join();
  std::printf("/healthz just after 200 idle connections opened: %d in %.2f s\n", first.status,
              first.seconds);
  EXPECT_EQ(first.status, 200);
  EXPECT_LT(first.seconds, 15.0);
  EXPECT_EQ(r.code, 0) << r.out << r.err;
  EXPECT_LT(submit_wait_s, 5.0);
  const double start_ms = static_cast<double>(c.scalar(
      "SELECT (extract(epoch FROM s.started_at - p.submitted_at) * 1000)::bigint FROM steps s"
      " JOIN jobs j ON j.id = s.job_id JOIN pipelines p ON p.id = j.pipeline_id"
      " ORDER BY p.id DESC LIMIT 1"));
  std::printf(
      "submit -> step start with 200 idle connections and a 10 MB header: %.0f ms; "
      "submit --wait %.2f s\n",
      start_ms, submit_wait_s);
  EXPECT_LT(start_ms, 2000);
  big.join();
  std::printf("the 10 MB header was answered: %s\n", big_answer.c_str());
  for (int fd : idle) ::close(fd);
  EXPECT_EQ(get(http, "/").status, 200);
  EXPECT_TRUE(c.coordinator().running());
  const long rss_kb = peak_rss_kb(c.coordinator().pid());
  std::printf("coordinator peak RSS: %ld KiB\n", rss_kb);
  EXPECT_LT(rss_kb, 400 * 1024);
}

TEST(Dashboard, BeyondLoopbackItNeedsABearerToken) {
  const std::string dir = make_temp_dir("web-token");
  // Refused at start without a token, naming the flag.
  Process refused({binary("yardstick-coordinator"), "--db", "host=127.0.0.1 port=1", "--insecure",
                   "--http", "0.0.0.0:0"},
                  dir + "/refused.log");
  const int status = refused.wait(10s);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 2) << refused.log();
  EXPECT_NE(refused.log().find("--http-token-file"), std::string::npos) << refused.log();

  const std::string token_file = dir + "/token";
  std::ofstream(token_file) << "0123456789abcdef0123456789abcdef\n";
  std::filesystem::permissions(
      token_file, std::filesystem::perms::owner_read | std::filesystem::perms::owner_write);
  Cluster::Options o;
  o.coordinator_args = {"--http", "127.0.0.1:0", "--http-token-file", token_file};
  Cluster c(o);
  const std::string http = c.http_address();
  auto [host, port] = host_port(http);
  httplib::Client client(host, port);
  EXPECT_EQ(client.Get("/")->status, 401);
  EXPECT_EQ(client.Get("/healthz")->status, 200);  // for load balancers, without the token
  httplib::Headers wrong = {{"Authorization", "Bearer 0123456789abcdef0123456789abcdeX"}};
  EXPECT_EQ(client.Get("/metrics", wrong)->status, 401);
  httplib::Headers right = {{"Authorization", "Bearer 0123456789abcdef0123456789abcdef"}};
  EXPECT_EQ(client.Get("/metrics", right)->status, 200);
  EXPECT_EQ(client.Get("/", right)->status, 200);
  EXPECT_EQ(client.Post("/", right, "x", "text/plain")->status, 405);
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace yardstick::test
