// `sccache --show-stats --stats-format=json` output, as the sccache
// collector reads it.
#include <cstddef>
#include <cstdint>
#include <string>

#include "agent/collectors.hpp"

using namespace yardstick;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  double hits = 0, misses = 0;
  // UBSan checks the sums (float-cast and the like) on every path.
  if (parse_sccache_json(text, &hits, &misses) && hits + misses == 0xdeadbeef) __builtin_trap();
  return 0;
}
