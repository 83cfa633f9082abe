#ifndef RTGW_VALIDATORS_HTTP_ENDPOINTS_HPP_
#define RTGW_VALIDATORS_HTTP_ENDPOINTS_HPP_

#include "api/validator_handlers.hpp"
#include "common/error.hpp"
#include "validators/validation_service.hpp"

namespace rtgw::validators {

// The validator routes over a ValidationService: JSON bodies are parsed and
// checked on the calling I/O thread (CPU only); everything else goes to the
// service's threads. Error bodies are the usual {"error":{code,message,
// trace_id}} with minimal messages; details are logged with run_id/trace_id.
//
// Thread-safety: safe for concurrent use; `*service` must outlive this object.
class ValidatorHttpEndpoints final : public api::ValidatorEndpoints {
 public:
  explicit ValidatorHttpEndpoints(ValidationService& service) : service_(service) {}
  void Launch(api::ValidatorCall call) override;
  void Get(api::ValidatorCall call) override;
  void Rerun(api::ValidatorCall call) override;
  void Callback(api::ValidatorCall call) override;

 private:
  ValidationService& service_;
};

// Body parsers (pure; exposed for unit tests). InvalidArgument naming the field.
Result<LaunchRequest> ParseLaunchBody(std::string_view body);
Result<CallbackRequest> ParseCallbackBody(std::string_view body);

}  // namespace rtgw::validators

#endif  // RTGW_VALIDATORS_HTTP_ENDPOINTS_HPP_
