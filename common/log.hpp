// Logging setup shared by the three binaries: spdlog to stderr, one format.
#pragma once

#include <string>

namespace yardstick {

// `level` is one of trace, debug, info, warn, error, off. Returns false when unknown.
bool setup_logging(const std::string& program, const std::string& level);

}  // namespace yardstick
