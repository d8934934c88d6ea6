// What was going on around one measured run (a counted benchmark run or a
// timed step): context switches of the measured process tree, the machine's
// steal and iowait over the run, the load before it, the CPU frequency and
// the perf counters of the tree; and the one rule that calls a run
// "under contention". An unknown value is absent (nullopt), never 0.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace yardstick {

struct RunContext {
  uint64_t wall_ns = 0;  // the run's wall time (monotonic clock)
  uint64_t cpu_us = 0;   // user + sys of the process tree (wait4 rusage)
  // Context switches of the tree (wait4 rusage): voluntary (ru_nvcsw), and
  // involuntary (ru_nivcsw: it was runnable and lost the CPU). Absent only
  // in what an older agent sent.
  std::optional<uint64_t> vol_ctx;
  std::optional<uint64_t> invol_ctx;
  // Shares of the machine's CPU time (all CPUs, /proc/stat) over the run, in
  // percent; absent when /proc/stat could not be read or did not advance.
  std::optional<double> steal_pct;
  std::optional<double> iowait_pct;
  // How far /proc/stat advanced over the run, in clock ticks summed over
  // all CPUs (USER_HZ, 100 a second each): the resolution of the two above.
  uint64_t stat_ticks = 0;
  // What OTHER processes did over the run, whatever the tree's parallelism:
  // the machine's busy CPU time (/proc/stat, all CPUs: user, nice, system,
  // irq, softirq) minus the tree's own (cpu_us), as a share of the whole
  // machine (0..1). Absent over fewer than min_stat_ticks_for_foreign ticks.
  std::optional<double> foreign_share;
  // How far foreign_share can be off by counting alone (0..1): /proc/stat
  // counts each CPU's time by the tick and prints each field truncated to
  // whole ticks, so over a window of `stat_ticks` the busy time can be off
  // by one tick per CPU at each end and one per busy field:
  // (2 x CPUs + 5) / stat_ticks. Judged on the agent, not stored.
  double foreign_resolution = 0;
  // CPU pressure over the run (/proc/pressure/cpu, "some" total): the share
  // of wall time in which some task, the tree's own included, waited for a
  // CPU, in percent; absent where the kernel has no PSI.
  std::optional<double> cpu_pressure_pct;
  std::optional<double> load1;    // 1-minute load average just before the run
  std::optional<double> cpu_mhz;  // mean over CPUs, just before the run
  // perf_event_open counters of the whole tree, counted from its exec.
  std::optional<uint64_t> task_clock_ns;  // software: CPU time the tree ran
  std::optional<uint64_t> instructions;   // hardware, user space only
  std::optional<uint64_t> cycles;         // hardware, user space only
  bool operator==(const RunContext&) const = default;
};

// The thresholds of under_contention(), named so that the docs and the tests
// quote the same numbers.
struct ContentionThresholds {
  uint64_t min_invol_ctx = 2;              // involuntary switches, at least
  double min_invol_per_cpu_s = 100;        // ...at least one per 10 ms of CPU time
  double max_cpu_share = 0.8;              // ...and CPU time at most 80 % of wall
  double min_steal_pct = 10;               // or: the hypervisor took 10 % or more
  uint64_t min_stat_ticks_for_steal = 20;  // ...measured over at least 20 ticks
  // or: other processes took 10 % of the machine or more (foreign_share)
  // beyond what counting by the tick could explain (foreign_resolution),
  // measured over at least 20 ticks (docs/benchmarks.md: the figures).
  double min_foreign_share = 0.10;
  uint64_t min_stat_ticks_for_foreign = 20;
};
constexpr ContentionThresholds kContention{};

// True when the run competed for a CPU and lost: other processes used a
// good share of the machine over the run (foreign_share: what any tree,
// parallel or not, can see); or its process tree was preempted often
// (involuntary switches per CPU-second of the tree) and was off the CPU for
// a good part of its wall time (what a single-threaded tree shows); or the
// hypervisor stole a large share of the machine. CPU time is the
// task-clock when known, else user + sys.
bool under_contention(const RunContext& context);
// One line describing the rule, for the docs and the job log.
std::string contention_rule();

// Parsing what the kernel exposes (the text of the files, so that tests can
// feed their own).

// The aggregate "cpu" line of /proc/stat, in ticks.
struct CpuTimes {
  uint64_t total = 0;  // user + nice + system + idle + iowait + irq + softirq + steal
  uint64_t iowait = 0;
  uint64_t steal = 0;
  uint64_t idle = 0;
  uint32_t cpus = 0;  // the "cpuN" lines: CPUs online (0: not listed)
};
std::optional<CpuTimes> parse_proc_stat(std::string_view text);
// Steal and iowait of `after - before`, as percentages, and the ticks
// between them; absent percentages when no tick passed. With the tree's own
// CPU time in context->cpu_us, the foreign share too (`ticks_per_s`: the
// kernel's USER_HZ).
void apply_cpu_times(const CpuTimes& before, const CpuTimes& after, RunContext* context,
                     double ticks_per_s = 100);
// The "some" line's total (microseconds) of /proc/pressure/cpu.
std::optional<uint64_t> parse_pressure_total(std::string_view text);
// The first field of /proc/loadavg.
std::optional<double> parse_loadavg(std::string_view text);
// The mean of the "cpu MHz" lines of /proc/cpuinfo.
std::optional<double> parse_cpuinfo_mhz(std::string_view text);

}  // namespace yardstick
