// The coordinator wired whole (coordinator.hpp) on a fake store and real
// in-process sockets: a turn reads each frame's bytes once, a store that
// fails mid-turn sends nothing of the turn and tells clients to retry, and
// a stored job that does not decode is failed at start instead of
// stopping it.
#include <gtest/gtest.h>

#include <atomic>

#include "common/wire.hpp"
#include "coordinator/coordinator.hpp"
#include "coordinator/turn_engine.hpp"
#include "tests/unit/fake_store.hpp"

namespace yardstick::test {
namespace {

using Body = wire::Envelope::Body::Builder;

TEST(TurnBudget, EachFramesBytesAreCountedOnce) {
  // 32 MiB of 1 MiB frames is 32 frames, not 16.
  TurnBudget budget(2000, 32ull << 20);
  int frames = 0;
  while (!budget.full()) {
    budget.add(1 << 20);
    ++frames;
  }
  EXPECT_EQ(frames, 32);
  EXPECT_EQ(budget.bytes(), 32ull << 20);
  TurnBudget few(3, 1ull << 40);
  for (int i = 0; i < 3; ++i) few.add(10);
  EXPECT_TRUE(few.full());
}

std::string endpoint(const char* what) {
  static std::atomic<int> n{0};
  return std::string("inproc://coordinator-test-") + what + "-" + std::to_string(++n);
}

class CoordinatorTest : public ::testing::Test {
 protected:
  CoordinatorTest() {
    config.agents_endpoint = endpoint("agents");
    config.clients_endpoint = endpoint("clients");
    config.calibrate_new_machines = false;
  }
  // Sends a status request as a client and runs turns until it is answered.
  std::optional<wire::ErrorCode> ask_status(Coordinator& c, bool* answered_ok = nullptr) {
    zmq::socket_t client(context, zmq::socket_type::dealer);
    client.set(zmq::sockopt::linger, 0);
    client.connect(config.clients_endpoint);
    capnp::MallocMessageBuilder b;
    wire_io::start(b, 9).getBody().initStatus().setId(1);
    client.send(wire_io::to_message(b), zmq::send_flags::none);
    for (int i = 0; i < 50; ++i) {
      c.turn(10);
      zmq::message_t m;
      if (client.recv(m, zmq::recv_flags::dontwait)) {
        auto d = wire_io::decode_frame(m.data(), m.size());
        auto body = std::get<std::unique_ptr<wire_io::Frame>>(d)->envelope().getBody();
        if (answered_ok) *answered_ok = body.which() != wire::Envelope::Body::ERROR;
        if (body.which() != wire::Envelope::Body::ERROR) return std::nullopt;
        return body.getError().getCode();
      }
    }
    ADD_FAILURE() << "no answer";
    return wire::ErrorCode::INTERNAL;
  }

  zmq::context_t context{1};
  CoordinatorConfig config;
  FakeStore store;
  FakeClock clock;
};

TEST_F(CoordinatorTest, AStoreThatFailsMidTurnSendsNothingOfItAndTellsTheClientToRetry) {
  Coordinator c(config, context, store.store(), store.reader(), clock);
  c.start();
  EXPECT_EQ(ask_status(c), wire::ErrorCode::NOT_FOUND);  // served: the fake knows no pipeline
  store.fail = [](const std::string& op) {
    if (op == "commit") throw StoreError("connection lost", StoreFault::kUnavailable, "08006");
  };
  EXPECT_EQ(ask_status(c), wire::ErrorCode::UNAVAILABLE);
  store.fail = nullptr;
  clock.advance_ms(1500);  // the coordinator tries to recover once a second
  EXPECT_EQ(ask_status(c), wire::ErrorCode::NOT_FOUND);
}

// Which coordinator leads, as the test says.
class FakeLeadership final : public Leadership {
 public:
  Regain answer = Regain::kLeading;
  int asked = 0;
  Regain regain() override {
    ++asked;
    return answer;
  }
  std::string leader_description() override { return "other:42 (epoch 7)"; }
};

TEST_F(CoordinatorTest, AfterAStoreFailureItReloadsOnlyOnceItLeadsAndStopsWhenAnotherDoes) {
  FakeLeadership leadership;
  Coordinator c(config, context, store.store(), store.reader(), clock);
  c.set_leadership(&leadership);
  c.start();
  store.fail = [](const std::string& op) {
    if (op == "commit") throw StoreError("connection lost", StoreFault::kUnavailable, "08006");
  };
  EXPECT_EQ(ask_status(c), wire::ErrorCode::UNAVAILABLE);
  store.fail = nullptr;
  // The grace period: the store stays down, nothing is reloaded or served.
  leadership.answer = Leadership::Regain::kWait;
  clock.advance_ms(1500);
  EXPECT_EQ(ask_status(c), wire::ErrorCode::UNAVAILABLE);
  EXPECT_GE(leadership.asked, 1);
  // Still the leader: served again.
  leadership.answer = Leadership::Regain::kLeading;
  clock.advance_ms(1500);
  EXPECT_EQ(ask_status(c), wire::ErrorCode::NOT_FOUND);
  // Another coordinator took over while the store was down: it stops.
  store.fail = [](const std::string& op) {
    if (op == "commit") throw StoreError("connection lost", StoreFault::kUnavailable, "08006");
  };
  EXPECT_EQ(ask_status(c), wire::ErrorCode::UNAVAILABLE);
  store.fail = nullptr;
  leadership.answer = Leadership::Regain::kLost;
  clock.advance_ms(1500);
  try {
    for (int i = 0; i < 50; ++i) c.turn(10);
    ADD_FAILURE() << "a coordinator that lost the lead went on";
  } catch (const LostLeadership& e) {
    EXPECT_NE(std::string(e.what()).find("another coordinator leads now: other:42 (epoch 7)"),
              std::string::npos)
        << e.what();
  }
}

TEST_F(CoordinatorTest, AStoredJobThatDoesNotDecodeIsFailedAndTheStartGoesOn) {
  Job ok;
  ok.id = 11;
  ok.pipeline_id = 10;
  ok.name = "fine";
  ok.state = JobState::kQueued;
  store.loaded.jobs.push_back(ok);
  store.loaded.unloadable.push_back({12, 1, "job spec: not valid JSON"});
  Coordinator c(config, context, store.store(), store.reader(), clock);
  ASSERT_NO_THROW(c.start());
  ASSERT_EQ(store.failed_unloadable.size(), 1u);
  EXPECT_EQ(store.failed_unloadable[0].id, 12u);
  EXPECT_EQ(ask_status(c), wire::ErrorCode::NOT_FOUND);  // and it serves
}

}  // namespace
}  // namespace yardstick::test
