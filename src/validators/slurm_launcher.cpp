#include "validators/slurm_launcher.hpp"

#include <boost/json.hpp>

#include "common/await.hpp"
#include "common/logging.hpp"
#include "net/http_client.hpp"

namespace rtgw::validators {
namespace json = boost::json;

namespace {

constexpr std::string_view kPrefix = "slurm/";

struct JobRef {
  std::string tenant_id;
  std::string job_id;
};

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

std::optional<std::string> UrlDecode(std::string_view s) {
  std::string out;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] != '%') {
      out.push_back(s[i]);
      continue;
    }
    if (i + 2 >= s.size()) return std::nullopt;
    const int hi = HexValue(s[i + 1]), lo = HexValue(s[i + 2]);
    if (hi < 0 || lo < 0) return std::nullopt;
    out.push_back(static_cast<char>(hi * 16 + lo));
    i += 2;
  }
  return out;
}

std::optional<JobRef> Parse(const std::string& execution_name) {
  if (execution_name.rfind(kPrefix, 0) != 0) return std::nullopt;
  const std::string_view rest = std::string_view(execution_name).substr(kPrefix.size());
  const std::size_t slash = rest.find('/');
  if (slash == std::string_view::npos || slash == 0 || slash + 1 == rest.size()) {
    return std::nullopt;
  }
  auto tenant = UrlDecode(rest.substr(0, slash));
  if (!tenant) return std::nullopt;
  return JobRef{*tenant, std::string(rest.substr(slash + 1))};
}

std::string ErrorMessage(const std::optional<std::string>& error_json) {
  if (!error_json) return "failed";
  boost::system::error_code ec;
  json::value v = json::parse(*error_json, ec);
  if (ec || !v.is_object()) return "failed";
  const json::object& o = v.as_object();
  std::string out;
  if (const json::value* c = o.if_contains("code"); c && c->is_string()) out = c->as_string();
  if (const json::value* m = o.if_contains("message"); m && m->is_string()) {
    out += (out.empty() ? "" : ": ") + std::string(m->as_string());
  }
  return out.empty() ? "failed" : out;
}

}  // namespace

Result<std::string> SlurmLauncher::Launch(const LaunchSpec& spec) {
  if (spec.tenant_id.empty() || spec.job_id.empty()) {
    return InvalidArgument("slurm launch needs the runtime job's tenant and id");
  }
  LogInfo("validator handed to its management node", {{"run_id", spec.run_id},
                                                      {"launcher", "slurm"},
                                                      {"validator", spec.validator},
                                                      {"version", spec.version},
                                                      {"job_id", spec.job_id}});
  return std::string(kPrefix) + net::UrlEncode(spec.tenant_id) + "/" + spec.job_id;
}

Result<ExecutionStatus> SlurmLauncher::Poll(const std::string& execution_name) {
  auto ref = Parse(execution_name);
  if (!ref) return ExecutionStatus{"FAILED", "execution lost"};
  auto job = Await<storage::JobRecord>([&](storage::Callback<storage::JobRecord> cb) {
    jobs_.GetJob(ref->tenant_id, ref->job_id, cb);
  });
  if (!job && job.error().code == ErrorCode::kNotFound) {
    return ExecutionStatus{"FAILED", "execution lost"};
  }
  if (!job) return std::move(job).error();
  switch (job->state) {
    case jobs::JobState::kSubmitted:
      return ExecutionStatus{"PENDING", "waiting for the management node"};
    case jobs::JobState::kQueued:
      return ExecutionStatus{"PENDING", "queued in Slurm"};
    case jobs::JobState::kRunning:
      return ExecutionStatus{"RUNNING", "running in Slurm"};
    case jobs::JobState::kCompleted:
      return ExecutionStatus{"SUCCEEDED", "Slurm job completed"};
    case jobs::JobState::kFailed:
      return ExecutionStatus{"FAILED", ErrorMessage(job->error_json)};
    case jobs::JobState::kCancelled:
      return ExecutionStatus{"CANCELLED", "cancelled"};
  }
  return ExecutionStatus{"FAILED", "unknown job state"};
}

Status SlurmLauncher::Cancel(const std::string& execution_name) {
  auto ref = Parse(execution_name);
  if (!ref) return NotFound("unknown execution " + execution_name);
  storage::CancelRequest req;
  req.tenant_id = ref->tenant_id;
  req.job_id = ref->job_id;
  req.requested_by = "validator-poller";
  req.trace_id = "";
  req.now = std::chrono::system_clock::now();
  auto out = Await<storage::CancelOutcome>(
      [&](storage::Callback<storage::CancelOutcome> cb) { nodes_.RequestCancel(req, cb); });
  if (!out && out.error().code != ErrorCode::kConflict) return std::move(out).error();
  return Ok{};
}

}  // namespace rtgw::validators
