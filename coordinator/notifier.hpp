// Webhook notifications (`notify:` in pipelines): the coordinator hands a
// JSON document and a URL to the Notifier and goes on at once. The
// Notifier's own thread POSTs it (libcurl multi: deliveries run side by
// side, so a dead or slow webhook never holds up another), retries a failed
// delivery with exponential backoff (1 s, 2 s, 4 s ... capped at 60 s) until
// `retry_for` has passed since it was queued, and logs what it gave up on
// (URLs masked: a webhook's path usually holds its token). What it holds is
// bounded: at most `max_queued` notifications in all (new, in flight or
// waiting to retry) and `max_in_flight` requests open at once.
// Nothing a webhook does delays or fails a job.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <string>
#include <thread>

namespace yardstick {

class Notifier {
 public:
  struct Options {
    std::chrono::milliseconds timeout{5'000};  // one attempt
    std::chrono::milliseconds first_backoff{1'000};
    std::chrono::milliseconds max_backoff{60'000};
    std::chrono::milliseconds retry_for{600'000};  // then give up
    // Notifications held at once: new, in flight and waiting to retry.
    // Beyond: a new one is dropped, and logged.
    size_t max_queued = 10'000;
    size_t max_in_flight = 64;  // requests open at once (curl handles, sockets)
  };
  // What happened to a delivery, for the log and for tests.
  struct Outcome {
    std::string url;
    bool delivered = false;
    uint32_t attempts = 0;
    std::string error;  // the last failure
  };
  using OutcomeHook = std::function<void(const Outcome&)>;

  Notifier();
  explicit Notifier(Options options, OutcomeHook hook = nullptr);
  ~Notifier();  // gives up on what is pending, and says how many
  Notifier(const Notifier&) = delete;
  Notifier& operator=(const Notifier&) = delete;

  // Never blocks. False when the queue was full (the notification is dropped).
  bool post(std::string url, std::string json);

  uint64_t delivered() const { return delivered_; }
  uint64_t given_up() const { return given_up_; }
  // Held now (new, in flight, waiting to retry), and of them in flight;
  // the most ever in flight.
  size_t held() const { return held_; }
  size_t in_flight() const { return in_flight_; }
  size_t most_in_flight() const { return most_in_flight_; }

 private:
  struct Pending;
  void loop();

  Options options_;
  OutcomeHook hook_;
  std::mutex mu_;
  std::deque<Pending*> incoming_;
  std::atomic<bool> stop_{false};
  std::atomic<uint64_t> delivered_{0}, given_up_{0};
  std::atomic<size_t> held_{0}, in_flight_{0}, most_in_flight_{0};
  void* multi_ = nullptr;
  std::thread thread_;
};

}  // namespace yardstick
