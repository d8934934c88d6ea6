// A file replaced in one step: written whole, or not at all, and a failure
// is an error naming the file.
#include "common/atomic_file.hpp"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <sstream>

namespace yardstick {
namespace {

namespace fs = std::filesystem;

class AtomicFile : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = (fs::temp_directory_path() / "atomic_file_test.XXXXXX").string();
    ASSERT_NE(mkdtemp(pattern.data()), nullptr);
    dir_ = pattern;
  }
  void TearDown() override { fs::remove_all(dir_); }
  std::string path(const std::string& name) const { return (dir_ / name).string(); }
  static std::string slurp(const std::string& p) {
    std::ifstream in(p);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
  }
  fs::path dir_;
};

TEST_F(AtomicFile, WritesAndReplacesTheWholeFile) {
  std::string error;
  ASSERT_TRUE(write_file_atomically(path("ready"), "agents=tcp://127.0.0.1:1\n", &error)) << error;
  EXPECT_EQ(slurp(path("ready")), "agents=tcp://127.0.0.1:1\n");
  ASSERT_TRUE(write_file_atomically(path("ready"), "x", &error)) << error;
  EXPECT_EQ(slurp(path("ready")), "x");
  EXPECT_FALSE(fs::exists(path("ready.tmp")));
}

TEST_F(AtomicFile, AFolderThatDoesNotExistIsAnErrorNamingTheFile) {
  std::string error;
  EXPECT_FALSE(write_file_atomically(path("missing/ready"), "x", &error));
  EXPECT_EQ(error.rfind("cannot create " + path("missing/ready.tmp") + ": ", 0), 0u) << error;
}

TEST_F(AtomicFile, AFailedRenameIsAnErrorAndLeavesNoTemporaryFile) {
  // A folder with something in it cannot be replaced by a file.
  fs::create_directories(path("ready/inside"));
  std::string error;
  EXPECT_FALSE(write_file_atomically(path("ready"), "x", &error));
  EXPECT_NE(error.find("cannot rename " + path("ready.tmp") + " to " + path("ready")),
            std::string::npos)
      << error;
  EXPECT_FALSE(fs::exists(path("ready.tmp")));
  EXPECT_TRUE(fs::is_directory(path("ready/inside")));
}

TEST_F(AtomicFile, ATemporaryFileThatIsALinkIsNotWrittenThrough) {
  // Whatever a link left in the temporary file's place leads to is not written.
  std::ofstream(path("elsewhere")) << "kept";
  fs::create_symlink(path("elsewhere"), path("ready.tmp"));
  std::string error;
  EXPECT_FALSE(write_file_atomically(path("ready"), "x", &error));
  EXPECT_NE(error.find(path("ready.tmp")), std::string::npos) << error;
  EXPECT_FALSE(fs::exists(path("ready")));
  EXPECT_EQ(slurp(path("elsewhere")), "kept");
}

}  // namespace
}  // namespace yardstick
