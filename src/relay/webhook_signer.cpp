#include "relay/webhook_signer.hpp"

#include <optional>

#include "crypto/crypto.hpp"

namespace rtgw::relay {

Result<WebhookSigner> WebhookSigner::Create(std::string_view secret) {
  if (secret.empty()) return InvalidArgument("projection secret is empty");
  std::string key;
  constexpr std::string_view kPrefix = "whsec_";
  if (secret.starts_with(kPrefix)) {
    std::optional<std::string> decoded = crypto::Base64Decode(secret.substr(kPrefix.size()));
    if (!decoded) {
      return InvalidArgument("projection secret starts with whsec_ but the rest is not base64");
    }
    key = std::move(*decoded);
  } else {
    key = std::string(secret);
  }
  if (key.size() < 16) {
    return InvalidArgument("projection secret is too short: use at least 16 bytes of key");
  }
  return WebhookSigner(std::move(key));
}

std::string WebhookSigner::Sign(std::string_view webhook_id, std::int64_t timestamp_seconds,
                                std::string_view body) const {
  std::string content;
  content.reserve(webhook_id.size() + body.size() + 24);
  content.append(webhook_id);
  content.push_back('.');
  content.append(std::to_string(timestamp_seconds));
  content.push_back('.');
  content.append(body);
  return "v1," + crypto::Base64Encode(crypto::HmacSha256(key_, content));
}

std::string ProjectionWebhookId(std::string_view tenant_id, std::string_view job_id,
                                std::int64_t projection_version) {
  std::string material;
  material.append(std::to_string(tenant_id.size())).push_back(':');
  material.append(tenant_id);
  material.append(std::to_string(job_id.size())).push_back(':');
  material.append(job_id);
  material.append(std::to_string(projection_version));
  return "pu_" + crypto::Sha256Hex(material).substr(0, 32);
}

}  // namespace rtgw::relay
