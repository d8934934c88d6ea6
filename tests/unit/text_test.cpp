// Peer text made fit for PostgreSQL: bad UTF-8 and NUL are replaced visibly;
// trim() of text read from files.
#include <gtest/gtest.h>

#include "common/text.hpp"

namespace yardstick {
namespace {

const std::string kFffd = "\xEF\xBF\xBD";

TEST(Text, ValidUtf8ComesBackUnchanged) {
  for (std::string s :
       {std::string(""), std::string("metric 1"), std::string("m\xC3\xA9tric"),
        std::string("\xE2\x82\xAC \xF0\x9F\x9A\x80"), std::string("\xF4\x8F\xBF\xBF")}) {
    EXPECT_TRUE(is_valid_text(s)) << s;
    EXPECT_EQ(valid_text(s), s);
  }
}

TEST(Text, Latin1ByteBecomesReplacementCharacter) {
  EXPECT_FALSE(is_valid_text("m\xE9tric"));
  EXPECT_EQ(valid_text("m\xE9tric"), "m" + kFffd + "tric");
}

TEST(Text, NulBecomesReplacementCharacter) {
  const std::string s("a\0b", 3);
  EXPECT_FALSE(is_valid_text(s));
  EXPECT_EQ(valid_text(s), "a" + kFffd + "b");
}

TEST(Text, OverlongSurrogateAndOutOfRangeFormsAreRefused) {
  EXPECT_EQ(valid_text("\xC0\xAF"), kFffd + kFffd);                          // overlong '/'
  EXPECT_EQ(valid_text("\xE0\x80\xAF"), kFffd + kFffd + kFffd);              // overlong
  EXPECT_EQ(valid_text("\xED\xA0\x80"), kFffd + kFffd + kFffd);              // U+D800
  EXPECT_EQ(valid_text("\xF4\x90\x80\x80"), kFffd + kFffd + kFffd + kFffd);  // > U+10FFFF
  EXPECT_EQ(valid_text("\xF5"), kFffd);
}

TEST(Text, TruncatedSequenceAtTheEndIsReplacedByteByByte) {
  EXPECT_EQ(valid_text("ok\xE2\x82"), "ok" + kFffd + kFffd);
  EXPECT_EQ(valid_text("\xC3"), kFffd);
}

TEST(Text, ResultIsAlwaysValid) {
  std::string all;
  for (int i = 0; i < 256; ++i)
    for (int k = 0; k < 256; k += 17) {
      all += static_cast<char>(i);
      all += static_cast<char>(k);
    }
  EXPECT_TRUE(is_valid_text(valid_text(all)));
}

TEST(Trim, AsciiWhitespaceGoesFromBothEndsOnly) {
  EXPECT_EQ(trim(" \t\r\n\v\fa b\t c \r\n"), "a b\t c");
  EXPECT_EQ(trim("key"), "key");
  EXPECT_EQ(trim(" \t\r\n"), "");
  EXPECT_EQ(trim(""), "");
  // Not ASCII whitespace: kept.
  EXPECT_EQ(trim("\xC2\xA0x\xC2\xA0"), "\xC2\xA0x\xC2\xA0");
}

}  // namespace
}  // namespace yardstick

namespace yardstick {
namespace {

TEST(Closest, SuggestsTheNearestCandidateWithinAThirdOfTheWord) {
  const std::vector<std::string> commands = {"submit", "status", "logs", "agents", "compare"};
  EXPECT_EQ(closest("stauts", commands), "status");  // two letters swapped: one edit
  EXPECT_EQ(closest("sumbit", commands), "submit");
  EXPECT_EQ(closest("agent", commands), "agents");
  EXPECT_EQ(closest("log", commands), "logs");
  EXPECT_EQ(closest("status", commands), "");  // a candidate needs no suggestion
  EXPECT_EQ(closest("deploy", commands), "");  // nothing near
  EXPECT_EQ(closest("", commands), "");
  EXPECT_EQ(closest("xyz", {}), "");
  EXPECT_EQ(closest("timout", {"timeout", "retries", "runs"}), "timeout");
  EXPECT_EQ(closest("run", {"runs", "setup"}), "runs");
}

}  // namespace
}  // namespace yardstick
