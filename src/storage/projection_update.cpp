#include "storage/projection_update.hpp"

#include <string>
#include <string_view>

#include <boost/json.hpp>

#include "jobs/job_state.hpp"

namespace rtgw::storage {
namespace json = boost::json;

namespace {

void AppendQuoted(std::string& out, std::string_view text) {
  out += json::serialize(json::string_view(text.data(), text.size()));
}

// A stored JSON column, re-serialized compact; nothing when it does not parse.
void AppendStoredJson(std::string& out, std::string_view key, const std::string& stored) {
  boost::system::error_code ec;
  const json::value v = json::parse(stored, ec);
  if (ec) return;
  out += ",\"";
  out += key;
  out += "\":";
  out += json::serialize(v);
}

}  // namespace

std::string BuildProjectionUpdate(const JobRecord& job, const std::string& occurred_at,
                                  const std::string& trace_id) {
  // Written as text, in contract order (what serializing a json::object with
  // these members in this order gives): one is built in every write
  // transaction that changes a job, on the store's one writer thread.
  std::string out;
  out.reserve(320);
  out += "{\"tenant_id\":";
  AppendQuoted(out, job.tenant_id);
  out += ",\"workspace_id\":";
  AppendQuoted(out, job.workspace_id);
  out += ",\"job_id\":";
  AppendQuoted(out, job.job_id);
  out += ",\"submission_id\":";
  AppendQuoted(out, job.submission_id);
  out += ",\"status\":";
  AppendQuoted(out, jobs::ProjectionStatus(job.state));
  out += ",\"state\":";
  AppendQuoted(out, jobs::ToString(job.state));
  out += ",\"projection_version\":";
  out += std::to_string(job.projection_version);
  out += ",\"occurred_at\":";
  AppendQuoted(out, occurred_at);
  out += ",\"trace_id\":";
  AppendQuoted(out, trace_id);
  // Stored JSON columns are canonical JSON written by us; a row that does not
  // parse is left out rather than sent half-formed.
  if (job.result_ref_json) AppendStoredJson(out, "result_ref", *job.result_ref_json);
  if (job.error_json) AppendStoredJson(out, "error", *job.error_json);
  out += "}";
  return out;
}

}  // namespace rtgw::storage
