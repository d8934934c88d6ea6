// Key files are read once, by one reader: a symbolic link, anything but a
// regular file, and a file over its limit are refused, whoever reads it
// (CURVE keys, authorized keys, signing keys, trusted submitters).
#include "common/key_file.hpp"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <functional>

#include "common/curve.hpp"
#include "common/signing.hpp"

namespace yardstick {
namespace {

namespace fs = std::filesystem;

class KeyFileReading : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("yardstick-key-file-" + std::to_string(getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    curve_ = generate_curve_keypair();
    write_curve_keypair(path("agent"), curve_);
    signing::write_signing_key_files(path("submitter"));
  }
  void TearDown() override { fs::remove_all(dir_); }
  std::string path(const std::string& name) const { return (dir_ / name).string(); }
  // The message each reader throws for `file`; "" when one read it.
  std::vector<std::string> errors_of_every_reader(const std::string& file) const {
    std::vector<std::function<void()>> readers = {
        [&] { read_secret_key_file(file); },
        [&] { read_public_key(file); },
        [&] { read_authorized_keys(file, false); },
        [&] { signing::read_signing_key(file); },
        [&] { signing::read_trusted_submitters(file); },
    };
    std::vector<std::string> out;
    for (auto& read : readers) {
      try {
        read();
        out.push_back("");
      } catch (const KeyFileError& e) {
        out.push_back(e.what());
      } catch (const signing::KeyFileError& e) {
        out.push_back(e.what());
      }
    }
    return out;
  }
  fs::path dir_;
  CurveKeyPair curve_;
};

TEST_F(KeyFileReading, ASymbolicLinkToAKeyIsRefusedByEveryReader) {
  // Each link leads to a file its reader would accept.
  fs::create_symlink(path("agent.key"), path("link.key"));
  const std::string link = path("link.key");
  for (const auto& e : errors_of_every_reader(link)) {
    EXPECT_NE(e.find(link + ": is a symbolic link"), std::string::npos) << e;
  }
  // The file itself is read.
  EXPECT_EQ(read_secret_key_file(path("agent.key")).public_key, curve_.public_key);
}

TEST_F(KeyFileReading, AKeyFileOverTheLimitIsRefusedNamingTheFile) {
  const std::string big = path("big.key");
  {
    std::ofstream out(big);
    out << "public-key = \"" << curve_.public_key << "\"\n";
    out << "secret-key = \"" << curve_.secret_key << "\"\n";
    out << std::string(kMaxKeyFileBytes, '#') << "\n";
  }
  chmod(big.c_str(), 0600);
  try {
    read_secret_key_file(big);
    FAIL() << "read a key file over the limit";
  } catch (const KeyFileError& e) {
    const std::string m = e.what();
    EXPECT_EQ(m.rfind(big + ": ", 0), 0u) << m;
    EXPECT_NE(m.find("over the 65536-byte limit of a key file"), std::string::npos) << m;
  }
  try {
    signing::read_signing_key(big);
    FAIL() << "read a signing key file over the limit";
  } catch (const signing::KeyFileError& e) {
    EXPECT_NE(std::string(e.what()).find(big + ": "), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("limit"), std::string::npos) << e.what();
  }
}

TEST_F(KeyFileReading, AKeyListMayBeLongerThanAKeyFileButNotUnbounded) {
  // 2,000 agents fit in an authorized-keys file; a 2 MiB one does not.
  std::string text;
  for (int i = 0; i < 2000; ++i)
    text += generate_curve_keypair().public_key + " agent-" + std::to_string(i) + "\n";
  ASSERT_GT(text.size(), kMaxKeyFileBytes);
  std::ofstream(path("agents.keys")) << text;
  EXPECT_EQ(read_authorized_keys(path("agents.keys"), false).by_key.size(), 2000u);
  std::ofstream(path("huge.keys")) << std::string(2 * kMaxKeyListBytes, '#');
  EXPECT_THROW(read_authorized_keys(path("huge.keys"), false), KeyFileError);
}

TEST_F(KeyFileReading, AFifoInTheKeysPlaceIsRefusedWithoutWaiting) {
  ASSERT_EQ(mkfifo(path("fifo.key").c_str(), 0600), 0);
  std::string error;
  EXPECT_FALSE(read_key_file(path("fifo.key"), kMaxKeyFileBytes, &error));
  EXPECT_EQ(error, path("fifo.key") + ": not a regular file");
}

TEST_F(KeyFileReading, ASecretKeyOfAnotherUserIsRefused) {
  if (geteuid() != 0) GTEST_SKIP() << "only root can give a file to another user";
  ASSERT_EQ(chown(path("agent.key").c_str(), 4242, 4242), 0);
  try {
    read_secret_key_file(path("agent.key"));
    FAIL() << "read a secret key owned by another user";
  } catch (const KeyFileError& e) {
    EXPECT_NE(std::string(e.what()).find("owned by user 4242"), std::string::npos) << e.what();
  }
  // A public key may belong to anyone.
  ASSERT_EQ(chown(path("agent.pub").c_str(), 4242, 4242), 0);
  EXPECT_EQ(read_public_key(path("agent.pub")), curve_.public_key);
}

}  // namespace
}  // namespace yardstick
