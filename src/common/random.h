// Randomness sources. Code that draws keys, codes or tokens takes a Random&
// so tests can replay a run with a seeded source.
#pragma once

#include <array>
#include <cstdint>
#include <mutex>
#include <span>
#include <string>

namespace tandem {

class Random {
 public:
  virtual ~Random() = default;
  // Fills `out` with random bytes. Thread-safe.
  virtual void Fill(std::span<uint8_t> out) = 0;

  uint64_t NextU64();
  // Uniform in [0, bound); bound must be > 0.
  uint64_t Uniform(uint64_t bound);
  // `n` random bytes as lowercase hex (2n characters).
  std::string Hex(size_t n);
  // `digits` decimal digits, e.g. a verification code.
  std::string Digits(int digits);
};

// Cryptographically secure randomness from libsodium (the OS generator).
class SecureRandom final : public Random {
 public:
  SecureRandom();
  void Fill(std::span<uint8_t> out) override;
  static SecureRandom& Instance();
};

// A deterministic stream (ChaCha20 keyed by the seed) for tests and
// benchmarks; never for production secrets.
class SeededRandom final : public Random {
 public:
  explicit SeededRandom(uint64_t seed);
  void Fill(std::span<uint8_t> out) override;

 private:
  std::mutex mu_;
  std::array<uint8_t, 32> seed_{};
  uint64_t counter_ = 0;
};

}  // namespace tandem
