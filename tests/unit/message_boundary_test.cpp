// The one boundary per message (coordinator/message_boundary.hpp): whatever
// a handler throws, a typed rule says whose fault it is. The peer's: that
// message alone is refused (and recorded, and an agent's result
// acknowledged). The store's: the turn is undone. Ours: logged, refused,
// and the turn goes on, the next message handled as ever.
#include <gtest/gtest.h>

#include <kj/exception.h>

#include <new>
#include <stdexcept>

#include "tests/unit/coordinator_rig.hpp"

namespace yardstick::test {
namespace {

using Body = wire::Envelope::Body::Builder;
using B = wire::Envelope::Body;

zmq::message_t status_request(uint64_t id = 1) {
  return envelope([&](Body b) { b.initStatus().setId(id); }, 77);
}

class BoundaryTest : public ::testing::Test {
 protected:
  // The clients' status request handled by `throws` instead.
  void status_throws(std::function<void()> throws) {
    rig.handlers.install(Side::kClients, Which::STATUS, Writes::kDirect,
                         [throws](const Peer&, uint64_t, wire::Envelope::Reader) { throws(); });
  }
  // A handler that writes a refusal row, then throws: its write must be undone.
  void writes_then_throws(std::function<void()> throws) {
    rig.handlers.install(Side::kClients, Which::STATUS, Writes::kDirect,
                         [this, throws](const Peer&, uint64_t, wire::Envelope::Reader) {
                           rig.store.record_refusal("x", 0, 0, "written", "by the handler");
                           throws();
                         });
  }
  Sent only_answer() {
    auto sent = rig.sent();
    EXPECT_EQ(sent.size(), 1u);
    return sent.empty() ? Sent{} : sent[0];
  }
  CoordinatorRig rig;
};

TEST(Fault, EachExceptionTypeIsTheFaultOfWhoCausedIt) {
  auto of = [](auto e) { return fault_of(std::make_exception_ptr(e)).fault; };
  EXPECT_EQ(of(PeerError("x")), Fault::kPeer);
  EXPECT_EQ(of(StoreError("x", StoreFault::kRefused, "22003")), Fault::kPeer);
  EXPECT_EQ(of(StoreError("x", StoreFault::kUnavailable, "08006")), Fault::kStore);
  EXPECT_EQ(of(StoreError("x", StoreFault::kFatal)), Fault::kStore);
  EXPECT_EQ(of(kj::Exception(kj::Exception::Type::FAILED, "f.c++", 1, kj::str("bad pointer"))),
            Fault::kPeer);
  EXPECT_EQ(of(std::bad_alloc()), Fault::kOurs);
  EXPECT_EQ(of(std::logic_error("x")), Fault::kOurs);
  EXPECT_EQ(of(std::runtime_error("x")), Fault::kOurs);
  EXPECT_EQ(of(42), Fault::kOurs);
}

TEST_F(BoundaryTest, AFrameThatDoesNotDecodeIsAnsweredMalformed) {
  ASSERT_TRUE(rig.handle(Side::kClients, "c", zmq::message_t(std::string("not a frame"))));
  EXPECT_EQ(only_answer().code, wire::ErrorCode::MALFORMED);
}

TEST_F(BoundaryTest, ABodyNobodyHandlesOnThisSocketIsAnsweredUnimplemented) {
  ASSERT_TRUE(rig.handle(Side::kAgents, "r-a", status_request()));
  const Sent s = only_answer();
  EXPECT_EQ(s.code, wire::ErrorCode::UNIMPLEMENTED);
  EXPECT_NE(s.message.find("right port"), std::string::npos);
}

TEST_F(BoundaryTest, TheMessagesFaultIsRefusedAndItsWritesUndone) {
  writes_then_throws([] { throw PeerError("the peer's fault"); });
  ASSERT_TRUE(rig.handle(Side::kClients, "c", status_request()));
  const Sent s = only_answer();
  EXPECT_EQ(s.code, wire::ErrorCode::BAD_REQUEST);
  EXPECT_EQ(s.message, "the peer's fault");
  ASSERT_EQ(rig.store.state.refusals.size(), 1u);  // the boundary's record, not the handler's
  EXPECT_EQ(rig.store.state.refusals[0].what, "status");
  EXPECT_EQ(rig.store.state.refusals[0].reason, "the peer's fault");
}

TEST_F(BoundaryTest, DataTheStoreRefusesIsRefusedAsTheMessagesFault) {
  writes_then_throws([] { throw StoreError("value out of range", StoreFault::kRefused, "22003"); });
  ASSERT_TRUE(rig.handle(Side::kClients, "c", status_request()));
  EXPECT_EQ(only_answer().code, wire::ErrorCode::REFUSED);
  ASSERT_EQ(rig.store.state.refusals.size(), 1u);
  EXPECT_EQ(rig.store.state.refusals[0].what, "status");
}

TEST_F(BoundaryTest, AnUndecodableReaderDeepInsideIsTheMessagesFault) {
  status_throws([] {
    throw kj::Exception(kj::Exception::Type::FAILED, "layout.c++", 1, kj::str("out of bounds"));
  });
  ASSERT_TRUE(rig.handle(Side::kClients, "c", status_request()));
  EXPECT_EQ(only_answer().code, wire::ErrorCode::MALFORMED);
}

TEST_F(BoundaryTest, AnOutageUndoesTheTurnAndIsNeverRecordedAsARefusal) {
  writes_then_throws([] { throw StoreError("server closed", StoreFault::kUnavailable, "08006"); });
  EXPECT_FALSE(rig.handle(Side::kClients, "c", status_request()));
  EXPECT_TRUE(rig.store.state.refusals.empty());
  EXPECT_TRUE(rig.sent().empty());  // nothing of the turn is sent
}

TEST_F(BoundaryTest, OurOwnFailureIsRefusedAsInternalAndTheNextMessageIsServed) {
  int calls = 0;
  status_throws([&] {
    if (++calls == 1) throw std::bad_alloc();
    throw std::logic_error("an invariant of ours");
  });
  ASSERT_TRUE(rig.handle(Side::kClients, "c", status_request()));
  Sent s = only_answer();
  EXPECT_EQ(s.code, wire::ErrorCode::INTERNAL);
  EXPECT_NE(s.message.find("out of memory"), std::string::npos) << s.message;
  ASSERT_TRUE(rig.handle(Side::kClients, "c", status_request()));
  s = only_answer();
  EXPECT_EQ(s.code, wire::ErrorCode::INTERNAL);
  ASSERT_EQ(rig.store.state.refusals.size(), 2u);
  EXPECT_EQ(rig.store.state.refusals[1].reason, "internal error: an invariant of ours");
  EXPECT_EQ(rig.boundary.refused_ours(), 2u);
  // The real handler again: answered as ever (not found: the fake has no pipelines).
  rig.clients.install(rig.handlers);
  ASSERT_TRUE(rig.handle(Side::kClients, "c", status_request()));
  EXPECT_EQ(only_answer().code, wire::ErrorCode::NOT_FOUND);
}

// An agent's result that fails in our code is acknowledged, so that the
// agent does not send it forever, and recorded.
TEST_F(BoundaryTest, AnAgentsResultThatFailsInOurCodeIsAcknowledgedAndRecorded) {
  rig.agent("a");
  rig.handlers.install(
      Side::kAgents, Which::SAMPLE, Writes::kBatched,
      [](const Peer&, uint64_t, wire::Envelope::Reader) { throw std::bad_alloc(); });
  ASSERT_TRUE(rig.from_agent("a", envelope([](Body b) {
                               wire_io::fill(b.initSample().initKey(), {5, 1, 3});
                             })));
  const Sent s = only_answer();
  EXPECT_EQ(s.which, B::ACK);
  EXPECT_EQ(s.acked, (std::vector<ResultKey>{{5, 1, 3}}));
  ASSERT_EQ(rig.store.state.refusals.size(), 1u);
  EXPECT_EQ(rig.store.state.refusals[0].job_id, 5u);
  EXPECT_EQ(rig.store.state.refusals[0].peer, "a");
}

// A key replaced under the same name keeps no right: the per-message check
// looks the key up, not the name.
TEST(BoundaryAuthority, AKeyReplacedUnderTheSameNameStopsWorkingAtOnce) {
  FakeAuthority authority;
  authority.clients["old-key"] = {"submit", "alice"};
  CoordinatorRig rig({}, &authority);
  ASSERT_TRUE(rig.handle(Side::kClients, "c", status_request(), "old-key"));
  EXPECT_EQ(rig.sent()[0].code, wire::ErrorCode::NOT_FOUND);  // served
  authority.clients.erase("old-key");
  authority.clients["new-key"] = {"submit", "alice"};  // same name, another key
  ASSERT_TRUE(rig.handle(Side::kClients, "c", status_request(), "old-key"));
  const auto sent = rig.sent();
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_EQ(sent[0].code, wire::ErrorCode::FORBIDDEN);
}

TEST(BoundaryAuthority, AReadKeyMayNotSubmitAndAnAgentKeyMayNotActAsAnother) {
  FakeAuthority authority;
  authority.clients["reader"] = {"read", "rita"};
  authority.agents["k1"] = {"agent", "a1"};
  CoordinatorRig rig({}, &authority);
  ASSERT_TRUE(rig.handle(Side::kClients, "c",
                         envelope([](Body b) { b.initCancelRequest().setId(5); }), "reader"));
  auto sent = rig.sent();
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_EQ(sent[0].code, wire::ErrorCode::FORBIDDEN);
  EXPECT_NE(sent[0].message.find("read role"), std::string::npos);
  // Route r-a2 is registered as a2; key k1 belongs to a1.
  rig.agent("a2");
  ASSERT_TRUE(rig.handle(Side::kAgents, "r-a2", envelope([](Body b) { b.initHeartbeat(); }), "k1"));
  sent = rig.sent();
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_EQ(sent[0].which, B::REJECT);
}

}  // namespace
}  // namespace yardstick::test

namespace yardstick::test {
namespace {

// A peer flooding values out of bounds costs the store one row per second
// past the first few, not one per refusal: the rest are counted in one row.
TEST(BoundaryRefusals, AFloodOfRefusalsIsRecordedUpToTheLimitThenCounted) {
  CoordinatorRig rig;
  rig.agent("a");
  JobAssignment spec;
  spec.kind = JobKind::kBench;
  spec.bench = BenchSpec{};
  spec.bench->runs = 3;
  rig.running(5, "a", spec);
  for (uint64_t seq = 1; seq <= 100; ++seq)
    ASSERT_TRUE(rig.from_agent("a", envelope([&](wire::Envelope::Body::Builder b) {
                                 auto m = b.initSample();
                                 wire_io::fill(m.initKey(), {5, 1, seq});
                                 m.setIndex(7);  // past runs: 3
                               })));
  // Every one acknowledged, so that none is sent again.
  size_t acked = 0;
  for (const auto& s : rig.sent()) acked += s.acked.size();
  EXPECT_EQ(acked, 100u);
  EXPECT_EQ(rig.store.state.refusals.size(), size_t{MessageBoundary::kRecordedPerSecond});
  rig.clock.advance_ms(1000);
  ASSERT_TRUE(rig.from_agent("a", envelope([&](wire::Envelope::Body::Builder b) {
                               auto m = b.initSample();
                               wire_io::fill(m.initKey(), {5, 1, 101});
                               m.setIndex(7);
                             })));
  const auto& r = rig.store.state.refusals;
  ASSERT_EQ(r.size(), size_t{MessageBoundary::kRecordedPerSecond} + 2);
  EXPECT_EQ(r[r.size() - 2].reason, "80 more refusals in one second, not recorded one by one");
  EXPECT_NE(r.back().reason.find("Sample.index 7 is out of bounds"), std::string::npos);
}

}  // namespace
}  // namespace yardstick::test
