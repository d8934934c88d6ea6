#include "agent/bench_job.hpp"

#include <cstdio>
#include <filesystem>

#include "common/command.hpp"
#include "common/numbers.hpp"
#include "common/run_context.hpp"
#include "common/stats.hpp"

namespace yardstick {

namespace fs = std::filesystem;

BenchJob::BenchJob(JobContext& context) : ctx_(context) {}

void BenchJob::start() {
  const BenchSpec& bench = *ctx_.job.bench;
  variants_ = ctx_.job.variants;
  if (variants_.empty()) variants_.push_back({"default", {}, ""});
  if (!ctx_.workdir_allowed()) return;
  // The order within rounds is shuffled, reproducibly: the seed is the job
  // and attempt (bench_order_seed), logged below and stored with the verdict.
  const uint64_t order_seed = bench_order_seed(ctx_.job.job_id, ctx_.job.attempt);
  plan_.emplace(bench, variants_, order_seed);
  walls_.assign(variants_.size(), {});
  cpu_.assign(variants_.size(), {});
  instr_.assign(variants_.size(), {});
  instr_missing_ = false;
  contended_.assign(variants_.size(), 0);
  shell_logged_.assign(variants_.size(), false);
  std::error_code ec;
  fs::create_directories(ctx_.cwd, ec);
  ctx_.log.system(
      "benchmark: " + std::to_string(variants_.size()) + " variant(s), " +
      (bench.interleave ? "interleaved" : "in blocks") + ", " + std::to_string(bench.warmup) +
      " warm-up run(s)" +
      (bench.interleave && variants_.size() > 1
           ? ", order within each round shuffled (seed " + std::to_string(order_seed) + ")"
           : ""));
  next_action();
}

void BenchJob::next_action() {
  const BenchSpec& bench = *ctx_.job.bench;
  action_ = plan_->next();
  if (!action_) {
    if (failure_) {
      ctx_.end(JobOutcome::kFailed, *failure_);
      return;
    }
    log_summary();
    if (auto why = plan_->stop_reason()) {
      // Typed for the coordinator (bench_results.stop_reason): the value is
      // the reason's number, the unit its name.
      ctx_.sink.metric(ctx_.next_key(), -1, "", -1,
                       {kStopReasonMetric, static_cast<double>(static_cast<int>(*why)),
                        std::string(to_string(*why))});
    }
    ctx_.end(JobOutcome::kSucceeded, "");
    return;
  }
  const Variant& v = variants_[action_->variant];
  StepSpec as_step;
  as_step.env = v.env;
  auto env = ctx_.step_env(as_step);
  const bool counted = action_->kind == BenchAction::Kind::kRun && action_->counted;
  if (counted) ctx_.metrics.start(bench.collect, env, ctx_.cwd);
  // The timed command starts without a shell when it can (shell: auto) or
  // must (shell: none); the untimed ones always go through /bin/sh.
  std::optional<DirectCommand> direct;
  if (action_->kind == BenchAction::Kind::kRun) {
    std::string error;
    direct = direct_command(action_->command, bench.shell, search_path(env), ctx_.cwd, &error);
    if (!error.empty()) {
      ctx_.log.system(error);
      ctx_.end(JobOutcome::kFailed, "variant " + v.name + ": " + error);
      return;
    }
    if (!shell_logged_[action_->variant]) {
      shell_logged_[action_->variant] = true;
      ctx_.log.system("variant " + v.name + ": the timed command runs " +
                      (direct ? "directly as " + direct->program + ", without a shell"
                              : std::string("through /bin/sh -c")));
    }
  }
  // Warm-ups start as counted runs do, so that they warm up the same path.
  ProcessSpec spec;
  spec.started_at_us = ctx_.clock.unix_us();
  spec.command = action_->command;
  spec.env = std::move(env);
  spec.cwd = ctx_.cwd;
  spec.what = action_->label() + " of variant " + v.name;
  spec.direct = std::move(direct);
  spec.measured = action_->kind == BenchAction::Kind::kRun;
  ctx_.spawn(std::move(spec));
}

void BenchJob::finish(StepResult r) {
  const BenchSpec& bench = *ctx_.job.bench;
  const BenchAction a = *action_;
  const Variant& v = variants_[a.variant];
  const double wall_s = static_cast<double>(r.wall_ns) / 1e9;
  r.index = a.run_index;
  r.name = v.name;
  r.command = ctx_.masker.mask(a.command);
  ctx_.log.flush_all();
  const bool counted = a.kind == BenchAction::Kind::kRun && a.counted;
  if (counted) {
    r.round = a.run_index;
    r.position = 0;  // in blocks, each run is its variant's only one in the round
    if (bench.interleave) {
      const auto order = plan_->round_order(a.run_index);
      for (size_t i = 0; i < order.size(); ++i)
        if (order[i] == a.variant) r.position = static_cast<uint32_t>(i);
    }
    r.contended = under_contention(r.context);
    if (r.contended) ++contended_[a.variant];
    ctx_.sink.sample(ctx_.next_key(), v.name, static_cast<uint32_t>(a.variant), a.run_index, r);
    const double cpu_s = (r.user_us + r.sys_us) / 1e6;
    walls_[a.variant].push_back(wall_s);
    cpu_[a.variant].push_back(cpu_s);
    if (r.context.instructions)
      instr_[a.variant].push_back(static_cast<double>(*r.context.instructions));
    else
      instr_missing_ = true;
    // What the precision rule judges: the bench's measure, wall time when
    // it is instructions and the machine counts none.
    double judged = -1;
    if (bench.measure == "cpu") judged = cpu_s;
    if (bench.measure == "instructions" && r.context.instructions)
      judged = static_cast<double>(*r.context.instructions);
    plan_->record(a, wall_s, judged);
    ctx_.metrics.finish(-1, v.name, static_cast<int32_t>(a.run_index));
  } else if (a.kind == BenchAction::Kind::kConclude && a.counted) {
    ctx_.metrics.finish(-1, v.name, static_cast<int32_t>(a.run_index));  // the metrics file only
  } else {
    // Lines written by setup, prepare, warm-ups and cleanup describe no
    // counted run: skip past them, so that none lands on the next run.
    ctx_.metrics.skip();
  }
  if (ctx_.forced) {
    action_.reset();
    ctx_.end(*ctx_.forced, ctx_.forced_message);
    return;
  }
  if (r.exit_code != 0) {
    const bool tolerated = a.kind == BenchAction::Kind::kRun && bench.ignore_failure;
    std::string how = r.signal ? "was killed by signal " + std::to_string(r.signal)
                               : "exited with " + std::to_string(r.exit_code);
    ctx_.log.system(a.label() + " of variant " + v.name + " " + how +
                    (tolerated ? " (ignore_failure: going on)" : ""));
    if (!tolerated && !failure_) {
      // The job fails, but after the cleanup of what setup made.
      failure_ = a.label() + " of variant " + v.name + " " + how;
      plan_->abort();
    }
  }
  next_action();
}

void BenchJob::log_summary() {
  const BenchSpec& bench = *ctx_.job.bench;
  char buf[512];
  if (!plan_->stop_description().empty()) ctx_.log.system(plan_->stop_description());
  // The verdict judges the bench's measure: wall seconds, user + sys
  // seconds, or user-space instructions where every run has a count. Without
  // counts, the log judges wall time, and says so (as the coordinator
  // refuses to judge instructions on zeros).
  const std::string& measure = bench.measure;
  const bool cpu = measure == "cpu";
  const bool instr = measure == "instructions" && !instr_missing_;
  if (measure == "instructions" && instr_missing_)
    ctx_.log.system(
        "measure instructions: this machine counted no instructions (hardware counters "
        "unavailable); the comparisons below are of wall time");
  const auto& judged = cpu ? cpu_ : instr ? instr_ : walls_;
  const auto& base = judged.empty() ? std::vector<double>{} : judged[0];
  for (size_t i = 0; i < variants_.size(); ++i) {
    const auto& w = judged[i];
    Summary s = summarize(walls_[i]);
    // As hyperfine prints them: scaled, 4 significant digits.
    ctx_.log.system(variants_[i].name + ": " + std::to_string(s.n) + " runs: median " +
                    human_seconds(s.median) + ", mean " + human_seconds(s.mean) + " ± " +
                    human_seconds(s.stddev) + " (stddev), MAD " + human_seconds(s.mad) + ", Q1 " +
                    human_seconds(s.q1) + ", Q3 " + human_seconds(s.q3) + ", min " +
                    human_seconds(s.min) + ", max " + human_seconds(s.max));
    if (contended_[i])
      ctx_.log.system("  " + std::to_string(contended_[i]) + " of " + std::to_string(w.size()) +
                      " runs " + contention_rule());
    for (const auto& m : bench_warnings(w).messages) ctx_.log.system("  warning: " + m);
    if (i > 0 && !base.empty() && !w.empty()) {
      // As the coordinator judges (evaluate_bench): the test the counts allow.
      const Method method = choose_method(base.size(), w.size(), bench.interleave, bench.alpha);
      auto few = too_few_runs_warning(base.size(), w.size(), bench.interleave, bench.alpha);
      if (!few.empty()) ctx_.log.system("  warning: " + few);
      Comparison c = compare_runs(base, w, bench.alpha, bench.noise_floor, bench.interleave);
      std::snprintf(buf, sizeof buf, "  %.3fx %s%s (%s %.3f-%.3f, p = %.2g, %s): %s", c.ratio,
                    variants_[0].name.c_str(), cpu ? " in cpu time" : "",
                    interval_label(bench.alpha).c_str(), c.ci_low, c.ci_high, c.p,
                    describe(method).c_str(), verdict_phrase(c.verdict, c.detectable).c_str());
      ctx_.log.system(buf);
    }
  }
}

}  // namespace yardstick
