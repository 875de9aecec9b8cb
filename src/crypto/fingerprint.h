// Safety numbers: Signal's numeric fingerprint (version 0), 60 decimal
// digits that two users compare to verify each other's identity keys.
//
// Each side contributes 30 digits: H = SHA-512 iterated `iterations` times,
// starting from version (2 bytes, 0) || identity key (33 bytes) || stable
// identifier, each round hashing the previous output || identity key; the
// first 30 bytes of H, in six 5-byte big-endian chunks taken mod 100000,
// give six 5-digit groups. The two halves are ordered lexicographically, so
// both users see the same number.
#pragma once

#include <string>
#include <string_view>

#include "crypto/keys.h"

namespace tandem::crypto {

inline constexpr int kFingerprintIterations = 5200;

// The 30-digit half of a safety number for one identity. `stable_id` is the
// user's stable identifier, e.g. an E.164 phone number.
std::string FingerprintHalf(std::string_view stable_id, const PublicKey& identity_key,
                            int iterations = kFingerprintIterations);

// The 60-digit safety number; symmetric in local and remote.
std::string SafetyNumber(std::string_view local_id, const PublicKey& local_key, std::string_view remote_id,
                         const PublicKey& remote_key, int iterations = kFingerprintIterations);

}  // namespace tandem::crypto
