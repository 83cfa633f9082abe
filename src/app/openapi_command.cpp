#include <cstdio>
#include <fstream>

#include "api/openapi.hpp"
#include "app/commands.hpp"
#include "common/read_file.hpp"
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
  if (config::PrintHelpIfAsked(args, "rtgw openapi [--check|--write] [--file PATH]",
                               "Prints the OpenAPI 3.1 document generated from the code.",
                               kSpecs)) {
    return 0;
  }
  auto values = config::ParseOptionsOrReport("rtgw openapi", args, kSpecs, config::NoEnv);
  if (!values) return 2;
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
  const std::optional<std::string> text = ReadFileText(file);
  if (!text) {
    std::fprintf(stderr, "rtgw openapi --check: cannot read %s\n", file.c_str());
    return 1;
  }
  const std::string diff = api::DiffOpenApi(*text, generated);
  if (!diff.empty()) {
    std::fprintf(stderr,
                 "rtgw openapi --check: %s drifted from the code:\n%s"
                 "Regenerate with: rtgw openapi --write --file %s\n",
                 file.c_str(), diff.c_str(), file.c_str());
    return 1;
  }
  if (*text != generated) {
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
