#ifndef RTGW_API_VALIDATOR_HANDLERS_HPP_
#define RTGW_API_VALIDATOR_HANDLERS_HPP_

#include <functional>
#include <string>

#include "http/http_types.hpp"

namespace rtgw::validators {
class ValidationService;
}  // namespace rtgw::validators

namespace rtgw::api {

// One request to a validator route, authenticated as far as the gateway does
// it (public routes: bearer token and tenant; the callback route: nothing,
// the handler verifies the job's ID token).
struct ValidatorCall {
  const http::Request* request = nullptr;
  std::string tenant_id;     // public routes
  std::string subject;       // public routes: token sub
  std::string bearer_token;  // the callback route: the job's ID token (may be empty)
  std::string trace_id;
  std::string path_param;                       // {run_id}
  std::function<void(http::Response)> respond;  // exactly once, any thread
};

// The validator routes (docs/contracts/validator-callback.md). Methods must
// not block: they run on I/O threads.
class ValidatorEndpoints {
 public:
  virtual ~ValidatorEndpoints() = default;
  virtual void Launch(ValidatorCall call) = 0;    // POST /api/runtime/validations:launch
  virtual void Get(ValidatorCall call) = 0;       // GET /api/runtime/validations/{run_id}
  virtual void List(ValidatorCall call) = 0;      // GET /api/runtime/validations
  virtual void Rerun(ValidatorCall call) = 0;     // POST /api/runtime/validations/{run_id}:rerun
  virtual void Callback(ValidatorCall call) = 0;  // POST /internal/validations/callback
};

// The validator routes over a ValidationService: JSON bodies are parsed and
// checked on the calling I/O thread (validator_requests.hpp, CPU only);
// everything else goes to the service's threads, whose results are rendered
// here: runs 202 (launch, rerun) or 200 (read), a page of runs 200 (list), receipts 200,
// errors through MakeErrorResponse.
//
// Thread-safety: safe for concurrent use; `*service` must outlive this object.
class ValidatorHandlers final : public ValidatorEndpoints {
 public:
  explicit ValidatorHandlers(validators::ValidationService& service) : service_(service) {}
  void Launch(ValidatorCall call) override;
  void Get(ValidatorCall call) override;
  void List(ValidatorCall call) override;
  void Rerun(ValidatorCall call) override;
  void Callback(ValidatorCall call) override;

 private:
  validators::ValidationService& service_;
};

}  // namespace rtgw::api

#endif  // RTGW_API_VALIDATOR_HANDLERS_HPP_
