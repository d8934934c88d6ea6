// The dashboard's figures (docs/dashboard.md):
//
//  1. a history of 25,000 pipelines, 100,000 jobs, 100,000 steps and
//     1,000,000 benchmark samples, generated in PostgreSQL (generate_series)
//     under a real coordinator started with --http;
//  2. server time of /, /trends (a build job's and a bench job's) and
//     /compare/ID on that history: p50 and p99 of N sequential requests
//     over one keep-alive connection on loopback;
//  3. submit -> step start on an idle agent, alone and with 50 dashboard
//     clients polling (each: / and a job's log.json, once a second).
//
//   build/bench/dashboard_bench [--pipelines 25000] [--requests 200] [--submissions 50]
#include <httplib.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <map>
#include <mutex>
#include <thread>

#include "coordinator/cli/client.hpp"
#include "tests/integration/harness.hpp"

using namespace yardstick;
using namespace yardstick::test;
using namespace std::chrono_literals;

namespace {

int64_t now_us() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

double percentile(std::vector<double> v, double p) {
  std::sort(v.begin(), v.end());
  if (v.empty()) return 0;
  double idx = p * (v.size() - 1);
  size_t lo = static_cast<size_t>(idx);
  size_t hi = std::min(lo + 1, v.size() - 1);
  return v[lo] + (v[hi] - v[lo]) * (idx - lo);
}

void generate(Cluster& c, int pipelines) {
  const auto t0 = std::chrono::steady_clock::now();
  pqxx::connection conn(c.dsn());
  pqxx::work tx(conn);
  tx.exec(
      "INSERT INTO machines (fingerprint, name, cpu_model, logical_cores, memory_bytes,"
      " os_release, kernel, arch) SELECT 'hist-fp-' || i, 'hist-m' || i, 'Generated CPU', 8,"
      " 16000000000, 'Debian 12', '6.1.0', 'x86_64' FROM generate_series(1, 4) i");
  tx.exec_params(
      "CREATE TEMP TABLE gp AS SELECT i, nextval('yardstick_ids') AS id"
      " FROM generate_series(1, $1::int) i",
      pipelines);
  tx.exec(
      "INSERT INTO pipelines (id, name, revision, submitter, definition, submitted_at)"
      " SELECT id, 'history', lpad(to_hex(i), 8, '0'), 'bench', 'generated',"
      " now() - ((SELECT count(*) FROM gp) - i) * interval '1 minute' FROM gp");
  // Four jobs a pipeline: `build` on hist-m1 and hist-m2, `bench` on hist-m3 and hist-m4.
  tx.exec(
      "CREATE TEMP TABLE gj AS SELECT gp.id AS pid, k, nextval('yardstick_ids') AS id"
      " FROM gp, generate_series(0, 3) k");
  tx.exec(
      "INSERT INTO jobs (id, pipeline_id, name, kind, state, spec, machine_id, created_at,"
      " queued_at, started_at, ended_at)"
      " SELECT gj.id, gj.pid, CASE WHEN k < 2 THEN 'build' ELSE 'bench' END,"
      " CASE WHEN k < 2 THEN 'build' ELSE 'bench' END, 'succeeded', '{}', m.id,"
      " p.submitted_at, p.submitted_at, p.submitted_at + interval '1 s',"
      " p.submitted_at + (31 + random() * 5) * interval '1 s'"
      " FROM gj JOIN pipelines p ON p.id = gj.pid JOIN machines m ON m.name = 'hist-m' || (k + 1)");
  tx.exec(
      "INSERT INTO steps (job_id, attempt, idx, name, command, machine_id, started_at, ended_at,"
      " wall_s, user_s, sys_s, exit_code)"
      " SELECT j.id, 1, s, CASE s WHEN 0 THEN 'configure' ELSE 'compile' END, 'make',"
      " j.machine_id, j.started_at, j.ended_at, 10 + s * 20 + random(), 9, 1, 0"
      " FROM gj JOIN jobs j ON j.id = gj.id, generate_series(0, 1) s WHERE j.kind = 'build'");
  tx.exec(
      "INSERT INTO samples (job_id, attempt, variant_idx, variant, idx, wall_s, user_s, sys_s,"
      " max_rss_kb, exit_code, at)"
      " SELECT j.id, 1, v, CASE v WHEN 0 THEN 'default' ELSE 'mold' END, r,"
      " 1 - v * 0.1 + random() * 0.05, 0.9, 0.1, 1000, 0, j.started_at"
      " FROM gj JOIN jobs j ON j.id = gj.id, generate_series(0, 1) v, generate_series(0, 9) r"
      " WHERE j.kind = 'bench'");
  tx.exec(
      "INSERT INTO bench_results (job_id, attempt, variant_idx, variant, n, min_s, max_s, mean_s,"
      " median_s, ratio, ci_low, ci_high, p_value, verdict, mde)"
      " SELECT j.id, 1, v, CASE v WHEN 0 THEN 'default' ELSE 'mold' END, 10, 1, 1.05, 1.025,"
      " 1.025 - v * 0.1, CASE v WHEN 1 THEN 0.9 END, CASE v WHEN 1 THEN 0.88 END,"
      " CASE v WHEN 1 THEN 0.92 END, CASE v WHEN 1 THEN 0.0002 END,"
      " CASE v WHEN 1 THEN 'faster' END, CASE v WHEN 1 THEN 0.03 END"
      " FROM gj JOIN jobs j ON j.id = gj.id, generate_series(0, 1) v WHERE j.kind = 'bench'");
  tx.commit();
  pqxx::nontransaction(conn).exec("ANALYZE");
  std::printf("history: %lld pipelines, %lld jobs, %lld steps, %lld samples (%.1f s to generate)\n",
              static_cast<long long>(c.scalar("SELECT count(*) FROM pipelines")),
              static_cast<long long>(c.scalar("SELECT count(*) FROM jobs")),
              static_cast<long long>(c.scalar("SELECT count(*) FROM steps")),
              static_cast<long long>(c.scalar("SELECT count(*) FROM samples")),
              std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
}

std::pair<std::string, int> host_port(const std::string& address) {
  const auto colon = address.rfind(':');
  return {address.substr(0, colon), std::stoi(address.substr(colon + 1))};
}

void server_times(Cluster& c, int n) {
  auto [host, port] = host_port(c.http_address());
  httplib::Client client(host, port);
  client.set_keep_alive(true);
  const std::string bench_pipeline =
      std::to_string(c.scalar("SELECT max(pipeline_id) FROM jobs WHERE kind = 'bench'"));
  std::printf("| page | p50 | p99 | bytes |\n|---|---|---|---|\n");
  for (const std::string& path :
       {std::string("/"), std::string("/trends?pipeline=history&job=build&step=compile"),
        std::string("/trends?pipeline=history&job=bench"),
        std::string("/trends?pipeline=history&job=bench&last=500"), "/compare/" + bench_pipeline,
        std::string("/pipelines/") + bench_pipeline, std::string("/machines"),
        std::string("/metrics")}) {
    std::vector<double> ms;
    size_t bytes = 0;
    for (int i = 0; i < n; ++i) {
      const auto t0 = std::chrono::steady_clock::now();
      auto res = client.Get(path.c_str());
      ms.push_back(
          std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
      if (!res || res->status != 200) {
        std::printf("%s failed: %d\n", path.c_str(), res ? res->status : -1);
        return;
      }
      bytes = res->body.size();
    }
    std::printf("| `%s` | %.1f ms | %.1f ms | %zu |\n", path.c_str(), percentile(ms, 0.5),
                percentile(ms, 0.99), bytes);
  }
}

uint64_t submit(Client& client, const std::string& yaml) {
  capnp::MallocMessageBuilder b;
  auto s = client.request(b).getBody().initSubmit();
  s.setPipelineYaml(yaml);
  s.setFileName("bench.yml");
  s.setSubmitter("bench");
  auto f = client.call(b);
  return f->envelope().getBody().getSubmitReply().getPipelineId();
}

std::vector<double> submit_latency(Cluster& c, int n) {
  zmq::context_t ctx(1);
  Client client(ctx, c.clients_endpoint(), 10s, c.client_security());
  const std::string yaml = "pipeline: latency\njobs:\n  t:\n    steps: [{run: \"true\"}]\n";
  std::vector<std::pair<uint64_t, int64_t>> sent;
  for (int i = 0; i < n; ++i) {
    int64_t t0 = now_us();
    uint64_t id = submit(client, yaml);
    sent.emplace_back(id, t0);
    wait_for(
        [&] {
          return c.scalar("SELECT count(*) FROM jobs WHERE pipeline_id = " + std::to_string(id) +
                          " AND state = 'succeeded'") == 1;
        },
        10s);
  }
  std::vector<double> ms;
  for (auto [id, t0] : sent)
    ms.push_back((c.scalar("SELECT (extract(epoch FROM s.started_at) * 1e6)::bigint FROM steps s"
                           " JOIN jobs j ON j.id = s.job_id WHERE j.pipeline_id = " +
                           std::to_string(id) + " AND s.idx = 0") -
                  t0) /
                 1000.0);
  return ms;
}

}  // namespace

int main(int argc, char** argv) {
  int pipelines = 25'000, requests = 200, submissions = 50;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (!std::strcmp(argv[i], "--pipelines")) pipelines = std::atoi(argv[i + 1]);
    if (!std::strcmp(argv[i], "--requests")) requests = std::atoi(argv[i + 1]);
    if (!std::strcmp(argv[i], "--submissions")) submissions = std::atoi(argv[i + 1]);
  }
  Cluster::Options options;
  options.coordinator_args = {"--http", "127.0.0.1:0"};
  Cluster c(options);
  c.add_agent("idle", "", "bench-box");
  generate(c, pipelines);
  server_times(c, requests);

  auto alone = submit_latency(c, submissions);
  // 50 dashboard clients, each polling / and a job's log once a second.
  const std::string job = std::to_string(c.scalar("SELECT max(id) FROM jobs WHERE kind = 'build'"));
  std::atomic<bool> stop{false};
  std::atomic<uint64_t> served{0}, failed{0}, resent{0};
  std::mutex why_mutex;
  std::map<std::string, int> why;  // failures by kind
  std::vector<std::thread> clients;
  auto [host, port] = host_port(c.http_address());
  for (int i = 0; i < 50; ++i)
    clients.emplace_back([&, host = host, port = port] {
      httplib::Client client(host, port);
      client.set_keep_alive(true);
      while (!stop.load()) {
        for (const std::string& path : {std::string("/"), "/jobs/" + job + "/log.json?after=0"}) {
          auto res = client.Get(path.c_str());
          // A kept-alive connection the server closed meanwhile (idle past
          // 1 s): sent again on a new connection, as browsers do.
          if (!res) {
            ++resent;
            httplib::Client fresh(host, port);
            res = fresh.Get(path.c_str());
          }
          (res && res->status == 200 ? served : failed).fetch_add(1);
          if (!res || res->status != 200) {
            std::lock_guard lock(why_mutex);
            ++why[res ? "status " + std::to_string(res->status) + " " + res->body.substr(0, 160)
                      : "error " + httplib::to_string(res.error())];
          }
        }
        std::this_thread::sleep_for(1s);
      }
    });
  std::this_thread::sleep_for(2s);
  const auto t0 = std::chrono::steady_clock::now();
  auto busy = submit_latency(c, submissions);
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  const uint64_t during = served.load();
  stop = true;
  for (auto& t : clients) t.join();
  std::printf("| submit -> step start, idle agent (%d submissions) | p50 %.2f ms, p99 %.2f ms |\n",
              submissions, percentile(alone, 0.5), percentile(alone, 0.99));
  std::printf(
      "| the same with 50 dashboard clients polling | p50 %.2f ms, p99 %.2f ms (%.0f pages/s "
      "served, %llu sent again on a new connection, %llu failed) |\n",
      percentile(busy, 0.5), percentile(busy, 0.99), during / secs,
      static_cast<unsigned long long>(resent.load()),
      static_cast<unsigned long long>(failed.load()));
  for (const auto& [what, n] : why) std::printf("  failed %d x: %s\n", n, what.c_str());
  return 0;
}
