// The order of a benchmark's commands, as hyperfine runs them: `setup` once
// per variant before its first run, `prepare` before every run (warm-ups
// included), the timed run, `conclude` after every run, `cleanup` once per
// variant at the end. Variants run interleaved (A B A B ...) by default, so
// that drift of the machine hits each alike; or in blocks. Given a seed, the
// order of the variants within each counted round is a permutation drawn
// from it (std::mt19937_64 and a Fisher-Yates shuffle of our own, so that
// the same seed gives the same order with any standard library): which
// variant runs first in a round then no longer favours one of them.
//
// The number of counted runs is `runs`, or, when 0, enough to fill
// `max_time` judged from the first counted run (the slowest variant's when
// interleaved), clamped to [min_runs, max_runs]. With `precision` (runs 0,
// interleaved), rounds go on until, after at least min_runs rounds (and
// enough for the paired test to reach alpha), the interval of every
// variant's ratio to the baseline (paired_ratio_interval at the bench's
// alpha) lies within +-precision of the ratio; or until max_runs rounds, or
// until the counted runs have taken max_time (0: no bound).
#pragma once

#include <cstdint>
#include <deque>
#include <optional>
#include <string>
#include <vector>

#include "common/types.hpp"

namespace yardstick {

struct BenchAction {
  enum class Kind { kSetup, kPrepare, kRun, kConclude, kCleanup };
  Kind kind = Kind::kRun;
  size_t variant = 0;
  bool counted = false;    // kRun: a counted run (a sample), not a warm-up; kConclude: after one
  uint32_t run_index = 0;  // counted: 0, 1, ...
  std::string command;
  std::string label() const;  // "prepare (mold)", "run 3 (mold)", ...
  const char* kind_name() const;
};

// A confidence interval's half width as a percentage, one decimal; when the
// run fell short of `aim` (a fraction, 0 for none), as many more decimals (up
// to 4) as it takes for the printed figure to be wider than the aim, so that
// "+-1.0 %, short of precision 1%" is never said.
std::string interval_text(double half_width, double aim);

class BenchPlan {
 public:
  BenchPlan(BenchSpec spec, std::vector<Variant> variants,
            std::optional<uint64_t> order_seed = std::nullopt);

  // The next command, or nullopt when the benchmark is done.
  std::optional<BenchAction> next();
  // Tells the plan how long a counted run took (for the adaptive count) and,
  // when the verdict judges something else (cpu seconds), that value for
  // the precision rule; `judged` < 0: the wall time.
  void record(const BenchAction& run, double wall_s, double judged = -1);

  // Why the counted runs ended; nullopt while they go on (or after abort).
  const std::optional<StopReason>& stop_reason() const { return stop_reason_; }
  // The line the job log gives it: "stopped: precision 1% reached after 46
  // rounds", "stopped: max_runs 200 reached, interval +-1.7 %", ...
  std::string stop_description() const;
  // Counted rounds (interleaved) or runs of the last variant (blocks) so far.
  uint32_t counted_rounds() const { return rounds_done_; }
  // The widest half-width of the variants' ratio intervals at the last check
  // (0.017: +-1.7 %); nullopt before the first check.
  const std::optional<double>& interval_half_width() const { return half_width_; }

  uint32_t target_runs(size_t variant) const;

  // The order of the variants in counted round `round` (interleaved): the
  // same for the same seed, 0, 1, ... without one.
  std::vector<size_t> round_order(uint32_t round) const;
  const std::optional<uint64_t>& order_seed() const { return order_seed_; }

  // Stops the benchmark after a failure: what is left is the cleanup of each
  // variant that started, so that what its setup made does not outlive it.
  void abort();

 private:
  void push_iteration(size_t v, bool counted, uint32_t index);
  void fill();
  uint32_t clamp_runs(double first_wall_s);
  // Precision mode: whether another round runs; sets stop_reason_ if not.
  bool another_round();
  bool precision_mode() const;
  std::optional<double> widest_half_width() const;

  BenchSpec spec_;
  std::vector<Variant> variants_;
  std::optional<uint64_t> order_seed_;
  std::deque<BenchAction> pending_;
  std::vector<bool> setup_done_;  // the variant's first iteration was planned
  std::vector<bool> cleaned_;     // its cleanup was planned
  std::vector<bool> started_;     // one of its actions was handed out
  std::vector<uint32_t> target_;  // per variant; 0: not known yet
  std::vector<double> first_wall_;
  std::vector<std::vector<double>> judged_;  // per variant, by counted run index
  double counted_s_ = 0;                     // wall time of the counted runs so far
  std::optional<StopReason> stop_reason_;
  std::optional<double> half_width_;
  uint32_t rounds_done_ = 0;
  enum class Phase { kWarmup, kCounted, kCleanup, kDone } phase_ = Phase::kWarmup;
  uint32_t round_ = 0;
  size_t block_ = 0;  // blocks mode: the variant being run
};

}  // namespace yardstick
