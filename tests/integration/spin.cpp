// A deterministic CPU-bound command for benchmark tests: spins ITERATIONS
// times, started without a shell.
//
//   yardstick-test-spin ITERATIONS [COUNTER_FILE JITTER PHASE]
//
// With a counter file (in the job's workspace), the n-th call of a variant
// spins ITERATIONS (1 + JITTER) or ITERATIONS (1 - JITTER) by the parity of
// n + PHASE: a noise of known size that no round can escape (two variants
// with opposite phases swing apart in every round), so that a small
// slowdown is hidden from a few runs whatever the machine's own noise.
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>

int main(int argc, char** argv) {
  if (argc != 2 && argc != 5) {
    std::fprintf(stderr, "usage: %s ITERATIONS [COUNTER_FILE JITTER PHASE]\n", argv[0]);
    return 2;
  }
  double iterations = std::strtod(argv[1], nullptr);
  if (argc == 5) {
    long count = 0;
    {
      std::ifstream in(argv[2]);
      in >> count;
    }
    std::ofstream(argv[2]) << count + 1 << "\n";
    const double jitter = std::strtod(argv[3], nullptr);
    const long phase = std::strtol(argv[4], nullptr, 10);
    iterations *= (count + phase) % 2 ? 1 + jitter : 1 - jitter;
  }
  volatile unsigned long sink = 0;
  for (unsigned long i = 0, n = static_cast<unsigned long>(iterations); i < n; ++i) sink = sink + i;
  return 0;
}
