// libFuzzer target: the submit and execution-event request bodies
// (api/job_requests.hpp: POST /api/runtime/jobs:submit and
// POST /api/runtime/jobs/{job_id}/events). Corpus: corpus/job_requests/; every
// input is tried as both bodies.
// Properties: an accepted body belongs to the caller's tenant and (events) to
// the path's job; ids are valid; occurred_at is stored in the formatter's UTC
// form; the fingerprint is 64 hex characters and does not change when the body
// is re-serialized (key order, whitespace and number spelling don't count).
#include "api/job_requests.hpp"

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include <boost/json.hpp>

#include "common/time_format.hpp"
#include "fuzz_check.hpp"

namespace {

using rtgw::fuzz::Require;

constexpr std::string_view kTenant = "t1";

bool IsLowerHex64(std::string_view s) {
  if (s.size() != 64) return false;
  for (char c : s) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

// The body parsed by Boost.JSON and written back (sorted nowhere, spaced
// differently), or "" when it is not JSON.
std::string Reserialized(std::string_view body) {
  boost::system::error_code ec;
  boost::json::parse_options options;
  options.max_depth = 64;
  auto value = boost::json::parse(body, ec, {}, options);
  return ec ? std::string() : boost::json::serialize(value);
}

void CheckSubmit(std::string_view body) {
  const rtgw::api::SubmitContext ctx{kTenant, "sub-1", "2026-01-01T00:00:00Z", "trace-1"};
  auto record = rtgw::api::ParseSubmitRequest(body, ctx);
  if (!record.ok()) return;
  Require(record->tenant_id == kTenant, "an accepted submit is the caller's tenant's");
  Require(rtgw::api::IsValidJobId(record->job_id), "an accepted submit has a valid job id");
  Require(IsLowerHex64(record->request_fingerprint), "a submit fingerprint is hex SHA-256");
  auto again = rtgw::api::ParseSubmitRequest(Reserialized(body), ctx);
  Require(again.ok(), "a re-serialized accepted submit is accepted");
  Require(again->request_fingerprint == record->request_fingerprint &&
              again->spec_json == record->spec_json,
          "re-serializing a submit keeps its fingerprint and canonical spec");
}

void CheckEvent(std::string_view body) {
  const rtgw::api::EventContext ctx{kTenant, "j1", "2026-02-18T00:00:01Z"};
  auto record = rtgw::api::ParseEventRequest(body, ctx);
  if (!record.ok()) return;
  Require(record->tenant_id == kTenant, "an accepted event is the caller's tenant's");
  Require(record->job_id == "j1", "an accepted event is for the path's job");
  auto occurred_at = rtgw::ParseRfc3339(record->occurred_at);
  Require(occurred_at && rtgw::FormatRfc3339(*occurred_at) == record->occurred_at,
          "occurred_at is stored as FormatRfc3339 writes it");
  Require(IsLowerHex64(record->fingerprint), "an event fingerprint is hex SHA-256");
  auto again = rtgw::api::ParseEventRequest(Reserialized(body), ctx);
  Require(again.ok(), "a re-serialized accepted event is accepted");
  Require(again->fingerprint == record->fingerprint,
          "re-serializing an event keeps its fingerprint");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto body = rtgw::fuzz::AsText(data, size);
  CheckSubmit(body);
  CheckEvent(body);
  return 0;
}
