#include "coordinator/notifier.hpp"
#include "common/curl_library.hpp"

#include <algorithm>
#include <map>
#include <set>
#include <vector>

#include <spdlog/spdlog.h>
#include "common/http.hpp"
#include "common/secrets.hpp"

namespace yardstick {

using Clock = std::chrono::steady_clock;

struct Notifier::Pending {
  std::string url, json, body, error;
  Clock::time_point queued, due;
  uint32_t attempts = 0;
  CURL* handle = nullptr;
  curl_slist* headers = nullptr;
};

Notifier::Notifier() : Notifier(Options{}) {}

Notifier::Notifier(Options options, OutcomeHook hook) : options_(options), hook_(std::move(hook)) {
  http_global_init();
  multi_ = curl().multi_init();
  thread_ = std::thread([this] { loop(); });
}

Notifier::~Notifier() {
  stop_ = true;
  curl().multi_wakeup(static_cast<CURLM*>(multi_));
  thread_.join();
  curl().multi_cleanup(static_cast<CURLM*>(multi_));
  for (Pending* p : incoming_) delete p;
}

bool Notifier::post(std::string url, std::string json) {
  {
    std::lock_guard lock(mu_);
    if (held_ >= options_.max_queued) {
      spdlog::warn("webhook {}: dropped, {} notifications already held", mask_webhook_url(url),
                   held_.load());
      ++given_up_;
      return false;
    }
    ++held_;
    auto* p = new Pending;
    p->url = std::move(url);
    p->json = std::move(json);
    p->queued = p->due = Clock::now();
    incoming_.push_back(p);
  }
  curl().multi_wakeup(static_cast<CURLM*>(multi_));
  return true;
}

void Notifier::loop() {
  auto* multi = static_cast<CURLM*>(multi_);
  std::multimap<Clock::time_point, Pending*> waiting;  // by due time
  std::set<Pending*> flying;
  auto finish = [&](Pending* p, bool ok) {
    Outcome o{p->url, ok, p->attempts, p->error};
    if (ok) {
      ++delivered_;
      spdlog::info("webhook {}: delivered (attempt {})", mask_webhook_url(p->url), p->attempts);
    } else {
      ++given_up_;
      spdlog::warn("webhook {}: gave up after {} attempts: {}", mask_webhook_url(p->url),
                   p->attempts, p->error);
    }
    if (hook_) hook_(o);
    delete p;
    --held_;
  };
  while (true) {
    {
      std::lock_guard lock(mu_);
      for (Pending* p : incoming_) waiting.emplace(p->due, p);
      incoming_.clear();
    }
    if (stop_) break;
    const auto now = Clock::now();
    while (!waiting.empty() && waiting.begin()->first <= now &&
           flying.size() < options_.max_in_flight) {
      Pending* p = waiting.begin()->second;
      waiting.erase(waiting.begin());
      p->handle = curl().easy_init();
      if (!p->handle) {
        p->error = "libcurl could not start a request";
        finish(p, false);
        continue;
      }
      ++p->attempts;
      p->body.clear();
      configure_request(p->handle, p->url, options_.timeout, &p->body);
      p->headers = curl().slist_append(nullptr, "Content-Type: application/json");
      curl().easy_setopt(p->handle, CURLOPT_HTTPHEADER, p->headers);
      curl().easy_setopt(p->handle, CURLOPT_POSTFIELDS, p->json.c_str());
      curl().easy_setopt(p->handle, CURLOPT_POSTFIELDSIZE, static_cast<long>(p->json.size()));
      curl().easy_setopt(p->handle, CURLOPT_PRIVATE, p);
      curl().multi_add_handle(multi, p->handle);
      flying.insert(p);
      in_flight_ = flying.size();
      if (flying.size() > most_in_flight_) most_in_flight_ = flying.size();
    }
    int running = 0;
    curl().multi_perform(multi, &running);
    int queued = 0;
    while (CURLMsg* msg = curl().multi_info_read(multi, &queued)) {
      if (msg->msg != CURLMSG_DONE) continue;
      Pending* p = nullptr;
      curl().easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, reinterpret_cast<char**>(&p));
      long status = 0;
      curl().easy_getinfo(p->handle, CURLINFO_RESPONSE_CODE, &status);
      const CURLcode code = msg->data.result;
      curl().multi_remove_handle(multi, p->handle);
      curl().easy_cleanup(p->handle);
      curl().slist_free_all(p->headers);
      p->handle = nullptr;
      p->headers = nullptr;
      flying.erase(p);
      in_flight_ = flying.size();
      if (code == CURLE_OK && status >= 200 && status < 300) {
        finish(p, true);
        continue;
      }
      p->error = code == CURLE_OK ? "HTTP " + std::to_string(status) : curl().easy_strerror(code);
      auto backoff = options_.first_backoff * (1LL << std::min<uint32_t>(p->attempts - 1, 20));
      backoff = std::min<std::chrono::milliseconds>(backoff, options_.max_backoff);
      p->due = Clock::now() + backoff;
      if (p->due - p->queued > options_.retry_for) {
        finish(p, false);
      } else {
        spdlog::warn("webhook {}: attempt {} failed ({}), again in {} ms", mask_webhook_url(p->url),
                     p->attempts, p->error, backoff.count());
        waiting.emplace(p->due, p);
      }
    }
    int wait_ms = 1000;
    if (!waiting.empty() && flying.size() < options_.max_in_flight)
      wait_ms = static_cast<int>(std::clamp<int64_t>(
          std::chrono::duration_cast<std::chrono::milliseconds>(waiting.begin()->first -
                                                                Clock::now())
                  .count() +
              1,
          0, 1000));
    long curl_ms = -1;
    curl().multi_timeout(multi, &curl_ms);
    if (curl_ms >= 0 && !flying.empty())
      wait_ms = std::min<int>(wait_ms, static_cast<int>(curl_ms));
    curl().multi_poll(multi, nullptr, 0, wait_ms, nullptr);
  }
  // Stopping: what is in flight or waiting is given up, and said.
  const size_t left = waiting.size() + flying.size();
  for (auto& [due, p] : waiting) delete p;
  for (Pending* p : flying) {
    curl().multi_remove_handle(multi, p->handle);
    curl().easy_cleanup(p->handle);
    curl().slist_free_all(p->headers);
    delete p;
  }
  if (left > 0) spdlog::warn("webhooks: {} notifications not delivered at shutdown", left);
}

}  // namespace yardstick
