// A pipeline file, as the CLI and the coordinator parse it: YAML text to a
// PipelineDef or errors naming file, line and key. A valid pipeline's jobs
// are made into job specs as the coordinator stores them, and read back.
#include <cstddef>
#include <cstdint>
#include <string>

#include "common/job_spec.hpp"
#include "common/pipeline.hpp"
#include "common/text.hpp"

using namespace yardstick;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  auto parsed = parse_pipeline(text, "fuzz.yml");
  size_t n = 0;
  for (const auto& e : parsed.errors) n += e.to_string().size();
  if (!parsed.ok()) {
    if (parsed.errors.empty() || parsed.pipeline) __builtin_trap();
    return 0;
  }
  const PipelineDef& def = *parsed.pipeline;
  if (def.jobs.empty()) __builtin_trap();  // the parser requires one
  for (const JobDef& jd : def.jobs) {
    if (!def.find_job(jd.name)) __builtin_trap();
    for (const auto& need : jd.needs)
      if (!def.find_job(need)) __builtin_trap();  // checked by the parser
    // The spec the coordinator stores and a signing agent recomputes.
    const JobAssignment spec = assignment_for(def, jd, "", "");
    // The coordinator refuses text that is not UTF-8 before parsing it.
    if (!is_valid_text(text)) continue;
    const std::string json = job_spec::to_json(spec);
    // What is stored is what an agent gets after a restart.
    if (!(job_spec::from_json(json) == spec)) __builtin_trap();
    n += json.size();
  }
  if (n == 0xdeadbeef) __builtin_trap();
  return 0;
}
