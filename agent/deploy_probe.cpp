#include "agent/deploy_probe.hpp"
#include "common/curl_library.hpp"

#include <algorithm>
#include <cmath>
#include <memory>

#include "common/stats.hpp"

namespace yardstick {

ProbeSummary summarize_probe(const std::vector<ProbeRecord>& in, int64_t end_us,
                             int64_t interval_us) {
  std::vector<ProbeRecord> records = in;
  std::sort(records.begin(), records.end(),
            [](const ProbeRecord& a, const ProbeRecord& b) { return a.tick < b.tick; });
  ProbeSummary s;
  s.interval_us = interval_us;
  std::vector<double> latencies;
  int64_t outage_start = -1;
  auto close_outage = [&](int64_t at_us) {
    if (outage_start < 0) return;
    s.longest_outage_ms = std::max(s.longest_outage_ms, (at_us - outage_start) / 1000.0);
    outage_start = -1;
  };
  for (const auto& r : records) {
    ++s.sent;
    if (r.late_us > 0) s.max_late_ms = std::max(s.max_late_ms, r.late_us / 1000.0);
    if (r.late_us > interval_us) ++s.late;
    if (r.overloaded) {
      ++s.overloaded;
      continue;  // the probe's fault, not the service's: neither up nor down
    }
    if (r.failure == HttpFailure::kNone) {
      latencies.push_back(r.latency_s * 1000);
      close_outage(r.sent_us);
    } else {
      ++s.failed;
      ++s.failures[failure_name(r.failure)];
      if (outage_start < 0) outage_start = r.sent_us;
    }
  }
  close_outage(end_us);
  if (!latencies.empty()) {
    std::sort(latencies.begin(), latencies.end());
    s.p50_ms = quantile_sorted(latencies, 0.5);
    s.p99_ms = quantile_sorted(latencies, 0.99);
  }
  return s;
}

namespace {

struct Transfer {
  CURL* handle = nullptr;
  std::string body;
  ProbeRecord record;
};

}  // namespace

Prober::Prober(ProbeSpec spec) : spec_(std::move(spec)) {
  http_global_init();
}

Prober::~Prober() {
  stop();
}

void Prober::start() {
  multi_ = curl().multi_init();
  start_ = std::chrono::steady_clock::now();
  started_at_us_ = std::chrono::duration_cast<std::chrono::microseconds>(
                       std::chrono::system_clock::now().time_since_epoch())
                       .count();
  thread_ = std::thread([this] { loop(); });
}

int64_t Prober::stop() {
  if (thread_.joinable()) {
    stopping_ = true;
    curl().multi_wakeup(static_cast<CURLM*>(multi_));
    thread_.join();
    curl().multi_cleanup(static_cast<CURLM*>(multi_));
    multi_ = nullptr;
  }
  return end_us_;
}

std::vector<ProbeRecord> Prober::records() const {
  std::lock_guard lock(mu_);
  return records_;
}

ProbeSummary Prober::summary() const {
  const int64_t end = end_us_ ? end_us_.load()
                              : std::chrono::duration_cast<std::chrono::microseconds>(
                                    std::chrono::steady_clock::now() - start_)
                                    .count();
  return summarize_probe(records(), end, spec_.interval.count());
}

void Prober::loop() {
  using namespace std::chrono;
  auto* multi = static_cast<CURLM*>(multi_);
  const int64_t interval_us = std::max<int64_t>(1, spec_.interval.count());
  int64_t next_tick = 0;
  size_t in_flight = 0;
  auto now_us = [&] { return duration_cast<microseconds>(steady_clock::now() - start_).count(); };
  auto finish = [&](std::unique_ptr<Transfer> t) {
    std::lock_guard lock(mu_);
    records_.push_back(std::move(t->record));
  };
  while (true) {
    const bool stopping = stopping_;
    // Send every tick that is due; late ones are sent late, never dropped.
    for (int64_t now = now_us(); !stopping && next_tick * interval_us <= now; now = now_us()) {
      auto t = std::make_unique<Transfer>();
      t->record.tick = next_tick;
      t->record.sent_us = now;
      t->record.late_us = now - next_tick * interval_us;
      ++next_tick;
      if (in_flight >= spec_.max_in_flight || !(t->handle = curl().easy_init())) {
        t->record.overloaded = true;
        t->record.failure = HttpFailure::kOther;
        finish(std::move(t));
        continue;
      }
      configure_request(t->handle, spec_.url, spec_.timeout, &t->body);
      curl().easy_setopt(t->handle, CURLOPT_PRIVATE, t.get());
      curl().multi_add_handle(multi, t->handle);
      ++in_flight;
      t.release();  // owned by the multi handle until it finishes
    }
    if (stopping && in_flight == 0) break;
    int running = 0;
    curl().multi_perform(multi, &running);
    int queued = 0;
    while (CURLMsg* msg = curl().multi_info_read(multi, &queued)) {
      if (msg->msg != CURLMSG_DONE) continue;
      Transfer* raw = nullptr;
      curl().easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, reinterpret_cast<char**>(&raw));
      std::unique_ptr<Transfer> t(raw);
      long status = 0;
      double total = 0;
      curl().easy_getinfo(t->handle, CURLINFO_RESPONSE_CODE, &status);
      curl().easy_getinfo(t->handle, CURLINFO_TOTAL_TIME, &total);
      t->record.status = status;
      t->record.latency_s = total;
      t->record.failure = classify(msg->data.result, status, spec_.expect);
      t->record.body = t->body.substr(0, ProbeRecord::kBodyKept);
      curl().multi_remove_handle(multi, t->handle);
      curl().easy_cleanup(t->handle);
      --in_flight;
      finish(std::move(t));
    }
    if (stopping && in_flight == 0) break;
    // Sleep until the next tick or until libcurl has work, whichever first.
    int wait_ms = 1000;
    if (!stopping) {
      const int64_t until = next_tick * interval_us - now_us();
      wait_ms = static_cast<int>(std::clamp<int64_t>((until + 999) / 1000, 0, 1000));
    }
    long curl_ms = -1;
    curl().multi_timeout(multi, &curl_ms);
    if (curl_ms >= 0) wait_ms = std::min<int>(wait_ms, static_cast<int>(curl_ms));
    if (wait_ms > 0) curl().multi_poll(multi, nullptr, 0, wait_ms, nullptr);
    if (stopping_ && !stopping) end_us_ = now_us();
  }
  if (!end_us_) end_us_ = now_us();
}

}  // namespace yardstick
