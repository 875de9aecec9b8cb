// XEdDSA (Signal's "XEdDSA and VXEdDSA" specification, revision 1) on
// Curve25519: Ed25519-compatible signatures made with an X25519 private key
// and checked against an X25519 public key, so one identity key serves both
// key agreement and prekey signatures.
//
// Signing follows the specification exactly (the Edwards public key is
// forced to sign bit 0 and the nonce is hash1(a || M || Z) with 64 random
// bytes Z). Verification also accepts the encoding other Signal libraries
// produce, where the sign bit of the signer's Edwards key travels in the
// otherwise unused top bit of s; for signatures with that bit clear it is
// exactly the specification's xeddsa_verify.
#pragma once

#include <span>

#include "common/random.h"
#include "crypto/keys.h"

namespace tandem::crypto {

Signature XEdDSASign(const PrivateKey& key, std::span<const uint8_t> message, Random& random);

// True if `signature` (64 bytes) is a valid signature of `message` by `key`.
bool XEdDSAVerify(const PublicKey& key, std::span<const uint8_t> message, std::span<const uint8_t> signature);

}  // namespace tandem::crypto
