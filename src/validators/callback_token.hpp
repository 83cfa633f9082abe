#ifndef RTGW_VALIDATORS_CALLBACK_TOKEN_HPP_
#define RTGW_VALIDATORS_CALLBACK_TOKEN_HPP_

#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "common/error.hpp"
#include "validators/jwks_source.hpp"

namespace rtgw::validators {

// Who may call back for runs of one launcher: the keys that sign its ID
// tokens (a fixed JWKS, or a JWKS URL kept fresh by `jwks_source`), the token
// issuer and the job's service-account email.
struct TrustedCaller {
  std::string jwks_json;  // ignored when jwks_source is set
  std::string issuer;
  std::string service_account;
  std::shared_ptr<JwksSource> jwks_source;  // loaded already; refreshed by Verify
};

// Verifies callback ID tokens: compact JWS, RS256 only, key chosen by kid
// among the launcher's JWKS, signature valid, iss == issuer, aud == the exact
// callback URL (string or array), email == service account (and
// email_verified not false), exp in the future and iat not in the future
// (30 s leeway each). Every failure is Unauthenticated with a short reason.
// With a JwksSource, Verify may BLOCK on a JWKS refetch (max-age passed, or an
// unknown kid; jwks_source.hpp): call it from the service's threads only.
//
// Thread-safety: safe for concurrent use; Trust() may replace a launcher's
// keys while Verify runs (JWKS refresh).
class CallbackTokenVerifier {
 public:
  // Sets (or replaces) what `launcher`'s tokens must look like.
  // InvalidArgument on a malformed JWKS.
  Status Trust(const std::string& launcher, TrustedCaller caller);
  Status Verify(const std::string& launcher, std::string_view token, const std::string& audience,
                std::chrono::system_clock::time_point now) const;

 private:
  struct Entry;
  mutable std::mutex mu_;
  std::map<std::string, std::shared_ptr<const Entry>> entries_;
};

}  // namespace rtgw::validators

#endif  // RTGW_VALIDATORS_CALLBACK_TOKEN_HPP_
