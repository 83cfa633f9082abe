#include "agent/gateway_client/lease_parse.hpp"

#include <algorithm>
#include <string_view>

#include <boost/json.hpp>

namespace rtgw::agent {
namespace {

namespace json = boost::json;

std::string Str(const json::object& o, std::string_view key) {
  const json::value* v = o.if_contains(key);
  return v && v->is_string() ? std::string(v->as_string()) : std::string();
}

const json::object* Obj(const json::object& o, std::string_view key) {
  const json::value* v = o.if_contains(key);
  return v && v->is_object() ? &v->as_object() : nullptr;
}

std::optional<std::int64_t> Int(const json::object* o, std::string_view key) {
  if (o == nullptr) return std::nullopt;
  const json::value* v = o->if_contains(key);
  if (v == nullptr) return std::nullopt;
  if (v->is_int64()) return v->as_int64();
  if (v->is_uint64() && v->as_uint64() < (1ull << 62))
    return static_cast<std::int64_t>(v->as_uint64());
  if (v->is_double()) {
    const double d = v->as_double();
    if (d >= 0 && d < 1e15 && static_cast<double>(static_cast<std::int64_t>(d)) == d) {
      return static_cast<std::int64_t>(d);
    }
  }
  return std::nullopt;
}

// The submission id names the job's files and its Slurm comment on the node (BackendTag):
// only what the gateway makes (a UUID) is taken, never something that could be a path.
bool IsSafeSubmissionId(std::string_view s) {
  if (s.empty() || s.size() > 64) return false;
  return std::all_of(s.begin(), s.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-';
  });
}

}  // namespace

Result<AcquireResult> ParseAcquireResponse(std::string_view body) {
  boost::system::error_code ec;
  json::value root = json::parse(body, ec);
  if (ec || !root.is_object())
    return InvalidArgument("leases:acquire: answer is not a JSON object");
  AcquireResult out;
  const json::object& r = root.as_object();
  if (const json::value* leases = r.if_contains("leases"); leases && leases->is_array()) {
    for (const json::value& lv : leases->as_array()) {
      if (!lv.is_object()) continue;
      const json::object& l = lv.as_object();
      Lease lease;
      lease.lease_id = Str(l, "lease_id");
      lease.lease_expires_at = Str(l, "lease_expires_at");
      JobSpec& s = lease.spec;
      s.submission_id = Str(l, "submission_id");
      s.job_id = Str(l, "job_id");
      s.tenant_id = Str(l, "tenant_id");
      s.workspace_id = Str(l, "workspace_id");
      s.trace_id = Str(l, "trace_id");
      const json::object* shape = Obj(l, "resource_shape");
      const auto cpu = Int(shape, "cpu");
      const auto mem = Int(shape, "memory_mib");
      const auto wall = Int(shape, "walltime_seconds");
      if (const json::object* payload = Obj(l, "payload_ref")) {
        s.input_uri = Str(*payload, "input_uri");
        if (const json::object* v = Obj(*payload, "validator")) {
          s.validator = ValidatorCall{Str(*v, "name"), Str(*v, "version"), Str(*v, "run_id"),
                                      Str(*v, "callback_id"), Str(*v, "callback_url")};
        }
      }
      std::string queue;
      if (const json::object* profile = Obj(l, "execution_profile"))
        queue = Str(*profile, "queue_name");
      const json::object* mapping = nullptr;
      if (const json::object* boundary = Obj(l, "slurm_adapter")) {
        if (const std::string resolved = Str(*boundary, "resolved_queue"); !resolved.empty()) {
          queue = resolved;
        }
        mapping = Obj(*boundary, "mapping");
      }
      if (mapping != nullptr) {
        s.partition = Str(*mapping, "partition");
        s.account = Str(*mapping, "account");
        s.qos = Str(*mapping, "qos");
        s.max_walltime_minutes = Int(mapping, "max_walltime_minutes");
      } else if (queue != "default") {
        s.partition = queue;
      }
      if (lease.lease_id.empty() || !IsSafeSubmissionId(s.submission_id) || s.job_id.empty() ||
          !cpu || *cpu < 1 || !mem || *mem < 1 || !wall || *wall < 1 || s.input_uri.empty()) {
        if (!lease.lease_id.empty()) out.malformed_lease_ids.push_back(lease.lease_id);
        continue;
      }
      s.cpu = *cpu;
      s.memory_mib = *mem;
      s.walltime_seconds = *wall;
      out.leases.push_back(std::move(lease));
    }
  }
  if (const json::value* cancels = r.if_contains("cancellations"); cancels && cancels->is_array()) {
    for (const json::value& cv : cancels->as_array()) {
      if (!cv.is_object()) continue;
      Cancellation c;
      c.job_id = Str(cv.as_object(), "job_id");
      c.submission_id = Str(cv.as_object(), "submission_id");
      c.execution_id = Str(cv.as_object(), "execution_id");
      if (!c.submission_id.empty()) out.cancellations.push_back(std::move(c));
    }
  }
  return out;
}

}  // namespace rtgw::agent
