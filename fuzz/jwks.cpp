// libFuzzer target: JWKS documents and single JWKs (auth/jws.hpp ParseJwks,
// JwsKey::FromJwk), as read from RTGW_JWT_JWKS and validator JWKS URLs.
// Corpus: corpus/jwks/. Properties: a parsed set has 1..kMaxJwksKeys keys with
// unique non-empty kids; a key never verifies an empty signature.
#include <cstddef>
#include <cstdint>
#include <set>
#include <string>

#include "auth/jws.hpp"
#include "fuzz_check.hpp"

using rtgw::fuzz::Require;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto text = rtgw::fuzz::AsText(data, size);
  auto keys = rtgw::auth::ParseJwks(text);
  if (keys.ok()) {
    Require(!keys->empty() && keys->size() <= rtgw::auth::kMaxJwksKeys,
            "a parsed JWKS has 1..kMaxJwksKeys keys");
    std::set<std::string> kids;
    for (const auto& key : *keys) {
      if (!key.kid().empty()) {
        Require(kids.insert(key.kid()).second, "kids in a parsed JWKS are unique");
      }
      Require(!key.Verify("header.payload", ""), "no key verifies an empty signature");
    }
  }
  auto key = rtgw::auth::JwsKey::FromJwk(text);
  if (key.ok()) {
    Require(key->algorithm() != rtgw::auth::JwsAlgorithm::kHs256,
            "a JWK never yields an HS256 key (HS256 comes only from the secret)");
    Require(!key->Verify("header.payload", ""), "no key verifies an empty signature");
  }
  return 0;
}
