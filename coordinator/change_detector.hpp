// The change detector: after a pipeline's jobs have all ended, searches
// each series it added a point to for change points (common/change_points.hpp),
// keeps them in `change_points`, and tells the pipeline's `notify:` webhooks
// that listen for `regressed` or `improved` of each new one.
//
// Off the scheduling turn: a thread and a database connection of its own,
// polling for ended pipelines not yet searched (pipelines.changes_checked_at),
// so a coordinator that restarts, or a standby that takes over, searches
// what was left. Of several coordinators on one database, the one holding
// the advisory lock kChangeDetectorLock searches; the others wait for it.
// A search is one transaction per pipeline: its change points and its mark
// go in together, or neither does and the next pass tries again.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <string>
#include <thread>

#include "common/change_points.hpp"
#include "coordinator/store/pg_change_points.hpp"

namespace yardstick {

class Notifier;
class AutoBisect;

inline constexpr int64_t kChangeDetectorLock = 7400413;

// The document a webhook is POSTed for a change point: `text` (Slack's),
// event ("regressed" or "improved"), pipeline, job, kind, what, unit,
// machine, last_good_revision, first_bad_revision, the pipelines' ids, the
// two medians, ratio with ratio_low and ratio_high, p_value, detectable and
// the command that lists it.
std::string change_notification_json(const FoundChange& change);
// One line: `release-build build/compile on ci-3 regressed +25.0 % (1.02 s → 1.28 s,
// interval +21.0 … +29.3 %) between 3f2a1c9 and 8b0e4d2`.
std::string change_text(const FoundChange& change);

class ChangeDetector {
 public:
  struct Options {
    std::chrono::milliseconds poll{1000};
    size_t max_points = 1000;  // per series, the newest
    ChangeOptions change;
  };
  // `bisect`, when set, is asked to bisect each new regression of a job
  // with `bisect: auto`.
  ChangeDetector(std::string dsn, Options options, Notifier* notifier,
                 AutoBisect* bisect = nullptr);
  ~ChangeDetector();  // stops the thread at the end of its pipeline
  ChangeDetector(const ChangeDetector&) = delete;
  ChangeDetector& operator=(const ChangeDetector&) = delete;

  void start();
  // A pipeline ended: search now rather than at the next poll.
  void poke();

  uint64_t searched() const { return searched_; }

  // One pass on `conn`: searches up to `limit` ended pipelines; returns how
  // many. Public for the benchmark.
  size_t pass(pqxx::connection& conn, size_t limit);

 private:
  void loop();

  std::string dsn_;
  Options options_;
  Notifier* notifier_;
  AutoBisect* bisect_;
  std::mutex mu_;
  std::condition_variable wake_;
  bool poked_ = false;
  std::atomic<bool> stop_{false};
  std::atomic<uint64_t> searched_{0};
  std::thread thread_;
};

}  // namespace yardstick
