#ifndef RTGW_COMMON_RANDOM_HPP_
#define RTGW_COMMON_RANDOM_HPP_

#include <cstddef>
#include <string>

namespace rtgw {

// Cryptographically secure random bytes from the kernel (getrandom(2)).
// Requests of up to 64 bytes come from a per-thread 4 KiB buffer of such
// bytes (refilled after fork in the child), so ids cost no syscall each.
// Safe for concurrent use. Aborts if the kernel cannot provide entropy.
void FillRandom(void* out, std::size_t len);

// `bytes` random bytes as lowercase hex (2*bytes characters).
std::string RandomHex(std::size_t bytes);

// RFC 9562 UUID version 4, lowercase canonical form.
std::string NewUuidV4();

}  // namespace rtgw

#endif  // RTGW_COMMON_RANDOM_HPP_
