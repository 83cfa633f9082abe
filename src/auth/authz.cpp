#include "auth/authz.hpp"

#include <array>
#include <utility>

namespace rtgw::auth {
namespace {

constexpr std::array<std::pair<Scope, std::string_view>, 7> kScopeNames = {{
    {Scope::kSubmit, "runtime:submit"},
    {Scope::kSubmitAs, "runtime:submit_as"},
    {Scope::kRead, "runtime:read"},
    {Scope::kEvents, "runtime:events"},
    {Scope::kCancel, "runtime:cancel"},
    {Scope::kValidate, "runtime:validate"},
    {Scope::kAdmin, "runtime:admin"},
}};

constexpr ScopeSet Of(std::initializer_list<Scope> scopes) {
  ScopeSet set;
  for (Scope s : scopes) set = set.With(s);
  return set;
}

constexpr ScopeSet kCompatUnscoped =
    Of({Scope::kSubmit, Scope::kRead, Scope::kEvents, Scope::kCancel, Scope::kValidate});
constexpr ScopeSet kStrictUnscoped = Of({Scope::kSubmit, Scope::kRead, Scope::kCancel});
constexpr ScopeSet kNodeRights = Of({Scope::kRead, Scope::kEvents, Scope::kCancel});

}  // namespace

std::string ScopeSet::ToString() const {
  std::string out;
  for (const auto& [scope, name] : kScopeNames) {
    if (!Has(scope)) continue;
    if (!out.empty()) out += ' ';
    out += name;
  }
  return out;
}

std::string_view ScopeName(Scope scope) {
  for (const auto& [s, name] : kScopeNames) {
    if (s == scope) return name;
  }
  return "";
}

std::optional<Scope> FindScope(std::string_view name) {
  for (const auto& [s, n] : kScopeNames) {
    if (n == name) return s;
  }
  return std::nullopt;
}

ScopeSet ParseScopeClaim(std::string_view value) {
  ScopeSet set;
  std::size_t pos = 0;
  while (pos < value.size()) {
    const std::size_t end = std::min(value.find(' ', pos), value.size());
    if (std::optional<Scope> s = FindScope(value.substr(pos, end - pos))) set = set.With(*s);
    pos = end + 1;
  }
  return set;
}

std::string_view ToString(AuthzMode mode) {
  return mode == AuthzMode::kStrict ? "strict" : "compat";
}

Result<AuthzMode> ParseAuthzMode(std::string_view text) {
  if (text == "compat") return AuthzMode::kCompat;
  if (text == "strict") return AuthzMode::kStrict;
  return InvalidArgument("authz mode must be compat or strict");
}

Principal PrincipalFor(const Claims& claims, AuthzMode mode) {
  Principal p;
  p.tenant_id = claims.tenant_id;
  p.sub = claims.sub;
  p.node_id = claims.node_id;
  p.jti = claims.jti;
  std::optional<ScopeSet> listed;
  if (claims.scope) {
    listed = ParseScopeClaim(*claims.scope);
    if (listed->Has(Scope::kAdmin)) listed = listed->With(Scope::kRead);
  }
  if (claims.node_id) {
    p.scopes = listed ? kNodeRights.Intersect(*listed) : kNodeRights;
  } else if (listed) {
    p.scopes = *listed;
  } else if (mode == AuthzMode::kStrict) {
    p.scopes = kStrictUnscoped;
    p.own_jobs_only = true;
  } else {
    p.scopes = kCompatUnscoped;
  }
  return p;
}

}  // namespace rtgw::auth
