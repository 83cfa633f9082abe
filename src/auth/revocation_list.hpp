#ifndef RTGW_AUTH_REVOCATION_LIST_HPP_
#define RTGW_AUTH_REVOCATION_LIST_HPP_

#include <cstddef>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <unordered_set>
#include <vector>

namespace rtgw::auth {

// The revoked token ids (`jti`) the gateway refuses, per tenant: an in-memory
// copy of the store's token revocations (storage/revocation_store.hpp) that a
// poller replaces every second, so a check on the request path is one hash
// lookup under a shared lock, never a store read (docs/contracts/jwt.md
// "Revocation").
//
// Thread-safety: safe for concurrent use; IsRevoked never waits for another
// reader, only for a Replace/Add in progress.
class RevocationList {
 public:
  struct Entry {
    std::string tenant_id;
    std::string jti;
  };

  // Whether `jti` of `tenant_id` is revoked.
  bool IsRevoked(std::string_view tenant_id, std::string_view jti) const;
  // Replaces the whole set (what the store holds now, expired ones left out).
  void Replace(const std::vector<Entry>& entries);
  // Adds one at once (the replica that took the revocation does not wait for
  // its next poll).
  void Add(std::string_view tenant_id, std::string_view jti);
  std::size_t size() const;

 private:
  static std::string Key(std::string_view tenant_id, std::string_view jti);
  mutable std::shared_mutex mu_;
  std::unordered_set<std::string> keys_;  // GUARDED_BY(mu_)
};

}  // namespace rtgw::auth

#endif  // RTGW_AUTH_REVOCATION_LIST_HPP_
