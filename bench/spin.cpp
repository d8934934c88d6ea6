// A deterministic CPU-bound command for the noise figures: `yardstick-spin
// N` runs N steps of a dependent xorshift chain (no memory traffic, no
// system calls) and exits. The work is the same on every run, so any
// difference between runs is the machine's noise, and `N * 1.02` is a
// slowdown of exactly 2 % in instructions.
#include <cstdint>
#include <cstdio>
#include <cstdlib>

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: yardstick-spin ITERATIONS\n");
    return 2;
  }
  const uint64_t n = std::strtoull(argv[1], nullptr, 10);
  uint64_t x = 88172645463325252ull;
  for (uint64_t i = 0; i < n; ++i) {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
  }
  // Stored through a volatile, so the loop cannot be dropped.
  volatile uint64_t sink = x;
  (void)sink;
  return 0;
}
