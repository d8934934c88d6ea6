// A frame from a peer, as the coordinator and the agent decode it: the
// envelope, every field of its body (through the schema, so that no field
// and no future body is missed), and the conversions to domain types the
// handlers make.
#include <capnp/dynamic.h>
#include <kj/exception.h>

#include <cstddef>
#include <cstdint>

#include "common/text.hpp"
#include "common/wire.hpp"

namespace {

using namespace yardstick;
using Which = wire::Envelope::Body::Which;

size_t touch(const std::string& s) {
  return s.size() + valid_text(s).size();
}

// Every set field, through the schema. Lists: their size and first elements
// (a 4 KiB frame may declare a list of 2^28 bools; reading each, which no
// handler does, would measure the fuzzer, not the decoder).
size_t walk(capnp::DynamicValue::Reader value) {
  switch (value.getType()) {
    case capnp::DynamicValue::TEXT:
      return touch(value.as<capnp::Text>());
    case capnp::DynamicValue::DATA:
      return value.as<capnp::Data>().size();
    case capnp::DynamicValue::ENUM:
      return value.as<capnp::DynamicEnum>().getRaw();
    case capnp::DynamicValue::LIST: {
      auto list = value.as<capnp::DynamicList>();
      size_t n = list.size();
      for (unsigned i = 0; i < list.size() && i < 16; ++i) n += walk(list[i]);
      return n;
    }
    case capnp::DynamicValue::STRUCT: {
      auto s = value.as<capnp::DynamicStruct>();
      size_t n = 0;
      for (auto field : s.getSchema().getNonUnionFields())
        if (s.has(field)) n += walk(s.get(field));
      KJ_IF_MAYBE (field, s.which()) n += walk(s.get(*field));
      return n;
    }
    default:
      return 1;
  }
}

void read_body(wire::Envelope::Reader env) {
  auto body = env.getBody();
  size_t n = 0;
  switch (body.which()) {
    case Which::AGENT_HELLO: {
      auto h = body.getAgentHello();
      n += touch(h.getName());
      n += wire_io::read_labels(h.getLabels()).size();
      n += touch(wire_io::read(h.getMachine()).name);
      for (auto ref : h.getHeldJobs()) n += ref.getJobId() + ref.getAttempt();
      n += touch(h.getAgentVersion()) + touch(h.getIncarnation());
      break;
    }
    case Which::ASSIGN:
      n += wire_io::read(body.getAssign()).steps.size();
      break;
    case Which::STEP_FINISHED:
      n += touch(wire_io::read(body.getStepFinished()).name);
      n += wire_io::read(body.getStepFinished().getKey()).seq;
      break;
    case Which::JOB_FINISHED:
      n += wire_io::read(body.getJobFinished().getKey()).seq;
      n += static_cast<size_t>(wire_io::from_wire(body.getJobFinished().getOutcome()));
      n += touch(body.getJobFinished().getMessage());
      break;
    case Which::LOG_CHUNK: {
      auto data = body.getLogChunk().getData();
      n += touch(std::string(data.asChars().begin(), data.size()));
      break;
    }
    case Which::SUBMIT: {
      auto s = body.getSubmit();
      n += is_valid_text(std::string(s.getPipelineYaml())) + touch(s.getFileName()) +
           touch(s.getRevision());
      break;
    }
    case Which::SAMPLE:
      n += touch(body.getSample().getVariant()) + wire_io::read(body.getSample().getKey()).seq;
      break;
    case Which::METRIC:
      n += touch(body.getMetric().getName()) + touch(body.getMetric().getUnit());
      break;
    case Which::HEARTBEAT:
      for (auto ref : body.getHeartbeat().getHeldJobs()) n += ref.getJobId();
      break;
    case Which::ERROR:
      n += touch(wire_io::to_string(body.getError().getCode()));
      n += touch(body.getError().getMessage());
      break;
    default:
      break;
  }
  // Every field of every body.
  n += walk(capnp::toDynamic(env));
  if (n == 0xdeadbeef) __builtin_trap();  // keeps the reads
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto decoded = wire_io::decode_frame(data, size);
  if (auto* frame = std::get_if<std::unique_ptr<wire_io::Frame>>(&decoded)) {
    // Documented: readers may still throw kj::Exception on deeper damage,
    // which the dispatch loops catch and answer.
    try {
      read_body((*frame)->envelope());
    } catch (const kj::Exception&) {
    }
  } else {
    const auto& error = std::get<wire_io::DecodeError>(decoded);
    if (error.message.empty()) __builtin_trap();
  }
  return 0;
}
