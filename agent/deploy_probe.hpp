// The zero-downtime probe of a deploy job: one GET of a URL every
// `interval`, from before the deploy's first step until its end, counting
// every failed request.
//
// Ticks are fixed in advance (start + k * interval) and a request is sent
// for every tick, each on a new connection, concurrently through one libcurl
// multi handle: a slow answer never delays or swallows the next tick, so a
// switch that stalls requests shows up as timeouts instead of as silence.
// A tick sent more than one interval late is counted (`late`), never
// dropped; beyond `max_in_flight` open requests a tick fails at once as
// "overloaded" (the probe, not the service, could not keep up), so the
// count of requests always matches the elapsed time.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "common/deploy_spec.hpp"
#include "common/http.hpp"

namespace yardstick {

struct ProbeRecord {
  int64_t tick = 0;
  int64_t sent_us = 0;  // since the probe started
  int64_t late_us = 0;  // sent_us - tick * interval
  double latency_s = 0;
  HttpFailure failure = HttpFailure::kNone;
  bool overloaded = false;  // not sent: too many requests in flight
  long status = 0;
  std::string body;  // the first kBodyKept bytes, for the version it names
  static constexpr size_t kBodyKept = 256;
};

struct ProbeSummary : ProbeCounts {
  double max_late_ms = 0;
  uint64_t overloaded = 0;  // ticks not sent: max_in_flight requests were still out
};

// `end_us`: when the probe stopped, for an outage that lasted to the end.
ProbeSummary summarize_probe(const std::vector<ProbeRecord>& records, int64_t end_us,
                             int64_t interval_us);

class Prober {
 public:
  explicit Prober(ProbeSpec spec);
  ~Prober();
  Prober(const Prober&) = delete;
  Prober& operator=(const Prober&) = delete;

  void start();
  // Stops sending and waits for the requests in flight (at most `timeout`).
  // Returns when the probe stopped, in microseconds since it started.
  int64_t stop();
  // The finished requests so far, by tick.
  std::vector<ProbeRecord> records() const;
  ProbeSummary summary() const;
  // When it started, system clock, microseconds since the epoch: add a
  // record's sent_us to place it in time.
  int64_t started_at_us() const { return started_at_us_; }

 private:
  void loop();

  ProbeSpec spec_;
  std::chrono::steady_clock::time_point start_;
  int64_t started_at_us_ = 0;
  std::atomic<bool> stopping_{false};
  std::atomic<int64_t> end_us_{0};
  void* multi_ = nullptr;
  std::thread thread_;
  mutable std::mutex mu_;
  std::vector<ProbeRecord> records_;
};

}  // namespace yardstick
