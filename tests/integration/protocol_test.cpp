// The coordinator's sockets against bad peers: every bad frame is answered
// with an error, and the coordinator keeps serving.
#include <gtest/gtest.h>

#include <cmath>
#include <csignal>
#include <functional>
#include <thread>

#include <zmq.hpp>

#include "common/wire.hpp"
#include "tests/integration/harness.hpp"

namespace yardstick::test {
namespace {

using namespace std::chrono_literals;

// Sends raw bytes on a fresh DEALER; returns the decoded answer (nullptr on silence).
// With the keys of a listed client, or of a listed agent on the agents socket.
std::unique_ptr<wire_io::Frame> send_raw(zmq::context_t& ctx, Cluster& c,
                                         const std::string& endpoint, const std::string& bytes) {
  static std::map<std::string, CurveKeyPair> agent_keys;  // by cluster
  zmq::socket_t s(ctx, zmq::socket_type::dealer);
  s.set(zmq::sockopt::linger, 0);
  if (endpoint == c.agents_endpoint()) {
    if (!agent_keys.count(c.dir())) agent_keys[c.dir()] = c.authorize_agent("raw-agent");
    c.secure(s, agent_keys[c.dir()]);
  } else {
    c.secure(s, c.client_key());
  }
  s.connect(endpoint);
  s.send(zmq::buffer(bytes), zmq::send_flags::none);
  zmq::pollitem_t item{static_cast<void*>(s), 0, ZMQ_POLLIN, 0};
  zmq::poll(&item, 1, 3000ms);
  if (!(item.revents & ZMQ_POLLIN)) return nullptr;
  zmq::message_t reply;
  (void)s.recv(reply);
  auto r = wire_io::decode_frame(reply.data(), reply.size());
  if (!std::holds_alternative<std::unique_ptr<wire_io::Frame>>(r)) return nullptr;
  return std::move(std::get<std::unique_ptr<wire_io::Frame>>(r));
}

wire::ErrorCode error_code(const std::unique_ptr<wire_io::Frame>& f) {
  EXPECT_TRUE(f);
  if (!f) return wire::ErrorCode::INTERNAL;
  auto env = f->envelope();
  EXPECT_EQ(env.getBody().which(), wire::Envelope::Body::ERROR);
  return env.getBody().getError().getCode();
}

std::string encode(capnp::MallocMessageBuilder& b) {
  auto m = wire_io::to_message(b);
  return std::string(m.data<char>(), m.size());
}

TEST(Protocol, BadFramesAreAnsweredWithErrorsAndTheCoordinatorKeepsServing) {
  Cluster c;
  zmq::context_t ctx(1);
  for (const std::string& ep : {c.clients_endpoint(), c.agents_endpoint()}) {
    EXPECT_EQ(error_code(send_raw(ctx, c, ep, "this is not capnp")), wire::ErrorCode::MALFORMED);
    EXPECT_EQ(error_code(send_raw(ctx, c, ep, std::string(4096, '\xff'))),
              wire::ErrorCode::MALFORMED);

    capnp::MallocMessageBuilder future;
    auto env = future.initRoot<wire::Envelope>();
    env.setVersion(99);
    env.setRequestId(5);
    env.getBody().initHeartbeat();
    auto answer = send_raw(ctx, c, ep, encode(future));
    EXPECT_EQ(error_code(answer), wire::ErrorCode::BAD_VERSION);
    EXPECT_EQ(answer->envelope().getRequestId(), 5u);
  }
  // A body that belongs to the other side is answered as unimplemented.
  capnp::MallocMessageBuilder welcome;
  wire_io::start(welcome, 9).getBody().initWelcome();
  EXPECT_EQ(error_code(send_raw(ctx, c, c.clients_endpoint(), encode(welcome))),
            wire::ErrorCode::UNIMPLEMENTED);
  // Agent results before registering: told to register.
  capnp::MallocMessageBuilder early;
  wire_io::start(early, 10).getBody().initStepStarted();
  EXPECT_EQ(error_code(send_raw(ctx, c, c.agents_endpoint(), encode(early))),
            wire::ErrorCode::NOT_REGISTERED);
  // An oversized frame is dropped by the transport (ZMQ_MAXMSGSIZE).
  EXPECT_EQ(send_raw(ctx, c, c.clients_endpoint(),
                     std::string(static_cast<size_t>(wire_io::kMaxFrameBytes) + 64, 'x')),
            nullptr);
  // Still serving.
  EXPECT_TRUE(c.coordinator().running());
  auto r = c.cli({"agents"});
  EXPECT_EQ(r.code, 0) << r.err;
  c.write_file("ok.yml", "pipeline: p\njobs:\n  a:\n    steps: [{run: \"true\"}]\n");
  EXPECT_EQ(c.cli({"submit", "ok.yml"}).code, 0);
}

TEST(Protocol, AnInvalidPipelineSentPastTheCliIsRefusedByTheCoordinator) {
  // The coordinator validates again: a client that skips validation gets a clear error.
  Cluster c;
  zmq::context_t ctx(1);
  capnp::MallocMessageBuilder b;
  auto s = wire_io::start(b, 3).getBody().initSubmit();
  s.setPipelineYaml("pipeline: p\njobs:\n  a:\n    steps: []\n");
  s.setFileName("raw.yml");
  auto answer = send_raw(ctx, c, c.clients_endpoint(), encode(b));
  ASSERT_EQ(error_code(answer), wire::ErrorCode::BAD_REQUEST);
  EXPECT_NE(std::string(answer->envelope().getBody().getError().getMessage().cStr())
                .find("raw.yml:4:12: jobs.a.steps"),
            std::string::npos);
  EXPECT_EQ(c.scalar("SELECT count(*) FROM pipelines"), 0);
}

// A bisection record of series p/build/step compile on m1 between a and
// b, found at b, as `yardstick bisect` sends it; the frame's bytes.
std::string bisection_frame(const std::function<void(wire::Bisection::Builder)>& change) {
  capnp::MallocMessageBuilder b;
  auto m = wire_io::start(b, 5).getBody().initBisection();
  m.setPipeline("p");
  m.setJob("build");
  m.setKind("step");
  m.setWhat("compile");
  m.setMachine("m1");
  m.setGood("a");
  m.setBad("b");
  m.setOutcome("found");
  m.setCommit("b");
  m.setChangePct(25);
  m.setLowPct(20);
  m.setHighPct(30);
  m.setSteps(3);
  m.setRuns(19);
  m.setSeconds(12.5);
  m.setMessage("first slow commit b");
  change(m);
  return encode(b);
}

// What `yardstick bisect` records, sent past the CLI: each field out of
// its bound is refused with the field's name and stores nothing; a valid
// record is stored once.
TEST(Protocol, ABisectionRecordOutOfBoundsIsRefusedAndStoresNothing) {
  Cluster c;
  zmq::context_t ctx(1);
  auto send = [&](const std::function<void(wire::Bisection::Builder)>& change) {
    return send_raw(ctx, c, c.clients_endpoint(), bisection_frame(change));
  };
  const std::vector<std::pair<std::string, std::function<void(wire::Bisection::Builder)>>> bad = {
      {"Bisection.changePct", [](auto m) { m.setChangePct(std::nan("")); }},
      {"Bisection.seconds", [](auto m) { m.setSeconds(-1); }},
      {"Bisection.lowPct", [](auto m) { m.setLowPct(1e300); }},
      {"Bisection.outcome 'maybe'", [](auto m) { m.setOutcome("maybe"); }},
      {"Bisection.kind 'sample'", [](auto m) { m.setKind("sample"); }},
      {"Bisection.commit", [](auto m) { m.setCommit(""); }},
      {"Bisection.steps, runs", [](auto m) { m.setRuns(2'000'000); }},
      {"Bisection.message", [](auto m) { m.setMessage(std::string(70'000, 'x')); }},
      {"Bisection.pipeline", [](auto m) { m.setPipeline(std::string(300, 'p')); }},
      {"required", [](auto m) { m.setMachine(""); }},
  };
  for (const auto& [field, change] : bad) {
    SCOPED_TRACE(field);
    auto answer = send(change);
    ASSERT_EQ(error_code(answer), wire::ErrorCode::BAD_REQUEST);
    EXPECT_NE(std::string(answer->envelope().getBody().getError().getMessage().cStr()).find(field),
              std::string::npos)
        << answer->envelope().getBody().getError().getMessage().cStr();
  }
  EXPECT_EQ(c.scalar("SELECT count(*) FROM bisections"), 0);
  auto ok = send([](auto) {});
  ASSERT_NE(ok, nullptr);
  EXPECT_GT(ok->envelope().getBody().getBisectionReply().getId(), 0u);
  // Every field, as sent.
  auto row = c.query(
      "SELECT pipeline_name, job, kind, what, machine, good_revision, bad_revision, outcome, "
      "commit, subject, change_pct, low_pct, high_pct, steps, runs, seconds, message, submitter "
      "FROM bisections");
  ASSERT_EQ(row.size(), 1u);
  const std::vector<std::string> texts = {"p", "build", "step",  "compile", "m1",
                                          "a", "b",     "found", "b",       ""};
  for (size_t i = 0; i < texts.size(); ++i)
    EXPECT_EQ(row[0][static_cast<int>(i)].is_null() ? "" : row[0][static_cast<int>(i)].c_str(),
              texts[i])
        << i;
  EXPECT_EQ(row[0][10].as<double>(), 25);
  EXPECT_EQ(row[0][11].as<double>(), 20);
  EXPECT_EQ(row[0][12].as<double>(), 30);
  EXPECT_EQ(row[0][13].as<int>(), 3);
  EXPECT_EQ(row[0][14].as<int>(), 19);
  EXPECT_EQ(row[0][15].as<double>(), 12.5);
  EXPECT_EQ(row[0][16].as<std::string>(), "first slow commit b");
  EXPECT_EQ(row[0][17].as<std::string>(), c.insecure() ? "" : "submitter");
  EXPECT_TRUE(c.coordinator().running());
}

// A bisection under way: recorded as running, its message replaced after
// each step and its outcome written over it at the end, one row
// throughout. Once it has ended, or for another key's, an update is
// refused as not found and changes nothing.
TEST(Protocol, ABisectionUnderWayIsOneRecordUpdatedUntilItsOutcome) {
  Cluster c;
  zmq::context_t ctx(1);
  auto send = [&](uint64_t id, const std::string& outcome, const std::string& message) {
    return send_raw(ctx, c, c.clients_endpoint(), bisection_frame([&](auto m) {
                      m.setId(id);
                      m.setOutcome(outcome);
                      if (outcome != "found") m.setCommit("");
                      m.setSteps(outcome == "running" ? 1 : 3);
                      m.setMessage(message);
                    }));
  };
  auto started = send(0, "running", "measuring the ends");
  ASSERT_NE(started, nullptr);
  ASSERT_EQ(started->envelope().getBody().which(), wire::Envelope::Body::BISECTION_REPLY);
  const uint64_t id = started->envelope().getBody().getBisectionReply().getId();
  ASSERT_GT(id, 0u);
  auto step = send(id, "running", "step 1: c is bad");
  ASSERT_NE(step, nullptr);
  EXPECT_EQ(step->envelope().getBody().getBisectionReply().getId(), id);
  EXPECT_EQ(c.text("SELECT outcome || ' ' || steps || ' ' || message FROM bisections"),
            "running 1 step 1: c is bad");
  // Another key's record under way is not this one's to write.
  c.query("UPDATE bisections SET submitter = 'someone else'");
  EXPECT_EQ(error_code(send(id, "running", "step 2")), wire::ErrorCode::NOT_FOUND);
  c.query("UPDATE bisections SET submitter = '" + std::string(c.insecure() ? "" : "submitter") +
          "'");
  auto done = send(id, "found", "first slow commit b");
  ASSERT_NE(done, nullptr);
  EXPECT_EQ(done->envelope().getBody().getBisectionReply().getId(), id);
  auto late = send(id, "running", "step 4");
  EXPECT_EQ(error_code(late), wire::ErrorCode::NOT_FOUND);
  EXPECT_NE(std::string(late->envelope().getBody().getError().getMessage().cStr())
                .find("no bisection under way by this key has that id"),
            std::string::npos);
  EXPECT_EQ(c.scalar("SELECT count(*) FROM bisections"), 1);
  EXPECT_EQ(c.text("SELECT outcome || ' ' || commit || ' ' || steps || ' ' || message || ' ' || "
                   "(updated_at > recorded_at) FROM bisections"),
            "found b 3 first slow commit b true");
  EXPECT_EQ(error_code(send(id + 1000, "found", "x")), wire::ErrorCode::NOT_FOUND);
  EXPECT_EQ(c.scalar("SELECT count(*) FROM bisections"), 1);
}

// Waits until `p`'s log holds `text`; false after `timeout`.
bool log_says(const Process& p, const std::string& text, std::chrono::milliseconds timeout) {
  const auto end = std::chrono::steady_clock::now() + timeout;
  while (p.log().find(text) == std::string::npos) {
    if (std::chrono::steady_clock::now() > end) return false;
    std::this_thread::sleep_for(50ms);
  }
  return true;
}

TEST(Protocol, AFleetOverTheHeartbeatBudgetIsToldALongerIntervalAndNoAgentIsLost) {
  // One heartbeat a second for the whole fleet: one agent beats every
  // second, two every two seconds, with leases longer in proportion; each
  // real agent follows what it is told, and none is lost under the base
  // 2 s lease it would outlive at the new interval.
  Cluster::Options o;
  o.coordinator_args = {"--max-heartbeats-per-second", "1"};
  Cluster c(o);
  auto& a = c.add_agent("a", "", "m1");
  EXPECT_TRUE(log_says(a, "(heartbeat 1000 ms, lease 6666 ms)", 5s)) << a.log();
  auto& b = c.add_agent("b", "", "m2");
  EXPECT_TRUE(log_says(b, "(heartbeat 2000 ms, lease 13333 ms)", 5s)) << b.log();
  EXPECT_TRUE(log_says(a, "heartbeat every 2000 ms from now on (lease 13333 ms)", 5s)) << a.log();

  // Three intervals at 2 s: past the base lease several times over.
  std::this_thread::sleep_for(6s);
  EXPECT_EQ(c.coordinator().log().find("lost: silent"), std::string::npos) << c.coordinator().log();
  c.write_file("two.yml",
               "pipeline: p\njobs:\n  a:\n    on: {machines: all}\n"
               "    steps: [{run: \"true\"}]\n");
  auto r = c.cli({"submit", "two.yml", "--wait"});
  EXPECT_EQ(r.code, 0) << r.out << r.err;
  EXPECT_EQ(c.scalar("SELECT count(*) FROM jobs WHERE state = 'succeeded'"), 2);

  // The fleet shrinks to one agent: the other is told one second again.
  b.signal(SIGTERM);
  EXPECT_EQ(b.wait(10s), 0);
  EXPECT_TRUE(log_says(a, "heartbeat every 1000 ms from now on (lease 6666 ms)", 30s)) << a.log();
}

}  // namespace
}  // namespace yardstick::test
