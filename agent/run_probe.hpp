// Measuring the context of a run on this machine: perf_event_open counters
// of a process tree, and the machine's /proc/stat, /proc/loadavg and CPU
// frequency. What the kernel does not allow or expose is reported as such.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>

#include "common/run_context.hpp"

namespace yardstick {

// What perf_event_open allows this process, tried on itself.
struct PerfSupport {
  bool task_clock = false;
  std::string task_clock_error;  // "EACCES (perf_event_paranoid is 3)", ...; empty when allowed
  bool hardware = false;         // user-space instructions and cycles
  std::string hardware_error;    // "ENOENT (no hardware counters ...)"; empty when allowed
};
PerfSupport probe_perf();

// Counters of one process tree. Opened on a child that has forked but not
// yet exec'd; they count from its exec (enable_on_exec) and include every
// process it starts later (inherit). Move-only; closes its descriptors.
class TreeCounters {
 public:
  TreeCounters() = default;
  TreeCounters(TreeCounters&& other) noexcept;
  TreeCounters& operator=(TreeCounters&& other) noexcept;
  TreeCounters(const TreeCounters&) = delete;
  TreeCounters& operator=(const TreeCounters&) = delete;
  ~TreeCounters();

  // Opens task-clock, and user-space instructions and cycles, on `pid`.
  // Whatever the kernel refuses stays unopened; errors() says why.
  static TreeCounters open(pid_t pid);
  // Reads the counters (after the tree's leader was reaped, they hold the
  // whole tree) and writes them into `context`; an unopened counter, or a
  // hardware counter the kernel multiplexed, is left absent.
  void read_into(RunContext* context) const;
  // errno names of the counters that did not open, "" when all did.
  const std::string& task_clock_error() const { return task_clock_error_; }
  const std::string& hardware_error() const { return hardware_error_; }

 private:
  void close_all();
  int task_clock_ = -1, instructions_ = -1, cycles_ = -1;
  std::string task_clock_error_, hardware_error_;
};

// The aggregate line of /proc/stat, now.
std::optional<CpuTimes> read_cpu_times();
// /proc/pressure/cpu's "some" total, microseconds; nullopt without PSI.
std::optional<uint64_t> read_cpu_pressure_us();
// The kernel's USER_HZ: the ticks of /proc/stat in a second.
double stat_ticks_per_second();
// The 1-minute load average, now.
std::optional<double> read_load1();
// The CPU frequency now, mean over CPUs, and where it came from:
// "cpufreq" (scaling_cur_freq), "cpuinfo" (/proc/cpuinfo "cpu MHz") or
// "unknown" (nullopt).
std::optional<double> read_cpu_mhz(std::string* source = nullptr);

}  // namespace yardstick
