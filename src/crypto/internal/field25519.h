// Arithmetic modulo p = 2^255 - 19, just enough to map a Montgomery
// u-coordinate to an Edwards y-coordinate for XEdDSA verification.
// libsodium keeps its field operations private, hence this small copy of the
// textbook radix-2^51 representation. Only public values pass through it, so
// it makes no constant-time promises.
#pragma once

#include <array>
#include <cstdint>

namespace tandem::crypto::internal {

// True if the little-endian 32-byte value is < p (and so bit 255 is clear).
bool IsCanonicalFieldElement(const std::array<uint8_t, 32>& bytes);

// y = (u - 1) / (u + 1) mod p, little-endian, bit 255 clear. For u = p - 1
// the inverse of 0 is taken as 0, so y = 0. `u` must be canonical.
std::array<uint8_t, 32> MontgomeryUToEdwardsY(const std::array<uint8_t, 32>& u);

}  // namespace tandem::crypto::internal
