// A stored job spec (jobs.spec), as the coordinator reads it back at start:
// JSON to a JobAssignment, or std::runtime_error ("job spec...: ...").
// Whatever reads must write and read back to the same spec.
#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <string>

#include "common/job_spec.hpp"

using namespace yardstick;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  JobAssignment spec;
  try {
    spec = job_spec::from_json(text);
  } catch (const std::runtime_error& e) {
    if (std::string(e.what()).rfind("job spec", 0) != 0) __builtin_trap();
    return 0;
  }
  // Reading may normalise (slots 0 reads as 1); after that the stored form
  // is a fixed point: what a restarted coordinator reloads is what it stored.
  const JobAssignment once = job_spec::from_json(job_spec::to_json(spec));
  if (!(job_spec::from_json(job_spec::to_json(once)) == once)) __builtin_trap();
  return 0;
}
