#include "config/env_file.hpp"

#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include <gtest/gtest.h>

#include "common/temp_dir.hpp"

namespace rtgw::config {
namespace {

namespace fs = std::filesystem;

TEST(EnvFile, ParsesKeyValueLines) {
  auto m = ParseEnvFile("# comment\n\nA=1\nexport B = two \nC=\"q u\"\nD='x'\nE=\n");
  ASSERT_TRUE(m.ok()) << m.error().message;
  EXPECT_EQ(m->at("A"), "1");
  EXPECT_EQ(m->at("B"), "two");
  EXPECT_EQ(m->at("C"), "q u");
  EXPECT_EQ(m->at("D"), "x");
  EXPECT_EQ(m->at("E"), "");
}

TEST(EnvFile, RejectsMalformedLinesNamingThem) {
  auto m = ParseEnvFile("A=1\nnot a pair\n");
  ASSERT_FALSE(m.ok());
  EXPECT_NE(m.error().message.find("line 2"), std::string::npos);
  EXPECT_FALSE(ParseEnvFile("1A=x\n").ok());
  EXPECT_FALSE(ParseEnvFile("A=\"open\n").ok());
}

TEST(EnvFile, PrivateFileIs0600AndNotOverwrittenWithoutForce) {
  TempDir dir("rtgw-envfile");
  const std::string path = dir.File("secrets.env");
  ASSERT_TRUE(WritePrivateFile(path, "A=1\n", false).ok());
  struct stat st {};
  ASSERT_EQ(stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  auto again = WritePrivateFile(path, "A=2\n", false);
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.error().code, ErrorCode::kConflict);
  EXPECT_EQ(ReadEnvFile(path)->at("A"), "1");
  chmod(path.c_str(), 0644);
  ASSERT_TRUE(WritePrivateFile(path, "A=3\n", true).ok());
  ASSERT_EQ(stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  EXPECT_EQ(ReadEnvFile(path)->at("A"), "3");
  EXPECT_EQ(std::distance(fs::directory_iterator(dir.path()), fs::directory_iterator()), 1);
}

TEST(EnvFile, Durations) {
  EXPECT_EQ(ParseDurationSeconds("3600"), 3600);
  EXPECT_EQ(ParseDurationSeconds("90s"), 90);
  EXPECT_EQ(ParseDurationSeconds("30m"), 1800);
  EXPECT_EQ(ParseDurationSeconds("12h"), 43200);
  EXPECT_EQ(ParseDurationSeconds("7d"), 604800);
  EXPECT_EQ(ParseDurationSeconds(""), std::nullopt);
  EXPECT_EQ(ParseDurationSeconds("h"), std::nullopt);
  EXPECT_EQ(ParseDurationSeconds("-5"), std::nullopt);
  EXPECT_EQ(ParseDurationSeconds("1.5h"), std::nullopt);
}

}  // namespace
}  // namespace rtgw::config
