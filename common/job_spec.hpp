// The stored form of a job spec (jobs.spec, a jsonb column).
//
// It is the wire form: a JobAssignment goes through wire_io::fill into a
// wire::Assign, and Cap'n Proto's JSON codec writes that struct (camelCase
// keys, 64-bit integers as strings). Reading runs the same path backwards, so
// the wire and the store cannot drift apart: a field the agent receives is a
// field that survives a coordinator restart.
#pragma once

#include <string>

#include "common/types.hpp"

namespace yardstick::job_spec {

// Every field of `spec`, as one JSON object that PostgreSQL accepts as jsonb.
// Throws std::invalid_argument when a text field is not valid UTF-8 (jsonb
// refuses it); the message names the field.
std::string to_json(const JobAssignment& spec);

// Reads what to_json wrote, and also the older hand-written format (snake_case
// keys such as "pipeline_name"; it carried no job id, attempt, pipeline id or
// bench shell, which read as their defaults). Keys it does not know are
// ignored. Throws std::runtime_error, with a message starting "job spec",
// when `json` is not JSON, not an object, or a value has the wrong type.
JobAssignment from_json(const std::string& json);

}  // namespace yardstick::job_spec
