// A .ninja_log written by a build: the first input line splits it into the
// log before the step and the log after it, as the ninja-log collector
// reads them.
#include <cstddef>
#include <cstdint>
#include <sstream>
#include <string>
#include <unordered_set>

#include "agent/collectors.hpp"

using namespace yardstick;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  std::unordered_set<std::string> before;
  std::istringstream in(text.substr(0, text.size() / 2));
  for (std::string line; std::getline(in, line);) before.insert(line);
  std::vector<CollectedMetric> all, fresh;
  const bool ok = parse_ninja_log(text, nullptr, &all);
  if (ok != parse_ninja_log(text, &before, &fresh)) __builtin_trap();
  if (ok && (all.size() < 2 || fresh.size() > all.size())) __builtin_trap();
  for (const auto& m : all)
    if (m.name.empty() || m.unit.empty()) __builtin_trap();
  return 0;
}
