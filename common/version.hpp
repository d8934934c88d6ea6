// The build's version, for --version and the agent's hello.
#pragma once

#include <string>

namespace yardstick {

extern const char* const kVersion;      // "0.1.0"
extern const char* const kGitRevision;  // the commit the build was configured from, or "unknown"

// "NAME 0.1.0 (git 1a2b3c4d5e6f)"
std::string version_string(const std::string& name);

}  // namespace yardstick
