// The module-lattice KEM at its 1024 parameter set (k = 4, η1 = η2 = 2,
// du = 11, dv = 5) in the two variants Signal uses:
//
//  - ML-KEM-1024 as FIPS 203 (August 2024) specifies it;
//  - Kyber-1024 as the CRYSTALS-Kyber round-3 submission specifies it (the
//    SHA3/SHAKE version, not "90s"): K-PKE keys from G(d) without the k byte,
//    encapsulation hashes its coins m with H first, and the shared secret is
//    SHAKE256(K̄ ‖ H(c)), or SHAKE256(z ‖ H(c)) on implicit rejection.
//
// Both share K-PKE byte for byte apart from key generation's G input, and the
// same key and ciphertext layouts: ek = ByteEncode12(t̂) ‖ ρ,
// dk = ByteEncode12(ŝ) ‖ ek ‖ H(ek) ‖ z.
//
// These are the raw algorithms with their random inputs passed in, so
// known-answer tests can pin them down; crypto/kem.h is the API that draws
// the randomness and handles Signal's type bytes. Nothing here branches on or
// indexes memory by secret data. Thread-safe.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

namespace tandem::crypto::internal::mlkem {

enum class Variant { kKyberRound3, kMlKem };

inline constexpr size_t kSeedSize = 32;  // d, z and m
inline constexpr size_t kPublicKeySize = 1568;
inline constexpr size_t kSecretKeySize = 3168;
inline constexpr size_t kCiphertextSize = 1568;
inline constexpr size_t kSharedSecretSize = 32;

using Seed = std::span<const uint8_t, kSeedSize>;
using PublicKeyView = std::span<const uint8_t, kPublicKeySize>;
using SecretKeyView = std::span<const uint8_t, kSecretKeySize>;
using CiphertextView = std::span<const uint8_t, kCiphertextSize>;

// ML-KEM.KeyGen_internal(d, z) (FIPS 203 Algorithm 16), or Kyber's
// CCAKEM.KeyGen with d and z as its two 32-byte random draws, in that order.
void KeyGen(Variant variant, Seed d, Seed z, std::span<uint8_t, kPublicKeySize> public_key,
            std::span<uint8_t, kSecretKeySize> secret_key);

// FIPS 203 §7.2 encapsulation key check: every 12-bit coefficient of t̂ is
// below q. Kyber round 3 has no such check (its decoding reduces mod q).
bool PublicKeyIsCanonical(PublicKeyView public_key);

// FIPS 203 §7.3 hash check: the H(ek) stored in the secret key matches the ek
// stored beside it.
bool SecretKeyHashMatches(SecretKeyView secret_key);

// The SHA3-256 hash H(ek) of a public key.
void HashPublicKey(PublicKeyView public_key, std::span<uint8_t, 32> out);

// ML-KEM.Encaps_internal(ek, m) (Algorithm 17), or Kyber's CCAKEM.Enc with
// `m` its 32 random bytes (hashed with H before use, as round 3 does).
// `public_key_hash` is H(ek), which callers keep with the key. The modulus
// check is the caller's (PublicKeyIsCanonical).
void Encapsulate(Variant variant, PublicKeyView public_key, std::span<const uint8_t, 32> public_key_hash,
                 Seed m, std::span<uint8_t, kCiphertextSize> ciphertext,
                 std::span<uint8_t, kSharedSecretSize> shared_secret);

// ML-KEM.Decaps_internal(dk, c) (Algorithm 18), or Kyber's CCAKEM.Dec. Never
// fails: a ciphertext that does not re-encrypt to itself yields the implicit
// rejection key, J(z ‖ c) for ML-KEM and SHAKE256(z ‖ H(c)) for Kyber, chosen
// without a branch.
void Decapsulate(Variant variant, SecretKeyView secret_key, CiphertextView ciphertext,
                 std::span<uint8_t, kSharedSecretSize> shared_secret);

}  // namespace tandem::crypto::internal::mlkem
