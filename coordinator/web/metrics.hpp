// What the coordinator counts for /metrics (Prometheus text format).
//
// Contract: the scheduling turn writes, the HTTP threads read, and they
// share nothing but atomics: no lock the turn could wait on. Counters only
// grow; gauges are overwritten by the turn (published every timer tick,
// 100 ms). Histograms have fixed buckets, each an atomic counter.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <vector>

namespace yardstick {

// A histogram of durations in seconds with fixed upper bounds.
class DurationHistogram {
 public:
  static constexpr std::array<double, 14> kBounds_s = {
      0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};
  void observe_us(int64_t us);
  // "NAME_bucket{le=...} n" lines, NAME_sum and NAME_count.
  void render(const std::string& name, std::string* out) const;
  uint64_t count() const { return count_.load(std::memory_order_relaxed); }

 private:
  std::array<std::atomic<uint64_t>, kBounds_s.size()> buckets_{};  // not cumulative
  std::atomic<uint64_t> count_{0};
  std::atomic<uint64_t> sum_us_{0};
};

// The job states the turn holds in memory, in the order of JobState.
inline constexpr int kMetricJobStates = 10;

struct CoordinatorMetrics {
  // Gauges, published by the turn.
  std::array<std::atomic<int64_t>, kMetricJobStates> jobs_in_memory{};  // by JobState index
  std::atomic<int64_t> queue_depth{0};
  std::atomic<int64_t> oldest_queued_age_ms{0};
  std::atomic<int64_t> agents_connected{0};
  std::atomic<int64_t> agents_draining{0};
  std::atomic<bool> store_up{false};
  std::atomic<bool> sockets_bound{false};
  std::atomic<int64_t> last_turn_unix_ms{0};  // when the loop last went round (wall clock)

  // Counters.
  std::array<std::atomic<uint64_t>, kMetricJobStates> transitions{};  // by target JobState
  std::atomic<uint64_t> turns{0};
  std::atomic<uint64_t> store_failures{0};
  std::atomic<uint64_t> store_recoveries{0};
  std::atomic<uint64_t> results_acknowledged{0};

  DurationHistogram dispatch_latency;  // queued -> assigned (the assignment's turn)
  DurationHistogram turn_duration;     // a turn that did work, read to sent
  DurationHistogram store_commit;      // the turn's commit (group commit of its writes)

  // Per-agent spool backlog, as agents report it in their heartbeats. The
  // turn replaces the whole map under this mutex every tick; the HTTP
  // thread copies it. The turn only try_locks: it never waits for a reader.
  void publish_spool(std::map<std::string, uint64_t> backlog);
  std::map<std::string, uint64_t> spool() const;

 private:
  mutable std::mutex spool_mutex_;
  std::map<std::string, uint64_t> spool_;
};

// Extra series the HTTP side reads from PostgreSQL (refusals by what was
// refused); empty when the database did not answer.
struct StoredCounts {
  bool available = false;
  std::vector<std::pair<std::string, uint64_t>> refusals;  // message kind -> refusals
};

// The whole exposition, Prometheus text format 0.0.4.
std::string render_metrics(const CoordinatorMetrics& m, const StoredCounts& stored);

}  // namespace yardstick
