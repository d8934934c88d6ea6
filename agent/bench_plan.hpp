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
// interleaved), clamped to [min_runs, max_runs].
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

class BenchPlan {
 public:
  BenchPlan(BenchSpec spec, std::vector<Variant> variants,
            std::optional<uint64_t> order_seed = std::nullopt);

  // The next command, or nullopt when the benchmark is done.
  std::optional<BenchAction> next();
  // Tells the plan how long a counted run took (for the adaptive count).
  void record(const BenchAction& run, double wall_s);

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
  uint32_t clamp_runs(double first_wall_s) const;

  BenchSpec spec_;
  std::vector<Variant> variants_;
  std::optional<uint64_t> order_seed_;
  std::deque<BenchAction> pending_;
  std::vector<bool> setup_done_;  // the variant's first iteration was planned
  std::vector<bool> cleaned_;     // its cleanup was planned
  std::vector<bool> started_;     // one of its actions was handed out
  std::vector<uint32_t> target_;  // per variant; 0: not known yet
  std::vector<double> first_wall_;
  enum class Phase { kWarmup, kCounted, kCleanup, kDone } phase_ = Phase::kWarmup;
  uint32_t round_ = 0;
  size_t block_ = 0;  // blocks mode: the variant being run
};

}  // namespace yardstick
