// The agent's outgoing results: each is appended to the spool
// (agent/spool.hpp), sent only once the spool made it durable, in order
// within a window of bytes in flight, and forgotten once the coordinator
// acknowledges it. (The coordinator's ack makes the agent forget a result:
// one sent before it was durable would be lost with the machine.)
// What is not acknowledged is sent again on a new connection, after a
// welcome, and when it has waited too long.
//
// Not thread-safe: the agent's loop calls every method.
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <set>
#include <string>
#include <string_view>

#include "agent/spool.hpp"
#include "common/clock.hpp"
#include "common/types.hpp"

namespace yardstick {

class ResultOutbox {
 public:
  // Puts one encoded result on the wire; false when it could not (the
  // socket's queue is full): it is sent again later.
  using Send = std::function<bool(std::string_view frame)>;
  // Samples and metrics of a running benchmark wait at most this long for
  // the next batch.
  static constexpr int64_t kHoldMs = 1000;
  // After the spool failed to sync, it is tried again this often; nothing
  // is sent meanwhile.
  static constexpr int64_t kSyncRetryMs = 1000;
  // While syncs fail, the error is said again this often.
  static constexpr int64_t kSyncFailureLogMs = 30'000;

  // At most `window_bytes` are in flight (sent, not acknowledged).
  ResultOutbox(Spool& spool, const Clock& clock, uint64_t window_bytes, Send send);

  // The results a previous life spooled and the coordinator did not
  // acknowledge: sent first. Returns how many.
  size_t recover();
  // Spools a result; it is sent at the end of this loop turn (pump()), or,
  // `hold`, with the next batch, at most kHoldMs later: samples and metrics
  // of a running benchmark go out at most once a second, so that the
  // coordinator and PostgreSQL do not work between every two runs being
  // measured. Anything not held sends the held results too, in order. When
  // the spool cannot take it (full, or a failing disk), it is kept in memory
  // instead: never dropped.
  void enqueue(const ResultKey& key, std::string_view bytes, bool hold = false);
  // Syncs the spool, then, when `link_up`, sends what waits within the
  // window. When the sync fails nothing is sent: it says so (an error, then
  // every kSyncFailureLogMs while it lasts), keeps everything, and tries
  // again kSyncRetryMs later.
  void pump(bool link_up);
  // A new connection: what was in flight on the old one may be gone; it
  // waits to be sent again.
  void requeue_in_flight();
  // Everything sent and not acknowledged is sent again, in order (after a welcome).
  void resend_all();
  // Something in flight was sent more than `resend_ms` ago.
  bool stale(int64_t resend_ms) const;
  // The coordinator committed it: forgotten.
  void ack(const ResultKey& key);
  // The coordinator abandoned the job attempt: its results are forgotten.
  void drop(const JobRef& ref);

  // Job attempts with results not yet acknowledged (spooled or in memory).
  std::set<JobRef> held() const;
  // Results not yet acknowledged.
  size_t unacknowledged() const;
  // Steady time (ms) until which held results wait; 0: none held.
  int64_t hold_until_ms() const { return hold_until_ms_; }

 private:
  Spool& spool_;
  const Clock& clock_;
  uint64_t window_bytes_;
  Send send_;

  std::deque<ResultKey> unsent_;  // spooled, waiting to be sent, in order
  struct InFlight {
    int64_t sent_at_ms;
    uint64_t bytes;
  };
  std::map<ResultKey, InFlight> inflight_;  // sent, not yet acknowledged
  uint64_t inflight_bytes_ = 0;
  std::map<ResultKey, std::string> cache_;  // bytes of unsent results, to spare a read
  uint64_t cache_bytes_ = 0;
  std::map<ResultKey, std::string> overflow_;  // could not be spooled (disk error)
  int64_t hold_until_ms_ = 0;                  // held results wait until then...
  bool send_now_ = false;                      // ...unless another result was enqueued
  // Set while the spool's syncs fail: when to try again, and when the
  // failure was last logged.
  int64_t next_sync_ms_ = 0;
  int64_t sync_failure_logged_ms_ = 0;
  bool sync_failing_ = false;

  // Syncs the spool; false (logged) while it fails, or before its next try.
  bool durable(int64_t now_ms);
};

}  // namespace yardstick
