// Numeric fingerprints (safety numbers); see fingerprint.h.
#include "crypto/fingerprint.h"

#include <cstdio>

#include "crypto/internal/primitives.h"

namespace tandem::crypto {

std::string FingerprintHalf(std::string_view stable_id, const PublicKey& identity_key, int iterations) {
  static constexpr uint8_t kVersion[2] = {0, 0};
  const auto key = identity_key.Serialize();
  const internal::ByteSpan id(reinterpret_cast<const uint8_t*>(stable_id.data()), stable_id.size());
  auto hash = internal::Sha512({kVersion, key, id, key});
  for (int i = 1; i < iterations; ++i) hash = internal::Sha512({hash, key});
  std::string out;
  out.reserve(30);
  for (int chunk = 0; chunk < 6; ++chunk) {
    uint64_t v = 0;
    for (int b = 0; b < 5; ++b) v = (v << 8) | hash[chunk * 5 + b];
    char digits[6];
    std::snprintf(digits, sizeof digits, "%05u", static_cast<unsigned>(v % 100000));
    out += digits;
  }
  return out;
}

std::string SafetyNumber(std::string_view local_id, const PublicKey& local_key, std::string_view remote_id,
                         const PublicKey& remote_key, int iterations) {
  std::string local = FingerprintHalf(local_id, local_key, iterations);
  std::string remote = FingerprintHalf(remote_id, remote_key, iterations);
  return local <= remote ? local + remote : remote + local;
}

}  // namespace tandem::crypto
