// libFuzzer target: the request headers the API layer interprets itself
// (api/gateway.hpp TraceIdFor: W3C traceparent; api/call.hpp
// IsJsonContentType: Content-Type). Corpus: corpus/http_headers/; every input
// is tried as both header values.
// Properties: the trace id is always 32 lowercase hex characters, not all
// zero; when the header's trace-id field is taken, it is exactly that field;
// a JSON Content-Type's media type is application/json in any case, with only
// spaces around it and parameters after ';'.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "api/call.hpp"
#include "api/gateway.hpp"
#include "fuzz_check.hpp"

namespace {

using rtgw::fuzz::Require;

bool IsLowerHex(std::string_view s) {
  for (char c : s) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto value = rtgw::fuzz::AsText(data, size);

  rtgw::http::Request request;
  request.method = "POST";
  request.headers.emplace_back("traceparent", std::string(value));
  const std::string trace_id = rtgw::api::TraceIdFor(request);
  Require(trace_id.size() == 32 && IsLowerHex(trace_id) && trace_id != std::string(32, '0'),
          "a trace id is 32 lowercase hex characters, not all zero");
  if (value.size() >= 35 && value.substr(3, 32) == trace_id) {
    Require(value[2] == '-' && IsLowerHex(value.substr(0, 2)) && value.substr(0, 2) != "ff",
            "a trace id taken from traceparent comes from a valid version prefix");
  }

  if (rtgw::api::IsJsonContentType(value)) {
    std::string_view media = value.substr(0, value.find(';'));
    const auto first = media.find_first_not_of(' ');
    const auto last = media.find_last_not_of(' ');
    Require(first != std::string_view::npos &&
                Lower(media.substr(first, last - first + 1)) == "application/json",
            "a JSON Content-Type's media type is application/json");
  }
  return 0;
}
