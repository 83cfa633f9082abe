#include "api/error_codes.hpp"

#include <fstream>
#include <map>
#include <regex>
#include <set>
#include <sstream>
#include <string>

#include <gtest/gtest.h>

#include "api/error_mapping.hpp"

namespace rtgw::api {
namespace {

// status -> codes of the "## Errors" table of docs/contracts/http-api.md.
std::map<int, std::set<std::string>> DocumentedCodes() {
  std::ifstream in(std::string(RTGW_SOURCE_DIR) + "/docs/contracts/http-api.md");
  EXPECT_TRUE(in.good());
  std::map<int, std::set<std::string>> out;
  std::string line;
  bool in_errors = false;
  const std::regex row(R"(^\| (\d{3}) \| ([^|]*) \|)");
  const std::regex code("`([a-z_]+)`");
  while (std::getline(in, line)) {
    if (line.rfind("## ", 0) == 0) in_errors = line == "## Errors";
    std::smatch m;
    if (!in_errors || !std::regex_search(line, m, row)) continue;
    const int status = std::stoi(m[1]);
    const std::string codes = m[2];
    for (auto it = std::sregex_iterator(codes.begin(), codes.end(), code);
         it != std::sregex_iterator(); ++it) {
      out[status].insert((*it)[1]);
    }
  }
  return out;
}

TEST(ApiCodesTest, AreExactlyTheCodesOfTheContractWithTheirStatus) {
  std::map<int, std::set<std::string>> in_code;
  for (const ApiCodeSpec& spec : kApiCodes) {
    in_code[ToHttpStatus(spec.kind)].insert(std::string(spec.wire));
  }
  const auto documented = DocumentedCodes();
  ASSERT_FALSE(documented.empty());
  EXPECT_EQ(in_code, documented);
}

TEST(ApiCodesTest, EveryCodeHasOneRowAndWireNamesAreUnique) {
  std::set<std::string_view> wires;
  for (std::size_t i = 0; i < kApiCodes.size(); ++i) {
    EXPECT_EQ(static_cast<std::size_t>(kApiCodes[i].code), i) << kApiCodes[i].wire;
    EXPECT_TRUE(wires.insert(kApiCodes[i].wire).second) << kApiCodes[i].wire;
    EXPECT_EQ(FindApiCode(kApiCodes[i].wire), kApiCodes[i].code);
  }
  EXPECT_EQ(static_cast<std::size_t>(ApiCode::kHandlerTimeout) + 1, kApiCodes.size());
  EXPECT_EQ(FindApiCode("forbidden"), std::nullopt);
}

TEST(ApiCodesTest, AKindHasAtMostOneDefault) {
  std::set<ErrorCode> kinds;
  for (const ApiCodeSpec& spec : kApiCodes) {
    if (spec.kind_default) {
      EXPECT_TRUE(kinds.insert(spec.kind).second) << spec.wire;
    }
  }
}

TEST(ApiCodesTest, AnErrorWithoutCodeGetsItsKindsDefault) {
  EXPECT_EQ(ApiCodeOf(NotFound("job 42")), ApiCode::kNotFound);
  EXPECT_EQ(ApiCodeOf(InvalidArgument("x: bad")), ApiCode::kInvalidArgument);
  EXPECT_EQ(ApiCodeOf(Conflict("x", "lease_lost")), ApiCode::kLeaseLost);
  EXPECT_EQ(ApiCodeOf(Conflict("no code")), std::nullopt);  // 409 has no generic code
  EXPECT_EQ(ApiCodeOf(InvalidArgument("x", "unsupported_payload")), std::nullopt);
}

TEST(ApiCodesTest, ApiErrorCarriesTheKindAndWireName) {
  const Error e = ApiError(ApiCode::kQueueDenied, "queue q denied");
  EXPECT_EQ(e.code, ErrorCode::kPermissionDenied);
  EXPECT_EQ(e.api_code, "queue_denied");
  EXPECT_EQ(e.message, "queue q denied");
}

}  // namespace
}  // namespace rtgw::api
