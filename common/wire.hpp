// The edge between Cap'n Proto wire structs and yardstick's domain types.
//
// Every frame is decoded through decode_frame(): it copies the bytes into an
// aligned buffer, bounds the size and the traversal, and checks the protocol
// version. Readers returned from it may still throw kj::Exception on deeper
// corruption; callers catch at their dispatch loop and answer with an error.
#pragma once

#include <capnp/message.h>
#include <capnp/serialize.h>

#include <memory>
#include <string>
#include <variant>
#include <zmq.hpp>

#include "common/deploy_spec.hpp"
#include "common/types.hpp"
#include "schema/yardstick.capnp.h"

namespace yardstick::wire_io {

// Largest frame accepted from a peer (also set as ZMQ_MAXMSGSIZE).
constexpr int64_t kMaxFrameBytes = 16 * 1024 * 1024;
// Cap'n Proto traversal limit for a decoded frame, in 8-byte words.
constexpr uint64_t kTraversalLimitWords = 4 * 1024 * 1024;

// An owned, decoded envelope. The reader points into `words_`.
class Frame {
 public:
  Frame(kj::Array<capnp::word> words);
  wire::Envelope::Reader envelope() { return reader_->getRoot<wire::Envelope>(); }

 private:
  kj::Array<capnp::word> words_;
  std::unique_ptr<capnp::FlatArrayMessageReader> reader_;
};

struct DecodeError {
  wire::ErrorCode code;
  std::string message;
  uint64_t request_id = 0;  // echoed when it could be read
};

using DecodeResult = std::variant<std::unique_ptr<Frame>, DecodeError>;

// Decodes one frame. Never throws.
DecodeResult decode_frame(const void* data, size_t size);

// Serialises a builder into one ZeroMQ frame.
zmq::message_t to_message(capnp::MessageBuilder& builder);

// Starts an envelope with the current protocol version.
wire::Envelope::Builder start(capnp::MessageBuilder& builder, uint64_t request_id);

// A complete error envelope, ready to send.
zmq::message_t error_message(uint64_t request_id, wire::ErrorCode code, const std::string& message);

// Conversions between wire and domain types.
void fill(capnp::List<wire::KeyValue>::Builder list, const std::map<std::string, std::string>& kv);
std::map<std::string, std::string> read(capnp::List<wire::KeyValue>::Reader list);
// Labels travel as KeyValue pairs split at the first '='.
void fill_labels(capnp::List<wire::KeyValue>::Builder list, const Labels& labels);
Labels read_labels(capnp::List<wire::KeyValue>::Reader list);

void fill(wire::Machine::Builder b, const MachineInfo& m);
MachineInfo read(wire::Machine::Reader r);

// Carries every field of JobAssignment (steps, bench, variants and budgets;
// an absent optional is a null pointer). This is the one conversion of the
// job spec: common/job_spec.hpp stores the same struct as JSON.
void fill(wire::Assign::Builder b, const JobAssignment& a);
JobAssignment read(wire::Assign::Reader r);

void fill(wire::SignedSubmission::Builder b, const SignedSubmission& s);
SignedSubmission read(wire::SignedSubmission::Reader r);

void fill(wire::ResultKey::Builder b, const ResultKey& k);
// Job attempts into a list of the given length (init it with refs.size()).
void fill(capnp::List<wire::JobRef>::Builder list, const std::vector<JobRef>& refs);
ResultKey read(wire::ResultKey::Reader r);

void fill(wire::StepFinished::Builder b, const ResultKey& key, const StepResult& s);
StepResult read(wire::StepFinished::Reader r);

// A counted benchmark run of variant `variant` (index `variant_index`), run
// number `index`; read() gives the run (its context, round, position and
// contended included) and leaves the variant and the index to the caller.
void fill(wire::Sample::Builder b, const ResultKey& key, const std::string& variant,
          uint32_t variant_index, uint32_t index, const StepResult& run);
StepResult read(wire::Sample::Reader r);

// A deploy job's phase, and how it ended with its probe's counts.
void fill(wire::DeployPhase::Builder b, const ResultKey& key, const DeployPhase& p);
DeployPhase read(wire::DeployPhase::Reader r);
void fill(wire::ProbeCounts::Builder b, const ProbeCounts& c);
ProbeCounts read(wire::ProbeCounts::Reader r);
void fill(wire::DeployResult::Builder b, const ResultKey& key, const DeployReport& r);
// The outcome as an enum and as text (older peers read the text).
void fill_outcome(wire::DeployResult::Builder b, DeployOutcome outcome);
void fill_outcome(wire::DeployInfo::Builder b, DeployOutcome outcome);
// The enum when the peer sent it, else its text; nullopt for neither.
std::optional<DeployOutcome> read_outcome(wire::DeployResult::Reader r);
std::optional<DeployOutcome> read_outcome(wire::DeployInfo::Reader r);
// Every field; an outcome that is neither known enum nor text reads as failed.
DeployReport read(wire::DeployResult::Reader r);

wire::JobState to_wire(JobState s);
JobState from_wire(wire::JobState s);
wire::JobOutcome to_wire(JobOutcome o);
JobOutcome from_wire(wire::JobOutcome o);
wire::JobKind to_wire(JobKind k);
// The enum when the peer sent it; else the text (an older peer); build for
// a text this version does not know.
JobKind read_kind(wire::Assign::Reader r);
wire::JobNote to_wire(JobNote n);
JobNote from_wire(wire::JobNote n);

std::string to_string(wire::ErrorCode code);

}  // namespace yardstick::wire_io
