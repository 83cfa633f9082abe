#include "auth/jws.hpp"

#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "auth/jwt_test_keys.hpp"
#include "crypto/crypto.hpp"

namespace rtgw::auth {
namespace {

using testing::Jwks;
using testing::SigningInput;
using testing::SignToken;
using testing::SignTokenHs256;
using testing::TestKeyPair;

// The RFC tokens and keys keep one segment per line, as printed in the RFC.
// clang-format off
// RFC 7515 Appendix A: the three example tokens share this payload.
constexpr std::string_view kRfcPayload =
    "{\"iss\":\"joe\",\r\n \"exp\":1300819380,\r\n \"http://example.com/is_root\":true}";

// A.1: HS256 with the JWK {"kty":"oct","k":...}.
constexpr std::string_view kRfcA1Key =
    "AyM1SysPpbyDfgZld3umj1qzKObwVMkoqQ-EstJQLr_T-1qS0gZH75aKtMN3Yj0iPS4hcgUuTwjAzZr1Z9CAow";
constexpr std::string_view kRfcA1Token =
    "eyJ0eXAiOiJKV1QiLA0KICJhbGciOiJIUzI1NiJ9"
    ".eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVlfQ"
    ".dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";

// A.2: RS256; the public part of the RSA JWK.
constexpr std::string_view kRfcA2Jwk =
    R"({"kty":"RSA",)"
    R"("n":"ofgWCuLjybRlzo0tZWJjNiuSfb4p4fAkd_wWJcyQoTbji9k0l8W26mPddxHmfHQp-Vaw-4qPCJrcS2mJPMEzP1Pt0Bm4d4QlL-yRT-SFd2lZS-pCgNMsD1W_YpRPEwOWvG6b32690r2jZ47soMZo9wGzjb_7OMg0LOL-bSf63kpaSHSXndS5z5rexMdbBYUsLA9e-KXBdQOS-UTo7WTBEMa2R2CapHg665xsmtdVMTBQY4uDZlxvb3qCo5ZwKh9kG4LT6_I5IhlJH7aGhyxXFvUK-DWNmoudF8NAco9_h9iaGNj8q2ethFkMLs91kzk2PAcDTW9gb54h4FRWyuXpoQ",)"
    R"("e":"AQAB"})";
constexpr std::string_view kRfcA2Token =
    "eyJhbGciOiJSUzI1NiJ9"
    ".eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVlfQ"
    ".cC4hiUPoj9Eetdgtv3hF80EGrhuB__dzERat0XF9g2VtQgr9PJbu3XOiZj5RZmh7AAuHIm4Bh-0Qc_lF5YKt_O8W2Fp5jujGbds9uJdbF9CUAr7t1dnZcAcQjbKBYNX4BAynRFdiuB--f_nZLgrnbyTyWzO75vRK5h6xBArLIARNPvkSjtQBMHlb1L07Qe7K0GarZRmB_eSN9383LcOLn6_dO--xi12jzDwusC-eOkHWEsqtFZESc6BfI7noOPqvhJ1phCnvWh6IeYI2w9QOYEUipUTI8np6LbgGY9Fs98rqVt5AXLIhWkWywlVmtVrBp0igcN_IoypGlUPQGe77Rw";

// A.3: ES256; the public part of the EC JWK.
constexpr std::string_view kRfcA3Jwk =
    R"({"kty":"EC","crv":"P-256",)"
    R"("x":"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU",)"
    R"("y":"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0"})";
constexpr std::string_view kRfcA3Token =
    "eyJhbGciOiJFUzI1NiJ9"
    ".eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVlfQ"
    ".DtEhU3ljbEg8L38VWAfUAqOyKAM6-Xx-F4GawxaepmXFCgfTjDxw5djxLa8ISlSApmWQxfKTUJqPP3-Kg6NU1Q";
// clang-format on

JwsKey RfcA1Key() {
  auto key = JwsKey::FromHs256Secret(*crypto::Base64UrlDecode(kRfcA1Key));
  EXPECT_TRUE(key.ok());
  return std::move(key).value();
}

JwsKey KeyFromJwk(std::string_view jwk) {
  auto key = JwsKey::FromJwk(jwk);
  EXPECT_TRUE(key.ok()) << key.error().message;
  return std::move(key).value();
}

// Flips one character of the payload segment (keeps it valid base64url).
std::string TamperPayload(std::string_view token) {
  std::string out(token);
  const std::size_t i = out.find('.') + 5;
  out[i] = out[i] == 'A' ? 'B' : 'A';
  return out;
}

void ExpectUnauthenticated(const Result<std::string>& result, std::string_view message) {
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error().code, ErrorCode::kUnauthenticated);
  EXPECT_EQ(result.error().message, message);
}

// An RFC 7515 appendix example: `token` verifies with `key` to kRfcPayload,
// and with its payload tampered it does not.
void ExpectRfcExampleVerifies(std::string_view token, const JwsKey& key) {
  auto payload = VerifyJwsSignature(token, key);
  ASSERT_TRUE(payload.ok()) << payload.error().message;
  EXPECT_EQ(*payload, kRfcPayload);
  ExpectUnauthenticated(VerifyJwsSignature(TamperPayload(token), key), "bad signature");
}

TEST(JwsTest, ParsesOnlyTheThreeAlgorithmsExactly) {
  EXPECT_EQ(ParseJwsAlgorithm("HS256"), JwsAlgorithm::kHs256);
  EXPECT_EQ(ParseJwsAlgorithm("RS256"), JwsAlgorithm::kRs256);
  EXPECT_EQ(ParseJwsAlgorithm("ES256"), JwsAlgorithm::kEs256);
  for (std::string_view name : {"none", "None", "NONE", "", "hs256", "HS384", "HS512", "RS384",
                                "PS256", "ES384", "ES256K", "EdDSA", "HS256 "}) {
    EXPECT_EQ(ParseJwsAlgorithm(name), std::nullopt) << name;
  }
  EXPECT_EQ(JwsAlgorithmName(JwsAlgorithm::kEs256), "ES256");
}

TEST(JwsTest, VerifiesRfc7515A1Hs256Example) {
  const JwsKey key = RfcA1Key();
  ExpectRfcExampleVerifies(kRfcA1Token, key);
}

TEST(JwsTest, VerifiesRfc7515A2Rs256Example) {
  const JwsKey key = KeyFromJwk(kRfcA2Jwk);
  EXPECT_EQ(key.algorithm(), JwsAlgorithm::kRs256);  // bound by kty, no "alg" member
  ExpectRfcExampleVerifies(kRfcA2Token, key);
}

TEST(JwsTest, VerifiesRfc7515A3Es256Example) {
  const JwsKey key = KeyFromJwk(kRfcA3Jwk);
  EXPECT_EQ(key.algorithm(), JwsAlgorithm::kEs256);
  ExpectRfcExampleVerifies(kRfcA3Token, key);
}

TEST(JwsTest, RfcExamplesFailUnderEachOtherKeys) {
  const JwsKey hs = RfcA1Key();
  const JwsKey rs = KeyFromJwk(kRfcA2Jwk);
  const JwsKey es = KeyFromJwk(kRfcA3Jwk);
  ExpectUnauthenticated(VerifyJwsSignature(kRfcA1Token, rs), "alg not allowed for key");
  ExpectUnauthenticated(VerifyJwsSignature(kRfcA2Token, es), "alg not allowed for key");
  ExpectUnauthenticated(VerifyJwsSignature(kRfcA3Token, hs), "alg not allowed for key");
}

TEST(JwsTest, Hs256SignedWithRsaPublicKeyBytesFailsUnderTheRsaKey) {
  // The classic confusion: alg switched to HS256 and the MAC keyed with the
  // verifier's RSA public key. The RSA key only verifies RS256.
  const JwsKey rs = KeyFromJwk(kRfcA2Jwk);
  // clang-format off
  const std::string n = *crypto::Base64UrlDecode(
      "ofgWCuLjybRlzo0tZWJjNiuSfb4p4fAkd_wWJcyQoTbji9k0l8W26mPddxHmfHQp-Vaw-4qPCJrcS2mJPMEzP1Pt0Bm4"
      "d4QlL-yRT-SFd2lZS-pCgNMsD1W_YpRPEwOWvG6b32690r2jZ47soMZo9wGzjb_7OMg0LOL-bSf63kpaSHSXndS5z5re"
      "xMdbBYUsLA9e-KXBdQOS-UTo7WTBEMa2R2CapHg665xsmtdVMTBQY4uDZlxvb3qCo5ZwKh9kG4LT6_I5IhlJH7aGhyxXF"
      "vUK-DWNmoudF8NAco9_h9iaGNj8q2ethFkMLs91kzk2PAcDTW9gb54h4FRWyuXpoQ");
  // clang-format on
  for (std::string_view secret : {std::string_view(n), kRfcA2Jwk}) {
    ExpectUnauthenticated(
        VerifyJwsSignature(SignTokenHs256(R"({"alg":"HS256"})", kRfcPayload, secret), rs),
        "alg not allowed for key");
  }
}

TEST(JwsTest, Es256SignaturesRoundTripAndRequireRawForm) {
  const TestKeyPair pair = TestKeyPair::GenerateP256();
  const JwsKey key = KeyFromJwk(pair.PublicJwk());
  // Enough signatures that R and S with the high bit set and with leading
  // zero bytes both occur, exercising the DER conversion.
  for (int i = 0; i < 64; ++i) {
    const std::string payload = "{\"i\":" + std::to_string(i) + "}";
    const std::string input = SigningInput(R"({"alg":"ES256"})", payload);
    const std::string signature = pair.Sign(input);
    ASSERT_EQ(signature.size(), 64u);
    ASSERT_TRUE(key.Verify(input, signature)) << i;
    std::string flipped = signature;
    flipped[63] = static_cast<char>(flipped[63] ^ 1);
    EXPECT_FALSE(key.Verify(input, flipped));
  }
  const std::string input = SigningInput(R"({"alg":"ES256"})", "{}");
  EXPECT_FALSE(key.Verify(input, std::string(64, '\0')));           // r = s = 0
  EXPECT_FALSE(key.Verify(input, pair.Sign(input).substr(0, 63)));  // short
  EXPECT_FALSE(key.Verify(input, pair.Sign(input) + "x"));          // long (e.g. DER)
}

TEST(JwsTest, Rs256RoundTripAndExactLength) {
  const TestKeyPair pair = TestKeyPair::GenerateRsa();
  const JwsKey key = KeyFromJwk(pair.PublicJwk("k1", "RS256"));
  EXPECT_EQ(key.kid(), "k1");
  const std::string input = SigningInput(R"({"alg":"RS256"})", "{}");
  const std::string signature = pair.Sign(input);
  EXPECT_TRUE(key.Verify(input, signature));
  EXPECT_FALSE(key.Verify(input + "x", signature));
  EXPECT_FALSE(key.Verify(input, signature.substr(1)));
  EXPECT_FALSE(key.Verify(input, std::string(1, '\0') + signature));
}

TEST(JwsTest, Hs256KeyChecksMacLength) {
  auto key = JwsKey::FromHs256Secret("0123456789abcdef0123456789abcdef");
  ASSERT_TRUE(key.ok());
  const std::string mac = crypto::HmacSha256("0123456789abcdef0123456789abcdef", "a.b");
  EXPECT_TRUE(key->Verify("a.b", mac));
  EXPECT_FALSE(key->Verify("a.c", mac));
  EXPECT_FALSE(key->Verify("a.b", mac.substr(0, 16)));  // truncated MAC
  EXPECT_FALSE(key->Verify("a.b", ""));
  EXPECT_FALSE(JwsKey::FromHs256Secret("").ok());
}

TEST(JwsTest, JwkBindsAlgorithmByTypeAndRejectsBadKeys) {
  const TestKeyPair rsa = TestKeyPair::GenerateRsa();
  const TestKeyPair ec = TestKeyPair::GenerateP256();
  EXPECT_EQ(KeyFromJwk(rsa.PublicJwk()).algorithm(), JwsAlgorithm::kRs256);
  EXPECT_EQ(KeyFromJwk(ec.PublicJwk("e", "ES256")).algorithm(), JwsAlgorithm::kEs256);

  const std::string ec_jwk = ec.PublicJwk();
  std::string off_curve = ec_jwk;  // change one byte of y
  const std::size_t y = off_curve.find("\"y\":\"") + 6;
  off_curve[y] = off_curve[y] == 'A' ? 'B' : 'A';
  const std::string rsa_jwk = rsa.PublicJwk();
  const std::string rsa_body = rsa_jwk.substr(1, rsa_jwk.size() - 2);
  const std::string ec_body = ec_jwk.substr(1, ec_jwk.size() - 2);

  const std::string rejected[] = {
      "",
      "[]",
      "{}",
      R"({"kty":"oct","k":"AyM1SysPpbyDfgZld3umj1qzKObwVMkoqQ"})",
      R"({"kty":"OKP","crv":"Ed25519","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"})",
      rsa.PublicJwk("", "HS256"),
      rsa.PublicJwk("", "PS256"),
      rsa.PublicJwk("", "ES256"),
      ec.PublicJwk("", "RS256"),
      ec.PublicJwk("", "none"),
      "{" + rsa_body + R"(,"use":"enc"})",
      "{" + rsa_body + R"(,"key_ops":["encrypt"]})",
      "{" + rsa_body + R"(,"kid":7})",
      TestKeyPair::GenerateRsa(1024).PublicJwk(),
      R"({"kty":"RSA","n":"AQAB","e":"AQAB"})",
      R"({"kty":"RSA","e":"AQAB"})",
      off_curve,
      R"({"kty":"EC","crv":"P-384","x":"AA","y":"AA"})",
      R"({"kty":"EC","crv":"P-256","x":"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU"})",
      R"({"kty":"EC","crv":"P-256","x":"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU","y":"AA"})",
      R"({"kty":"EC","crv":"P-256","x":"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU=",)"
      R"("y":"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0"})",
  };
  for (const std::string& jwk : rejected) {
    auto key = JwsKey::FromJwk(jwk);
    ASSERT_FALSE(key.ok()) << jwk;
    EXPECT_EQ(key.error().code, ErrorCode::kInvalidArgument) << jwk;
  }
  // Accepted extras: use "sig", key_ops with "verify", private members ignored.
  EXPECT_TRUE(JwsKey::FromJwk("{" + ec_body + R"(,"use":"sig","key_ops":["sign","verify"]})").ok());
  EXPECT_TRUE(
      JwsKey::FromJwk("{" + ec_body + R"(,"d":"jpsQnnGQmL-YBIffH1136cspYG6-0iY7X1fCE9-E9LI"})")
          .ok());
}

// The JWK's "x" and "y" re-encoded from their numeric value with `width`
// bytes: 0 = minimal (leading zeros dropped, as PyJWT 2.6's to_jwk does),
// 33 = one extra leading zero (a signed big-endian integer).
std::string EcJwkWithCoordinateWidth(const TestKeyPair& pair, std::size_t width) {
  const std::string point = pair.PublicKeyBytes();  // 04 || x || y
  auto encode = [width](std::string coordinate) {
    if (width == 0) coordinate.erase(0, coordinate.find_first_not_of('\0'));
    if (width == 33) coordinate.insert(0, 1, '\0');
    return crypto::Base64UrlEncode(coordinate);
  };
  return R"({"kty":"EC","crv":"P-256","x":")" + encode(point.substr(1, 32)) + R"(","y":")" +
         encode(point.substr(33, 32)) + "\"}";
}

TEST(JwsTest, EcCoordinatesAreReadByValueNotByWidth) {
  // Find a key whose x or y starts with a zero byte (about one in 128): the
  // CI once failed when a test's PyJWT-made JWKS met the exact-width check.
  TestKeyPair pair = TestKeyPair::GenerateP256();
  for (int i = 0; i < 4096; ++i) {
    const std::string point = pair.PublicKeyBytes();
    if (point[1] == '\0' || point[33] == '\0') break;
    pair = TestKeyPair::GenerateP256();
  }
  const std::string point = pair.PublicKeyBytes();
  ASSERT_TRUE(point[1] == '\0' || point[33] == '\0');
  const std::string input = SigningInput(R"({"alg":"ES256"})", "{}");
  for (std::size_t width : {std::size_t{0}, std::size_t{33}}) {
    const std::string jwk = EcJwkWithCoordinateWidth(pair, width);
    EXPECT_NE(jwk, pair.PublicJwk());
    auto key = JwsKey::FromJwk(jwk);
    ASSERT_TRUE(key.ok()) << jwk << ": " << key.error().message;
    EXPECT_TRUE(key->Verify(input, pair.Sign(input))) << jwk;
  }
  // 33 significant bytes is no P-256 coordinate.
  std::string x(33, '\x7f');
  auto too_long =
      JwsKey::FromJwk(R"({"kty":"EC","crv":"P-256","x":")" + crypto::Base64UrlEncode(x) +
                      R"(","y":"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0"})");
  ASSERT_FALSE(too_long.ok());
  EXPECT_EQ(too_long.error().message, "P-256 \"x\" and \"y\" must be at most 32 bytes each");
}

TEST(JwsTest, ParsesJwksAndReportsTheBadKey) {
  const TestKeyPair rsa = TestKeyPair::GenerateRsa();
  const TestKeyPair ec = TestKeyPair::GenerateP256();
  auto keys = ParseJwks(Jwks({rsa.PublicJwk("r"), ec.PublicJwk("e"), kRfcA3Jwk}));
  ASSERT_TRUE(keys.ok()) << keys.error().message;
  ASSERT_EQ(keys->size(), 3u);
  EXPECT_EQ((*keys)[0].kid(), "r");
  EXPECT_EQ((*keys)[1].algorithm(), JwsAlgorithm::kEs256);
  EXPECT_EQ((*keys)[2].kid(), "");

  auto bad = ParseJwks(Jwks({rsa.PublicJwk("r"), R"({"kty":"oct","k":"AA"})"}));
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(bad.error().message.rfind("JWKS key 1: ", 0), 0u) << bad.error().message;

  std::vector<std::string> many(kMaxJwksKeys + 1, std::string(kRfcA3Jwk));
  std::string too_many = R"({"keys":[)";
  for (std::size_t i = 0; i < many.size(); ++i) too_many += (i ? "," : "") + many[i];
  too_many += "]}";

  for (const std::string& jwks : {std::string("not json"), std::string("[]"), std::string("{}"),
                                  std::string(R"({"keys":{}})"), std::string(R"({"keys":[]})"),
                                  std::string(R"({"keys":[1]})"),
                                  Jwks({rsa.PublicJwk("same"), ec.PublicJwk("same")}), too_many}) {
    auto result = ParseJwks(jwks);
    ASSERT_FALSE(result.ok()) << jwks.substr(0, 80);
    EXPECT_EQ(result.error().code, ErrorCode::kInvalidArgument);
  }
}

TEST(JwsTest, SplitsExactlyThreeSegments) {
  auto ok = SplitCompactJws("aa.bb.cc");
  ASSERT_TRUE(ok.ok());
  EXPECT_EQ(ok->header_b64url, "aa");
  EXPECT_EQ(ok->payload_b64url, "bb");
  EXPECT_EQ(ok->signature_b64url, "cc");
  EXPECT_EQ(ok->signing_input, "aa.bb");
  EXPECT_TRUE(SplitCompactJws("aa..").ok());  // empty payload/signature: later layers decide
  for (std::string_view token :
       {"", "aa", "aa.bb", "aa.bb.cc.dd", "aa.bb.cc.dd.ee", ".bb.cc", "..", "aa.bb.cc."}) {
    auto result = SplitCompactJws(token);
    ASSERT_FALSE(result.ok()) << token;
    EXPECT_EQ(result.error().message, "malformed token");
  }
}

TEST(JwsTest, DecodesHeaderStrictly) {
  auto b64 = [](std::string_view json) { return crypto::Base64UrlEncode(json); };
  auto header = DecodeJwsHeader(b64(R"({"alg":"RS256","kid":"k1","typ":"JWT"})"));
  ASSERT_TRUE(header.ok());
  EXPECT_EQ(header->algorithm, JwsAlgorithm::kRs256);
  EXPECT_EQ(header->kid, "k1");
  // Duplicate names: the last one wins (RFC 7515 section 5.2).
  header = DecodeJwsHeader(b64(R"({"alg":"none","alg":"ES256"})"));
  ASSERT_TRUE(header.ok());
  EXPECT_EQ(header->algorithm, JwsAlgorithm::kEs256);

  struct Case {
    std::string encoded;
    std::string_view message;
  };
  const Case cases[] = {
      {b64(R"({"alg":"none"})"), "unsupported alg"},
      {b64(R"({"alg":"HS512"})"), "unsupported alg"},
      {b64(R"({"alg":"ES256","alg":"none"})"), "unsupported alg"},
      {b64(R"({"alg":"HS256","crit":["exp"],"exp":1})"), "crit header not supported"},
      {b64(R"({"alg":"HS256","crit":[]})"), "crit header not supported"},
      {b64(R"({"alg":"HS256","b64":false,"crit":["b64"]})"), "crit header not supported"},
      {b64(R"({"typ":"JWT"})"), "malformed header"},
      {b64(R"({"alg":256})"), "malformed header"},
      {b64(R"({"alg":"HS256","kid":1})"), "malformed header"},
      {b64(R"(["HS256"])"), "malformed header"},
      {b64(R"("HS256")"), "malformed header"},
      {b64(R"({"alg":"HS256"} x)"), "malformed header"},
      {b64(R"({"alg":"HS256",})"), "malformed header"},
      {b64("{\"alg\":\"HS256\",\"x\":\"\xff\"}"), "malformed header"},  // not UTF-8
      {b64(""), "malformed header"},
      {"eyJhbGciOiJIUzI1NiJ9=", "malformed header"},  // padded
      {"eyJhbGciOiJIUzI1NiJ!", "malformed header"},
  };
  for (const Case& c : cases) {
    auto result = DecodeJwsHeader(c.encoded);
    ASSERT_FALSE(result.ok()) << c.encoded;
    EXPECT_EQ(result.error().code, ErrorCode::kUnauthenticated);
    EXPECT_EQ(result.error().message, c.message) << *crypto::Base64UrlDecode(c.encoded);
  }
}

TEST(JwsTest, NoneIsRejectedWithAndWithoutSignature) {
  const JwsKey hs = RfcA1Key();
  const std::string unsigned_token = SigningInput(R"({"alg":"none"})", kRfcPayload) + ".";
  ExpectUnauthenticated(VerifyJwsSignature(unsigned_token, hs), "unsupported alg");
  const std::string signed_none =
      SignTokenHs256(R"({"alg":"none"})", kRfcPayload, *crypto::Base64UrlDecode(kRfcA1Key));
  ExpectUnauthenticated(VerifyJwsSignature(signed_none, hs), "unsupported alg");
}

TEST(JwsTest, BadSignatureEncodingIsBadSignature) {
  const JwsKey hs = RfcA1Key();
  const std::string input(kRfcA1Token.substr(0, kRfcA1Token.rfind('.')));
  for (std::string_view signature : {"", "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk=",
                                     "dBjftJeZ4CVP+mB92K27uhbUJU1p1r/wW1gFWFOEjXk",
                                     "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXl"}) {
    ExpectUnauthenticated(VerifyJwsSignature(input + "." + std::string(signature), hs),
                          "bad signature");
  }
  // Valid signature over an undecodable payload segment: rejected after the signature.
  const std::string secret = *crypto::Base64UrlDecode(kRfcA1Key);
  const std::string bad_payload = crypto::Base64UrlEncode(R"({"alg":"HS256"})") + ".e30=";
  ExpectUnauthenticated(
      VerifyJwsSignature(
          bad_payload + "." + crypto::Base64UrlEncode(crypto::HmacSha256(secret, bad_payload)), hs),
      "malformed payload");
}

}  // namespace
}  // namespace rtgw::auth
