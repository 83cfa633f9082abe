#include "agent/core/validator_programs.hpp"

#include <sys/stat.h>

#include <fstream>
#include <sstream>

#include <boost/json.hpp>
#include <gtest/gtest.h>

#include "auth/jws_signer.hpp"
#include "common/temp_dir.hpp"

namespace rtgw::agent {
namespace {

namespace json = boost::json;

std::string B64UrlDecode(const std::string& in) {
  static const std::string kAlphabet =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  std::string out;
  int bits = 0, value = 0;
  for (char c : in) {
    const auto pos = kAlphabet.find(c);
    if (pos == std::string::npos) break;
    value = (value << 6) | static_cast<int>(pos);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<char>((value >> bits) & 0xff));
    }
  }
  return out;
}

TEST(ValidatorProgramsTest, ParsesCommandsAndSkipsOtherLaunchers) {
  auto p = ParseValidatorPrograms(
      R"({"validators":[{"name":"json-rules","version":"1.0.0","launcher":"slurm",
      "node":"n1","command":["/usr/bin/python3","/opt/v.py"]},
      {"name":"ep","version":"abc","launcher":"cloud-run","job":"projects/p/locations/l/jobs/ep"}]})");
  ASSERT_TRUE(p.ok()) << p.error().message;
  ASSERT_EQ(p->size(), 1u);
  EXPECT_EQ(p->at("json-rules@1.0.0"), (std::vector<std::string>{"/usr/bin/python3", "/opt/v.py"}));
}

TEST(ValidatorProgramsTest, RefusesRelativeEmptyAndDuplicateEntries) {
  auto relative = ParseValidatorPrograms(
      R"({"validators":[{"name":"a","version":"1","command":["python3"]}]})");
  ASSERT_FALSE(relative.ok());
  EXPECT_NE(relative.error().message.find("validators[0].command[0]"), std::string::npos);
  EXPECT_FALSE(
      ParseValidatorPrograms(R"({"validators":[{"name":"a","version":"1","command":[]}]})").ok());
  EXPECT_FALSE(ParseValidatorPrograms(R"({"validators":[{"version":"1","command":["/x"]}]})").ok());
  EXPECT_FALSE(ParseValidatorPrograms(
                   R"({"validators":[{"name":"a","version":"1","command":["/x"]},
                       {"name":"a","version":"1","command":["/y"]}]})")
                   .ok());
  EXPECT_FALSE(ParseValidatorPrograms("[]").ok());
}

TEST(ValidatorProgramsTest, TokenWriterSignsForTheCallbackUrlIntoAPrivateFile) {
  auto signer = auth::JwsSigner::Generate("agent-key");
  ASSERT_TRUE(signer.ok());
  TempDir tmp("rtgw-vtokens");
  const std::string dir = tmp.File("tokens");  // the writer creates it
  ValidatorTokenOptions o{"urn:rtgw:agent", "validator@rtgw.agent", "node-1", dir};
  auto write = MakeValidatorTokenWriter(std::move(signer).value(), o);
  JobSpec spec;
  spec.submission_id = "0b7c6a52-1f0e-4c1e-9d47-2a8f3c1d5e60";
  spec.walltime_seconds = 120;
  EXPECT_FALSE(write(spec).ok());  // not a validator job
  spec.validator =
      ValidatorCall{"v", "1", "vr-1", "cb-1", "http://gw/internal/validations/callback"};
  auto path = write(spec);
  ASSERT_TRUE(path.ok()) << path.error().message;
  EXPECT_EQ(*path, dir + "/rtgw-0b7c6a52-1f0e-4c1e-9d47-2a8f3c1d5e60.jwt");
  struct stat st {};
  ASSERT_EQ(::stat(path->c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  std::ifstream in(*path);
  std::string token;
  std::getline(in, token);
  const auto dot1 = token.find('.'), dot2 = token.find('.', dot1 + 1);
  ASSERT_NE(dot2, std::string::npos);
  json::object header = json::parse(B64UrlDecode(token.substr(0, dot1))).as_object();
  json::object claims =
      json::parse(B64UrlDecode(token.substr(dot1 + 1, dot2 - dot1 - 1))).as_object();
  EXPECT_EQ(header.at("kid").as_string(), "agent-key");
  EXPECT_EQ(claims.at("aud").as_string(), "http://gw/internal/validations/callback");
  EXPECT_EQ(claims.at("iss").as_string(), "urn:rtgw:agent");
  EXPECT_EQ(claims.at("email").as_string(), "validator@rtgw.agent");
  EXPECT_EQ(claims.at("sub").as_string(), "node-1/0b7c6a52-1f0e-4c1e-9d47-2a8f3c1d5e60");
  EXPECT_EQ(claims.at("exp").as_int64() - claims.at("iat").as_int64(), 120 + 3600);
}

}  // namespace
}  // namespace rtgw::agent
