// `ccache --print-stats` output, as the ccache collector reads it.
#include <cstddef>
#include <cstdint>
#include <string>

#include "agent/collectors.hpp"

using namespace yardstick;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  size_t n = 0;
  for (const auto& [key, value] : parse_ccache_stats(text)) n += key.size() + (value > 0);
  if (n == 0xdeadbeef) __builtin_trap();
  return 0;
}
