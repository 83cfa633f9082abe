#ifndef RTGW_AUTH_AUTHZ_HPP_
#define RTGW_AUTH_AUTHZ_HPP_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "auth/jwt_verifier.hpp"
#include "common/error.hpp"

namespace rtgw::auth {

// What a verified token may do inside its tenant (docs/contracts/jwt.md
// "Authorization"). Pure: no I/O, no clock; safe for concurrent use.

// The scopes of the `scope` claim (RFC 8693 section 4.2 / RFC 9068 section
// 2.2.3: one space-separated string). Values are bits of a ScopeSet.
enum class Scope : std::uint8_t {
  kSubmit = 1U << 0,    // runtime:submit     submit jobs as the token's own sub
  kSubmitAs = 1U << 1,  // runtime:submit_as  submit for any user of the tenant (a BFF)
  kRead = 1U << 2,      // runtime:read       read jobs and validation runs
  kEvents = 1U << 3,    // runtime:events     post execution events (and, on node tokens,
                        //                    heartbeats and leases)
  kCancel = 1U << 4,    // runtime:cancel     cancel jobs
  kValidate = 1U << 5,  // runtime:validate   launch and rerun validations
  kAdmin = 1U << 6,     // runtime:admin      dead letters, node list, token revocation
};

// A set of Scope bits.
class ScopeSet {
 public:
  constexpr ScopeSet() = default;
  constexpr explicit ScopeSet(std::uint8_t bits) : bits_(bits) {}
  constexpr bool Has(Scope s) const { return (bits_ & static_cast<std::uint8_t>(s)) != 0; }
  constexpr ScopeSet With(Scope s) const {
    return ScopeSet(static_cast<std::uint8_t>(bits_ | static_cast<std::uint8_t>(s)));
  }
  constexpr ScopeSet Intersect(ScopeSet o) const {
    return ScopeSet(static_cast<std::uint8_t>(bits_ & o.bits_));
  }
  constexpr std::uint8_t bits() const { return bits_; }
  friend constexpr bool operator==(ScopeSet, ScopeSet) = default;
  // "runtime:submit runtime:read", in the enum's order; empty for none.
  std::string ToString() const;

 private:
  std::uint8_t bits_ = 0;
};

// "runtime:submit" for Scope::kSubmit, etc.
std::string_view ScopeName(Scope scope);
// The Scope named `name`; nullopt for any other text.
std::optional<Scope> FindScope(std::string_view name);
// The runtime:* scopes named in a `scope` claim value. Other tokens (scopes of
// other resource servers, RFC 9068 tokens carry them) are ignored; repeated
// or extra spaces are allowed.
ScopeSet ParseScopeClaim(std::string_view value);

// `--authz` (RTGW_AUTHZ): what a product token without a `scope` claim may do.
enum class AuthzMode {
  kCompat,  // default: submit, read, events, cancel, validate in its tenant (the seeds' flow)
  kStrict,  // submit, read and cancel of its own user's jobs only
};
std::string_view ToString(AuthzMode mode);
Result<AuthzMode> ParseAuthzMode(std::string_view text);

// The caller of one request, as the gateway decides with it.
struct Principal {
  std::string tenant_id;
  std::string sub;
  std::optional<std::string> node_id;  // node tokens: the node it acts for
  std::optional<std::string> jti;
  ScopeSet scopes;  // what it may do (after the mode and node rules)
  // Strict mode, unscoped product token: reads and cancels only of jobs whose
  // requested_by.user_id is `sub`.
  bool own_jobs_only = false;
};

// The rights of `claims` under `mode`:
// - product token with `scope`: exactly the runtime:* scopes listed (admin
//   implies read);
// - product token without `scope`: compat {submit, read, events, cancel,
//   validate}; strict {submit, read, cancel} with own_jobs_only;
// - node token (`node_id`): at most {read, events, cancel}, narrowed by its
//   `scope` when present; never submit, submit_as, validate or admin.
Principal PrincipalFor(const Claims& claims, AuthzMode mode);

}  // namespace rtgw::auth

#endif  // RTGW_AUTH_AUTHZ_HPP_
