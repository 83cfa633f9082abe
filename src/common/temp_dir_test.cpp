#include "common/temp_dir.hpp"

#include <stdlib.h>
#include <sys/stat.h>

#include <fstream>
#include <string>

#include <gtest/gtest.h>

namespace rtgw {
namespace {

namespace fs = std::filesystem;

TEST(TempDirTest, MakesAPrivateDirectoryAndRemovesItWithItsContents) {
  fs::path kept;
  {
    TempDir dir("rtgw-tempdir");
    kept = dir.path();
    struct stat st {};
    ASSERT_EQ(stat(dir.path().c_str(), &st), 0);
    EXPECT_TRUE(S_ISDIR(st.st_mode));
    EXPECT_EQ(st.st_mode & 0777, 0700u);
    EXPECT_EQ(dir.path().parent_path(), fs::temp_directory_path());
    EXPECT_EQ(dir.path().filename().string().rfind("rtgw-tempdir-", 0), 0u);
    fs::create_directories(dir.path() / "a" / "b");
    std::ofstream(dir.File("a/b/f")) << "x";
    EXPECT_EQ(dir.File("a/b/f"), (dir.path() / "a" / "b" / "f").string());
    EXPECT_TRUE(fs::exists(dir.File("a/b/f")));
  }
  EXPECT_FALSE(fs::exists(kept));
}

TEST(TempDirTest, TwoAreDistinct) {
  TempDir a;
  TempDir b;
  EXPECT_NE(a.path(), b.path());
}

TEST(TempDirTest, HonoursTmpdir) {
  TempDir outer;
  const char* before = getenv("TMPDIR");
  const std::string saved = before ? before : "";
  setenv("TMPDIR", outer.path().c_str(), 1);
  {
    TempDir inner;
    EXPECT_EQ(inner.path().parent_path(), outer.path());
  }
  if (before) {
    setenv("TMPDIR", saved.c_str(), 1);
  } else {
    unsetenv("TMPDIR");
  }
  EXPECT_TRUE(fs::is_empty(outer.path()));
}

}  // namespace
}  // namespace rtgw
