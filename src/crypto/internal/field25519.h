// Arithmetic modulo p = 2^255 - 19, just enough to map between Montgomery
// u- and Edwards y-coordinates: for XEdDSA verification, and for fast X25519
// key generation through libsodium's fixed-base Edwards multiplication.
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

// u = (1 + y) / (1 - y) mod p for an Edwards y-coordinate (bit 255 of the
// input, the x sign, is ignored): the X25519 public key of the same point.
std::array<uint8_t, 32> EdwardsYToMontgomeryU(const std::array<uint8_t, 32>& y);

}  // namespace tandem::crypto::internal
