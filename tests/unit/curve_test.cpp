// Key files, authorized-keys files and the ZAP decision.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>

#include "common/curve.hpp"
#include "coordinator/zap.hpp"

namespace yardstick {
namespace {

namespace fs = std::filesystem;

class KeyFiles : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("yardstick-curve-" + std::to_string(getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  std::string path(const std::string& name) const { return (dir_ / name).string(); }
  fs::path dir_;
};

TEST_F(KeyFiles, WrittenPairReadsBackAndTheSecretIsPrivate) {
  auto pair = generate_curve_keypair();
  EXPECT_TRUE(is_z85_key(pair.public_key));
  EXPECT_TRUE(is_z85_key(pair.secret_key));
  write_curve_keypair(path("a"), pair);
  struct stat st {};
  ASSERT_EQ(stat(path("a.key").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  auto back = read_secret_key_file(path("a.key"));
  EXPECT_EQ(back.public_key, pair.public_key);
  EXPECT_EQ(back.secret_key, pair.secret_key);
  EXPECT_EQ(read_public_key(path("a.pub")), pair.public_key);
  EXPECT_EQ(read_public_key(pair.public_key), pair.public_key);  // the key itself
  // The .pub holds no secret.
  std::ifstream pub(path("a.pub"));
  std::string text((std::istreambuf_iterator<char>(pub)), {});
  EXPECT_EQ(text.find(pair.secret_key), std::string::npos);
}

// A path of 40 characters of the Z85 alphabet is still a path when the
// file exists (mktemp -d under a TMPDIR of 9 characters makes one): taken
// for a key, the handshake failed with "not its public key".
TEST_F(KeyFiles, AFileWhosePathLooksLikeAKeyIsReadAsAFile) {
  auto pair = generate_curve_keypair();
  write_curve_keypair(path("k"), pair);
  const std::string name = "abcdefghijklmnopqrstuvwxyz0123456789.pub";
  ASSERT_TRUE(is_z85_key(name));
  const auto cwd = std::filesystem::current_path();
  std::filesystem::current_path(path(""));
  std::filesystem::copy_file("k.pub", name);
  const std::string read = read_public_key(name);
  std::filesystem::current_path(cwd);
  EXPECT_EQ(read, pair.public_key);
}

TEST_F(KeyFiles, AnExistingKeyIsNeverOverwritten) {
  write_curve_keypair(path("a"), generate_curve_keypair());
  const auto first = read_secret_key_file(path("a.key"));
  try {
    write_curve_keypair(path("a"), generate_curve_keypair());
    FAIL() << "overwrote a key";
  } catch (const KeyFileError& e) {
    EXPECT_NE(std::string(e.what()).find("never overwritten"), std::string::npos) << e.what();
  }
  EXPECT_EQ(read_secret_key_file(path("a.key")).secret_key, first.secret_key);
}

TEST_F(KeyFiles, ASecretKeyOthersMayReadIsRefused) {
  write_curve_keypair(path("a"), generate_curve_keypair());
  chmod(path("a.key").c_str(), 0644);
  try {
    read_secret_key_file(path("a.key"));
    FAIL() << "read a world-readable secret key";
  } catch (const KeyFileError& e) {
    EXPECT_NE(std::string(e.what()).find("mode 0644"), std::string::npos) << e.what();
  }
}

TEST_F(KeyFiles, APublicFileIsNotASecretKeyAndMismatchedHalvesAreRefused) {
  auto a = generate_curve_keypair(), b = generate_curve_keypair();
  write_curve_keypair(path("a"), a);
  chmod(path("a.pub").c_str(), 0600);
  EXPECT_THROW(read_secret_key_file(path("a.pub")), KeyFileError);
  {
    std::ofstream out(path("mixed.key"));
    out << "public-key = \"" << b.public_key << "\"\nsecret-key = \"" << a.secret_key << "\"\n";
  }
  chmod(path("mixed.key").c_str(), 0600);
  try {
    read_secret_key_file(path("mixed.key"));
    FAIL();
  } catch (const KeyFileError& e) {
    EXPECT_NE(std::string(e.what()).find("not the secret key's"), std::string::npos) << e.what();
  }
  EXPECT_THROW(read_public_key(path("missing.pub")), KeyFileError);
  EXPECT_THROW(read_public_key("not-a-key"), KeyFileError);
}

// Each file given where the other belongs is told what it is: no advice to
// chmod a public key, no secret key taken as a server's public one.
TEST_F(KeyFiles, APublicKeyGivenAsSecretAndASecretGivenAsPublicAreEachNamed) {
  write_curve_keypair(path("you"), generate_curve_keypair());
  chmod(path("you.pub").c_str(), 0644);  // as keygen leaves it
  try {
    read_secret_key_file(path("you.pub"));
    FAIL();
  } catch (const KeyFileError& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find("you.pub: holds no secret key but a public one (a .pub file); give the "
                        "secret key file made beside it (" +
                        path("you") + ")"),
              std::string::npos)
        << what;
    EXPECT_EQ(what.find("chmod"), std::string::npos) << what;
  }
  try {
    read_public_key(path("you.key"));
    FAIL();
  } catch (const KeyFileError& e) {
    EXPECT_NE(std::string(e.what()).find("you.key: holds a secret key, where a public key belongs"),
              std::string::npos)
        << e.what();
  }
}

// A key with a '#' in it, as Z85 allows: a comment rule that cut at every
// '#' would lose it.
std::string key_with_hash() {
  for (;;) {
    auto k = generate_curve_keypair().public_key;
    if (k.find('#') != std::string::npos) return k;
  }
}

TEST(AuthorizedKeys, LinesCommentsAndRoles) {
  const auto a = generate_curve_keypair().public_key, b = generate_curve_keypair().public_key,
             hashed = key_with_hash();
  const std::string text = "# the build team\n\n" + a + " alice submit\n  " + b +
                           "   bob read   # read only\n" + hashed + " carol read\n";
  auto keys = parse_authorized_keys(text, "clients.txt", true);
  ASSERT_EQ(keys.by_key.size(), 3u);
  EXPECT_EQ(keys.by_key.at(a).name, "alice");
  EXPECT_EQ(keys.by_key.at(a).role, ClientRole::kSubmit);
  EXPECT_EQ(keys.by_key.at(b).role, ClientRole::kRead);
  EXPECT_EQ(keys.by_key.at(hashed).name, "carol");
  ASSERT_NE(keys.find_name("bob"), nullptr);
  EXPECT_EQ(keys.find_name("bob")->key, b);
  EXPECT_EQ(keys.find_name("dave"), nullptr);
}

std::string parse_error(const std::string& text, bool with_role) {
  try {
    parse_authorized_keys(text, "keys.txt", with_role);
  } catch (const KeyFileError& e) {
    return e.what();
  }
  return "(no error)";
}

TEST(AuthorizedKeys, EachMalformedLineIsNamed) {
  const auto a = generate_curve_keypair().public_key, b = generate_curve_keypair().public_key;
  EXPECT_EQ(parse_error("# x\n" + a + "\n", false),
            "keys.txt:2: expected KEY NAME, found 1 fields");
  EXPECT_EQ(parse_error(a + " alice\n", true),
            "keys.txt:1: expected KEY NAME ROLE (ROLE: read or submit), found 2 fields");
  EXPECT_EQ(parse_error(a + " alice admin\n", true),
            "keys.txt:1: role 'admin' is not read or submit");
  EXPECT_NE(parse_error("\n\nnot-a-key alice\n", false)
                .find("keys.txt:3: 'not-a-key' is not a public key"),
            std::string::npos);
  EXPECT_EQ(parse_error(a + " alice\n" + a + " bob\n", false),
            "keys.txt:2: key already listed (for alice)");
  EXPECT_EQ(parse_error(a + " alice\n" + b + " alice\n", false),
            "keys.txt:2: name 'alice' already has a key (line 1); a name is bound to one key");
}

TEST(Zap, EachSocketAdmitsOnlyItsOwnKeys) {
  const auto agent = generate_curve_keypair().public_key,
             reader = generate_curve_keypair().public_key,
             writer = generate_curve_keypair().public_key,
             stranger = generate_curve_keypair().public_key;
  auto agents = parse_authorized_keys(agent + " build-1\n", "agents", false);
  auto clients =
      parse_authorized_keys(reader + " rita read\n" + writer + " sam submit\n", "clients", true);

  auto v = judge_handshake(agents, clients, kAgentsDomain, "CURVE", agent);
  EXPECT_TRUE(v.admitted);
  EXPECT_EQ(v.user_id, agent);  // the key: its name and role are looked up per message
  v = judge_handshake(agents, clients, kClientsDomain, "CURVE", reader);
  EXPECT_TRUE(v.admitted);
  EXPECT_EQ(v.user_id, reader);
  EXPECT_EQ(judge_handshake(agents, clients, kClientsDomain, "CURVE", writer).user_id, writer);

  v = judge_handshake(agents, clients, kClientsDomain, "CURVE", agent);
  EXPECT_FALSE(v.admitted);
  EXPECT_EQ(v.reason,
            "agent key of 'build-1' on the clients socket (agent keys are accepted only on the "
            "agents socket)");
  v = judge_handshake(agents, clients, kAgentsDomain, "CURVE", writer);
  EXPECT_FALSE(v.admitted);
  EXPECT_NE(v.reason.find("client key of 'sam' on the agents socket"), std::string::npos);
  v = judge_handshake(agents, clients, kAgentsDomain, "CURVE", stranger);
  EXPECT_FALSE(v.admitted);
  EXPECT_EQ(v.reason, "key not listed in the authorized agents file");
  EXPECT_FALSE(judge_handshake(agents, clients, kAgentsDomain, "NULL", "").admitted);
  EXPECT_FALSE(judge_handshake(agents, clients, "other", "CURVE", agent).admitted);
}

}  // namespace
}  // namespace yardstick
