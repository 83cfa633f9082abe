#include "auth/revocation_list.hpp"

#include <mutex>

namespace rtgw::auth {

std::string RevocationList::Key(std::string_view tenant_id, std::string_view jti) {
  // Neither part holds a control character (claims with one are refused), so
  // U+001F separates them unambiguously.
  std::string key;
  key.reserve(tenant_id.size() + 1 + jti.size());
  key.append(tenant_id);
  key.push_back('\x1f');
  key.append(jti);
  return key;
}

bool RevocationList::IsRevoked(std::string_view tenant_id, std::string_view jti) const {
  const std::string key = Key(tenant_id, jti);
  std::shared_lock lock(mu_);
  return keys_.contains(key);
}

void RevocationList::Replace(const std::vector<Entry>& entries) {
  std::unordered_set<std::string> keys;
  keys.reserve(entries.size());
  for (const Entry& e : entries) keys.insert(Key(e.tenant_id, e.jti));
  std::unique_lock lock(mu_);
  keys_.swap(keys);
}

void RevocationList::Add(std::string_view tenant_id, std::string_view jti) {
  std::string key = Key(tenant_id, jti);
  std::unique_lock lock(mu_);
  keys_.insert(std::move(key));
}

std::size_t RevocationList::size() const {
  std::shared_lock lock(mu_);
  return keys_.size();
}

}  // namespace rtgw::auth
