#include "agent/run_probe.hpp"

#include <dirent.h>
#include <linux/perf_event.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <iterator>
#include <sstream>
#include <utility>

namespace yardstick {

namespace {
int perf_open(uint32_t type, uint64_t config, pid_t pid, bool user_only, bool on_exec) {
  perf_event_attr attr{};
  attr.size = sizeof attr;
  attr.type = type;
  attr.config = config;
  attr.read_format = PERF_FORMAT_TOTAL_TIME_ENABLED | PERF_FORMAT_TOTAL_TIME_RUNNING;
  attr.inherit = 1;
  attr.disabled = on_exec ? 1 : 0;
  attr.enable_on_exec = on_exec ? 1 : 0;
  // As rustc-perf counts: user space only, so that what the kernel does on
  // behalf of neighbours is not charged to the command.
  attr.exclude_kernel = user_only ? 1 : 0;
  attr.exclude_hv = user_only ? 1 : 0;
  return static_cast<int>(syscall(SYS_perf_event_open, &attr, pid, -1, -1,
                                  static_cast<unsigned long>(PERF_FLAG_FD_CLOEXEC)));
}

std::string read_text(const char* path) {
  std::ifstream in(path);
  if (!in) return "";
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

std::string errno_text(int err) {
  const char* name = strerrorname_np(err);
  std::string out = name ? name : std::to_string(err);
  out += std::string(" (") + std::strerror(err);
  if (err == EACCES || err == EPERM) {
    std::string paranoid = read_text("/proc/sys/kernel/perf_event_paranoid");
    while (!paranoid.empty() && (paranoid.back() == '\n' || paranoid.back() == ' '))
      paranoid.pop_back();
    if (!paranoid.empty()) out += "; perf_event_paranoid is " + paranoid;
  } else if (err == ENOENT || err == EOPNOTSUPP) {
    out += "; the kernel or hypervisor exposes no such counter";
  } else if (err == ENOSYS) {
    out += "; perf_event_open is not available";
  }
  return out + ")";
}

// value, time enabled, time running; nullopt when unreadable or never ran.
std::optional<uint64_t> read_counter(int fd, bool exact) {
  if (fd < 0) return std::nullopt;
  uint64_t v[3] = {};
  if (::read(fd, v, sizeof v) != static_cast<ssize_t>(sizeof v)) return std::nullopt;
  if (v[2] == 0) return exact ? std::optional<uint64_t>(0) : std::nullopt;
  // Multiplexed: the kernel would have us scale an estimate; we record none.
  if (exact || v[2] == v[1]) return v[0];
  return std::nullopt;
}
}  // namespace

PerfSupport probe_perf() {
  PerfSupport s;
  int fd = perf_open(PERF_TYPE_SOFTWARE, PERF_COUNT_SW_TASK_CLOCK, 0, false, false);
  if (fd >= 0) {
    s.task_clock = true;
    close(fd);
  } else {
    s.task_clock_error = errno_text(errno);
  }
  int ins = perf_open(PERF_TYPE_HARDWARE, PERF_COUNT_HW_INSTRUCTIONS, 0, true, false);
  if (ins < 0) s.hardware_error = errno_text(errno);
  int cyc = ins >= 0 ? perf_open(PERF_TYPE_HARDWARE, PERF_COUNT_HW_CPU_CYCLES, 0, true, false) : -1;
  if (ins >= 0 && cyc < 0) s.hardware_error = errno_text(errno);
  s.hardware = ins >= 0 && cyc >= 0;
  if (ins >= 0) close(ins);
  if (cyc >= 0) close(cyc);
  return s;
}

TreeCounters::TreeCounters(TreeCounters&& o) noexcept {
  *this = std::move(o);
}

TreeCounters& TreeCounters::operator=(TreeCounters&& o) noexcept {
  if (this == &o) return *this;
  close_all();
  task_clock_ = std::exchange(o.task_clock_, -1);
  instructions_ = std::exchange(o.instructions_, -1);
  cycles_ = std::exchange(o.cycles_, -1);
  task_clock_error_ = std::move(o.task_clock_error_);
  hardware_error_ = std::move(o.hardware_error_);
  return *this;
}

TreeCounters::~TreeCounters() {
  close_all();
}

void TreeCounters::close_all() {
  for (int* fd : {&task_clock_, &instructions_, &cycles_})
    if (*fd >= 0) {
      close(*fd);
      *fd = -1;
    }
}

TreeCounters TreeCounters::open(pid_t pid) {
  TreeCounters c;
  c.task_clock_ = perf_open(PERF_TYPE_SOFTWARE, PERF_COUNT_SW_TASK_CLOCK, pid, false, true);
  if (c.task_clock_ < 0) c.task_clock_error_ = errno_text(errno);
  c.instructions_ = perf_open(PERF_TYPE_HARDWARE, PERF_COUNT_HW_INSTRUCTIONS, pid, true, true);
  if (c.instructions_ < 0) {
    c.hardware_error_ = errno_text(errno);
    return c;
  }
  c.cycles_ = perf_open(PERF_TYPE_HARDWARE, PERF_COUNT_HW_CPU_CYCLES, pid, true, true);
  if (c.cycles_ < 0) {
    c.hardware_error_ = errno_text(errno);
    close(c.instructions_);
    c.instructions_ = -1;
  }
  return c;
}

void TreeCounters::read_into(RunContext* context) const {
  // task-clock is a software counter: never multiplexed, exact when it ran.
  context->task_clock_ns = read_counter(task_clock_, true);
  context->instructions = read_counter(instructions_, false);
  context->cycles = read_counter(cycles_, false);
  if (!context->instructions || !context->cycles) context->instructions = context->cycles = {};
}

std::optional<CpuTimes> read_cpu_times() {
  return parse_proc_stat(read_text("/proc/stat"));
}

std::optional<uint64_t> read_cpu_pressure_us() {
  return parse_pressure_total(read_text("/proc/pressure/cpu"));
}

double stat_ticks_per_second() {
  static const double hz = [] {
    const long v = sysconf(_SC_CLK_TCK);
    return v > 0 ? static_cast<double>(v) : 100.0;
  }();
  return hz;
}

std::optional<double> read_load1() {
  return parse_loadavg(read_text("/proc/loadavg"));
}

std::optional<double> read_cpu_mhz(std::string* source) {
  double sum = 0;
  int n = 0;
  if (DIR* dir = opendir("/sys/devices/system/cpu")) {
    while (dirent* d = readdir(dir)) {
      std::string name = d->d_name;
      if (name.rfind("cpu", 0) != 0 || name.size() < 4 ||
          name.find_first_not_of("0123456789", 3) != std::string::npos)
        continue;
      std::string path = "/sys/devices/system/cpu/" + name + "/cpufreq/scaling_cur_freq";
      std::istringstream in(read_text(path.c_str()));
      double khz = 0;
      if (in >> khz && khz > 0) {
        sum += khz / 1000;
        ++n;
      }
    }
    closedir(dir);
  }
  if (n > 0) {
    if (source) *source = "cpufreq";
    return sum / n;
  }
  auto mhz = parse_cpuinfo_mhz(read_text("/proc/cpuinfo"));
  if (source) *source = mhz ? "cpuinfo" : "unknown";
  return mhz;
}

}  // namespace yardstick
