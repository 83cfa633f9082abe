#include "auth/authz.hpp"

#include <gtest/gtest.h>

#include "auth/revocation_list.hpp"

namespace rtgw::auth {
namespace {

Claims Product(std::optional<std::string> scope = std::nullopt) {
  Claims c;
  c.tenant_id = "t1";
  c.sub = "alice";
  c.scope = std::move(scope);
  return c;
}

Claims Node(std::optional<std::string> scope = std::nullopt) {
  Claims c = Product(std::move(scope));
  c.node_id = "node-a";
  return c;
}

TEST(ScopeClaim, ParsesRuntimeScopesAndIgnoresOthers) {
  const ScopeSet s = ParseScopeClaim("  openid runtime:read  runtime:submit other:x runtime:read ");
  EXPECT_EQ(s.ToString(), "runtime:submit runtime:read");
  EXPECT_EQ(ParseScopeClaim("").bits(), 0);
  EXPECT_EQ(ParseScopeClaim("runtime:READ runtime:read_all").bits(), 0);
  for (Scope scope : {Scope::kSubmit, Scope::kSubmitAs, Scope::kRead, Scope::kEvents,
                      Scope::kCancel, Scope::kValidate, Scope::kAdmin}) {
    EXPECT_EQ(FindScope(ScopeName(scope)), scope);
    EXPECT_TRUE(ParseScopeClaim(ScopeName(scope)).Has(scope));
  }
  EXPECT_FALSE(FindScope("runtime:").has_value());
}

TEST(Principal, UnscopedProductTokenByMode) {
  const Principal compat = PrincipalFor(Product(), AuthzMode::kCompat);
  EXPECT_EQ(compat.scopes.ToString(),
            "runtime:submit runtime:read runtime:events runtime:cancel runtime:validate");
  EXPECT_FALSE(compat.own_jobs_only);
  const Principal strict = PrincipalFor(Product(), AuthzMode::kStrict);
  EXPECT_EQ(strict.scopes.ToString(), "runtime:submit runtime:read runtime:cancel");
  EXPECT_TRUE(strict.own_jobs_only);
}

TEST(Principal, ScopedTokenGetsExactlyItsScopesInBothModes) {
  for (AuthzMode mode : {AuthzMode::kCompat, AuthzMode::kStrict}) {
    const Principal p = PrincipalFor(Product("runtime:submit runtime:submit_as"), mode);
    EXPECT_EQ(p.scopes.ToString(), "runtime:submit runtime:submit_as");
    EXPECT_FALSE(p.own_jobs_only);
    // An empty scope claim grants nothing (it is not "no claim").
    EXPECT_EQ(PrincipalFor(Product(""), mode).scopes.bits(), 0);
    // Admin reads too.
    EXPECT_EQ(PrincipalFor(Product("runtime:admin"), mode).scopes.ToString(),
              "runtime:read runtime:admin");
  }
}

TEST(Principal, NodeTokenNeverSubmitsAndScopeOnlyNarrows) {
  for (AuthzMode mode : {AuthzMode::kCompat, AuthzMode::kStrict}) {
    EXPECT_EQ(PrincipalFor(Node(), mode).scopes.ToString(),
              "runtime:read runtime:events runtime:cancel");
    const Principal wide = PrincipalFor(
        Node("runtime:submit runtime:submit_as runtime:admin runtime:validate runtime:events"),
        mode);
    EXPECT_EQ(wide.scopes.ToString(), "runtime:read runtime:events");
    EXPECT_FALSE(wide.own_jobs_only);
    EXPECT_EQ(wide.node_id, "node-a");
  }
}

TEST(AuthzMode, ParsesAndNames) {
  EXPECT_EQ(ParseAuthzMode("compat").value(), AuthzMode::kCompat);
  EXPECT_EQ(ParseAuthzMode("strict").value(), AuthzMode::kStrict);
  EXPECT_FALSE(ParseAuthzMode("Strict").ok());
  EXPECT_EQ(ToString(AuthzMode::kStrict), "strict");
}

TEST(RevocationList, LookupIsPerTenantAndReplaceDropsOldEntries) {
  RevocationList list;
  list.Add("t1", "j1");
  EXPECT_TRUE(list.IsRevoked("t1", "j1"));
  EXPECT_FALSE(list.IsRevoked("t2", "j1"));
  EXPECT_FALSE(list.IsRevoked("t1", "j"));
  // "t1"+"j1" must not collide with "t1j"+"1".
  EXPECT_FALSE(list.IsRevoked("t1j", "1"));
  list.Replace({{"t2", "j2"}});
  EXPECT_FALSE(list.IsRevoked("t1", "j1"));
  EXPECT_TRUE(list.IsRevoked("t2", "j2"));
  EXPECT_EQ(list.size(), 1U);
}

}  // namespace
}  // namespace rtgw::auth
