// Curve25519 keys as the Signal Protocol uses them: X25519 key pairs whose
// public half is serialized as 33 bytes (the 0x05 "DJB" type byte followed by
// the 32-byte u-coordinate), identity keys, signed and one-time prekeys, and
// the prekey bundle a server hands out to start a session.
//
// All types are plain values, safe to copy and to use from any thread.
// Private keys are wiped from memory when destroyed.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include "absl/status/statusor.h"
#include "common/random.h"
#include "crypto/kem.h"

namespace tandem::crypto {

inline constexpr uint8_t kDjbKeyType = 0x05;
inline constexpr size_t kKeySize = 32;            // raw X25519 key
inline constexpr size_t kSerializedKeySize = 33;  // type byte + raw key
inline constexpr size_t kSignatureSize = 64;      // XEdDSA signature

using Signature = std::array<uint8_t, kSignatureSize>;

// An X25519 public key.
class PublicKey {
 public:
  // The all-zero key; only useful as a placeholder before assignment.
  PublicKey() = default;
  explicit PublicKey(const std::array<uint8_t, kKeySize>& raw) : raw_(raw) {}

  // Parses the 33-byte form (0x05 || u). Fails with InvalidArgument on a wrong
  // length or type byte.
  static absl::StatusOr<PublicKey> Deserialize(std::span<const uint8_t> bytes);

  std::array<uint8_t, kSerializedKeySize> Serialize() const;
  const std::array<uint8_t, kKeySize>& raw() const { return raw_; }

  friend bool operator==(const PublicKey&, const PublicKey&) = default;

 private:
  std::array<uint8_t, kKeySize> raw_{};
};

// An X25519 private key (32 bytes, clamped on use as X25519 specifies).
class PrivateKey {
 public:
  PrivateKey() = default;
  explicit PrivateKey(const std::array<uint8_t, kKeySize>& raw) : raw_(raw) {}
  PrivateKey(const PrivateKey&) = default;
  PrivateKey& operator=(const PrivateKey&) = default;
  ~PrivateKey();

  static absl::StatusOr<PrivateKey> Deserialize(std::span<const uint8_t> bytes);
  const std::array<uint8_t, kKeySize>& raw() const { return raw_; }

  friend bool operator==(const PrivateKey&, const PrivateKey&) = default;

 private:
  std::array<uint8_t, kKeySize> raw_{};
};

struct KeyPair {
  PublicKey public_key;
  PrivateKey private_key;

  // Draws a fresh key pair from `random`.
  static KeyPair Generate(Random& random);
  // Recomputes the public half of `private_key`.
  static KeyPair FromPrivate(const PrivateKey& private_key);

  friend bool operator==(const KeyPair&, const KeyPair&) = default;
};

// A long-term identity key pair; identity keys sign prekeys with XEdDSA.
using IdentityKeyPair = KeyPair;

// X25519 agreement. Fails with InvalidArgument if the result is all zeros
// (a small-order public key), which the protocol must not accept.
absl::StatusOr<std::array<uint8_t, kKeySize>> Agree(const PrivateKey& ours, const PublicKey& theirs);

// Registration ids are 14-bit, never 0 (as Signal clients generate them).
uint32_t GenerateRegistrationId(Random& random);

struct SignedPreKey {
  uint32_t id = 0;
  KeyPair key_pair;
  // XEdDSA signature by the identity key over key_pair.public_key.Serialize().
  Signature signature{};
};

struct OneTimePreKey {
  uint32_t id = 0;
  KeyPair key_pair;
};

// A signed prekey with id `id`, signed by `identity`.
SignedPreKey GenerateSignedPreKey(const IdentityKeyPair& identity, uint32_t id, Random& random);

// `count` one-time prekeys with consecutive ids from `first_id`, wrapping
// below 2^24 as Signal clients do and skipping 0 (which some peers read as
// "no prekey").
std::vector<OneTimePreKey> GenerateOneTimePreKeys(uint32_t first_id, size_t count, Random& random);

// A signed Kyber prekey (PQXDH): a KEM key pair signed by the identity key.
// One-time Kyber prekeys are used once, like one-time EC prekeys; the
// last-resort one is handed out when those run out and may be used by many
// sessions.
struct KyberPreKey {
  uint32_t id = 0;
  KemKeyPair key_pair;
  // XEdDSA signature by the identity key over key_pair.public_key.Serialize()
  // (all 1 + 1568 bytes, the type byte included).
  Signature signature{};
};

// A Kyber-1024 prekey with id `id`, signed by `identity`. (Kyber-1024 is
// what libsignal's clients generate and accept; see kem.h.)
KyberPreKey GenerateKyberPreKey(const IdentityKeyPair& identity, uint32_t id, Random& random,
                                KemKind kind = KemKind::kKyber1024);

// `count` Kyber prekeys with consecutive ids from `first_id`, numbered like
// GenerateOneTimePreKeys.
std::vector<KyberPreKey> GenerateKyberPreKeys(const IdentityKeyPair& identity, uint32_t first_id,
                                              size_t count, Random& random);

// The public half of a signed Kyber prekey, as published.
struct PublicKyberPreKey {
  uint32_t id = 0;
  KemPublicKey key;
  Signature signature{};
};

// The public half of a prekey, as published.
struct PublicPreKey {
  uint32_t id = 0;
  PublicKey key;
};

// What a server returns for one device of a user: enough to start a session
// without that device being online.
struct PreKeyBundle {
  uint32_t registration_id = 0;
  uint32_t device_id = 1;
  PublicKey identity_key;
  PublicPreKey signed_prekey;
  Signature signed_prekey_signature{};
  std::optional<PublicPreKey> one_time_prekey;
  // Present when the device published Kyber prekeys: a session started from
  // this bundle is a version 4 (PQXDH) session; without it, version 3.
  std::optional<PublicKyberPreKey> kyber_prekey;
};

// Builds the bundle that publishes `signed_prekey` (and optionally one
// one-time prekey and one Kyber prekey) for `identity`.
PreKeyBundle MakePreKeyBundle(uint32_t registration_id, uint32_t device_id, const PublicKey& identity,
                              const SignedPreKey& signed_prekey, const OneTimePreKey* one_time_prekey,
                              const KyberPreKey* kyber_prekey = nullptr);

}  // namespace tandem::crypto
