// The coordinator against peers that send garbage: random bytes, mutated
// valid frames, odd values in valid frames (text that is not UTF-8, NUL
// bytes, ids past INT64_MAX, huge counts). Every frame is answered on its
// own, a bad one never costs other peers their turn, and afterwards the
// coordinator still serves its clients and keeps its agents.
//
// The flood is reproducible: the seed is printed, and YARDSTICK_FUZZ_SEED
// replays the same frames (their batching into turns depends on timing).
#include <gtest/gtest.h>

#include <capnp/dynamic.h>
#include <capnp/schema.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <limits>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <random>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <variant>
#include <vector>
#include <zmq.hpp>

#include "common/wire.hpp"
#include "tests/integration/harness.hpp"

namespace yardstick::test {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

constexpr int kFloodFrames = 10000;
constexpr uint64_t kDefaultSeed = 0x5eed'f4a3'e5u;
constexpr size_t kMaxRandomBytes = 4096;
// A pipeline id nobody has: a cancel that must find nothing.
constexpr uint64_t kMissingId = 987654321;

enum class To { kClients, kAgents };

const char* side_name(To to) {
  return to == To::kClients ? "clients" : "agents";
}

std::string encode(capnp::MessageBuilder& b) {
  auto m = wire_io::to_message(b);
  return std::string(m.data<char>(), m.size());
}

// A Text that may hold any bytes, NUL included (`s` must outlive the call).
capnp::Text::Reader text(const std::string& s) {
  return capnp::Text::Reader(s.data(), s.size());
}

// One envelope: `fill` initialises its body.
template <typename F>
std::string frame(uint64_t request_id, F fill) {
  capnp::MallocMessageBuilder b;
  fill(wire_io::start(b, request_id).getBody());
  return encode(b);
}

// Names from the schema: "statusReply", "refused".
std::string body_name(wire::Envelope::Body::Which which) {
  for (auto field : capnp::Schema::from<wire::Envelope::Body>().getFields())
    if (field.getProto().getDiscriminantValue() == static_cast<uint16_t>(which))
      return field.getProto().getName();
  return "body " + std::to_string(static_cast<int>(which));
}

std::string code_name(wire::ErrorCode code) {
  auto names = capnp::Schema::from<wire::ErrorCode>().getEnumerants();
  const auto i = static_cast<unsigned>(code);
  return i < names.size() ? std::string(names[i].getProto().getName().cStr())
                          : "code " + std::to_string(i);
}

// An answer in words: "welcome", "refused: the message".
std::string describe(const void* data, size_t size) {
  auto r = wire_io::decode_frame(data, size);
  if (auto* e = std::get_if<wire_io::DecodeError>(&r)) return "undecodable: " + e->message;
  auto body = std::get<std::unique_ptr<wire_io::Frame>>(r)->envelope().getBody();
  if (body.which() != wire::Envelope::Body::ERROR) return body_name(body.which());
  return code_name(body.getError().getCode()) + ": " +
         std::string(body.getError().getMessage().cStr()).substr(0, 120);
}

// The kind of an answer, for the tally: "error:malformed", "ack", "statusReply".
std::string answer_kind(const zmq::message_t& m) {
  auto r = wire_io::decode_frame(m.data(), m.size());
  if (std::holds_alternative<wire_io::DecodeError>(r)) return "UNDECODABLE";
  auto body = std::get<std::unique_ptr<wire_io::Frame>>(r)->envelope().getBody();
  if (body.which() == wire::Envelope::Body::ERROR)
    return "error:" + code_name(body.getError().getCode());
  return body_name(body.which());
}

bool is_error(const zmq::message_t& m, wire::ErrorCode code) {
  auto r = wire_io::decode_frame(m.data(), m.size());
  if (std::holds_alternative<wire_io::DecodeError>(r)) return false;
  auto body = std::get<std::unique_ptr<wire_io::Frame>>(r)->envelope().getBody();
  return body.which() == wire::Envelope::Body::ERROR && body.getError().getCode() == code;
}

bool is_welcome(const zmq::message_t& m) {
  auto r = wire_io::decode_frame(m.data(), m.size());
  if (std::holds_alternative<wire_io::DecodeError>(r)) return false;
  return std::get<std::unique_ptr<wire_io::Frame>>(r)->envelope().getBody().which() ==
         wire::Envelope::Body::WELCOME;
}

// Answers in a message: one per result key of an ack, else one.
int answer_count(const zmq::message_t& m) {
  auto r = wire_io::decode_frame(m.data(), m.size());
  if (std::holds_alternative<wire_io::DecodeError>(r)) return 1;
  auto body = std::get<std::unique_ptr<wire_io::Frame>>(r)->envelope().getBody();
  if (body.which() != wire::Envelope::Body::ACK) return 1;
  return static_cast<int>(body.getAck().getKeys().size());
}

// Whether the coordinator owes this message an answer of its own: every one
// but an agent's error report (answering it could loop between the two) and
// an agent's result, which is answered by an ack or an abandon that may cover
// several results at once (counted apart).
bool owes_answer(To to, const std::vector<std::string>& parts) {
  if (to == To::kClients || parts.size() != 1) return true;
  auto r = wire_io::decode_frame(parts[0].data(), parts[0].size());
  if (std::holds_alternative<wire_io::DecodeError>(r)) return true;
  try {
    using B = wire::Envelope::Body;
    switch (std::get<std::unique_ptr<wire_io::Frame>>(r)->envelope().getBody().which()) {
      case B::ERROR:
      case B::STEP_STARTED:
      case B::STEP_FINISHED:
      case B::LOG_CHUNK:
      case B::JOB_FINISHED:
      case B::SAMPLE:
      case B::METRIC:
        return false;
      default:
        return true;
    }
  } catch (const kj::Exception&) {
    return true;
  }
}

// Waits up to `timeout` for one message on `s`.
bool recv_within(zmq::socket_t& s, zmq::message_t* out, std::chrono::milliseconds timeout) {
  zmq::pollitem_t item{static_cast<void*>(s), 0, ZMQ_POLLIN, 0};
  zmq::poll(&item, 1, timeout);
  if (!(item.revents & ZMQ_POLLIN)) return false;
  return static_cast<bool>(s.recv(*out, zmq::recv_flags::dontwait));
}

// A peer with keys the coordinator admits: the submit client key, or a new
// agent key listed as `agent_name` (what a hostile peer with a stolen or
// its own listed key could send is what these tests throw).
zmq::socket_t dealer(zmq::context_t& ctx, Cluster& c, To to, const std::string& agent_name = "") {
  zmq::socket_t s(ctx, zmq::socket_type::dealer);
  s.set(zmq::sockopt::linger, 0);
  s.set(zmq::sockopt::sndhwm, 0);  // never block or drop a send of the flood
  s.set(zmq::sockopt::rcvhwm, 0);
  c.secure(s, to == To::kClients ? c.client_key() : c.authorize_agent(agent_name));
  s.connect(to == To::kClients ? c.clients_endpoint() : c.agents_endpoint());
  return s;
}

// Sends `hello` and waits for the welcome; false on any other outcome.
bool register_agent(zmq::socket_t& s, const std::string& hello) {
  s.send(zmq::buffer(hello), zmq::send_flags::none);
  const auto deadline = Clock::now() + 5s;
  while (Clock::now() < deadline) {
    zmq::message_t m;
    if (recv_within(s, &m, 200ms) && is_welcome(m)) return true;
  }
  return false;
}

// The coordinator's log from byte `from` on: its warn/error/critical lines.
std::vector<std::string> log_problems(const std::string& log, size_t from) {
  std::vector<std::string> out;
  std::istringstream in(log.substr(std::min(from, log.size())));
  std::string line;
  while (std::getline(in, line))
    if (line.find(" warning ") != std::string::npos || line.find(" error ") != std::string::npos ||
        line.find(" critical ") != std::string::npos || line.find("terminate") != std::string::npos)
      out.push_back(line);
  return out;
}

// The part of a log line after "coordinator: ", shortened.
std::string message_of(const std::string& line, size_t max = 240) {
  size_t at = line.find("coordinator: ");
  std::string m = at == std::string::npos ? line : line.substr(at + 13);
  return m.size() > max ? m.substr(0, max) + "..." : m;
}

constexpr const char* kRolledBack = "store failed; nothing of this turn was acted on";

// ---------------------------------------------------------------------------
// The seeds: valid frames, and valid frames with odd values.

struct Seed {
  std::string what;
  To to;
  std::string bytes;
};

struct Ids {
  uint64_t pipeline = 0;  // a pipeline whose only job waits, queued, for a label nobody has
  uint64_t job = 0;
};

const char* kParkedPipeline =
    "pipeline: fuzz-parked\n"
    "jobs:\n"
    "  parked:\n"
    "    on: { labels: [nowhere=fuzz] }\n"
    "    steps: [{run: \"true\"}]\n";

struct HelloFields {
  std::string name = "fuzz-a";
  std::vector<std::pair<std::string, std::string>> labels = {{"os", "fuzz"}, {"pool", "fuzz"}};
  uint32_t slots = 2;
  std::string machine = "fuzz-machine";
  std::string cpu = "Fuzz CPU 9000";
  uint32_t cores = 4;
  uint64_t memory_bytes = 8ull << 30;
  std::string tool = "cc", tool_version = "12.2";
  std::vector<std::pair<uint64_t, uint32_t>> held;
  size_t extra_held = 0;  // more held jobs, ids counting down from UINT64_MAX
};

std::string hello(uint64_t req, const HelloFields& f) {
  return frame(req, [&](wire::Envelope::Body::Builder body) {
    auto h = body.initAgentHello();
    h.setName(text(f.name));
    auto labels = h.initLabels(f.labels.size());
    for (unsigned i = 0; i < f.labels.size(); ++i) {
      labels[i].setKey(text(f.labels[i].first));
      labels[i].setValue(text(f.labels[i].second));
    }
    h.setSlots(f.slots);
    auto m = h.initMachine();
    m.setName(text(f.machine));
    m.setCpuModel(text(f.cpu));
    m.setLogicalCores(f.cores);
    m.setMemoryBytes(f.memory_bytes);
    m.setOsRelease("Fuzz Linux 1");
    m.setKernel("6.1.0-fuzz");
    m.setArch("x86_64");
    auto tools = m.initTools(1);
    tools[0].setName(text(f.tool));
    tools[0].setVersion(text(f.tool_version));
    auto held = h.initHeldJobs(f.held.size() + f.extra_held);
    for (unsigned i = 0; i < f.held.size(); ++i) {
      held[i].setJobId(f.held[i].first);
      held[i].setAttempt(f.held[i].second);
    }
    for (size_t i = 0; i < f.extra_held; ++i) {
      held[f.held.size() + i].setJobId(std::numeric_limits<uint64_t>::max() - i);
      held[f.held.size() + i].setAttempt(static_cast<uint32_t>(i));
    }
    h.setAgentVersion("fuzz");
    h.setIncarnation("fuzz-incarnation");
  });
}

void set_key(wire::ResultKey::Builder k, uint64_t job, uint32_t attempt, uint64_t seq) {
  k.setJobId(job);
  k.setAttempt(attempt);
  k.setSeq(seq);
}

// Every timestamp of the seeds: fixed, so that a seed replays the same bytes.
constexpr int64_t kAtUs = 1'700'000'000'000'000;

// The result frames an agent sends, for job `ids.job` attempt 1; `odd`
// replaces one value to make an odd variant.
struct ResultFields {
  uint64_t seq = 1;
  uint32_t attempt = 1;
  uint32_t index = 0;
  std::string name = "build";
  std::string command = "make -j4";
  std::string variant = "base";
  uint32_t variant_index = 0;
  std::string metric = "ccache.hit_rate";
  std::string unit = "ratio";
  std::string message = "done";
  int64_t at_us = 0;  // 0: now
  uint64_t max_rss_kb = 20480;
};

std::string step_started(const Ids& ids, const ResultFields& f) {
  return frame(10, [&](wire::Envelope::Body::Builder body) {
    auto m = body.initStepStarted();
    set_key(m.initKey(), ids.job, f.attempt, f.seq);
    m.setIndex(f.index);
    m.setName(text(f.name));
    m.setStartedAtUs(f.at_us ? f.at_us : kAtUs);
  });
}

std::string step_finished(const Ids& ids, const ResultFields& f) {
  return frame(11, [&](wire::Envelope::Body::Builder body) {
    auto m = body.initStepFinished();
    set_key(m.initKey(), ids.job, f.attempt, f.seq);
    m.setIndex(f.index);
    m.setName(text(f.name));
    const int64_t at = f.at_us ? f.at_us : kAtUs;
    m.setStartedAtUs(at - 1000000);
    m.setEndedAtUs(at);
    m.setWallNs(1000000000);
    m.setUserUs(900000);
    m.setSysUs(50000);
    m.setMaxRssKb(f.max_rss_kb);
    m.setExitCode(0);
    m.setTimed(true);
    m.setCommand(text(f.command));
  });
}

std::string log_chunk(const Ids& ids, const ResultFields& f, const std::string& data) {
  return frame(12, [&](wire::Envelope::Body::Builder body) {
    auto m = body.initLogChunk();
    set_key(m.initKey(), ids.job, f.attempt, f.seq);
    m.setStream(wire::Stream::STDOUT);
    m.setData(kj::arrayPtr(reinterpret_cast<const capnp::byte*>(data.data()), data.size()));
    m.setAtUs(f.at_us ? f.at_us : kAtUs);
    m.setStepIndex(0);
  });
}

std::string job_finished(const Ids& ids, const ResultFields& f) {
  return frame(13, [&](wire::Envelope::Body::Builder body) {
    auto m = body.initJobFinished();
    set_key(m.initKey(), ids.job, f.attempt, f.seq);
    m.setOutcome(wire::JobOutcome::SUCCEEDED);
    m.setMessage(text(f.message));
    m.setEndedAtUs(f.at_us ? f.at_us : kAtUs);
  });
}

std::string sample(const Ids& ids, const ResultFields& f) {
  return frame(14, [&](wire::Envelope::Body::Builder body) {
    auto m = body.initSample();
    set_key(m.initKey(), ids.job, f.attempt, f.seq);
    m.setVariant(text(f.variant));
    m.setVariantIndex(f.variant_index);
    m.setIndex(0);
    m.setWallNs(12345678);
    m.setUserUs(10000);
    m.setSysUs(2000);
    m.setMaxRssKb(f.max_rss_kb);
    m.setAtUs(f.at_us ? f.at_us : kAtUs);
  });
}

std::string metric(const Ids& ids, const ResultFields& f) {
  return frame(15, [&](wire::Envelope::Body::Builder body) {
    auto m = body.initMetric();
    set_key(m.initKey(), ids.job, f.attempt, f.seq);
    m.setStepIndex(0);
    m.setVariant(text(f.variant));
    m.setRunIndex(-1);
    m.setName(text(f.metric));
    m.setValue(0.5);
    m.setUnit(text(f.unit));
  });
}

std::string deploy_phase(const Ids& ids, const ResultFields& f) {
  return frame(16, [&](wire::Envelope::Body::Builder body) {
    auto m = body.initDeployPhase();
    set_key(m.initKey(), ids.job, f.attempt, f.seq);
    m.setName(text(f.name));
    const int64_t at = f.at_us ? f.at_us : kAtUs;
    m.setStartUs(at - 1000000);
    m.setEndUs(at);
    m.setOk(true);
    m.setDetail(text(f.message));
  });
}

std::string deploy_result(const Ids& ids, const ResultFields& f, double p50_ms = 1.5) {
  return frame(17, [&](wire::Envelope::Body::Builder body) {
    auto m = body.initDeployResult();
    set_key(m.initKey(), ids.job, f.attempt, f.seq);
    m.setOutcome(text(f.message));
    m.setMessage(text(f.command));
    m.setHasProbe(true);
    auto p = m.initProbe();
    p.setSent(f.max_rss_kb);
    p.setP50Ms(p50_ms);
  });
}

std::string submit(const std::string& yaml, const std::string& file, const std::string& revision,
                   const std::string& submitter) {
  return frame(20, [&](wire::Envelope::Body::Builder body) {
    auto s = body.initSubmit();
    s.setPipelineYaml(text(yaml));
    s.setFileName(text(file));
    s.setRevision(text(revision));
    s.setBranch("main");
    s.setSubmitter(text(submitter));
  });
}

std::string status(uint64_t id) {
  return frame(21, [&](wire::Envelope::Body::Builder b) { b.initStatus().setId(id); });
}

std::string logs(uint64_t job, uint64_t after, uint32_t max_bytes) {
  return frame(22, [&](wire::Envelope::Body::Builder b) {
    auto l = b.initLogs();
    l.setJobId(job);
    l.setAfterId(after);
    l.setMaxBytes(max_bytes);
  });
}

std::string cancel(uint64_t id) {
  return frame(23, [&](wire::Envelope::Body::Builder b) { b.initCancelRequest().setId(id); });
}

std::string report(const std::string& name, const std::string& job, size_t extra_params = 0) {
  return frame(24, [&](wire::Envelope::Body::Builder b) {
    auto r = b.initReport();
    r.setName(text(name));
    auto params = r.initParams(1 + extra_params);
    params[0].setKey("job");
    params[0].setValue(text(job));
    for (size_t i = 0; i < extra_params; ++i) {
      params[1 + i].setKey("p" + std::to_string(i));
      params[1 + i].setValue("v");
    }
  });
}

// One valid frame of every kind each socket serves.
std::vector<Seed> corpus(const Ids& ids) {
  std::vector<Seed> out;
  auto add = [&](std::string what, To to, std::string bytes) {
    out.push_back({std::move(what), to, std::move(bytes)});
  };
  add("submit", To::kClients, submit(kParkedPipeline, "fuzz.yml", "r1", "fuzzer"));
  add("status", To::kClients, status(ids.pipeline));
  add("logs", To::kClients, logs(ids.job, 0, 4096));
  add("agents", To::kClients, frame(25, [](wire::Envelope::Body::Builder b) { b.initAgents(); }));
  add("cancelRequest", To::kClients, cancel(kMissingId));
  add("report", To::kClients, report("slowest_units", "fuzz"));

  HelloFields h;
  h.name = "fuzz-corpus";
  h.held = {{ids.job, 1}, {123456789, 2}};
  add("agentHello", To::kAgents, hello(30, h));
  add("heartbeat", To::kAgents, frame(31, [&](wire::Envelope::Body::Builder b) {
        auto hb = b.initHeartbeat();
        hb.setSentAtUs(kAtUs);
        auto held = hb.initHeldJobs(1);
        held[0].setJobId(ids.job);
        held[0].setAttempt(1);
      }));
  ResultFields r;
  add("stepStarted", To::kAgents, step_started(ids, r));
  add("stepFinished", To::kAgents, step_finished(ids, r));
  add("logChunk", To::kAgents, log_chunk(ids, r, "hello from the fuzzer\n"));
  add("jobFinished", To::kAgents, job_finished(ids, r));
  add("sample", To::kAgents, sample(ids, r));
  add("metric", To::kAgents, metric(ids, r));
  add("deployPhase", To::kAgents, deploy_phase(ids, r));
  ResultFields rolled = r;
  rolled.message = "rolled back";
  add("deployResult", To::kAgents, deploy_result(ids, rolled));
  add("error", To::kAgents, frame(32, [](wire::Envelope::Body::Builder b) {
        auto e = b.initError();
        e.setCode(wire::ErrorCode::INTERNAL);
        e.setMessage("the fuzzer reports an error");
      }));
  return out;
}

// Valid frames with odd values, each named after what is odd in it. Agent
// results name the parked job, so that they reach the store.
std::vector<Seed> odd_frames(const Ids& ids) {
  constexpr uint64_t kMax64 = std::numeric_limits<uint64_t>::max();
  constexpr uint64_t kPastInt64 = (1ull << 63) + 5;
  constexpr uint32_t kMax32 = std::numeric_limits<uint32_t>::max();
  const std::string nul("cpu\0time", 8);
  std::vector<Seed> out;
  auto add = [&](std::string what, To to, std::string bytes) {
    out.push_back({std::move(what), to, std::move(bytes)});
  };
  // Clients.
  add("status id 0xFFFFFFFFFFFFFFFF", To::kClients, status(kMax64));
  add("status id 2^63", To::kClients, status(1ull << 63));
  add("cancelRequest id 2^63+5", To::kClients, cancel(kPastInt64));
  add("logs jobId 0xFFFFFFFFFFFFFFFF", To::kClients, logs(kMax64, 0, 0));
  add("logs afterId 0xFFFFFFFFFFFFFFFF", To::kClients, logs(ids.job, kMax64, 0));
  add("logs maxBytes 0xFFFFFFFF", To::kClients, logs(ids.job, 0, kMax32));
  add("submit revision \"r\\xe9v\" (not UTF-8)", To::kClients,
      submit(kParkedPipeline, "fuzz.yml", "r\xe9v", "fuzzer"));
  add("submit fileName \"f\\xffuzz.yml\" (not UTF-8)", To::kClients,
      submit(kParkedPipeline, "f\xffuzz.yml", "r1", "fuzzer"));
  add("submit submitter with NUL", To::kClients,
      submit(kParkedPipeline, "fuzz.yml", "r1", std::string("fuz\0zer", 7)));
  add("submit YAML with a step \"echo m\\xe9tric\" (not UTF-8)", To::kClients,
      submit("pipeline: fuzz-parked\njobs:\n  parked:\n    on: { labels: [nowhere=fuzz] }\n"
             "    steps: [{run: \"echo m\xe9tric\"}]\n",
             "fuzz.yml", "r1", "fuzzer"));
  add("submit YAML with a NUL in the pipeline name", To::kClients,
      submit(std::string("pipeline: fuzz") + '\0' + std::string(kParkedPipeline).substr(15),
             "fuzz.yml", "r1", "fuzzer"));
  add("report param job=\"m\\xe9tric\" (not UTF-8)", To::kClients,
      report("slowest_units", "m\xe9tric"));
  add("report name \"slowest\\xe9units\" (not UTF-8)", To::kClients,
      report("slowest\xe9units", "fuzz"));
  add("report with 100000 params", To::kClients, report("slowest_units", "fuzz", 100000));

  // Agents: hellos.
  auto hello_with = [&](std::string what, auto change) {
    HelloFields h;
    h.name = "fuzz-odd";
    h.held = {{ids.job, 1}};
    change(h);
    add(std::move(what), To::kAgents, hello(40, h));
  };
  hello_with("agentHello name with NUL",
             [](HelloFields& h) { h.name = std::string("fuzz\0odd", 8); });
  hello_with("agentHello name \"fuzz-\\xe9\" (not UTF-8)",
             [](HelloFields& h) { h.name = "fuzz-\xe9"; });
  hello_with("agentHello label with NUL", [](HelloFields& h) {
    h.labels.push_back({std::string("k\0ey", 4), std::string("v\0al", 4)});
  });
  hello_with("agentHello label \"os=l\\xefnux\" (not UTF-8)", [](HelloFields& h) {
    h.labels.push_back({"os", "l\xefnux"});
  });
  hello_with("agentHello cpuModel \"Fuzz\\xff CPU\" (not UTF-8)",
             [](HelloFields& h) { h.cpu = "Fuzz\xff CPU"; });
  hello_with("agentHello tool name \"g\\xe9cc\" (not UTF-8)", [](HelloFields& h) {
    h.tool =
        "g\xe9"
        "cc";
  });
  hello_with("agentHello memoryBytes 0xFFFFFFFFFFFFFFFF",
             [&](HelloFields& h) { h.memory_bytes = kMax64; });
  hello_with("agentHello logicalCores 0xFFFFFFFF", [&](HelloFields& h) { h.cores = kMax32; });
  hello_with("agentHello slots 0xFFFFFFFF", [&](HelloFields& h) { h.slots = kMax32; });
  hello_with("agentHello 100000 heldJobs with ids near 0xFFFFFFFFFFFFFFFF",
             [](HelloFields& h) { h.extra_held = 100000; });
  add("heartbeat heldJobs id 0xFFFFFFFFFFFFFFFF", To::kAgents,
      frame(41, [](wire::Envelope::Body::Builder b) {
        auto held = b.initHeartbeat().initHeldJobs(1);
        held[0].setJobId(std::numeric_limits<uint64_t>::max());
        held[0].setAttempt(std::numeric_limits<uint32_t>::max());
      }));

  // Agents: results of the parked job.
  auto result = [&](std::string what, auto make, auto change) {
    ResultFields f;
    f.seq = 1000 + out.size();
    change(f);
    add(std::move(what), To::kAgents, make(ids, f));
  };
  auto started = [](const Ids& i, const ResultFields& f) { return step_started(i, f); };
  auto finished = [](const Ids& i, const ResultFields& f) { return step_finished(i, f); };
  auto ended = [](const Ids& i, const ResultFields& f) { return job_finished(i, f); };
  auto sampled = [](const Ids& i, const ResultFields& f) { return sample(i, f); };
  auto measured = [](const Ids& i, const ResultFields& f) { return metric(i, f); };
  auto logged = [](const Ids& i, const ResultFields& f) { return log_chunk(i, f, "x\n"); };

  result("metric name \"m\\xe9tric\" (not UTF-8)", measured,
         [](ResultFields& f) { f.metric = "m\xe9tric"; });
  result("metric name with NUL", measured, [&](ResultFields& f) { f.metric = nul; });
  result("metric unit \"\\xff\" (not UTF-8)", measured, [](ResultFields& f) { f.unit = "\xff"; });
  result("metric variant \"b\\xe4se\" (not UTF-8)", measured,
         [](ResultFields& f) { f.variant = "b\xe4se"; });
  result("metric seq 0xFFFFFFFFFFFFFFFF", measured, [&](ResultFields& f) { f.seq = kMax64; });
  result("metric attempt 0xFFFFFFFF", measured, [&](ResultFields& f) { f.attempt = kMax32; });
  result("stepStarted name \"b\\xe9ild\" (not UTF-8)", started,
         [](ResultFields& f) { f.name = "b\xe9ild"; });
  result("stepStarted name with NUL", started, [&](ResultFields& f) { f.name = nul; });
  result("stepStarted index 0xFFFFFFFF", started, [&](ResultFields& f) { f.index = kMax32; });
  result("stepStarted startedAtUs INT64_MAX", started,
         [](ResultFields& f) { f.at_us = std::numeric_limits<int64_t>::max(); });
  result("stepFinished command \"make \\xff\" (not UTF-8)", finished,
         [](ResultFields& f) { f.command = "make \xff"; });
  result("stepFinished maxRssKb 0xFFFFFFFFFFFFFFFF", finished,
         [&](ResultFields& f) { f.max_rss_kb = kMax64; });
  result("logChunk seq 0xFFFFFFFFFFFFFFFF", logged, [&](ResultFields& f) { f.seq = kMax64; });
  result("logChunk atUs INT64_MIN", logged,
         [](ResultFields& f) { f.at_us = std::numeric_limits<int64_t>::min(); });
  result("jobFinished message \"d\\xf6ne\" (not UTF-8)", ended,
         [](ResultFields& f) { f.message = "d\xf6ne"; });
  result("sample variant \"b\\xe4se\" (not UTF-8)", sampled,
         [](ResultFields& f) { f.variant = "b\xe4se"; });
  result("sample variantIndex 0xFFFFFFFF", sampled,
         [&](ResultFields& f) { f.variant_index = kMax32; });
  result("sample maxRssKb 0xFFFFFFFFFFFFFFFF", sampled,
         [&](ResultFields& f) { f.max_rss_kb = kMax64; });
  auto phased = [](const Ids& i, const ResultFields& f) { return deploy_phase(i, f); };
  auto deployed = [](const Ids& i, const ResultFields& f) { return deploy_result(i, f); };
  result("deployPhase name \"st\\xe9p\" (not UTF-8)", phased,
         [](ResultFields& f) { f.name = "st\xe9p"; });
  result("deployPhase endUs INT64_MIN (before its start)", phased,
         [](ResultFields& f) { f.at_us = std::numeric_limits<int64_t>::min(); });
  result("deployResult outcome \"r\\xf6lled back\" (not UTF-8)", deployed,
         [](ResultFields& f) { f.message = "r\xf6lled back"; });
  result("deployResult probe sent 0xFFFFFFFFFFFFFFFF", deployed,
         [&](ResultFields& f) { f.max_rss_kb = kMax64; });
  add("deployResult probe p50 NaN", To::kAgents,
      deploy_result(ids, ResultFields{}, std::numeric_limits<double>::quiet_NaN()));
  add("error message \"\\xff\\xfe\" (not UTF-8)", To::kAgents,
      frame(42, [](wire::Envelope::Body::Builder b) {
        auto e = b.initError();
        e.setCode(wire::ErrorCode::INTERNAL);
        e.setMessage("\xff\xfe");
      }));
  return out;
}

// ---------------------------------------------------------------------------
// The mutator.

class Mutator {
 public:
  explicit Mutator(uint64_t seed) : rng_(seed) {}

  size_t below(size_t n) {
    return n == 0 ? 0 : std::uniform_int_distribution<size_t>(0, n - 1)(rng_);
  }
  uint64_t u64() { return rng_(); }

  std::string random_bytes(size_t n) {
    std::string s(n, '\0');
    for (auto& c : s) c = static_cast<char>(rng_());
    return s;
  }

  // Random words behind a valid one-segment table, so decoding gets past the framing.
  std::string random_message() {
    const size_t words = 1 + below(kMaxRandomBytes / 8 - 1);
    std::string s = random_bytes(8 * (words + 1));
    const uint32_t table[2] = {0, static_cast<uint32_t>(words)};
    std::memcpy(s.data(), table, sizeof table);
    return s;
  }

  uint64_t interesting64() {
    static const uint64_t values[] = {0,
                                      1,
                                      0x7FFFFFFFull,
                                      0x80000000ull,
                                      0xFFFFFFFFull,
                                      0x100000000ull,
                                      0x7FFFFFFFFFFFFFFFull,
                                      0x8000000000000000ull,
                                      0x8000000000000005ull,
                                      0xFFFFFFFFFFFFFFFFull,
                                      0xFFFFFFFFFFFFFFF8ull,
                                      0x0000FFFF00000001ull};
    return values[below(std::size(values))];
  }
  uint32_t interesting32() {
    // 0xFFFFFFF9: a list pointer's count of 2^29-1 with 8-byte elements.
    static const uint32_t values[] = {0,          1,          0x7FFFFFFF, 0x80000000,
                                      0xFFFFFFFF, 0xFFFFFFF9, 0xFFFFFFFC, 0xFFFFFFFE};
    return values[below(std::size(values))];
  }

  // One mutation of `a` (and `b` for a splice); `how` names it, and stays
  // as it was when the bytes did not allow the mutation drawn.
  std::string mutate(const std::string& a, const std::string& b, std::string* how) {
    std::string s = a;
    switch (below(7)) {
      case 0: {
        const size_t n = 1 + below(8);
        for (size_t i = 0; i < n && !s.empty(); ++i)
          s[below(s.size())] ^= static_cast<char>(1 + below(255));
        *how = "flip";
        break;
      }
      case 1:
        s.resize(below(2) ? below(s.size() + 1) : 8 * below(s.size() / 8 + 1));
        *how = "truncate";
        break;
      case 2:
        s += below(2) ? random_bytes(1 + below(512)) : std::string(8 * (1 + below(64)), '\0');
        *how = "extend";
        break;
      case 3: {
        size_t cut_a = below(a.size() + 1), cut_b = below(b.size() + 1);
        if (below(2)) {  // both cuts on word boundaries
          cut_a &= ~size_t{7};
          cut_b &= ~size_t{7};
        }
        s = a.substr(0, cut_a) + b.substr(cut_b);
        *how = "splice";
        break;
      }
      case 4:
      case 5: {
        // A word of the pointer/data area (after the segment table), or half of one.
        const size_t words = s.size() / 8;
        if (words < 2) break;
        const size_t n = 1 + below(3);
        for (size_t i = 0; i < n; ++i) {
          const size_t at = 8 * (1 + below(words - 1));
          if (below(2)) {
            const uint64_t v = below(2) ? u64() : interesting64();
            std::memcpy(s.data() + at, &v, 8);
          } else {
            const uint32_t v = below(2) ? static_cast<uint32_t>(u64()) : interesting32();
            std::memcpy(s.data() + at + 4 * below(2), &v, 4);
          }
        }
        *how = "set64";
        break;
      }
      case 6: {
        // A character of a text field (a run of printable bytes) becomes not UTF-8 or NUL.
        std::vector<size_t> printable;
        for (size_t i = 0; i + 2 < s.size(); ++i)
          if (std::isprint(static_cast<unsigned char>(s[i])) &&
              std::isprint(static_cast<unsigned char>(s[i + 1])) &&
              std::isprint(static_cast<unsigned char>(s[i + 2])))
            printable.push_back(i + 1);
        if (printable.empty()) break;
        static const char bad[] = {'\xe9', '\xff', '\xc3', '\x80', '\0', '\xfe'};
        const size_t n = 1 + below(2);
        for (size_t i = 0; i < n; ++i) s[printable[below(printable.size())]] = bad[below(6)];
        *how = "text";
        break;
      }
    }
    return s;
  }

 private:
  std::mt19937_64 rng_;
};

uint64_t fuzz_seed() {
  if (const char* env = std::getenv("YARDSTICK_FUZZ_SEED"); env && *env)
    return std::strtoull(env, nullptr, 0);
  return kDefaultSeed;
}

// A DEALER of the flood.
struct Peer {
  std::string name;
  To to;
  std::string hello;  // set for a peer that registers as an agent
  zmq::socket_t sock;
  bool hello_pending = false;
  int sent = 0, answers = 0, hellos = 0;
};

TEST(FaultFrames, TenThousandRandomAndMutatedFramesLeaveTheCoordinatorServing) {
  const uint64_t seed = fuzz_seed();
  std::cout << "fuzz seed " << seed << " (replay: YARDSTICK_FUZZ_SEED=" << seed << ")" << std::endl;
  RecordProperty("fuzz_seed", std::to_string(seed));

  Cluster c;
  c.add_agent("real", "role=fuzz-target", "real-machine");
  const std::string real = c.agent_name("real");
  zmq::context_t ctx(1);

  // A job that stays queued in memory (no agent has its label), for results to name.
  c.write_file("parked.yml", kParkedPipeline);
  auto parked = c.cli({"submit", "parked.yml"});
  ASSERT_EQ(parked.code, 0) << parked.err;
  Ids ids;
  ids.job = static_cast<uint64_t>(c.scalar("SELECT max(id) FROM jobs WHERE name = 'parked'"));
  ids.pipeline = static_cast<uint64_t>(
      c.scalar("SELECT pipeline_id FROM jobs WHERE id = " + std::to_string(ids.job)));
  ASSERT_NE(ids.job, 0u);

  const auto seeds = corpus(ids);
  const auto odd = odd_frames(ids);

  // 1. Each odd frame alone, to tell which input breaks what.
  struct Outcome {
    std::string what, answer;
    std::vector<std::string> problems;  // new warn/error lines of the coordinator's log
  };
  std::vector<Outcome> outcomes;
  {
    zmq::socket_t client = dealer(ctx, c, To::kClients);
    zmq::socket_t agent = dealer(ctx, c, To::kAgents, "fuzz-probe");
    HelloFields probe;
    probe.name = "fuzz-probe";
    const std::string probe_hello = hello(1, probe);
    for (const Seed& s : odd) {
      if (s.to == To::kAgents) {
        ASSERT_TRUE(register_agent(agent, probe_hello)) << "before " << s.what;
      }
      const size_t log_from = c.coordinator().log().size();
      zmq::socket_t& sock = s.to == To::kClients ? client : agent;
      sock.send(zmq::buffer(s.bytes), zmq::send_flags::none);
      zmq::message_t m;
      Outcome o{s.what, "(no answer in 1 s)", {}};
      if (recv_within(sock, &m, 1000ms)) o.answer = describe(m.data(), m.size());
      std::this_thread::sleep_for(50ms);  // a rolled-back turn de-registers agents in the next one
      while (recv_within(sock, &m, 0ms)) {
      }
      o.problems = log_problems(c.coordinator().log(), log_from);
      outcomes.push_back(std::move(o));
    }
  }
  std::cout << "odd frames, one at a time (" << outcomes.size() << "):\n";
  for (const auto& o : outcomes) {
    std::cout << "  " << o.what << "\n    answer: " << o.answer << "\n";
    for (const auto& p : o.problems) std::cout << "    log: " << message_of(p) << "\n";
  }
  std::cout.flush();

  // 2. The flood.
  Mutator mutator(seed);
  std::vector<Peer> peers;
  auto add_peer = [&](std::string name, To to, std::string hello_frame) {
    zmq::socket_t sock = dealer(ctx, c, to, name);
    peers.push_back({std::move(name), to, std::move(hello_frame), std::move(sock)});
  };
  add_peer("client-1", To::kClients, "");
  add_peer("client-2", To::kClients, "");
  for (const char* name : {"fuzz-a", "fuzz-b"}) {
    HelloFields h;
    h.name = name;
    h.held = {{ids.job, 1}};
    add_peer(name, To::kAgents, hello(2, h));
  }
  add_peer("unregistered", To::kAgents, "");
  for (auto& p : peers) {
    if (!p.hello.empty()) {
      ASSERT_TRUE(register_agent(p.sock, p.hello)) << p.name;
    }
  }

  std::vector<const Seed*> bases;
  for (const auto& s : seeds) bases.push_back(&s);
  for (const auto& s : odd) bases.push_back(&s);

  std::map<std::string, int> kinds, answers;
  int answer_units = 0, owed = 0;
  const size_t log_before_flood = c.coordinator().log().size();
  auto drain = [&](Peer& p) {
    zmq::message_t m;
    while (p.sock.recv(m, zmq::recv_flags::dontwait)) {
      while (p.sock.get(zmq::sockopt::rcvmore)) (void)p.sock.recv(m, zmq::recv_flags::none);
      ++p.answers;
      ++answers[answer_kind(m)];
      answer_units += answer_count(m);
      if (is_welcome(m)) p.hello_pending = false;
      // A registered peer that is told to register does, to keep reaching the handlers.
      if (!p.hello.empty() && !p.hello_pending && is_error(m, wire::ErrorCode::NOT_REGISTERED)) {
        p.sock.send(zmq::buffer(p.hello), zmq::send_flags::none);
        p.hello_pending = true;
        ++p.hellos;
      }
    }
  };
  auto drain_all = [&] {
    for (auto& p : peers) drain(p);
  };
  auto pick_peer = [&](To to) -> Peer& {
    std::vector<Peer*> side;
    for (auto& p : peers)
      if (p.to == to) side.push_back(&p);
    return *side[mutator.below(side.size())];
  };

  const auto flood_start = Clock::now();
  const auto send_deadline = flood_start + 40s;
  int sent = 0;
  for (; sent < kFloodFrames && Clock::now() < send_deadline; ++sent) {
    const Seed& base = *bases[mutator.below(bases.size())];
    const Seed& other = *bases[mutator.below(bases.size())];
    To to = base.to;
    std::vector<std::string> parts;
    std::string kind;
    const size_t roll = mutator.below(100);
    if (roll < 10) {
      to = mutator.below(2) ? To::kClients : To::kAgents;
      parts.push_back(mutator.random_bytes(mutator.below(kMaxRandomBytes + 1)));
      kind = "random";
    } else if (roll < 15) {
      to = mutator.below(2) ? To::kClients : To::kAgents;
      parts.push_back(mutator.random_message());
      kind = "random-message";
    } else if (roll < 20) {
      parts.push_back(base.bytes);
      kind = "seed";
    } else if (roll < 98) {
      std::string how = "unchanged";
      parts.push_back(mutator.mutate(base.bytes, other.bytes, &how));
      if (mutator.below(4) == 0) parts.back() = mutator.mutate(parts.back(), other.bytes, &how);
      kind = "mutate-" + how;
    } else if (roll < 99) {
      parts.push_back(base.bytes);
      for (size_t i = 0, n = 1 + mutator.below(3); i < n; ++i)
        parts.push_back(mutator.below(2) ? other.bytes : mutator.random_bytes(mutator.below(64)));
      kind = "multipart";
    } else {
      parts.push_back("");
      kind = "empty";
    }
    ++kinds[kind];
    Peer& p = pick_peer(to);
    for (size_t i = 0; i < parts.size(); ++i)
      p.sock.send(zmq::buffer(parts[i]),
                  i + 1 < parts.size() ? zmq::send_flags::sndmore : zmq::send_flags::none);
    ++p.sent;
    owed += owes_answer(to, parts);
    if (sent % 16 == 0) drain_all();
  }
  const auto sent_at = Clock::now();
  // Answers still on their way: until all came, or 5 s of silence (one turn
  // handles up to 2000 frames and answers only after its commit), at most 30 s.
  {
    auto quiet_since = Clock::now();
    int last_total = -1;
    while (answer_units < owed && Clock::now() - sent_at < 30s && Clock::now() - quiet_since < 5s) {
      std::vector<zmq::pollitem_t> items;
      for (auto& p : peers) items.push_back({static_cast<void*>(p.sock), 0, ZMQ_POLLIN, 0});
      zmq::poll(items.data(), items.size(), 100ms);
      drain_all();
      int total = 0;
      for (auto& p : peers) total += p.answers;
      if (total != last_total) quiet_since = Clock::now();
      last_total = total;
    }
  }
  const auto flood_end = Clock::now();
  auto ms = [](auto d) { return std::chrono::duration_cast<std::chrono::milliseconds>(d).count(); };
  std::cout << "flood: " << sent << " frames in " << ms(sent_at - flood_start)
            << " ms, answers drained for " << ms(flood_end - sent_at) << " ms more\n  sent:";
  for (const auto& [k, n] : kinds) std::cout << " " << k << "=" << n;
  std::cout << "\n  answers:";
  for (const auto& [k, n] : answers) std::cout << " " << k << "=" << n;
  std::cout << "\n  " << owed << " frames owed an answer, " << answer_units
            << " answers came (an ack counts once per result it acknowledges)\n  peers:";
  for (const auto& p : peers)
    std::cout << " " << p.name << "(" << side_name(p.to) << ") sent=" << p.sent
              << " answers=" << p.answers << " re-hellos=" << p.hellos << ";";
  std::cout << std::endl;
  EXPECT_EQ(sent, kFloodFrames) << "the flood did not fit in its time";
  EXPECT_EQ(answers["UNDECODABLE"], 0) << "the coordinator sent answers that do not decode";

  // The flood's agents go silent; once their leases end, no job can be placed
  // on one of them.
  peers.clear();
  const bool only_real = wait_for(
      [&] {
        auto r = c.cli({"agents", "--json"});
        if (r.code != 0) return false;
        auto list = nlohmann::json::parse(r.out, nullptr, false);
        if (!list.is_array()) return false;
        int connected = 0;
        for (const auto& a : list) connected += a.value("connected", false);
        return connected <= 1;
      },
      10s);
  if (!only_real) std::cout << "agents of the flood still connected after 10 s" << std::endl;

  // 3. Still serving.
  const std::string log = c.coordinator().log();
  ASSERT_TRUE(c.coordinator().running()) << "the coordinator died; the end of its log:\n"
                                         << log.substr(log.size() > 4000 ? log.size() - 4000 : 0);
  auto agents = c.cli({"agents"});
  EXPECT_EQ(agents.code, 0) << agents.err;
  std::string real_line;
  {
    std::istringstream in(agents.out);
    std::string line;
    while (std::getline(in, line))
      if (line.find(real) != std::string::npos) real_line = line;
  }
  EXPECT_NE(real_line.find("connected"), std::string::npos)
      << "the original agent is not listed as connected:\n"
      << agents.out;
  c.write_file("after.yml", "pipeline: after-fuzz\njobs:\n  a:\n    steps: [{run: \"echo ok\"}]\n");
  auto after = c.cli({"submit", "after.yml", "--wait"});
  EXPECT_EQ(after.code, 0) << after.out << after.err;
  const auto at = after.out.find("pipeline ");
  const uint64_t pipeline_id =
      at == std::string::npos ? 0 : std::strtoull(after.out.c_str() + at + 9, nullptr, 10);
  EXPECT_EQ(c.text("SELECT state FROM jobs WHERE pipeline_id = " + std::to_string(pipeline_id)),
            "succeeded")
      << after.out;

  // 4. Every frame was answered (an answer for every message, known or not),
  // and no single peer's frame made the coordinator drop the work of a whole
  // turn (every peer's, with every agent told to register again).
  EXPECT_GE(answer_units, owed) << "frames of the flood went unanswered";
  EXPECT_GT(answers["ack"] + answers["abandon"], 0) << "no agent result was acked or abandoned";
  std::vector<std::string> broke;
  for (const auto& o : outcomes)
    for (const auto& p : o.problems)
      if (p.find(kRolledBack) != std::string::npos) {
        broke.push_back(o.what + "\n      " + message_of(p));
        break;
      }
  const std::string flood_log = log.substr(std::min(log_before_flood, log.size()));
  std::set<std::string> flood_reasons;
  for (const auto& line : log_problems(log, log_before_flood))
    if (line.find(kRolledBack) != std::string::npos && flood_reasons.size() < 12)
      flood_reasons.insert(message_of(line, 160));
  std::ostringstream why;
  for (const auto& b : broke) why << "\n    " << b;
  why << "\n  turns rolled back during the flood: " << count_of(flood_log, kRolledBack) << "; e.g.";
  for (const auto& r : flood_reasons) why << "\n    " << r;
  EXPECT_TRUE(broke.empty() && count_of(flood_log, kRolledBack) == 0)
      << "frames that made the coordinator roll back a whole turn:" << why.str();
}

// Every member of Envelope.body, sent to a socket that does not serve it, is
// answered with an error naming the problem, never ignored.
TEST(FaultFrames, EveryUnknownBodyIsAnsweredNotIgnored) {
  // The requests each socket serves; every other member is unknown there.
  // (drain is a client request even while the coordinator does not serve it.)
  const std::map<To, std::set<std::string>> served = {
      {To::kAgents,
       {"error", "agentHello", "heartbeat", "stepStarted", "stepFinished", "logChunk",
        "jobFinished", "sample", "metric", "calibration", "deployPhase", "deployResult"}},
      {To::kClients,
       {"submit", "status", "logs", "agents", "cancelRequest", "report", "drain", "calibrate",
        "bisection"}},
  };
  Cluster c;
  zmq::context_t ctx(1);
  const auto members = capnp::Schema::from<wire::Envelope::Body>().getUnionFields();
  ASSERT_GT(members.size(), 20u);
  int checked = 0;
  for (To to : {To::kAgents, To::kClients}) {
    zmq::socket_t s = dealer(ctx, c, to, "fuzz-unimplemented");
    uint64_t request_id = 100;
    for (auto field : members) {
      const std::string name = field.getProto().getName();
      if (served.at(to).count(name)) continue;
      capnp::MallocMessageBuilder b;
      auto body = capnp::toDynamic(wire_io::start(b, ++request_id).getBody());
      body.init(field);
      s.send(zmq::buffer(encode(b)), zmq::send_flags::none);
      zmq::message_t m;
      ASSERT_TRUE(recv_within(s, &m, 3000ms))
          << name << " on the " << side_name(to) << " socket was not answered";
      auto decoded = wire_io::decode_frame(m.data(), m.size());
      ASSERT_TRUE(std::holds_alternative<std::unique_ptr<wire_io::Frame>>(decoded)) << name;
      auto env = std::get<std::unique_ptr<wire_io::Frame>>(decoded)->envelope();
      EXPECT_EQ(env.getRequestId(), request_id) << name;
      ASSERT_EQ(env.getBody().which(), wire::Envelope::Body::ERROR)
          << name << " on the " << side_name(to) << " socket: " << describe(m.data(), m.size());
      const auto code = env.getBody().getError().getCode();
      EXPECT_TRUE(code == wire::ErrorCode::UNIMPLEMENTED || code == wire::ErrorCode::NOT_REGISTERED)
          << name << " on the " << side_name(to) << " socket: " << code_name(code);
      ++checked;
    }
  }
  EXPECT_GT(checked, static_cast<int>(members.size()));  // most members are unknown on one side
  EXPECT_TRUE(c.coordinator().running());
}

}  // namespace
}  // namespace yardstick::test
