// Masking secret values in streamed output, URL credentials, and the
// agent's secrets file.
#include "common/secrets.hpp"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <random>

namespace yardstick {
namespace {

std::string stream(SecretMasker& m, const std::vector<std::string>& pieces) {
  std::string out;
  for (const auto& p : pieces) out += m.feed(p);
  return out + m.finish();
}

TEST(SecretMasker, MasksEveryOccurrence) {
  SecretMasker m({"hunter2"});
  EXPECT_EQ(m.mask("pw=hunter2, again hunter2."), "pw=***, again ***.");
  EXPECT_EQ(m.mask("no secret here"), "no secret here");
}

TEST(SecretMasker, IgnoresEmptyValuesAndMasksLongerValuesFirst) {
  SecretMasker m({"", "abc", "abcdef"});
  EXPECT_EQ(m.mask("x abcdef y abc z"), "x *** y *** z");
  SecretMasker none({""});
  EXPECT_TRUE(none.empty());
  EXPECT_EQ(none.mask("text"), "text");
}

TEST(SecretMasker, OverlappingValuesLeaveNoByteOfEither) {
  SecretMasker m({"abcd", "cdef"});
  EXPECT_EQ(m.mask("[abcdef]"), "[***]");
  EXPECT_EQ(m.mask("[abcdcdef]"), "[***]");
  SecretMasker repeated({"aa"});
  EXPECT_EQ(repeated.mask("aaa b"), "*** b");
}

TEST(SecretMasker, ValueSplitAcrossTwoReadsIsMasked) {
  SecretMasker m({"s3cr3t-t0ken"});
  EXPECT_EQ(stream(m, {"before s3cr", "3t-t0ken after\n"}), "before *** after\n");
  EXPECT_EQ(stream(m, {"s", "3", "c", "r", "3", "t", "-", "t", "0", "k", "e", "n"}), "***");
}

TEST(SecretMasker, HoldsBackOnlyWhatCouldStartAValue) {
  SecretMasker m({"s3cr3t"});
  // Nothing here can start the value: all of it goes out at once.
  EXPECT_EQ(m.feed("building...\n"), "building...\n");
  EXPECT_EQ(m.held(), 0u);
  // A tail that could be the start of the value waits for the next read...
  EXPECT_EQ(m.feed("step s3c"), "step ");
  EXPECT_EQ(m.held(), 3u);
  // ...and goes out as it was when it turns out not to be.
  EXPECT_EQ(m.feed("ond\n"), "s3cond\n");
  EXPECT_EQ(m.held(), 0u);
  // At the end of the stream what is held goes out.
  EXPECT_EQ(m.feed("s3cr"), "");
  EXPECT_EQ(m.finish(), "s3cr");
}

TEST(SecretMasker, HeldBytesAreAtMostTheLongestValueLessOne) {
  SecretMasker m({"aaaaa"});
  std::string out;
  for (int i = 0; i < 100; ++i) {
    out += m.feed("a");
    EXPECT_LE(m.held(), 4u);
  }
  out += m.finish();
  EXPECT_EQ(out, "***");
}

TEST(SecretMasker, AMaskedStretchAcrossReadsIsOneMask) {
  SecretMasker m({"abcd", "cdef"});
  EXPECT_EQ(stream(m, {"[ab", "cd", "ef]"}), "[***]");
  EXPECT_EQ(stream(m, {"[abcd", "ef]"}), "[***]");
}

// Any split of any text gives what masking the whole text gives.
TEST(SecretMasker, StreamingMatchesWholeTextForRandomSplits) {
  std::mt19937 rng(42);
  const std::vector<std::vector<std::string>> sets = {
      {"ab"}, {"aba"}, {"abab", "ba"}, {"abc", "bca", "cab"}, {"aaa", "ab", "b"}};
  for (const auto& values : sets) {
    SecretMasker m(values);
    for (int round = 0; round < 300; ++round) {
      std::string text;
      const int len = rng() % 30;
      for (int i = 0; i < len; ++i) text += "abc\n"[rng() % 4];
      std::vector<std::string> pieces;
      for (size_t pos = 0; pos < text.size();) {
        size_t n = 1 + rng() % 5;
        pieces.push_back(text.substr(pos, n));
        pos += n;
      }
      const std::string whole = m.mask(text);
      EXPECT_EQ(stream(m, pieces), whole) << "text '" << text << "'";
      for (const auto& v : values) EXPECT_EQ(whole.find(v), std::string::npos) << text;
    }
  }
}

TEST(MaskUrlCredentials, MasksUserAndToken) {
  EXPECT_EQ(mask_url_credentials("https://user:tok3n@example.com/x.git"),
            "https://***@example.com/x.git");
  EXPECT_EQ(mask_url_credentials("https://ghp_abc@example.com/x.git"),
            "https://***@example.com/x.git");
  EXPECT_EQ(mask_url_credentials("ssh://git:pw@example.com:22/x.git"),
            "ssh://***@example.com:22/x.git");
  EXPECT_EQ(mask_url_credentials("fatal: unable to access 'https://u:p@h/r/': 403"),
            "fatal: unable to access 'https://***@h/r/': 403");
}

TEST(MaskUrlCredentials, LeavesUrlsWithoutCredentialsAlone) {
  for (const char* url :
       {"https://example.com/x.git", "ssh://git@example.com/x.git", "git@example.com:x.git",
        "/srv/repos/x.git", "file:///srv/x", "https://example.com/a@b", ""}) {
    EXPECT_EQ(mask_url_credentials(url), url);
    EXPECT_FALSE(url_has_credentials(url)) << url;
  }
  EXPECT_TRUE(url_has_credentials("https://u:p@h/x"));
}

TEST(MaskUrlCredentials, TheSecretOfAUrlIsItsPasswordOrToken) {
  EXPECT_EQ(url_secret("https://user:tok3n@example.com/x.git"), "tok3n");
  EXPECT_EQ(url_secret("https://ghp_abc@example.com/x.git"), "ghp_abc");
  EXPECT_EQ(url_secret("https://example.com/x.git"), std::nullopt);
}

TEST(ValidEnvName, LettersDigitsUnderscoreNotStartingWithADigit) {
  for (const char* ok : {"TOKEN", "_x", "a1", "GIT_TOKEN_2"}) EXPECT_TRUE(valid_env_name(ok)) << ok;
  for (const char* bad : {"", "1A", "A-B", "A B", "A=B", "é"}) EXPECT_FALSE(valid_env_name(bad));
}

TEST(ParseSecrets, ReadsNameValueLinesAsIs) {
  std::string error;
  auto s = parse_secrets("# comment\n\nTOKEN=a b=c \nEMPTY=\r\nX=\"q\"", &error);
  ASSERT_TRUE(s) << error;
  EXPECT_EQ(s->at("TOKEN"), "a b=c ");
  EXPECT_EQ(s->at("EMPTY"), "");
  EXPECT_EQ(s->at("X"), "\"q\"");
  EXPECT_EQ(s->size(), 3u);
}

TEST(ParseSecrets, AMalformedLineIsNamedWithoutItsText) {
  std::string error;
  EXPECT_FALSE(parse_secrets("A=1\nno-equals-sign-s3cret\n", &error));
  EXPECT_EQ(error, "line 2: expected NAME=VALUE");
  EXPECT_FALSE(parse_secrets("A=1\n\n1BAD=x\n", &error));
  EXPECT_NE(error.find("line 3:"), std::string::npos);
  EXPECT_FALSE(parse_secrets("A=1\nA=2\n", &error));
  EXPECT_EQ(error, "line 2: A is set again (first on line 1)");
}

TEST(LoadSecretsFile, RefusesAFileOthersMayRead) {
  const auto path =
      std::filesystem::temp_directory_path() / ("ys-secrets-" + std::to_string(getpid()) + ".env");
  std::ofstream(path) << "TOKEN=abc\n";
  std::string error;
  ASSERT_EQ(chmod(path.c_str(), 0644), 0);
  EXPECT_FALSE(load_secrets_file(path.string(), &error));
  EXPECT_NE(error.find(path.string()), std::string::npos) << error;
  EXPECT_NE(error.find("mode 0644"), std::string::npos) << error;
  ASSERT_EQ(chmod(path.c_str(), 0600), 0);
  auto s = load_secrets_file(path.string(), &error);
  ASSERT_TRUE(s) << error;
  EXPECT_EQ(s->at("TOKEN"), "abc");
  std::filesystem::remove(path);
  EXPECT_FALSE(load_secrets_file(path.string(), &error));
  EXPECT_NE(error.find("cannot read"), std::string::npos);
}

}  // namespace
}  // namespace yardstick
