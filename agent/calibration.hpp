// The shipped micro-benchmarks an agent runs to calibrate its machine
// (docs/benchmarks.md, "Machine calibration"). Fixed work, so that every
// machine does exactly the same:
//
//   cpu     a dependent integer (xorshift) and floating-point loop, 10 M steps
//   memory  one read-modify-write pass over a 64 MiB buffer (larger than the
//           last-level cache of most machines), allocated and touched once
//   spawn   10 starts of /bin/true (posix_spawn, then waitpid), one after another
//   io      4 files of 64 KiB in `dir`: write, fsync, read back, unlink
//
// One repetition runs each once, in that order (interleaved, so a slow
// minute touches every benchmark alike); one warm-up repetition is not
// counted. Each time is the monotonic clock around one benchmark.
//
// The agent runs this in a child process of its own (`yardstick-agent
// calibrate`), as the one step of a job of kind "calibrate" that holds
// every slot of the agent: it never runs beside another job.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/calibration.hpp"

namespace yardstick {

constexpr uint32_t kCalibrationRepetitions = 15;

// Runs the micro-benchmarks; io works in `dir` (which must exist). On
// failure, an empty result and `error` says what failed.
std::vector<CalibrationTimes> run_calibration(const std::string& dir, uint32_t repetitions,
                                              std::string* error);

// `yardstick-agent calibrate --dir DIR --out FILE [--repetitions N]`: makes
// DIR when missing, runs them, writes FILE (common/calibration.hpp's format)
// and a summary on stdout; `--help` prints its usage. Returns the process
// exit code: 0; 1 when a benchmark or a file failed; 2 for a usage error
// (each with a message on stderr).
int calibrate_main(int argc, char** argv);

}  // namespace yardstick
