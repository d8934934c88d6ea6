#include "agent/fingerprint.hpp"

#include <sys/utsname.h>
#include <unistd.h>

#include <cctype>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>

#include "common/text.hpp"

namespace yardstick {

namespace {
bool on_path(const std::string& tool) {
  const char* path = std::getenv("PATH");
  std::stringstream ss(path ? path : "/usr/bin:/bin");
  std::string dir;
  while (std::getline(ss, dir, ':'))
    if (!dir.empty() && access((dir + "/" + tool).c_str(), X_OK) == 0) return true;
  return false;
}

std::string tool_version(const std::string& tool) {
  // `timeout` guards against a tool that waits for something; stdin is closed.
  std::string cmd = "timeout 5 " + tool + " --version </dev/null 2>&1";
  FILE* p = popen(cmd.c_str(), "r");
  if (!p) return "";
  std::string out;
  char buf[512];
  while (out.size() < 4096 && fgets(buf, sizeof buf, p)) out += buf;
  pclose(p);
  return extract_version(out);
}
}  // namespace

const std::vector<std::string>& fingerprint_tools() {
  static const std::vector<std::string> tools = {"gcc",    "g++",    "clang", "cmake", "ninja",
                                                 "make",   "cargo",  "rustc", "mold",  "sccache",
                                                 "ccache", "docker", "git"};
  return tools;
}

std::string extract_version(const std::string& text) {
  std::string first_line = text.substr(0, text.find('\n'));
  // Prefer the last version on the first line (gcc prints "(Debian 12.2.0-14) 12.2.0").
  std::string best;
  for (size_t i = 0; i < first_line.size(); ++i) {
    if (!std::isdigit(static_cast<unsigned char>(first_line[i]))) continue;
    if (i > 0 && (std::isalnum(static_cast<unsigned char>(first_line[i - 1])) ||
                  first_line[i - 1] == '-' || first_line[i - 1] == '.'))
      continue;
    size_t j = i;
    int dots = 0;
    while (j < first_line.size() &&
           (std::isdigit(static_cast<unsigned char>(first_line[j])) || first_line[j] == '.')) {
      if (first_line[j] == '.') ++dots;
      ++j;
    }
    std::string candidate = first_line.substr(i, j - i);
    while (!candidate.empty() && candidate.back() == '.') candidate.pop_back(), --dots;
    if (dots >= 1) best = candidate;
    i = j;
  }
  return best;
}

MachineInfo collect_machine(const std::string& name) {
  MachineInfo m;
  m.name = name;
  if (m.name.empty()) {
    char host[256] = {};
    gethostname(host, sizeof host - 1);
    m.name = host;
  }
  {
    std::ifstream cpu("/proc/cpuinfo");
    std::string line;
    while (std::getline(cpu, line))
      if (line.rfind("model name", 0) == 0) {
        m.cpu_model = trim(line.substr(line.find(':') + 1));
        break;
      }
  }
  long cores = sysconf(_SC_NPROCESSORS_ONLN);
  m.logical_cores = cores > 0 ? static_cast<uint32_t>(cores) : 1;
  long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGESIZE);
  if (pages > 0 && page > 0) m.memory_bytes = static_cast<uint64_t>(pages) * page;
  {
    std::ifstream os("/etc/os-release");
    std::string line;
    while (std::getline(os, line))
      if (line.rfind("PRETTY_NAME=", 0) == 0) {
        std::string v = line.substr(12);
        if (v.size() >= 2 && v.front() == '"') v = v.substr(1, v.size() - 2);
        m.os_release = v;
      }
  }
  struct utsname u {};
  if (uname(&u) == 0) {
    m.kernel = std::string(u.sysname) + " " + u.release;
    m.arch = u.machine;
  }
  if (m.cpu_model.empty()) m.cpu_model = m.arch;
  {
    std::ifstream gov("/sys/devices/system/cpu/cpu0/cpufreq/scaling_governor");
    std::getline(gov, m.governor);
    m.governor = trim(m.governor);
  }
  for (const auto& tool : fingerprint_tools())
    if (on_path(tool)) m.tools.push_back({tool, tool_version(tool)});
  std::string mhz_source;
  read_cpu_mhz(&mhz_source);
  for (auto& t : measurement_tools(probe_perf(), mhz_source)) m.tools.push_back(std::move(t));
  return m;
}

std::vector<Tool> measurement_tools(const PerfSupport& perf, const std::string& mhz_source) {
  // The errno's name only: the fingerprint stays the same from run to run.
  auto state = [](bool ok, const std::string& error) {
    return ok ? std::string("available") : "unavailable (" + error.substr(0, error.find(' ')) + ")";
  };
  return {{"perf.task-clock", state(perf.task_clock, perf.task_clock_error)},
          {"perf.hardware", state(perf.hardware, perf.hardware_error)},
          {"cpu.frequency", mhz_source}};
}

Labels automatic_labels(const MachineInfo& machine) {
  Labels labels;
  std::string os = machine.kernel.substr(0, machine.kernel.find(' '));
  for (auto& c : os) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (!os.empty()) labels.insert("os=" + os);
  if (!machine.arch.empty()) labels.insert("arch=" + machine.arch);
  for (const auto& t : machine.tools) {
    if (t.name == "perf.task-clock" || t.name == "perf.hardware") {
      if (t.version == "available") labels.insert("perf=" + t.name.substr(5));
    } else if (t.name != "cpu.frequency") {
      labels.insert("tool=" + t.name);
    }
  }
  return labels;
}

}  // namespace yardstick
