// Figures of the deploy probe (agent/deploy_probe.*):
//
//  1. Precision: a loopback server goes down (its listener closed, so
//     connections are refused) for an outage of known length, measured by
//     the server itself; the probe reports its longest outage. The error
//     against the real length, per interval, over `--repeat` outages each.
//  2. Rate: the probe against a real nginx (Debian's nginx-light,
//     unprivileged, on loopback) at shorter and shorter intervals, each for
//     `--seconds`: requests sent, ticks sent more than one interval late,
//     the latest tick, failures, latency p50 and p99. The highest rate with
//     no late tick is the figure.
//
//   build/bench/probe_bench [--repeat 5] [--seconds 3]
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "agent/deploy_probe.hpp"
#include "tests/support/http_server.hpp"

using namespace yardstick;
using namespace yardstick::test;
using namespace std::chrono;

namespace {

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  const size_t n = v.size();
  return n == 0 ? NAN : n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

void precision(int repeat) {
  std::printf(
      "| interval | real outage | reported (median of %d) | error: median | error: largest |\n"
      "|---|---|---|---|---|\n",
      repeat);
  for (int interval_ms : {100, 20}) {
    for (int outage_ms : {250, 1000, 3000}) {
      std::vector<double> reported, errors;
      for (int r = 0; r < repeat; ++r) {
        HttpServer server;
        ProbeSpec spec;
        spec.url = server.url("/");
        spec.interval = milliseconds(interval_ms);
        spec.timeout = 2s;
        Prober probe(spec);
        probe.start();
        // Start the outage at a different phase of the tick each time.
        std::this_thread::sleep_for(milliseconds(300 + r * interval_ms / repeat));
        auto down = server.set(HttpServer::Mode::kDown);
        std::this_thread::sleep_for(milliseconds(outage_ms));
        auto up = server.set(HttpServer::Mode::kAnswer);
        std::this_thread::sleep_for(300ms);
        probe.stop();
        const double real = duration<double, std::milli>(up - down).count();
        const double got = probe.summary().longest_outage_ms;
        reported.push_back(got);
        errors.push_back(got - real);
      }
      double largest = 0;
      for (double e : errors)
        if (std::fabs(e) > std::fabs(largest)) largest = e;
      std::printf("| %d ms | %d ms | %.0f ms | %+.1f ms | %+.1f ms |\n", interval_ms, outage_ms,
                  median(reported), median(errors), largest);
    }
  }
}

struct Nginx {
  std::string dir;
  pid_t pid = -1;
  int port = 0;
  Nginx() {
    char tmpl[] = "/tmp/yardstick-probe-bench-XXXXXX";
    dir = mkdtemp(tmpl);
    HttpServer probe_port;  // a free port: take it, let it go
    port = probe_port.port();
  }
  void start() {
    std::ofstream conf(dir + "/nginx.conf");
    conf << "daemon off;\nworker_processes 1;\npid " << dir << "/nginx.pid;\nerror_log " << dir
         << "/error.log;\nevents { worker_connections 4096; }\nhttp {\n  access_log off;\n"
         << "  client_body_temp_path " << dir << "/body;\n  proxy_temp_path " << dir
         << "/proxy;\n  fastcgi_temp_path " << dir << "/fastcgi;\n  uwsgi_temp_path " << dir
         << "/uwsgi;\n  scgi_temp_path " << dir
         << "/scgi;\n  server {\n    listen 127.0.0.1:" << port
         << ";\n    location / { return 200 \"v1\\n\"; }\n  }\n}\n";
    conf.close();
    pid = fork();
    if (pid == 0) {
      execlp("nginx", "nginx", "-p", dir.c_str(), "-c", (dir + "/nginx.conf").c_str(),
             static_cast<char*>(nullptr));
      _exit(127);
    }
    for (int i = 0; i < 100; ++i) {
      if (http_get("http://127.0.0.1:" + std::to_string(port) + "/", 1s).ok()) return;
      std::this_thread::sleep_for(50ms);
    }
    throw std::runtime_error("nginx did not start: see " + dir + "/error.log");
  }
  ~Nginx() {
    if (pid > 0) {
      kill(pid, SIGQUIT);
      waitpid(pid, nullptr, 0);
    }
    std::filesystem::remove_all(dir);
  }
};

void rate(int seconds) {
  Nginx nginx;
  nginx.start();
  std::printf(
      "\n| interval | requests | late ticks | latest tick | failed | latency p50 | p99 |\n"
      "|---|---|---|---|---|---|---|\n");
  for (int us : {100000, 10000, 5000, 2000, 1000, 500}) {
    ProbeSpec spec;
    spec.url = "http://127.0.0.1:" + std::to_string(nginx.port) + "/";
    spec.interval = microseconds(us);
    spec.timeout = 2s;
    Prober probe(spec);
    probe.start();
    std::this_thread::sleep_for(std::chrono::seconds(seconds));
    probe.stop();
    ProbeSummary s = probe.summary();
    std::printf("| %g ms | %s | %llu | %.2f ms | %llu | %.2f ms | %.2f ms |\n", us / 1000.0,
                with_thousands(s.sent).c_str(), static_cast<unsigned long long>(s.late),
                s.max_late_ms, static_cast<unsigned long long>(s.failed + s.overloaded), s.p50_ms,
                s.p99_ms);
  }
}

}  // namespace

int main(int argc, char** argv) {
  int repeat = 5, seconds = 3;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string k = argv[i];
    if (k == "--repeat") repeat = std::atoi(argv[i + 1]);
    if (k == "--seconds") seconds = std::atoi(argv[i + 1]);
  }
  precision(repeat);
  rate(seconds);
  return 0;
}
