// The result spool: what survives a restart or a crash, what an ack removes for
// good, how a torn or corrupt tail is cut, and the limits on live bytes and disk.
#include <gtest/gtest.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <functional>
#include <stdexcept>
#include <string>
#include <vector>

#include "agent/spool.hpp"

namespace yardstick {
namespace {

namespace fs = std::filesystem;

// A fresh folder, removed with everything in it at the end of the test.
class TempDir {
 public:
  TempDir() {
    std::string pattern = (fs::temp_directory_path() / "spool_test.XXXXXX").string();
    if (!mkdtemp(pattern.data())) throw std::runtime_error("mkdtemp failed");
    path_ = pattern;
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

SpoolOptions options_for(const TempDir& dir) {
  SpoolOptions o;
  o.dir = dir.path();
  return o;
}

ResultKey key(uint64_t seq, uint64_t job_id = 7, uint32_t attempt = 1) {
  return ResultKey{job_id, attempt, seq};
}

// A payload that differs per seq in content and length.
std::string payload(uint64_t seq) {
  return "result " + std::to_string(seq) + std::string(seq % 37, char('a' + seq % 26));
}

// "job/attempt/seq" per key: readable when a comparison fails.
std::vector<std::string> names(const std::vector<ResultKey>& keys) {
  std::vector<std::string> out;
  for (const auto& k : keys)
    out.push_back(std::to_string(k.job_id) + "/" + std::to_string(k.attempt) + "/" +
                  std::to_string(k.seq));
  return out;
}

// The files in `dir` whose names end with `suffix`, sorted.
std::vector<std::string> files(const TempDir& dir, const std::string& suffix) {
  std::vector<std::string> out;
  for (const auto& e : fs::directory_iterator(dir.path())) {
    std::string name = e.path().filename().string();
    if (name.size() >= suffix.size() &&
        name.compare(name.size() - suffix.size(), suffix.size(), suffix) == 0)
      out.push_back(name);
  }
  std::sort(out.begin(), out.end());
  return out;
}

// Runs `body` in a child process. The body ends the child with _exit(code) while
// its Spool is still alive, as a crash would: no destructor runs. Returns the
// child's exit code, -1 when it did not exit.
int run_then_crash(const std::function<void()>& body) {
  pid_t pid = fork();
  if (pid == 0) {
    body();
    _exit(250);  // the body forgot to end the child
  }
  int status = 0;
  if (pid < 0 || waitpid(pid, &status, 0) != pid || !WIFEXITED(status)) return -1;
  return WEXITSTATUS(status);
}

TEST(Spool, Crc32MatchesTheStandardCheckValue) {
  EXPECT_EQ(spool_crc32("123456789"), 0xCBF43926u);
  EXPECT_EQ(spool_crc32(""), 0u);
  EXPECT_EQ(spool_crc32("56789", spool_crc32("1234")), 0xCBF43926u);
}

TEST(Spool, RecordsSurviveANewSpoolOnTheSameDir) {
  TempDir dir;
  {
    Spool spool(options_for(dir));
    EXPECT_TRUE(spool.recover().empty());
    for (uint64_t i = 1; i <= 5; ++i) ASSERT_TRUE(spool.append(key(i), payload(i)));
    EXPECT_TRUE(spool.sync());
    spool.ack(key(2));
    EXPECT_EQ(spool.size(), 4u);
  }
  {
    Spool spool(options_for(dir));
    EXPECT_EQ(names(spool.recover()),
              (std::vector<std::string>{"7/1/1", "7/1/3", "7/1/4", "7/1/5"}));
    uint64_t bytes = 0;
    for (uint64_t i : {1, 3, 4, 5}) {
      EXPECT_EQ(spool.read(key(i)), payload(i)) << i;
      bytes += payload(i).size();
    }
    EXPECT_EQ(spool.live_bytes(), bytes);
    EXPECT_EQ(spool.read(key(2)), std::nullopt);
    // Acks of a previous life's records persist too, next to this life's appends.
    spool.ack(key(1));
    ASSERT_TRUE(spool.append(key(6), payload(6)));
    EXPECT_EQ(names(spool.keys()), (std::vector<std::string>{"7/1/3", "7/1/4", "7/1/5", "7/1/6"}));
  }
  Spool spool(options_for(dir));
  EXPECT_EQ(names(spool.recover()), (std::vector<std::string>{"7/1/3", "7/1/4", "7/1/5", "7/1/6"}));
  EXPECT_EQ(spool.read(key(6)), payload(6));
}

TEST(Spool, AcknowledgedRecordsDoNotComeBackAfterACrash) {
  TempDir dir;
  int code = run_then_crash([&] {
    Spool spool(options_for(dir));
    spool.recover();
    for (uint64_t i = 1; i <= 10; ++i)
      if (!spool.append(key(i), payload(i))) _exit(1);
    spool.sync();
    for (uint64_t i : {2, 4, 6, 10}) spool.ack(key(i));
    _exit(0);
  });
  ASSERT_EQ(code, 0);
  Spool spool(options_for(dir));
  EXPECT_EQ(names(spool.recover()),
            (std::vector<std::string>{"7/1/1", "7/1/3", "7/1/5", "7/1/7", "7/1/8", "7/1/9"}));
  EXPECT_EQ(spool.read(key(9)), payload(9));
}

TEST(Spool, TruncatedTailIsCutAndEarlierRecordsSurvive) {
  TempDir dir;
  {
    Spool spool(options_for(dir));
    spool.recover();
    for (uint64_t i = 1; i <= 3; ++i) ASSERT_TRUE(spool.append(key(i), payload(i)));
  }
  auto logs = files(dir, ".log");
  ASSERT_EQ(logs.size(), 1u);
  const fs::path segment = fs::path(dir.path()) / logs[0];
  const uint64_t full = fs::file_size(segment);
  fs::resize_file(segment, full - 5);  // the last record's write was cut short

  {
    Spool spool(options_for(dir));
    EXPECT_EQ(names(spool.recover()), (std::vector<std::string>{"7/1/1", "7/1/2"}));
    EXPECT_EQ(spool.read(key(1)), payload(1));
    EXPECT_EQ(spool.read(key(2)), payload(2));
    // The torn tail is gone from the file, not only from memory.
    EXPECT_EQ(fs::file_size(segment), full - (32 + payload(3).size()));
    ASSERT_TRUE(spool.append(key(3), payload(3)));
    ASSERT_TRUE(spool.append(key(4), payload(4)));
    EXPECT_TRUE(spool.sync());
  }
  Spool spool(options_for(dir));
  EXPECT_EQ(names(spool.recover()), (std::vector<std::string>{"7/1/1", "7/1/2", "7/1/3", "7/1/4"}));
  for (uint64_t i = 1; i <= 4; ++i) EXPECT_EQ(spool.read(key(i)), payload(i)) << i;
}

TEST(Spool, FlippedByteCutsTheRecordAndEverythingAfterIt) {
  TempDir dir;
  {
    Spool spool(options_for(dir));
    spool.recover();
    for (uint64_t i = 1; i <= 3; ++i) ASSERT_TRUE(spool.append(key(i), payload(i)));
  }
  auto logs = files(dir, ".log");
  ASSERT_EQ(logs.size(), 1u);
  const fs::path segment = fs::path(dir.path()) / logs[0];
  const uint64_t second_payload_at = (32 + payload(1).size()) + 32;
  {
    std::fstream f(segment, std::ios::in | std::ios::out | std::ios::binary);
    f.seekg(static_cast<std::streamoff>(second_payload_at + 2));
    char c = 0;
    f.read(&c, 1);
    c ^= 0x10;
    f.seekp(static_cast<std::streamoff>(second_payload_at + 2));
    f.write(&c, 1);
  }
  Spool spool(options_for(dir));
  EXPECT_EQ(names(spool.recover()), (std::vector<std::string>{"7/1/1"}));
  EXPECT_EQ(spool.read(key(1)), payload(1));
  EXPECT_EQ(spool.read(key(2)), std::nullopt);
  EXPECT_EQ(fs::file_size(segment), 32 + payload(1).size());
  ASSERT_TRUE(spool.append(key(2), "again"));
  EXPECT_EQ(spool.read(key(2)), "again");
  EXPECT_EQ(names(spool.keys()), (std::vector<std::string>{"7/1/1", "7/1/2"}));
}

TEST(Spool, TornAckLogTailSendsTheRecordAgainInsteadOfLosingOne) {
  TempDir dir;
  {
    Spool spool(options_for(dir));
    spool.recover();
    for (uint64_t i = 1; i <= 3; ++i) ASSERT_TRUE(spool.append(key(i), payload(i)));
    spool.ack(key(1));
    spool.ack(key(2));
  }
  auto acks = files(dir, ".ack");
  ASSERT_EQ(acks.size(), 1u);
  const fs::path ack_log = fs::path(dir.path()) / acks[0];
  ASSERT_EQ(fs::file_size(ack_log), 32u);  // two 16-byte entries
  fs::resize_file(ack_log, 16 + 7);        // the second entry was torn

  Spool spool(options_for(dir));
  EXPECT_EQ(names(spool.recover()), (std::vector<std::string>{"7/1/2", "7/1/3"}));
  EXPECT_EQ(spool.read(key(2)), payload(2));
  EXPECT_EQ(fs::file_size(ack_log), 16u);
}

TEST(Spool, FullyAcknowledgedSegmentsAreDeleted) {
  TempDir dir;
  SpoolOptions o = options_for(dir);
  o.segment_bytes = 100;  // every 80-byte record (112 with its header) fills a segment
  const std::string bytes(80, 'x');
  {
    Spool spool(o);
    spool.recover();
    for (uint64_t i = 1; i <= 5; ++i) ASSERT_TRUE(spool.append(key(i), bytes));
    EXPECT_EQ(files(dir, ".log").size(), 5u);
    EXPECT_EQ(spool.segment_count(), 5u);

    spool.ack(key(2));  // out of order: segment 2 goes while segment 1 stays
    EXPECT_EQ(files(dir, ".log"),
              (std::vector<std::string>{"spool-000000000001.log", "spool-000000000003.log",
                                        "spool-000000000004.log", "spool-000000000005.log"}));
    spool.ack(key(1));
    spool.ack(key(3));
    spool.ack(key(5));  // the current segment stays while it is appended to
    EXPECT_EQ(files(dir, ".log"),
              (std::vector<std::string>{"spool-000000000004.log", "spool-000000000005.log"}));
    EXPECT_TRUE(files(dir, ".ack").size() <= 1u);
    EXPECT_EQ(spool.segment_count(), 2u);
  }
  // Closing the spool ends the current segment; its records were all acknowledged.
  EXPECT_EQ(files(dir, ".log"), (std::vector<std::string>{"spool-000000000004.log"}));
  EXPECT_TRUE(files(dir, ".ack").empty());
  Spool spool(o);
  EXPECT_EQ(names(spool.recover()), (std::vector<std::string>{"7/1/4"}));
  spool.ack(key(4));  // a previous life's segment is never current
  EXPECT_TRUE(files(dir, ".log").empty());
}

TEST(Spool, SegmentsFullyAcknowledgedBeforeACrashAreDeletedOnRecover) {
  TempDir dir;
  SpoolOptions o = options_for(dir);
  o.segment_bytes = 100;
  int code = run_then_crash([&] {
    Spool spool(o);
    spool.recover();
    for (uint64_t i = 1; i <= 3; ++i)
      if (!spool.append(key(i), std::string(80, 'y'))) _exit(1);
    spool.ack(key(3));  // the current segment: kept while that life lasts
    _exit(0);
  });
  ASSERT_EQ(code, 0);
  ASSERT_EQ(files(dir, ".log").size(), 3u);
  Spool spool(o);
  EXPECT_EQ(names(spool.recover()), (std::vector<std::string>{"7/1/1", "7/1/2"}));
  EXPECT_EQ(files(dir, ".log"),
            (std::vector<std::string>{"spool-000000000001.log", "spool-000000000002.log"}));
  EXPECT_TRUE(files(dir, ".ack").empty());
}

TEST(Spool, AppendRefusesPastMaxBytesAndAcceptsAgainAfterAcks) {
  TempDir dir;
  SpoolOptions o = options_for(dir);
  o.max_bytes = 250;
  Spool spool(o);
  spool.recover();
  const std::string hundred(100, 'z');
  ASSERT_TRUE(spool.append(key(1), hundred));
  ASSERT_TRUE(spool.append(key(2), hundred));
  EXPECT_TRUE(spool.would_fit(50));
  EXPECT_FALSE(spool.would_fit(51));
  EXPECT_FALSE(spool.append(key(3), hundred));
  EXPECT_EQ(spool.size(), 2u);
  EXPECT_EQ(spool.live_bytes(), 200u);
  EXPECT_EQ(spool.read(key(3)), std::nullopt);
  EXPECT_TRUE(spool.append(key(3), std::string(50, 'w')));  // exactly max_bytes
  EXPECT_FALSE(spool.append(key(4), "1"));
  spool.ack(key(1));
  EXPECT_EQ(spool.live_bytes(), 150u);
  EXPECT_TRUE(spool.append(key(4), hundred));
  EXPECT_EQ(names(spool.keys()), (std::vector<std::string>{"7/1/2", "7/1/3", "7/1/4"}));
  // A refused append wrote nothing: the file holds exactly the accepted records.
  EXPECT_EQ(fs::file_size(fs::path(dir.path()) / files(dir, ".log").at(0)),
            4 * 32 + 100 + 100 + 50 + 100);
}

TEST(Spool, DropForgetsOneJobAttemptOnly) {
  TempDir dir;
  {
    Spool spool(options_for(dir));
    spool.recover();
    ASSERT_TRUE(spool.append(key(1, 7, 1), "a"));
    ASSERT_TRUE(spool.append(key(1, 7, 2), "b"));
    ASSERT_TRUE(spool.append(key(2, 7, 1), "c"));
    ASSERT_TRUE(spool.append(key(1, 8, 1), "d"));
    ASSERT_TRUE(spool.append(key(1, 6, 1), "e"));
    spool.drop(7, 1);
    EXPECT_EQ(names(spool.keys()), (std::vector<std::string>{"7/2/1", "8/1/1", "6/1/1"}));
    EXPECT_EQ(spool.live_bytes(), 3u);
    spool.drop(9, 1);  // unknown: nothing happens
    EXPECT_EQ(spool.size(), 3u);
  }
  Spool spool(options_for(dir));
  EXPECT_EQ(names(spool.recover()), (std::vector<std::string>{"7/2/1", "8/1/1", "6/1/1"}));
}

TEST(Spool, DuplicateKeyIsIgnored) {
  TempDir dir;
  Spool spool(options_for(dir));
  spool.recover();
  ASSERT_TRUE(spool.append(key(1), "first"));
  const uint64_t size_before = fs::file_size(fs::path(dir.path()) / files(dir, ".log").at(0));
  EXPECT_TRUE(spool.append(key(1), "second"));
  EXPECT_EQ(spool.size(), 1u);
  EXPECT_EQ(spool.live_bytes(), 5u);
  EXPECT_EQ(spool.read(key(1)), "first");
  EXPECT_EQ(fs::file_size(fs::path(dir.path()) / files(dir, ".log").at(0)), size_before);
  spool.ack(key(7));  // unknown: ignored
  EXPECT_EQ(spool.size(), 1u);
}

TEST(Spool, InMemoryModeKeepsBytesWithoutFiles) {
  SpoolOptions o;
  o.max_bytes = 10;
  Spool spool(o);
  EXPECT_TRUE(spool.recover().empty());
  const std::string binary("\0\xff", 2);
  ASSERT_TRUE(spool.append(key(1), binary));
  ASSERT_TRUE(spool.append(key(2), "abcd"));
  EXPECT_FALSE(spool.append(key(3), "abcde"));
  EXPECT_TRUE(spool.sync());
  EXPECT_EQ(spool.read(key(1)), binary);
  EXPECT_EQ(spool.segment_count(), 0u);
  spool.ack(key(1));
  EXPECT_EQ(spool.read(key(1)), std::nullopt);
  EXPECT_TRUE(spool.append(key(3), "abcde"));
  spool.drop(7, 1);
  EXPECT_EQ(spool.size(), 0u);
  EXPECT_EQ(spool.live_bytes(), 0u);
  // Many acks in order: memory does not keep the dead entries' bytes.
  for (uint64_t i = 10; i < 5000; ++i) {
    ASSERT_TRUE(spool.append(key(i), "xy"));
    spool.ack(key(i));
  }
  ASSERT_TRUE(spool.append(key(5000), "ok"));
  EXPECT_EQ(names(spool.keys()), (std::vector<std::string>{"7/1/5000"}));
}

TEST(Spool, ReadReturnsTheExactBytes) {
  TempDir dir;
  std::string all_bytes;
  for (int c = 0; c < 256; ++c) all_bytes.push_back(static_cast<char>(c));
  const std::string nul_inside("a\0b\0\0c", 6);
  const std::string not_utf8("\xc3\x28\xa0\xa1\xe2\x82\xf0\x90\x28\xff\xfe", 11);
  {
    Spool spool(options_for(dir));
    spool.recover();
    ASSERT_TRUE(spool.append(key(1), all_bytes));
    ASSERT_TRUE(spool.append(key(2), nul_inside));
    ASSERT_TRUE(spool.append(key(3), not_utf8));
    ASSERT_TRUE(spool.append(key(4), ""));
    EXPECT_EQ(spool.read(key(1)), all_bytes);
    EXPECT_EQ(spool.read(key(2))->size(), 6u);
    EXPECT_EQ(spool.read(key(2)), nul_inside);
    EXPECT_EQ(spool.read(key(3)), not_utf8);
    EXPECT_EQ(spool.read(key(4)), "");
  }
  Spool spool(options_for(dir));
  ASSERT_EQ(spool.recover().size(), 4u);
  EXPECT_EQ(spool.read(key(1)), all_bytes);
  EXPECT_EQ(spool.read(key(2)), nul_inside);
  EXPECT_EQ(spool.read(key(3)), not_utf8);
  EXPECT_EQ(spool.read(key(4)), "");
}

TEST(Spool, TwentyThousandRecordsRecoverInOrder) {
  TempDir dir;
  SpoolOptions o = options_for(dir);
  o.segment_bytes = 64 << 10;  // spans many segments
  const uint64_t n = 20000;
  {
    Spool spool(o);
    spool.recover();
    // Two jobs interleaved: append order differs from key order.
    for (uint64_t i = 1; i <= n; ++i)
      ASSERT_TRUE(spool.append(key(n - i + 1, i % 2 ? 3 : 2), payload(i)));
    EXPECT_TRUE(spool.sync());
  }
  EXPECT_GT(files(dir, ".log").size(), 10u);
  Spool spool(o);
  auto keys = spool.recover();
  ASSERT_EQ(keys.size(), n);
  for (uint64_t i = 1; i <= n; ++i)
    ASSERT_EQ(keys[i - 1], key(n - i + 1, i % 2 ? 3 : 2)) << "position " << i - 1;
  for (uint64_t i : {uint64_t(1), uint64_t(9999), n})
    EXPECT_EQ(spool.read(key(n - i + 1, i % 2 ? 3 : 2)), payload(i)) << i;
}

TEST(Spool, SecondSpoolOnTheSameDirIsRefused) {
  TempDir dir;
  Spool first(options_for(dir));
  first.recover();
  ASSERT_TRUE(first.append(key(1), "mine"));
  Spool second(options_for(dir));
  EXPECT_TRUE(second.recover().empty());
  EXPECT_FALSE(second.append(key(2), "theirs"));
  EXPECT_EQ(files(dir, ".log").size(), 1u);
  EXPECT_EQ(first.read(key(1)), "mine");
}

TEST(Spool, WriteErrorReturnsFalseAndLeavesNoTornRecord) {
  TempDir dir;
  // In a child, the file size limit plays a full disk: a write past 1000 bytes of a
  // file fails with EFBIG (after a partial write).
  int accepted = run_then_crash([&] {
    signal(SIGXFSZ, SIG_IGN);
    rlimit limit{1000, 1000};
    if (setrlimit(RLIMIT_FSIZE, &limit) != 0) _exit(255);
    Spool spool(options_for(dir));
    spool.recover();
    int n = 0;
    for (uint64_t i = 1; i <= 100; ++i) {
      if (!spool.append(key(i), std::string(90, 'q'))) break;  // 122 bytes a record
      ++n;
    }
    // The failed segment is finished; the next append starts a new one.
    if (!spool.append(key(200), std::string(90, 'r'))) _exit(254);
    if (!spool.sync()) _exit(253);
    _exit(n);
  });
  ASSERT_EQ(accepted, 1000 / 122);
  // The partial record was truncated away at once: the files hold whole records only.
  auto logs = files(dir, ".log");
  ASSERT_EQ(logs.size(), 2u);
  EXPECT_EQ(fs::file_size(fs::path(dir.path()) / logs[0]), uint64_t(accepted) * 122);
  EXPECT_EQ(fs::file_size(fs::path(dir.path()) / logs[1]), 122u);
  Spool spool(options_for(dir));
  auto keys = spool.recover();
  ASSERT_EQ(keys.size(), static_cast<size_t>(accepted) + 1);
  EXPECT_EQ(keys[accepted - 1], key(accepted));
  EXPECT_EQ(keys.back(), key(200));
  EXPECT_EQ(spool.read(key(accepted)), std::string(90, 'q'));
  EXPECT_EQ(spool.read(key(200)), std::string(90, 'r'));
}

// A disk whose syncs fail while `failing` is set, as EIO from fdatasync:
// after such an error the kernel may have dropped the pages, and a second
// fdatasync of the same file may succeed without writing them.
struct FailingDisk {
  bool failing = false;
  int calls = 0;  // syncs asked for while it works
  SpoolOptions options(const TempDir& dir) {
    SpoolOptions o = options_for(dir);
    o.sync_fd = [this](int fd) {
      if (failing) {
        errno = EIO;
        return -1;
      }
      ++calls;
      return ::fdatasync(fd);
    };
    return o;
  }
};

TEST(Spool, AFailedSyncIsNotForgottenByTheNextOne) {
  TempDir dir;
  FailingDisk disk;
  Spool spool(disk.options(dir));
  spool.recover();
  for (uint64_t i = 1; i <= 3; ++i) ASSERT_TRUE(spool.append(key(i), payload(i)));
  disk.failing = true;
  EXPECT_FALSE(spool.sync());
  // Nothing was made durable since: the next sync cannot say otherwise.
  EXPECT_FALSE(spool.sync());
  ASSERT_TRUE(spool.append(key(4), payload(4)));
  EXPECT_FALSE(spool.sync());
  EXPECT_EQ(spool.size(), 4u);  // kept, all of them
  // The disk works again: the records are written anew and synced.
  disk.failing = false;
  EXPECT_TRUE(spool.sync());
  EXPECT_GT(disk.calls, 0);
  EXPECT_TRUE(spool.sync());
  for (uint64_t i = 1; i <= 4; ++i) EXPECT_EQ(spool.read(key(i)), payload(i)) << i;
  EXPECT_EQ(names(spool.keys()), (std::vector<std::string>{"7/1/1", "7/1/2", "7/1/3", "7/1/4"}));
}

TEST(Spool, RecordsWrittenAgainAfterAFailedSyncComeBackOnceAfterACrash) {
  TempDir dir;
  FailingDisk disk;
  int code = run_then_crash([&] {
    Spool spool(disk.options(dir));
    spool.recover();
    for (uint64_t i = 1; i <= 3; ++i)
      if (!spool.append(key(i), payload(i))) _exit(1);
    disk.failing = true;
    if (spool.sync()) _exit(2);
    disk.failing = false;
    if (!spool.sync()) _exit(3);
    spool.ack(key(2));
    _exit(0);
  });
  ASSERT_EQ(code, 0);
  Spool spool(options_for(dir));
  EXPECT_EQ(names(spool.recover()), (std::vector<std::string>{"7/1/1", "7/1/3"}));
  EXPECT_EQ(spool.read(key(1)), payload(1));
  EXPECT_EQ(spool.read(key(3)), payload(3));
}

}  // namespace
}  // namespace yardstick
