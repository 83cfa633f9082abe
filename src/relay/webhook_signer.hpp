#ifndef RTGW_RELAY_WEBHOOK_SIGNER_HPP_
#define RTGW_RELAY_WEBHOOK_SIGNER_HPP_

#include <cstdint>
#include <string>
#include <string_view>

#include "common/error.hpp"

namespace rtgw::relay {

// Standard Webhooks signatures (https://www.standardwebhooks.com/, spec
// "Signature scheme"): the signed content is "<webhook-id>.<webhook-timestamp>.<body>",
// the signature HMAC-SHA256 with the secret key, sent as
// `webhook-signature: v1,<base64 of the 32-byte MAC>`.
//
// The secret: "whsec_<base64>" as the spec writes it (the key is the decoded
// bytes), or any other string used as the key bytes as they are.
//
// Thread-safety: immutable after construction; Sign is safe concurrently.
class WebhookSigner {
 public:
  // Error (kInvalidArgument) when the secret is empty, or "whsec_" followed by
  // invalid base64, or a key shorter than 16 bytes.
  static Result<WebhookSigner> Create(std::string_view secret);

  // "v1,<base64>" for this message.
  std::string Sign(std::string_view webhook_id, std::int64_t timestamp_seconds,
                   std::string_view body) const;

 private:
  explicit WebhookSigner(std::string key) : key_(std::move(key)) {}
  std::string key_;
};

// The webhook-id of a ProjectionUpdate: the same on every retry of one update,
// different for every (tenant_id, job_id, projection_version), so a receiver
// can dedupe on it. "pu_" + 32 hex characters of SHA-256.
std::string ProjectionWebhookId(std::string_view tenant_id, std::string_view job_id,
                                std::int64_t projection_version);

}  // namespace rtgw::relay

#endif  // RTGW_RELAY_WEBHOOK_SIGNER_HPP_
