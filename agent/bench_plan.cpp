#include "agent/bench_plan.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <random>

#include "common/stats.hpp"

namespace yardstick {

const char* BenchAction::kind_name() const {
  switch (kind) {
    case Kind::kSetup:
      return "setup";
    case Kind::kPrepare:
      return "prepare";
    case Kind::kRun:
      return counted ? "run" : "warmup";
    case Kind::kConclude:
      return "conclude";
    case Kind::kCleanup:
      return "cleanup";
  }
  return "?";
}

std::string BenchAction::label() const {
  std::string out = kind_name();
  if (kind == Kind::kRun && counted) out += " " + std::to_string(run_index + 1);
  return out;
}

BenchPlan::BenchPlan(BenchSpec spec, std::vector<Variant> variants,
                     std::optional<uint64_t> order_seed)
    : spec_(std::move(spec)), variants_(std::move(variants)), order_seed_(order_seed) {
  if (variants_.empty()) variants_.push_back({"default", {}, ""});
  setup_done_.assign(variants_.size(), false);
  cleaned_.assign(variants_.size(), false);
  started_.assign(variants_.size(), false);
  target_.assign(variants_.size(), spec_.runs);
  first_wall_.assign(variants_.size(), -1);
  judged_.assign(variants_.size(), {});
  if (spec_.runs) stop_reason_ = StopReason::kRuns;
}

uint32_t BenchPlan::clamp_runs(double first_wall_s) {
  double want = first_wall_s > 0 ? std::ceil(spec_.max_time_ms / 1000.0 / first_wall_s) : 1e9;
  stop_reason_ = StopReason::kMaxTime;
  if (want < std::max(1u, spec_.min_runs)) {
    want = std::max(1u, spec_.min_runs);
    stop_reason_ = StopReason::kMinRuns;
  }
  if (spec_.max_runs && want > spec_.max_runs) {
    want = spec_.max_runs;
    stop_reason_ = StopReason::kMaxRuns;
  }
  want = std::min(want, 100000.0);
  return static_cast<uint32_t>(want);
}

bool BenchPlan::precision_mode() const {
  return spec_.precision > 0 && spec_.runs == 0 && spec_.interleave && variants_.size() > 1;
}

std::optional<double> BenchPlan::widest_half_width() const {
  std::optional<double> widest;
  for (size_t v = 1; v < variants_.size(); ++v) {
    auto ci = paired_ratio_interval(judged_[0], judged_[v], spec_.alpha);
    if (!ci) return std::nullopt;
    auto hl = compare_paired(judged_[0], judged_[v], spec_.alpha, spec_.noise_floor).ratio;
    const double half = std::max(ci->second / hl - 1, 1 - ci->first / hl);
    widest = std::max(widest.value_or(0), half);
  }
  return widest;
}

bool BenchPlan::another_round() {
  // round_ rounds are done (and recorded: the runner records each run
  // before it asks for the next action).
  size_t enough = std::max<size_t>(1, spec_.min_runs);
  size_t paired_floor = 2;
  while (paired_floor < 64 && smallest_paired_p_value(paired_floor) >= spec_.alpha) ++paired_floor;
  enough = std::max(enough, paired_floor);
  if (round_ >= enough) {
    half_width_ = widest_half_width();
    if (half_width_ && *half_width_ <= spec_.precision) {
      stop_reason_ = StopReason::kPrecision;
      return false;
    }
  }
  if ((spec_.max_runs && round_ >= spec_.max_runs) || round_ >= 100000) {
    stop_reason_ = StopReason::kMaxRuns;
    return false;
  }
  if (spec_.max_time_ms && counted_s_ * 1000 >= static_cast<double>(spec_.max_time_ms)) {
    stop_reason_ = StopReason::kMaxTime;
    return false;
  }
  return true;
}

std::string interval_text(double half_width, double aim) {
  char buf[48];
  for (int decimals = 1;; ++decimals) {
    std::snprintf(buf, sizeof buf, "%.*f %%", decimals, 100 * half_width);
    const double scale = std::pow(10.0, decimals);
    const double shown = std::round(100 * half_width * scale) / scale;
    if (aim <= 0 || shown > 100 * aim || decimals >= 4) return buf;
  }
}

std::string BenchPlan::stop_description() const {
  if (!stop_reason_) return "";
  char buf[200];
  const auto pct = [](double x) {
    char b[32];
    std::snprintf(b, sizeof b, "%g%%", 100 * x);
    return std::string(b);
  };
  std::string interval;
  if (half_width_) {
    const bool short_of_aim = precision_mode() && *stop_reason_ != StopReason::kPrecision;
    interval = ", interval +-" + interval_text(*half_width_, short_of_aim ? spec_.precision : 0);
  }
  const std::string rounds =
      std::to_string(rounds_done_) + (rounds_done_ == 1 ? " round" : " rounds");
  switch (*stop_reason_) {
    case StopReason::kRuns:
      return "stopped: runs " + std::to_string(spec_.runs) + " done";
    case StopReason::kPrecision:
      return "stopped: precision " + pct(spec_.precision) + " reached after " + rounds + interval;
    case StopReason::kMaxRuns:
      return "stopped: max_runs " + std::to_string(spec_.max_runs) + " reached" +
             (precision_mode() ? interval + ", short of precision " + pct(spec_.precision)
                               : std::string());
    case StopReason::kMaxTime:
      std::snprintf(buf, sizeof buf, "%gs", spec_.max_time_ms / 1000.0);
      return "stopped: max_time " + std::string(buf) + " reached after " + rounds +
             (precision_mode() ? interval + ", short of precision " + pct(spec_.precision)
                               : std::string());
    case StopReason::kMinRuns:
      return "stopped: min_runs " + std::to_string(spec_.min_runs) + " done";
  }
  return "";
}

uint32_t BenchPlan::target_runs(size_t v) const {
  return target_[v];
}

std::vector<size_t> BenchPlan::round_order(uint32_t round) const {
  std::vector<size_t> order(variants_.size());
  for (size_t v = 0; v < order.size(); ++v) order[v] = v;
  if (!order_seed_) return order;
  // One generator per round, seeded from (seed, round): a round's order does
  // not depend on how many rounds came before (the run count is adaptive).
  std::seed_seq seq{static_cast<uint32_t>(*order_seed_), static_cast<uint32_t>(*order_seed_ >> 32),
                    round};
  std::mt19937_64 rng(seq);
  for (size_t i = order.size(); i > 1; --i) {
    // Uniform in [0, i) by rejection: no modulo bias.
    const uint64_t bound = i, limit = UINT64_MAX - UINT64_MAX % bound;
    uint64_t x;
    do x = rng();
    while (x >= limit);
    std::swap(order[i - 1], order[x % bound]);
  }
  return order;
}

void BenchPlan::push_iteration(size_t v, bool counted, uint32_t index) {
  const std::string& run = variants_[v].run.empty() ? spec_.run : variants_[v].run;
  using K = BenchAction::Kind;
  if (!setup_done_[v]) {
    setup_done_[v] = true;
    if (!spec_.setup.empty()) pending_.push_back({K::kSetup, v, false, 0, spec_.setup});
  }
  if (!spec_.prepare.empty()) pending_.push_back({K::kPrepare, v, false, 0, spec_.prepare});
  pending_.push_back({K::kRun, v, counted, index, run});
  // A conclude after a counted run carries its index: what it writes to the
  // metrics file belongs to that run.
  if (!spec_.conclude.empty())
    pending_.push_back({K::kConclude, v, counted, index, spec_.conclude});
}

void BenchPlan::fill() {
  using K = BenchAction::Kind;
  const size_t n = variants_.size();
  while (pending_.empty() && phase_ != Phase::kDone) {
    if (spec_.interleave) {
      switch (phase_) {
        case Phase::kWarmup:
          if (round_ < spec_.warmup) {
            for (size_t v = 0; v < n; ++v) push_iteration(v, false, 0);
            ++round_;
          } else {
            phase_ = Phase::kCounted;
            round_ = 0;
          }
          break;
        case Phase::kCounted: {
          // The first round always runs; after it every variant has a target.
          uint32_t target = round_ == 0 ? 1 : target_[0];
          const bool more = precision_mode() ? round_ == 0 || another_round() : round_ < target;
          rounds_done_ = round_;
          if (more) {
            for (size_t v : round_order(round_)) push_iteration(v, true, round_);
            ++round_;
          } else {
            phase_ = Phase::kCleanup;
          }
          break;
        }
        case Phase::kCleanup:
          if (!spec_.cleanup.empty())
            for (size_t v = 0; v < n; ++v) {
              pending_.push_back({K::kCleanup, v, false, 0, spec_.cleanup});
              cleaned_[v] = true;
            }
          phase_ = Phase::kDone;
          break;
        case Phase::kDone:
          break;
      }
    } else {
      if (block_ >= n) {
        phase_ = Phase::kDone;
        break;
      }
      const size_t v = block_;
      switch (phase_) {
        case Phase::kWarmup:
          if (round_ < spec_.warmup) {
            push_iteration(v, false, 0);
            ++round_;
          } else {
            phase_ = Phase::kCounted;
            round_ = 0;
          }
          break;
        case Phase::kCounted: {
          uint32_t target = round_ == 0 ? 1 : target_[v];
          rounds_done_ = round_;
          if (round_ < target) {
            push_iteration(v, true, round_);
            ++round_;
          } else {
            phase_ = Phase::kCleanup;
          }
          break;
        }
        case Phase::kCleanup:
          if (!spec_.cleanup.empty()) {
            pending_.push_back({K::kCleanup, v, false, 0, spec_.cleanup});
            cleaned_[v] = true;
          }
          ++block_;
          round_ = 0;
          phase_ = block_ < n ? Phase::kWarmup : Phase::kDone;
          break;
        case Phase::kDone:
          break;
      }
    }
  }
}

void BenchPlan::abort() {
  pending_.clear();
  phase_ = Phase::kDone;
  if (spec_.cleanup.empty()) return;
  for (size_t v = 0; v < variants_.size(); ++v)
    if (started_[v] && !cleaned_[v])
      pending_.push_back({BenchAction::Kind::kCleanup, v, false, 0, spec_.cleanup});
}

std::optional<BenchAction> BenchPlan::next() {
  fill();
  if (pending_.empty()) return std::nullopt;
  BenchAction a = pending_.front();
  pending_.pop_front();
  started_[a.variant] = true;
  return a;
}

void BenchPlan::record(const BenchAction& run, double wall_s, double judged) {
  if (run.kind != BenchAction::Kind::kRun || !run.counted) return;
  counted_s_ += wall_s;
  auto& values = judged_[run.variant];
  if (values.size() <= run.run_index) values.resize(run.run_index + 1, 0);
  values[run.run_index] = judged < 0 ? wall_s : judged;
  if (run.run_index != 0) return;
  first_wall_[run.variant] = wall_s;
  if (spec_.runs || precision_mode()) return;
  if (spec_.interleave) {
    // One count for all variants, from the slowest first run, once all are in.
    if (std::any_of(first_wall_.begin(), first_wall_.end(), [](double w) { return w < 0; })) return;
    uint32_t t = clamp_runs(*std::max_element(first_wall_.begin(), first_wall_.end()));
    std::fill(target_.begin(), target_.end(), t);
  } else {
    target_[run.variant] = clamp_runs(wall_s);
  }
}

}  // namespace yardstick
