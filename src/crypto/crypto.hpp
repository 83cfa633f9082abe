#ifndef RTGW_CRYPTO_CRYPTO_HPP_
#define RTGW_CRYPTO_CRYPTO_HPP_

#include <cstddef>
#include <optional>
#include <span>
#include <string>
#include <string_view>

// Small hashing/encoding helpers over OpenSSL 3. The only place, with
// auth/, that includes OpenSSL headers. All functions are pure and safe for
// concurrent use.
namespace rtgw::crypto {

inline constexpr std::size_t kSha256Bytes = 32;

// SHA-256 digest: 32 raw bytes / 64 lowercase hex characters.
std::string Sha256(std::string_view data);
std::string Sha256Hex(std::string_view data);

// HMAC-SHA256(key, data): 32 raw bytes.
std::string HmacSha256(std::string_view key, std::string_view data);

// RFC 4648 section 5 base64url without padding. Decode rejects padding,
// whitespace and characters outside the alphabet, and non-canonical trailing bits.
std::string Base64UrlEncode(std::string_view data);
std::optional<std::string> Base64UrlDecode(std::string_view text);

// Decoded size of a valid unpadded base64url text of `text_bytes` characters
// (an upper bound when the text is invalid).
constexpr std::size_t Base64UrlDecodedBytes(std::size_t text_bytes) { return text_bytes / 4 * 3 + text_bytes % 4 * 3 / 4; }

// Allocation-free Base64UrlDecode into `out`, with the same strictness.
// Returns the number of bytes written, or nullopt when `text` is invalid or
// `out` is smaller than Base64UrlDecodedBytes(text.size()).
std::optional<std::size_t> Base64UrlDecodeInto(std::string_view text, std::span<char> out);

// RFC 4648 section 4 standard base64 with padding. Decode requires the
// padding, and rejects whitespace and non-canonical trailing bits.
std::string Base64Encode(std::string_view data);
std::optional<std::string> Base64Decode(std::string_view text);

// Lowercase hex.
std::string HexEncode(std::string_view data);

// Constant-time comparison (time depends only on the lengths).
bool ConstantTimeEquals(std::string_view a, std::string_view b);

}  // namespace rtgw::crypto

#endif  // RTGW_CRYPTO_CRYPTO_HPP_
