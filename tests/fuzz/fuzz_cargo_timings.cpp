// A cargo --timings HTML report, as the cargo-timings collector reads it.
#include <cstddef>
#include <cstdint>
#include <string>

#include "agent/collectors.hpp"

using namespace yardstick;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string html(reinterpret_cast<const char*>(data), size);
  std::vector<CollectedMetric> out;
  if (parse_cargo_timings(html, &out)) {
    // Every unit, then the count and the total.
    if (out.size() < 2 || out[out.size() - 2].name != "cargo.units") __builtin_trap();
    if (out[out.size() - 2].value != static_cast<double>(out.size() - 2)) __builtin_trap();
  } else if (!out.empty()) {
    __builtin_trap();
  }
  return 0;
}
