// What machine an agent runs on: read once at start.
#pragma once

#include <string>
#include <vector>

#include "common/types.hpp"

namespace yardstick {

// The tools whose versions are part of a machine's fingerprint.
const std::vector<std::string>& fingerprint_tools();

// Reads CPU, memory, OS, kernel and the versions of fingerprint_tools()
// found on PATH. `name` is the machine's name (default: the host name).
MachineInfo collect_machine(const std::string& name);

// os=, arch= and tool=NAME for each tool found.
Labels automatic_labels(const MachineInfo& machine);

// The first dotted version number in `text` ("gcc (Debian 12.2.0-14) 12.2.0" -> "12.2.0").
std::string extract_version(const std::string& text);

}  // namespace yardstick
