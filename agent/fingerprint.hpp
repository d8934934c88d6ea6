// What machine an agent runs on: read once at start.
#pragma once

#include <string>
#include <vector>

#include "agent/run_probe.hpp"
#include "common/types.hpp"

namespace yardstick {

// The tools whose versions are part of a machine's fingerprint.
const std::vector<std::string>& fingerprint_tools();

// Reads CPU, memory, OS, kernel and the versions of fingerprint_tools()
// found on PATH, and what this machine can measure of a run, as three more
// tools: "perf.task-clock" and "perf.hardware" ("available", or
// "unavailable (ENOENT)" with the errno perf_event_open answered) and
// "cpu.frequency" (where it is read: "cpufreq", "cpuinfo" or "unknown").
// `name` is the machine's name (default: the host name).
MachineInfo collect_machine(const std::string& name);

// The tools describing perf_event_open and the CPU frequency (see above).
std::vector<Tool> measurement_tools(const PerfSupport& perf, const std::string& mhz_source);

// os=, arch= and tool=NAME for each tool found; perf=task-clock and
// perf=hardware for the counters that are available.
Labels automatic_labels(const MachineInfo& machine);

// The first dotted version number in `text` ("gcc (Debian 12.2.0-14) 12.2.0" -> "12.2.0").
std::string extract_version(const std::string& text);

}  // namespace yardstick
