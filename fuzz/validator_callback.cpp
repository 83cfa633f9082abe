// libFuzzer target: the validator endpoints' request bodies
// (api/validator_requests.hpp): POST /internal/validations/callback
// (ParseCallbackBody) and POST /api/runtime/validations:launch
// (ParseLaunchBody). Corpus: corpus/validator_callback/; every input is tried
// as both bodies.
// Properties (callback): ids present, a terminal status, a file:// or gs://
// result URI (required on SUCCEEDED), findings a JSON array of at most 1 MiB,
// an error message of at most 4096 bytes that is still valid UTF-8 (it is
// stored and served in JSON). (launch): at most 64 input files with unique
// names that cannot leave the run directory; the document is JSON.
#include <cstddef>
#include <cstdint>
#include <set>
#include <string>
#include <string_view>

#include <boost/json.hpp>

#include "api/validator_requests.hpp"
#include "fuzz_check.hpp"

namespace {

using rtgw::fuzz::Require;

// RFC 3629 UTF-8: no overlong forms, no surrogates, nothing above U+10FFFF.
bool IsUtf8(std::string_view s) {
  std::size_t i = 0;
  while (i < s.size()) {
    const auto c = static_cast<unsigned char>(s[i]);
    std::size_t n = 0;
    std::uint32_t cp = 0;
    if (c < 0x80) {
      ++i;
      continue;
    } else if ((c & 0xE0) == 0xC0) {
      n = 1;
      cp = c & 0x1F;
    } else if ((c & 0xF0) == 0xE0) {
      n = 2;
      cp = c & 0x0F;
    } else if ((c & 0xF8) == 0xF0) {
      n = 3;
      cp = c & 0x07;
    } else {
      return false;
    }
    if (i + n >= s.size()) return false;
    for (std::size_t k = 1; k <= n; ++k) {
      const auto cc = static_cast<unsigned char>(s[i + k]);
      if ((cc & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (cc & 0x3F);
    }
    static constexpr std::uint32_t kMin[] = {0, 0x80, 0x800, 0x10000};
    if (cp < kMin[n] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return false;
    i += n + 1;
  }
  return true;
}

bool IsJson(const std::string& text, bool want_array) {
  boost::system::error_code ec;
  auto value = boost::json::parse(text, ec);
  return !ec && (!want_array || value.is_array());
}

void CheckCallback(std::string_view body) {
  auto r = rtgw::api::ParseCallbackBody(body);
  if (!r.ok()) return;
  Require(!r->run_id.empty() && !r->callback_id.empty(), "a callback names its run and callback");
  Require(r->status == "SUCCEEDED" || r->status == "FAILED" || r->status == "CANCELLED",
          "a callback's status is terminal");
  Require(r->status != "SUCCEEDED" || !r->result_uri.empty(), "SUCCEEDED carries a result URI");
  Require(r->result_uri.empty() || r->result_uri.rfind("file://", 0) == 0 ||
              r->result_uri.rfind("gs://", 0) == 0,
          "a result URI is file:// or gs://");
  if (r->findings_json) {
    Require(r->findings_json->size() <= (1u << 20) && IsJson(*r->findings_json, true),
            "findings are a JSON array of at most 1 MiB");
  }
  if (r->error_message) {
    Require(r->error_message->size() <= 4096, "an error message is at most 4096 bytes");
    Require(IsUtf8(*r->error_message), "an error message is valid UTF-8");
  }
}

void CheckLaunch(std::string_view body) {
  auto r = rtgw::api::ParseLaunchBody(body);
  if (!r.ok()) return;
  Require(!r->validator.empty(), "a launch names its validator");
  Require(IsJson(r->document_json, false), "the input document is JSON");
  Require(r->files.size() <= 64, "at most 64 input files");
  std::set<std::string> names;
  for (const auto& file : r->files) {
    Require(!file.name.empty() && file.name[0] != '.' && file.name.find('/') == std::string::npos,
            "an input file name stays inside the run directory");
    Require(names.insert(file.name).second, "input file names are unique");
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto body = rtgw::fuzz::AsText(data, size);
  CheckCallback(body);
  CheckLaunch(body);
  return 0;
}
