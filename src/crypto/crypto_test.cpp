#include "crypto/crypto.hpp"

#include <array>
#include <string>
#include <vector>

#include <gtest/gtest.h>

namespace rtgw::crypto {
namespace {

std::string Repeat(char c, std::size_t n) { return std::string(n, c); }

std::string Unhex(std::string_view hex) {
  std::string out;
  for (std::size_t i = 0; i + 1 < hex.size(); i += 2) {
    out.push_back(static_cast<char>(std::stoi(std::string(hex.substr(i, 2)), nullptr, 16)));
  }
  return out;
}

TEST(CryptoTest, Sha256KnownAnswers) {
  EXPECT_EQ(Sha256Hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(Sha256Hex(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(Sha256("abc").size(), kSha256Bytes);
  EXPECT_EQ(HexEncode(Sha256("abc")), Sha256Hex("abc"));
}

// RFC 4231 section 4: HMAC-SHA-256 test cases 1-7 (case 5 is truncated to 128 bits).
TEST(CryptoTest, HmacSha256Rfc4231Vectors) {
  struct Case {
    std::string key;
    std::string data;
    std::string_view mac_hex;
  };
  const std::vector<Case> cases = {
      {Repeat('\x0b', 20), "Hi There",
       "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7"},
      {"Jefe", "what do ya want for nothing?",
       "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"},
      {Repeat('\xaa', 20), Repeat('\xdd', 50),
       "773ea91e36800e46854db8ebd09181a72959098b3ef8c122d9635514ced565fe"},
      {Unhex("0102030405060708090a0b0c0d0e0f10111213141516171819"), Repeat('\xcd', 50),
       "82558a389a443c0ea4cc819899f2083a85f0faa3e578f8077a2e3ff46729665b"},
      {Repeat('\x0c', 20), "Test With Truncation", "a3b6167473100ee06e0c796c2955552b"},
      {Repeat('\xaa', 131), "Test Using Larger Than Block-Size Key - Hash Key First",
       "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54"},
      {Repeat('\xaa', 131),
       "This is a test using a larger than block-size key and a larger than block-size data. "
       "The key needs to be hashed before being used by the HMAC algorithm.",
       "9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2"},
  };
  for (std::size_t i = 0; i < cases.size(); ++i) {
    const std::string mac = HmacSha256(cases[i].key, cases[i].data);
    ASSERT_EQ(mac.size(), kSha256Bytes) << "case " << i + 1;
    EXPECT_EQ(HexEncode(mac).substr(0, cases[i].mac_hex.size()), cases[i].mac_hex)
        << "case " << i + 1;
  }
}

TEST(CryptoTest, HmacSha256AcceptsEmptyKeyAndData) {
  // HMAC_SHA256("", "") from Python's hmac module.
  EXPECT_EQ(HexEncode(HmacSha256("", "")),
            "b613679a0814d9ec772f95d778c35fc5ff1697c493715653c6c712144292c5ad");
}

// RFC 4648 section 10 vectors, both alphabets.
TEST(CryptoTest, Base64Rfc4648Vectors) {
  struct Case {
    std::string_view plain, base64, base64url;
  };
  const Case cases[] = {
      {"", "", ""},
      {"f", "Zg==", "Zg"},
      {"fo", "Zm8=", "Zm8"},
      {"foo", "Zm9v", "Zm9v"},
      {"foob", "Zm9vYg==", "Zm9vYg"},
      {"fooba", "Zm9vYmE=", "Zm9vYmE"},
      {"foobar", "Zm9vYmFy", "Zm9vYmFy"},
  };
  for (const Case& c : cases) {
    EXPECT_EQ(Base64Encode(c.plain), c.base64);
    EXPECT_EQ(Base64UrlEncode(c.plain), c.base64url);
    EXPECT_EQ(Base64Decode(c.base64), std::optional<std::string>(c.plain)) << c.base64;
    EXPECT_EQ(Base64UrlDecode(c.base64url), std::optional<std::string>(c.plain)) << c.base64url;
  }
}

TEST(CryptoTest, Base64UrlUsesUrlAlphabet) {
  const std::string bytes = "\xfb\xff";
  EXPECT_EQ(Base64UrlEncode(bytes), "-_8");
  EXPECT_EQ(Base64Encode(bytes), "+/8=");
  EXPECT_EQ(Base64UrlDecode("-_8"), std::optional<std::string>(bytes));
  EXPECT_EQ(Base64Decode("+/8="), std::optional<std::string>(bytes));

  std::string all;
  for (int i = 0; i < 256; ++i) all.push_back(static_cast<char>(i));
  EXPECT_EQ(Base64UrlDecode(Base64UrlEncode(all)), std::optional<std::string>(all));
  EXPECT_EQ(Base64Decode(Base64Encode(all)), std::optional<std::string>(all));
}

TEST(CryptoTest, Base64UrlDecodeIsStrict) {
  const std::string_view rejected[] = {
      "Zg==",       // padding
      "Zg=",        // padding
      "Z",          // impossible length
      "Zm9vY",      // impossible length
      "Zh",         // non-canonical: trailing bits set
      "Zm9",        // non-canonical: trailing bits set
      "Zm9v YmFy",  // whitespace
      "Zm9v\nYmFy", // newline
      " Zm9v",      // leading space
      "Zm+v",       // standard alphabet
      "Zm/v",       // standard alphabet
      "Zm9v\xff",   // non-ASCII
      std::string_view("Zm\0v", 4),  // NUL
      "Zm.v",       // JWS separator
  };
  for (std::string_view text : rejected) {
    EXPECT_EQ(Base64UrlDecode(text), std::nullopt) << '"' << text << '"';
  }
}

TEST(CryptoTest, Base64DecodeIsStrict) {
  const std::string_view rejected[] = {
      "Zg",        // missing padding
      "Zg=",       // short padding
      "Zh==",      // non-canonical
      "Zm9=",      // non-canonical
      "Z===",      // too much padding
      "====",      // only padding
      "Zg==Zg==",  // padding in the middle
      "-_8=",      // url alphabet
      "Zm9v\n",    // whitespace
  };
  for (std::string_view text : rejected) {
    EXPECT_EQ(Base64Decode(text), std::nullopt) << '"' << text << '"';
  }
}

TEST(CryptoTest, Base64UrlDecodeIntoChecksCapacity) {
  std::array<char, 6> out{};
  EXPECT_EQ(Base64UrlDecodeInto("Zm9vYmFy", out), std::optional<std::size_t>(6));
  EXPECT_EQ(std::string_view(out.data(), 6), "foobar");
  std::array<char, 5> small{};
  EXPECT_EQ(Base64UrlDecodeInto("Zm9vYmFy", small), std::nullopt);
  EXPECT_EQ(Base64UrlDecodeInto("Zh", out), std::nullopt);
  EXPECT_EQ(Base64UrlDecodedBytes(0), 0u);
  EXPECT_EQ(Base64UrlDecodedBytes(2), 1u);
  EXPECT_EQ(Base64UrlDecodedBytes(3), 2u);
  EXPECT_EQ(Base64UrlDecodedBytes(4), 3u);
  EXPECT_EQ(Base64UrlDecodedBytes(43), 32u);
}

TEST(CryptoTest, HexEncodeIsLowercase) {
  EXPECT_EQ(HexEncode(std::string_view("\x00\xff\x10\xab", 4)), "00ff10ab");
  EXPECT_EQ(HexEncode(""), "");
}

TEST(CryptoTest, ConstantTimeEquals) {
  EXPECT_TRUE(ConstantTimeEquals("", ""));
  EXPECT_TRUE(ConstantTimeEquals("secret", "secret"));
  EXPECT_FALSE(ConstantTimeEquals("secret", "secreT"));
  EXPECT_FALSE(ConstantTimeEquals("secret", "secret2"));
  EXPECT_FALSE(ConstantTimeEquals("", "x"));
}

}  // namespace
}  // namespace rtgw::crypto
