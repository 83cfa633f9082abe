#ifndef RTGW_VALIDATORS_CLOUD_RUN_LAUNCHER_HPP_
#define RTGW_VALIDATORS_CLOUD_RUN_LAUNCHER_HPP_

#include "net/curl_http_client.hpp"
#include "validators/launcher.hpp"
#include "validators/object_storage.hpp"

namespace rtgw::validators {

// `cloud-run`: Cloud Run Admin API v2 (https://cloud.google.com/run/docs/reference/rest).
//  - Launch: POST <endpoint>/v2/<spec.cloud_run_job>:run with
//      {"overrides":{"containerOverrides":[{"env":[{"name":"INPUT_URI","value":..},
//        CALLBACK_URL, CALLBACK_ID, RUN_ID, VALIDATOR_VERSION]}]}}
//    The answer is a long-running Operation whose metadata is the Execution;
//    its metadata.name ("projects/P/locations/L/jobs/J/executions/E") is the
//    execution name. Labels validator=/version= are set on the Job resource at
//    deploy time (per-run overrides cannot carry labels).
//  - Poll: GET <endpoint>/v2/<execution name> (an Execution): cancelledCount > 0
//    -> CANCELLED; failedCount > 0 or condition "Completed" CONDITION_FAILED ->
//    FAILED; complete (completionTime, or "Completed" settled) with
//    succeededCount > 0 or CONDITION_SUCCEEDED -> SUCCEEDED; runningCount > 0 ->
//    RUNNING; else PENDING. The detail is the "Completed" condition's message.
//  - Cancel: POST <endpoint>/v2/<execution name>:cancel.
// Every request carries "Authorization: Bearer <access token>". The job mints
// its own callback ID token through its metadata server.
// Google cannot be reached from the test machine: the tests run this against a
// local HTTP server that checks these request shapes.
// Thread-safety: safe for concurrent use.
class CloudRunLauncher final : public Launcher {
 public:
  CloudRunLauncher(std::string endpoint, AccessTokenSource token)
      : endpoint_(std::move(endpoint)), token_(std::move(token)) {}
  std::string_view name() const override { return "cloud-run"; }
  Result<std::string> Launch(const LaunchSpec& spec) override;
  Result<ExecutionStatus> Poll(const std::string& execution_name) override;
  Status Cancel(const std::string& execution_name) override;

 private:
  std::string endpoint_;
  AccessTokenSource token_;
  net::CurlHttpClient http_;
};

}  // namespace rtgw::validators

#endif  // RTGW_VALIDATORS_CLOUD_RUN_LAUNCHER_HPP_
