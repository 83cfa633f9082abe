#include "validators/cloud_run_launcher.hpp"

#include <cctype>

#include <boost/json.hpp>

#include "common/logging.hpp"

namespace rtgw::validators {
namespace json = boost::json;

namespace {

constexpr std::chrono::milliseconds kTimeout{30'000};

Error ApiFailure(const char* what, const net::HttpResponse& r) {
  return Unavailable(std::string("Cloud Run ") + what +
                     " failed: " + (r.status == 0 ? r.error : "HTTP " + std::to_string(r.status)));
}

std::int64_t Count(const json::object& o, std::string_view key) {
  const json::value* v = o.if_contains(key);
  return v != nullptr && v->is_int64() ? v->as_int64() : 0;
}

bool ValidResourceName(const std::string& name) {
  if (name.empty() || name.front() == '/') return false;
  for (char c : name) {
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '/' || c == '-' || c == '_' ||
          c == '.')) {
      return false;
    }
  }
  return name.find("..") == std::string::npos;
}

}  // namespace

Result<std::string> CloudRunLauncher::Launch(const LaunchSpec& spec) {
  if (!ValidResourceName(spec.cloud_run_job)) {
    return InvalidArgument("bad Cloud Run job name '" + spec.cloud_run_job + "'");
  }
  auto token = token_();
  if (!token) return token.error();
  json::array env;
  auto add = [&env](const char* k, const std::string& v) {
    env.push_back(json::object{{"name", k}, {"value", v}});
  };
  add("INPUT_URI", spec.input_uri);
  add("CALLBACK_URL", spec.callback_url);
  add("CALLBACK_ID", spec.callback_id);
  add("RUN_ID", spec.run_id);
  add("VALIDATOR_VERSION", spec.version);
  json::object body{
      {"overrides", json::object{{"containerOverrides", json::array{json::object{{"env", env}}}}}}};
  net::HttpResponse r = http_.Send(
      {.method = "POST",
       .url = endpoint_ + "/v2/" + spec.cloud_run_job + ":run",
       .headers = {{"Authorization", "Bearer " + *token}, {"Content-Type", "application/json"}},
       .body = json::serialize(body),
       .timeout = kTimeout});
  if (r.status / 100 != 2) return ApiFailure("jobs.run", r);
  boost::system::error_code ec;
  json::value op = json::parse(r.body, ec);
  const json::value* name = nullptr;
  if (!ec && op.is_object()) {
    if (const json::value* md = op.as_object().if_contains("metadata"); md && md->is_object()) {
      name = md->as_object().if_contains("name");
    }
  }
  if (name == nullptr || !name->is_string() || name->as_string().empty()) {
    return Unavailable("Cloud Run jobs.run: the operation names no execution");
  }
  LogInfo("validator started", {{"run_id", spec.run_id},
                                {"launcher", "cloud-run"},
                                {"validator", spec.validator},
                                {"version", spec.version},
                                {"execution", std::string(name->as_string())}});
  return std::string(name->as_string());
}

Result<ExecutionStatus> CloudRunLauncher::Poll(const std::string& execution_name) {
  if (!ValidResourceName(execution_name)) return ExecutionStatus{"FAILED", "execution lost"};
  auto token = token_();
  if (!token) return token.error();
  net::HttpResponse r = http_.Send({.url = endpoint_ + "/v2/" + execution_name,
                                    .headers = {{"Authorization", "Bearer " + *token}},
                                    .timeout = kTimeout});
  if (r.status == 404) return ExecutionStatus{"FAILED", "execution lost"};
  if (r.status / 100 != 2) return ApiFailure("executions.get", r);
  boost::system::error_code ec;
  json::value v = json::parse(r.body, ec);
  if (ec || !v.is_object()) return Unavailable("Cloud Run executions.get: not a JSON object");
  const json::object& e = v.as_object();
  // The "Completed" condition is the execution's verdict once it is not
  // CONDITION_PENDING/RECONCILING; its message says why (exit code, cancel).
  std::string completed_state, completed_message;
  if (const json::value* cs = e.if_contains("conditions"); cs && cs->is_array()) {
    for (const json::value& c : cs->as_array()) {
      if (!c.is_object()) continue;
      const json::object& co = c.as_object();
      const json::value* type = co.if_contains("type");
      if (type == nullptr || !type->is_string() || type->as_string() != "Completed") continue;
      if (const json::value* st = co.if_contains("state"); st && st->is_string()) {
        completed_state = std::string(st->as_string());
      }
      if (const json::value* m = co.if_contains("message"); m && m->is_string()) {
        completed_message = std::string(m->as_string());
      }
    }
  }
  const bool complete = e.contains("completionTime") || completed_state == "CONDITION_SUCCEEDED" ||
                        completed_state == "CONDITION_FAILED";
  auto detail = [&](std::string fallback) {
    return completed_message.empty() ? fallback : completed_message;
  };
  if (Count(e, "cancelledCount") > 0) return ExecutionStatus{"CANCELLED", detail("cancelled")};
  if (Count(e, "failedCount") > 0 || completed_state == "CONDITION_FAILED") {
    return ExecutionStatus{"FAILED",
                           detail(std::to_string(Count(e, "failedCount")) + " task(s) failed")};
  }
  if (complete && (Count(e, "succeededCount") > 0 || completed_state == "CONDITION_SUCCEEDED")) {
    return ExecutionStatus{"SUCCEEDED", detail("succeeded")};
  }
  if (Count(e, "runningCount") > 0) return ExecutionStatus{"RUNNING", "running"};
  if (complete) return ExecutionStatus{"FAILED", detail("completed without a successful task")};
  return ExecutionStatus{"PENDING", "pending"};
}

Status CloudRunLauncher::Cancel(const std::string& execution_name) {
  if (!ValidResourceName(execution_name)) return NotFound("unknown execution");
  auto token = token_();
  if (!token) return token.error();
  net::HttpResponse r = http_.Send(
      {.method = "POST",
       .url = endpoint_ + "/v2/" + execution_name + ":cancel",
       .headers = {{"Authorization", "Bearer " + *token}, {"Content-Type", "application/json"}},
       .body = "{}",
       .timeout = kTimeout});
  if (r.status / 100 != 2) return ApiFailure("executions.cancel", r);
  return Ok{};
}

}  // namespace rtgw::validators
