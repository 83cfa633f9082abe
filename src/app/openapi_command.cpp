#include <cstdio>
#include <fstream>
#include <sstream>

#include "api/openapi.hpp"
#include "app/commands.hpp"
#include "config/options.hpp"

namespace rtgw::app {

int RunOpenApi(const std::vector<std::string>& args) {
  static const std::vector<config::OptionSpec> kSpecs = {
      {"check", "", "",
       "Compare the generated document with --file; exit 1 with a summary of the differences "
       "when they drift.",
       true},
      {"file", "", "docs/openapi.json", "Committed copy to check against (with --check)."},
      {"write", "", "", "Write the generated document to --file instead of stdout.", true},
  };
  for (const auto& a : args) {
    if (a == "--help" || a == "-h") {
      std::fputs(
          config::FormatHelp("rtgw openapi [--check|--write] [--file PATH]",
                             "Prints the OpenAPI 3.1 document generated from the code.", kSpecs)
              .c_str(),
          stdout);
      return 0;
    }
  }
  auto values = config::ParseOptions(
      args, kSpecs, [](const std::string&) { return std::optional<std::string>(); });
  if (!values) {
    std::fprintf(stderr, "rtgw openapi: %s\n", values.error().message.c_str());
    return 2;
  }
  const std::string generated = api::BuildOpenApiJson(kVersion);
  const std::string file = values->GetOr("file", "docs/openapi.json");
  if (values->Switch("write")) {
    std::ofstream out(file, std::ios::binary | std::ios::trunc);
    out << generated;
    if (!out) {
      std::fprintf(stderr, "rtgw openapi: cannot write %s\n", file.c_str());
      return 1;
    }
    std::fprintf(stderr, "wrote %s\n", file.c_str());
    return 0;
  }
  if (!values->Switch("check")) {
    std::fputs(generated.c_str(), stdout);
    return 0;
  }
  std::ifstream in(file, std::ios::binary);
  if (!in) {
    std::fprintf(stderr, "rtgw openapi --check: cannot read %s\n", file.c_str());
    return 1;
  }
  std::stringstream buf;
  buf << in.rdbuf();
  const std::string diff = api::DiffOpenApi(buf.str(), generated);
  if (!diff.empty()) {
    std::fprintf(stderr,
                 "rtgw openapi --check: %s drifted from the code:\n%s"
                 "Regenerate with: rtgw openapi --write --file %s\n",
                 file.c_str(), diff.c_str(), file.c_str());
    return 1;
  }
  if (buf.str() != generated) {
    std::fprintf(stderr,
                 "rtgw openapi --check: %s has the same content but other formatting; "
                 "regenerate with: rtgw openapi --write --file %s\n",
                 file.c_str(), file.c_str());
    return 1;
  }
  std::printf("%s matches the code\n", file.c_str());
  return 0;
}

}  // namespace rtgw::app
