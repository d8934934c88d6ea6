// The agent's outbox: what it sends, when, and in which order; above all,
// that no result leaves before the spool made it durable (a result the
// coordinator acknowledged is forgotten, and would be lost with the
// machine if it existed only in the page cache).
#include "agent/outbox.hpp"

#include <gtest/gtest.h>
#include <stdlib.h>
#include <unistd.h>

#include <cerrno>
#include <filesystem>
#include <string>
#include <vector>

namespace yardstick {
namespace {

namespace fs = std::filesystem;

class OutboxTest : public ::testing::Test {
 protected:
  OutboxTest()
      : dir_(make_dir()),
        spool_(options()),
        outbox_(spool_, clock_, 1 << 20, [this](std::string_view frame) {
          if (!link_accepts_) return false;
          sent_.emplace_back(frame);
          return true;
        }) {
    spool_.recover();
  }
  ~OutboxTest() override {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }
  static std::string make_dir() {
    std::string pattern = (fs::temp_directory_path() / "outbox_test.XXXXXX").string();
    if (!mkdtemp(pattern.data())) throw std::runtime_error("mkdtemp failed");
    return pattern;
  }
  SpoolOptions options() {
    SpoolOptions o;
    o.dir = dir_;
    // A disk whose syncs fail while `disk_fails_` is set, as EIO from fdatasync.
    o.sync_fd = [this](int fd) {
      if (disk_fails_) {
        errno = EIO;
        return -1;
      }
      return ::fdatasync(fd);
    };
    return o;
  }
  static ResultKey key(uint64_t seq) { return {7, 1, seq}; }

  std::string dir_;
  bool disk_fails_ = false;
  bool link_accepts_ = true;
  FakeClock clock_;
  Spool spool_;
  std::vector<std::string> sent_;
  ResultOutbox outbox_;
};

TEST_F(OutboxTest, ResultsGoOutInOrderOnceSyncedAndAreForgottenWhenAcknowledged) {
  outbox_.enqueue(key(1), "one");
  outbox_.enqueue(key(2), "two");
  outbox_.pump(true);
  EXPECT_EQ(sent_, (std::vector<std::string>{"one", "two"}));
  outbox_.ack(key(1));
  EXPECT_EQ(outbox_.unacknowledged(), 1u);
  // Unacknowledged results are sent again after a welcome.
  outbox_.resend_all();
  outbox_.pump(true);
  EXPECT_EQ(sent_, (std::vector<std::string>{"one", "two", "two"}));
}

TEST_F(OutboxTest, NothingIsSentWhileTheSpoolCannotMakeItDurable) {
  disk_fails_ = true;
  outbox_.enqueue(key(1), "one");
  outbox_.enqueue(key(2), "two");
  outbox_.pump(true);
  EXPECT_TRUE(sent_.empty());
  // Tried again, and still nothing leaves while the disk fails.
  for (int i = 0; i < 5; ++i) {
    clock_.advance_ms(ResultOutbox::kSyncRetryMs);
    outbox_.pump(true);
  }
  EXPECT_TRUE(sent_.empty());
  EXPECT_EQ(outbox_.unacknowledged(), 2u);  // kept
  EXPECT_EQ(outbox_.held(), (std::set<JobRef>{{7, 1}}));
  // Once the disk works, they are written again, synced, and sent, in order.
  disk_fails_ = false;
  clock_.advance_ms(ResultOutbox::kSyncRetryMs);
  outbox_.pump(true);
  EXPECT_EQ(sent_, (std::vector<std::string>{"one", "two"}));
  EXPECT_EQ(spool_.read(key(1)), "one");
  EXPECT_EQ(spool_.read(key(2)), "two");
}

TEST_F(OutboxTest, AFailedSyncIsTriedAgainAfterAPauseNotEveryLoopTurn) {
  disk_fails_ = true;
  outbox_.enqueue(key(1), "one");
  outbox_.pump(true);
  disk_fails_ = false;
  outbox_.pump(true);  // the same instant: not yet
  EXPECT_TRUE(sent_.empty());
  clock_.advance_ms(ResultOutbox::kSyncRetryMs);
  outbox_.pump(true);
  EXPECT_EQ(sent_, (std::vector<std::string>{"one"}));
}

TEST_F(OutboxTest, HeldResultsWaitForTheBatchUnlessAnotherResultComes) {
  outbox_.enqueue(key(1), "sample", /*hold=*/true);
  outbox_.pump(true);
  EXPECT_TRUE(sent_.empty());
  clock_.advance_ms(ResultOutbox::kHoldMs);
  outbox_.pump(true);
  EXPECT_EQ(sent_, (std::vector<std::string>{"sample"}));
  outbox_.enqueue(key(2), "sample 2", /*hold=*/true);
  outbox_.enqueue(key(3), "step end");
  outbox_.pump(true);
  EXPECT_EQ(sent_, (std::vector<std::string>{"sample", "sample 2", "step end"}));
}

TEST_F(OutboxTest, AResultTheLinkRefusedIsSentLaterInItsPlace) {
  link_accepts_ = false;
  outbox_.enqueue(key(1), "one");
  outbox_.enqueue(key(2), "two");
  outbox_.pump(true);
  EXPECT_TRUE(sent_.empty());
  link_accepts_ = true;
  outbox_.pump(true);
  EXPECT_EQ(sent_, (std::vector<std::string>{"one", "two"}));
}

TEST_F(OutboxTest, ADroppedJobAttemptIsNoLongerHeld) {
  outbox_.enqueue(key(1), "one");
  outbox_.enqueue({8, 1, 1}, "other job");
  outbox_.pump(true);
  outbox_.drop({7, 1});
  EXPECT_EQ(outbox_.held(), (std::set<JobRef>{{8, 1}}));
  EXPECT_EQ(outbox_.unacknowledged(), 1u);
}

}  // namespace
}  // namespace yardstick
