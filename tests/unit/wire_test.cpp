// The wire edge: round trips, and a clear error for every bad frame.
#include <gtest/gtest.h>

#include <cstring>

#include "common/wire.hpp"

namespace yardstick {
namespace {

std::string bytes(zmq::message_t& m) {
  return std::string(m.data<char>(), m.size());
}

wire_io::DecodeError decode_error(const std::string& data) {
  auto r = wire_io::decode_frame(data.data(), data.size());
  EXPECT_TRUE(std::holds_alternative<wire_io::DecodeError>(r));
  if (auto* e = std::get_if<wire_io::DecodeError>(&r)) return *e;
  return {};
}

TEST(Wire, AssignRoundTripsEveryField) {
  JobAssignment a;
  a.job_id = 42;
  a.attempt = 3;
  a.pipeline_id = 7;
  a.pipeline_name = "speed";
  a.job_name = "build";
  a.revision = "abc123";
  a.branch = "main";
  a.checkout_repo = "/src/app.git";
  a.workdir = "crates/x";
  a.env = {{"A", "1"}, {"B", "two"}};
  a.steps = {{"clean", "cargo clean", {{"X", "y"}}, false, 0, {}, {}},
             {"build", "cargo build", {}, true, 720'000, {}, {}}};
  a.timeout_ms = 900'000;
  a.slots = 2;
  capnp::MallocMessageBuilder b;
  wire_io::fill(wire_io::start(b, 99).getBody().initAssign(), a);
  zmq::message_t m = wire_io::to_message(b);
  auto r = wire_io::decode_frame(m.data(), m.size());
  ASSERT_TRUE(std::holds_alternative<std::unique_ptr<wire_io::Frame>>(r));
  auto env = std::get<std::unique_ptr<wire_io::Frame>>(r)->envelope();
  EXPECT_EQ(env.getRequestId(), 99u);
  ASSERT_EQ(env.getBody().which(), wire::Envelope::Body::ASSIGN);
  JobAssignment back = wire_io::read(env.getBody().getAssign());
  EXPECT_EQ(back.job_id, 42u);
  EXPECT_EQ(back.attempt, 3u);
  EXPECT_EQ(back.pipeline_name, "speed");
  EXPECT_EQ(back.checkout_repo, "/src/app.git");
  EXPECT_EQ(back.env, a.env);
  ASSERT_EQ(back.steps.size(), 2u);
  EXPECT_FALSE(back.steps[0].timed);
  EXPECT_EQ(back.steps[0].env.at("X"), "y");
  EXPECT_EQ(back.steps[1].timeout_ms, 720'000u);
  EXPECT_EQ(back.timeout_ms, 900'000u);
  EXPECT_EQ(back.slots, 2u);
}

TEST(Wire, BenchSpecRoundTripsIncludingVerdictSettings) {
  JobAssignment a;
  a.job_id = 1;
  BenchSpec bench;
  bench.run = "sleep 0.01";
  bench.prepare = "make clean";
  bench.runs = 12;
  bench.interleave = false;
  bench.shell = ShellMode::kNone;
  bench.alpha = 0.01;
  bench.noise_floor = 0.03;
  bench.measure = "cpu";
  bench.precision = 0.015;
  bench.collect = {"ccache"};
  a.bench = bench;
  a.variants = {{"default", {}, ""}, {"mold", {{"LDFLAGS", "-fuse-ld=mold"}}, ""}};
  capnp::MallocMessageBuilder b;
  wire_io::fill(wire_io::start(b, 1).getBody().initAssign(), a);
  zmq::message_t m = wire_io::to_message(b);
  auto r = wire_io::decode_frame(m.data(), m.size());
  ASSERT_TRUE(std::holds_alternative<std::unique_ptr<wire_io::Frame>>(r));
  JobAssignment back =
      wire_io::read(std::get<std::unique_ptr<wire_io::Frame>>(r)->envelope().getBody().getAssign());
  ASSERT_TRUE(back.bench);
  EXPECT_EQ(back.bench->run, "sleep 0.01");
  EXPECT_EQ(back.bench->prepare, "make clean");
  EXPECT_EQ(back.bench->runs, 12u);
  EXPECT_FALSE(back.bench->interleave);
  EXPECT_EQ(back.bench->shell, ShellMode::kNone);
  EXPECT_DOUBLE_EQ(back.bench->alpha, 0.01);
  EXPECT_DOUBLE_EQ(back.bench->noise_floor, 0.03);
  EXPECT_EQ(back.bench->measure, "cpu");
  EXPECT_DOUBLE_EQ(back.bench->precision, 0.015);
  EXPECT_EQ(back.bench->collect, std::vector<std::string>{"ccache"});
  ASSERT_EQ(back.variants.size(), 2u);
  EXPECT_EQ(back.variants[1].env.at("LDFLAGS"), "-fuse-ld=mold");
}

TEST(Wire, StepResultAndMachineRoundTrip) {
  StepResult s;
  s.index = 2;
  s.name = "build";
  s.command = "make";
  s.wall_ns = 1'000'123'456;
  s.user_us = 5;
  s.sys_us = 6;
  s.max_rss_kb = 1234;
  s.exit_code = -1;
  s.signal = 9;
  s.timed_out = true;
  s.timed = false;
  s.started_at_us = 1'700'000'000'000'001;
  s.ended_at_us = 1'700'000'000'900'002;
  s.revision = "0123456789abcdef0123456789abcdef01234567";
  capnp::MallocMessageBuilder b;
  wire_io::fill(wire_io::start(b, 1).getBody().initStepFinished(), {1, 2, 3}, s);
  zmq::message_t m = wire_io::to_message(b);
  auto r = wire_io::decode_frame(m.data(), m.size());
  auto env = std::get<std::unique_ptr<wire_io::Frame>>(r)->envelope();
  StepResult back = wire_io::read(env.getBody().getStepFinished());
  // Every field of a finished step crosses the wire.
  EXPECT_EQ(back.index, s.index);
  EXPECT_EQ(back.name, s.name);
  EXPECT_EQ(back.command, s.command);
  EXPECT_EQ(back.started_at_us, s.started_at_us);
  EXPECT_EQ(back.ended_at_us, s.ended_at_us);
  EXPECT_EQ(back.wall_ns, s.wall_ns);
  EXPECT_EQ(back.user_us, s.user_us);
  EXPECT_EQ(back.sys_us, s.sys_us);
  EXPECT_EQ(back.max_rss_kb, s.max_rss_kb);
  EXPECT_EQ(back.exit_code, s.exit_code);
  EXPECT_EQ(back.signal, 9);
  EXPECT_TRUE(back.timed_out);
  EXPECT_FALSE(back.timed);
  EXPECT_EQ(back.revision, s.revision);
  EXPECT_EQ(wire_io::read(env.getBody().getStepFinished().getKey()), (ResultKey{1, 2, 3}));

  MachineInfo mi{"box", "cpu", 8, 1 << 30, "Debian", "Linux 6", "x86_64", {{"gcc", "12.2.0"}}, ""};
  capnp::MallocMessageBuilder b2;
  wire_io::fill(b2.initRoot<wire::Machine>(), mi);
  MachineInfo back2 = wire_io::read(b2.getRoot<wire::Machine>().asReader());
  EXPECT_EQ(back2.fingerprint(), mi.fingerprint());
  EXPECT_EQ(back2.tools, mi.tools);
}

TEST(Wire, LabelsTravelAsKeyValuePairs) {
  capnp::MallocMessageBuilder b;
  auto list = b.initRoot<wire::AgentHello>().initLabels(3);
  wire_io::fill_labels(list, {"tool=gcc", "tool=mold", "gpu"});
  EXPECT_EQ(wire_io::read_labels(list.asReader()), (Labels{"tool=gcc", "tool=mold", "gpu"}));
}

TEST(Wire, EmptyFrameIsMalformed) {
  auto e = decode_error("");
  EXPECT_EQ(e.code, wire::ErrorCode::MALFORMED);
}

TEST(Wire, GarbageIsMalformedNotACrash) {
  for (std::string g : {std::string("hello world!!!!!"), std::string(64, '\xff'),
                        std::string(8, '\0'), std::string(24, 'A')}) {
    auto r = wire_io::decode_frame(g.data(), g.size());
    if (auto* e = std::get_if<wire_io::DecodeError>(&r)) {
      EXPECT_NE(e->message, "");
      continue;
    }
    // Some byte patterns decode as an (empty) envelope of version 0.
    FAIL() << "garbage decoded as a valid frame";
  }
}

TEST(Wire, OddSizedFrameIsMalformed) {
  auto e = decode_error("abc");
  EXPECT_EQ(e.code, wire::ErrorCode::MALFORMED);
  EXPECT_NE(e.message.find("not a Cap'n Proto message"), std::string::npos);
}

TEST(Wire, OversizedFrameIsRefusedBeforeDecoding) {
  std::string big(static_cast<size_t>(wire_io::kMaxFrameBytes) + 8, '\0');
  auto e = decode_error(big);
  EXPECT_EQ(e.code, wire::ErrorCode::MALFORMED);
  EXPECT_NE(e.message.find("exceeds the limit"), std::string::npos);
}

TEST(Wire, WrongVersionIsAnsweredWithBadVersionAndRequestId) {
  capnp::MallocMessageBuilder b;
  auto env = b.initRoot<wire::Envelope>();
  env.setVersion(2);
  env.setRequestId(1234);
  env.getBody().initHeartbeat();
  zmq::message_t m = wire_io::to_message(b);
  auto e = decode_error(bytes(m));
  EXPECT_EQ(e.code, wire::ErrorCode::BAD_VERSION);
  EXPECT_EQ(e.request_id, 1234u);
  EXPECT_NE(e.message.find("version 2"), std::string::npos);
}

TEST(Wire, TruncatedFrameIsMalformed) {
  capnp::MallocMessageBuilder b;
  wire_io::start(b, 5).getBody().initSubmit().setPipelineYaml(std::string(1000, 'x'));
  zmq::message_t m = wire_io::to_message(b);
  std::string cut = bytes(m).substr(0, 64);
  auto e = decode_error(cut);
  EXPECT_EQ(e.code, wire::ErrorCode::MALFORMED);
}

TEST(Wire, ErrorMessageCarriesCodeAndText) {
  zmq::message_t m = wire_io::error_message(8, wire::ErrorCode::NOT_FOUND, "no job 8");
  auto r = wire_io::decode_frame(m.data(), m.size());
  auto env = std::get<std::unique_ptr<wire_io::Frame>>(r)->envelope();
  EXPECT_EQ(env.getRequestId(), 8u);
  EXPECT_EQ(env.getBody().getError().getCode(), wire::ErrorCode::NOT_FOUND);
  EXPECT_STREQ(env.getBody().getError().getMessage().cStr(), "no job 8");
}

TEST(Wire, HeartbeatCarriesTheFleetsIntervalAndLeaseAndZeroMeansUnchanged) {
  const auto round_trip = [](uint32_t interval, uint32_t lease) {
    capnp::MallocMessageBuilder b;
    auto hb = wire_io::start(b, 9).getBody().initHeartbeat();
    hb.setSentAtUs(5);
    if (interval) hb.setIntervalMs(interval);
    if (lease) hb.setLeaseMs(lease);
    zmq::message_t m = wire_io::to_message(b);
    auto r = wire_io::decode_frame(m.data(), m.size());
    auto f = std::move(std::get<std::unique_ptr<wire_io::Frame>>(r));
    auto got = f->envelope().getBody().getHeartbeat();
    return std::pair{got.getIntervalMs(), got.getLeaseMs()};
  };
  EXPECT_EQ(round_trip(20'000, 100'000), (std::pair{20'000u, 100'000u}));
  // What an older coordinator sends, and what an agent sends: no figures.
  EXPECT_EQ(round_trip(0, 0), (std::pair{0u, 0u}));
}

TEST(Wire, MisalignedFrameDecodes) {
  capnp::MallocMessageBuilder b;
  wire_io::start(b, 77).getBody().initHeartbeat().setSentAtUs(5);
  zmq::message_t m = wire_io::to_message(b);
  std::string buf(m.size() + 1, '\0');
  std::memcpy(buf.data() + 1, m.data(), m.size());  // deliberately off by one byte
  auto r = wire_io::decode_frame(buf.data() + 1, m.size());
  ASSERT_TRUE(std::holds_alternative<std::unique_ptr<wire_io::Frame>>(r));
  EXPECT_EQ(std::get<std::unique_ptr<wire_io::Frame>>(r)->envelope().getRequestId(), 77u);
}

}  // namespace
}  // namespace yardstick
