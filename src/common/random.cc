// libsodium-backed randomness.
#include "common/random.h"

#include <sodium.h>

#include <cstdlib>
#include <cstring>
#include <vector>

namespace tandem {

uint64_t Random::NextU64() {
  uint64_t v;
  Fill({reinterpret_cast<uint8_t*>(&v), sizeof v});
  return v;
}

uint64_t Random::Uniform(uint64_t bound) {
  // Rejection sampling avoids modulo bias.
  const uint64_t limit = UINT64_MAX - UINT64_MAX % bound;
  for (;;) {
    uint64_t v = NextU64();
    if (v < limit) return v % bound;
  }
}

std::string Random::Hex(size_t n) {
  std::vector<uint8_t> bytes(n);
  Fill(bytes);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out(2 * n, '0');
  for (size_t i = 0; i < n; ++i) {
    out[2 * i] = kHex[bytes[i] >> 4];
    out[2 * i + 1] = kHex[bytes[i] & 15];
  }
  return out;
}

std::string Random::Digits(int digits) {
  std::string out;
  for (int i = 0; i < digits; ++i) out.push_back(static_cast<char>('0' + Uniform(10)));
  return out;
}

SecureRandom::SecureRandom() {
  if (sodium_init() < 0) std::abort();  // No safe way to continue without an RNG.
}

void SecureRandom::Fill(std::span<uint8_t> out) { randombytes_buf(out.data(), out.size()); }

SecureRandom& SecureRandom::Instance() {
  static SecureRandom r;
  return r;
}

SeededRandom::SeededRandom(uint64_t seed) {
  if (sodium_init() < 0) std::abort();
  std::memcpy(seed_.data(), &seed, sizeof seed);
}

void SeededRandom::Fill(std::span<uint8_t> out) {
  std::lock_guard lock(mu_);
  // Each call draws from a fresh sub-stream keyed by (seed, counter).
  std::array<uint8_t, 32> key = seed_;
  uint64_t c = counter_++;
  std::memcpy(key.data() + 8, &c, sizeof c);
  randombytes_buf_deterministic(out.data(), out.size(), key.data());
}

}  // namespace tandem
