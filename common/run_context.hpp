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
};
constexpr ContentionThresholds kContention{};

// True when the run competed for a CPU and lost: its process tree was
// preempted often (involuntary switches per CPU-second of the tree) and was
// off the CPU for a good part of its wall time; or the hypervisor stole a
// large share of the machine over the run. CPU time is the task-clock when
// known, else user + sys.
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
};
std::optional<CpuTimes> parse_proc_stat(std::string_view text);
// Steal and iowait of `after - before`, as percentages, and the ticks
// between them; absent percentages when no tick passed.
void apply_cpu_times(const CpuTimes& before, const CpuTimes& after, RunContext* context);
// The first field of /proc/loadavg.
std::optional<double> parse_loadavg(std::string_view text);
// The mean of the "cpu MHz" lines of /proc/cpuinfo.
std::optional<double> parse_cpuinfo_mhz(std::string_view text);

}  // namespace yardstick
