#include "common/random.hpp"

#include <pthread.h>
#include <sys/random.h>

#include <atomic>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace rtgw {
namespace {

void FillFromKernel(unsigned char* p, std::size_t len) {
  while (len > 0) {
    ssize_t n = getrandom(p, len, 0);
    if (n < 0) {
      if (errno == EINTR) continue;
      std::perror("getrandom");
      std::abort();
    }
    p += n;
    len -= static_cast<std::size_t>(n);
  }
}

// Bumped in every child after fork(), so a child never hands out bytes its
// parent's buffer also holds.
std::atomic<unsigned> g_fork_generation{0};

struct ForkHook {
  ForkHook() {
    pthread_atfork(nullptr, nullptr,
                   [] { g_fork_generation.fetch_add(1, std::memory_order_relaxed); });
  }
};

// Small requests (trace ids, UUIDs: two per request on the hot path) are
// served from a per-thread buffer of kernel randomness, refilled 4 KiB at a
// time: one getrandom(2) call per ~250 ids instead of one per id. Bytes are
// used once and wiped as they are handed out.
class RandomPool {
 public:
  static constexpr std::size_t kSize = 4096;
  static constexpr std::size_t kMaxRequest = 64;

  void Take(unsigned char* out, std::size_t len) {
    const unsigned gen = g_fork_generation.load(std::memory_order_relaxed);
    if (gen != generation_ || kSize - used_ < len) {
      FillFromKernel(buf_, kSize);
      used_ = 0;
      generation_ = gen;
    }
    std::memcpy(out, buf_ + used_, len);
    std::memset(buf_ + used_, 0, len);
    used_ += len;
  }

 private:
  unsigned char buf_[kSize];
  std::size_t used_ = kSize;  // empty until the first Take
  unsigned generation_ = 0;
};

}  // namespace

void FillRandom(void* out, std::size_t len) {
  static const ForkHook kHook;
  auto* p = static_cast<unsigned char*>(out);
  if (len <= RandomPool::kMaxRequest) {
    thread_local RandomPool pool;
    pool.Take(p, len);
    return;
  }
  FillFromKernel(p, len);
}

std::string RandomHex(std::size_t bytes) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string raw(bytes, '\0');
  FillRandom(raw.data(), raw.size());
  std::string out;
  out.reserve(bytes * 2);
  for (unsigned char c : raw) {
    out.push_back(kHex[c >> 4]);
    out.push_back(kHex[c & 0xF]);
  }
  return out;
}

std::string NewUuidV4() {
  std::uint8_t b[16];
  FillRandom(b, sizeof b);
  b[6] = static_cast<std::uint8_t>((b[6] & 0x0F) | 0x40);
  b[8] = static_cast<std::uint8_t>((b[8] & 0x3F) | 0x80);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(36);
  for (int i = 0; i < 16; ++i) {
    if (i == 4 || i == 6 || i == 8 || i == 10) out.push_back('-');
    out.push_back(kHex[b[i] >> 4]);
    out.push_back(kHex[b[i] & 0xF]);
  }
  return out;
}

}  // namespace rtgw
