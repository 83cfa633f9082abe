#include "crypto/crypto.hpp"

#include <array>
#include <climits>
#include <cstdint>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

namespace rtgw::crypto {
namespace {

constexpr std::string_view kBase64UrlAlphabet =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
constexpr std::string_view kBase64Alphabet =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
constexpr std::int8_t kInvalid = -1;

using DecodeTable = std::array<std::int8_t, 256>;

constexpr DecodeTable MakeDecodeTable(std::string_view alphabet) {
  DecodeTable table{};
  for (auto& entry : table) entry = kInvalid;
  for (std::size_t i = 0; i < alphabet.size(); ++i) {
    table[static_cast<unsigned char>(alphabet[i])] = static_cast<std::int8_t>(i);
  }
  return table;
}

constexpr DecodeTable kBase64UrlTable = MakeDecodeTable(kBase64UrlAlphabet);
constexpr DecodeTable kBase64Table = MakeDecodeTable(kBase64Alphabet);

const unsigned char* Bytes(std::string_view data) {
  // OpenSSL wants a non-null pointer even for empty input.
  static constexpr unsigned char kEmpty[1] = {0};
  return data.empty() ? kEmpty : reinterpret_cast<const unsigned char*>(data.data());
}

// The implicit fetch behind EVP_sha256() costs a method-store lookup on every
// call in OpenSSL 3; fetch once. The pointer is intentionally never freed.
const EVP_MD* Sha256Md() {
  static const EVP_MD* const md = [] {
    const EVP_MD* fetched = EVP_MD_fetch(nullptr, "SHA256", nullptr);
    return fetched != nullptr ? fetched : EVP_sha256();
  }();
  return md;
}

std::string EncodeWith(std::string_view data, std::string_view alphabet, bool pad) {
  std::string out;
  out.reserve((data.size() + 2) / 3 * 4);
  std::size_t i = 0;
  for (; i + 3 <= data.size(); i += 3) {
    const std::uint32_t n = (std::uint32_t{static_cast<unsigned char>(data[i])} << 16) |
                            (std::uint32_t{static_cast<unsigned char>(data[i + 1])} << 8) |
                            std::uint32_t{static_cast<unsigned char>(data[i + 2])};
    out.push_back(alphabet[(n >> 18) & 63]);
    out.push_back(alphabet[(n >> 12) & 63]);
    out.push_back(alphabet[(n >> 6) & 63]);
    out.push_back(alphabet[n & 63]);
  }
  const std::size_t rest = data.size() - i;
  if (rest == 1) {
    const std::uint32_t n = std::uint32_t{static_cast<unsigned char>(data[i])} << 16;
    out.push_back(alphabet[(n >> 18) & 63]);
    out.push_back(alphabet[(n >> 12) & 63]);
    if (pad) out.append("==");
  } else if (rest == 2) {
    const std::uint32_t n = (std::uint32_t{static_cast<unsigned char>(data[i])} << 16) |
                            (std::uint32_t{static_cast<unsigned char>(data[i + 1])} << 8);
    out.push_back(alphabet[(n >> 18) & 63]);
    out.push_back(alphabet[(n >> 12) & 63]);
    out.push_back(alphabet[(n >> 6) & 63]);
    if (pad) out.push_back('=');
  }
  return out;
}

// Decodes unpadded text. Strict: every character must be in `table`, a
// trailing group of 1 character is impossible, and the unused low bits of the
// last character must be zero, so every byte string has exactly one encoding.
std::optional<std::size_t> DecodeUnpadded(std::string_view text, const DecodeTable& table,
                                          std::span<char> out) {
  const std::size_t rest = text.size() % 4;
  if (rest == 1) return std::nullopt;
  const std::size_t size = Base64UrlDecodedBytes(text.size());
  if (out.size() < size) return std::nullopt;

  std::size_t o = 0;
  std::size_t i = 0;
  for (; i + 4 <= text.size(); i += 4) {
    const int a = table[static_cast<unsigned char>(text[i])];
    const int b = table[static_cast<unsigned char>(text[i + 1])];
    const int c = table[static_cast<unsigned char>(text[i + 2])];
    const int d = table[static_cast<unsigned char>(text[i + 3])];
    if ((a | b | c | d) < 0) return std::nullopt;
    const auto n = static_cast<std::uint32_t>((a << 18) | (b << 12) | (c << 6) | d);
    out[o++] = static_cast<char>(n >> 16);
    out[o++] = static_cast<char>((n >> 8) & 0xff);
    out[o++] = static_cast<char>(n & 0xff);
  }
  if (rest == 2) {
    const int a = table[static_cast<unsigned char>(text[i])];
    const int b = table[static_cast<unsigned char>(text[i + 1])];
    if ((a | b) < 0 || (b & 0x0f) != 0) return std::nullopt;
    out[o++] = static_cast<char>((a << 2) | (b >> 4));
  } else if (rest == 3) {
    const int a = table[static_cast<unsigned char>(text[i])];
    const int b = table[static_cast<unsigned char>(text[i + 1])];
    const int c = table[static_cast<unsigned char>(text[i + 2])];
    if ((a | b | c) < 0 || (c & 0x03) != 0) return std::nullopt;
    out[o++] = static_cast<char>((a << 2) | (b >> 4));
    out[o++] = static_cast<char>(((b & 0x0f) << 4) | (c >> 2));
  }
  return o;
}

std::optional<std::string> DecodeToString(std::string_view text, const DecodeTable& table) {
  std::string out(Base64UrlDecodedBytes(text.size()), '\0');
  const auto size = DecodeUnpadded(text, table, out);
  if (!size) return std::nullopt;
  out.resize(*size);
  return out;
}

}  // namespace

std::string Sha256(std::string_view data) {
  std::string out(kSha256Bytes, '\0');
  unsigned int size = 0;
  if (EVP_Digest(Bytes(data), data.size(), reinterpret_cast<unsigned char*>(out.data()), &size,
                 Sha256Md(), nullptr) != 1 ||
      size != kSha256Bytes) {
    // Only on allocation failure inside OpenSSL; there is no sane fallback.
    OPENSSL_die("EVP_Digest(SHA256) failed", __FILE__, __LINE__);
  }
  return out;
}

std::string Sha256Hex(std::string_view data) { return HexEncode(Sha256(data)); }

std::string HmacSha256(std::string_view key, std::string_view data) {
  std::string out(kSha256Bytes, '\0');
  unsigned int size = 0;
  if (key.size() > static_cast<std::size_t>(INT_MAX) ||
      HMAC(Sha256Md(), Bytes(key), static_cast<int>(key.size()), Bytes(data), data.size(),
           reinterpret_cast<unsigned char*>(out.data()), &size) == nullptr ||
      size != kSha256Bytes) {
    OPENSSL_die("HMAC(SHA256) failed", __FILE__, __LINE__);
  }
  return out;
}

std::string Base64UrlEncode(std::string_view data) {
  return EncodeWith(data, kBase64UrlAlphabet, /*pad=*/false);
}

std::optional<std::string> Base64UrlDecode(std::string_view text) {
  return DecodeToString(text, kBase64UrlTable);
}

std::optional<std::size_t> Base64UrlDecodeInto(std::string_view text, std::span<char> out) {
  return DecodeUnpadded(text, kBase64UrlTable, out);
}

std::string Base64Encode(std::string_view data) {
  return EncodeWith(data, kBase64Alphabet, /*pad=*/true);
}

std::optional<std::string> Base64Decode(std::string_view text) {
  if (text.size() % 4 != 0) return std::nullopt;
  // Strip at most two '=' and only from the end; any other '=' is outside the
  // alphabet and rejected by the unpadded decoder.
  std::size_t pad = 0;
  while (pad < 2 && pad < text.size() && text[text.size() - 1 - pad] == '=') ++pad;
  return DecodeToString(text.substr(0, text.size() - pad), kBase64Table);
}

std::string HexEncode(std::string_view data) {
  static constexpr std::string_view kDigits = "0123456789abcdef";
  std::string out;
  out.resize(data.size() * 2);
  for (std::size_t i = 0; i < data.size(); ++i) {
    const auto byte = static_cast<unsigned char>(data[i]);
    out[2 * i] = kDigits[byte >> 4];
    out[2 * i + 1] = kDigits[byte & 0x0f];
  }
  return out;
}

bool ConstantTimeEquals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  return CRYPTO_memcmp(Bytes(a), Bytes(b), a.size()) == 0;
}

}  // namespace rtgw::crypto
