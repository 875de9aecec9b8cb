// Key encapsulation for PQXDH: ML-KEM-1024 (FIPS 203) and Kyber-1024 (the
// CRYSTALS-Kyber round-3 version libsignal calls "Kyber1024"), with keys and
// ciphertexts serialized as libsignal serializes them: a type byte (0x08
// Kyber-1024, 0x0A ML-KEM-1024) followed by the raw encoding.
//
//   public key   1 + 1568 bytes   ek = ByteEncode12(t̂) ‖ ρ
//   secret key   1 + 3168 bytes   dk = ByteEncode12(ŝ) ‖ ek ‖ H(ek) ‖ z
//   ciphertext   1 + 1568 bytes   the form a PreKeySignalMessage carries
//   shared secret    32 bytes
//
// All types are plain values, safe to copy and to use from any thread;
// secret keys are wiped from memory when destroyed. Encapsulation and
// decapsulation run in time independent of secret data.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "absl/status/statusor.h"
#include "common/random.h"

namespace tandem::crypto {

// libsignal's KeyType bytes (rust/protocol/src/kem.rs); 0x07 (Kyber-768) is
// not supported.
enum class KemKind : uint8_t { kKyber1024 = 0x08, kMlKem1024 = 0x0A };

inline constexpr size_t kKemPublicKeySize = 1568;   // raw, without the type byte
inline constexpr size_t kKemSecretKeySize = 3168;   // raw
inline constexpr size_t kKemCiphertextSize = 1568;  // raw
inline constexpr size_t kKemSharedSecretSize = 32;

using KemSharedSecret = std::array<uint8_t, kKemSharedSecretSize>;

class KemPublicKey {
 public:
  // Parses type byte ‖ raw key. Fails with InvalidArgument on an empty input,
  // an unknown type byte or a length that is not 1 + 1568. Like libsignal it
  // does not look inside the key; Encapsulate does (for ML-KEM).
  static absl::StatusOr<KemPublicKey> Deserialize(std::span<const uint8_t> serialized);
  // The raw 1568-byte key of the given kind.
  static absl::StatusOr<KemPublicKey> FromRaw(KemKind kind, std::span<const uint8_t> raw);

  std::vector<uint8_t> Serialize() const;
  KemKind kind() const { return kind_; }
  const std::vector<uint8_t>& raw() const { return raw_; }
  // H(ek) = SHA3-256 of the raw key, computed once when the key is made.
  const std::array<uint8_t, 32>& hash() const { return hash_; }
  // Whether every coefficient of t̂ is below q (FIPS 203 §7.2), also computed
  // once; Encapsulate refuses an ML-KEM key without it.
  bool canonical() const { return canonical_; }

  friend bool operator==(const KemPublicKey& a, const KemPublicKey& b) {
    return a.kind_ == b.kind_ && a.raw_ == b.raw_;
  }

 private:
  KemPublicKey(KemKind kind, std::vector<uint8_t> raw);

  KemKind kind_;
  std::vector<uint8_t> raw_;
  std::array<uint8_t, 32> hash_;
  bool canonical_;
};

class KemSecretKey {
 public:
  // Parses type byte ‖ raw key. Fails with InvalidArgument on an empty input,
  // an unknown type byte, a length that is not 1 + 3168, or a key whose
  // stored H(ek) is not the hash of the ek stored in it (FIPS 203 §7.3; a
  // key libsignal made always passes).
  static absl::StatusOr<KemSecretKey> Deserialize(std::span<const uint8_t> serialized);
  static absl::StatusOr<KemSecretKey> FromRaw(KemKind kind, std::span<const uint8_t> raw);

  KemSecretKey(const KemSecretKey&) = default;
  KemSecretKey& operator=(const KemSecretKey&) = default;
  KemSecretKey(KemSecretKey&&) = default;
  KemSecretKey& operator=(KemSecretKey&&) = default;
  ~KemSecretKey();

  std::vector<uint8_t> Serialize() const;
  KemKind kind() const { return kind_; }
  const std::vector<uint8_t>& raw() const { return raw_; }
  // The public key stored inside the secret key.
  KemPublicKey public_key() const;

  friend bool operator==(const KemSecretKey& a, const KemSecretKey& b) {
    return a.kind_ == b.kind_ && a.raw_ == b.raw_;
  }

 private:
  KemSecretKey(KemKind kind, std::vector<uint8_t> raw) : kind_(kind), raw_(std::move(raw)) {}

  KemKind kind_;
  std::vector<uint8_t> raw_;
};

struct KemKeyPair {
  KemPublicKey public_key;
  KemSecretKey secret_key;

  // Draws d and z (32 bytes each, in that order) from `random`.
  static KemKeyPair Generate(KemKind kind, Random& random);
};

struct KemEncapsulation {
  std::vector<uint8_t> ciphertext;  // type byte ‖ 1568 raw bytes
  KemSharedSecret shared_secret;
};

// Draws 32 bytes from `random` and encapsulates to `public_key`. For ML-KEM
// it first runs FIPS 203's encapsulation key check and fails with
// InvalidArgument on a key with a coefficient not below q.
absl::StatusOr<KemEncapsulation> Encapsulate(const KemPublicKey& public_key, Random& random);

// Decapsulates a ciphertext serialized as Encapsulate returns it. Fails with
// InvalidArgument on an empty input, an unknown type byte, a type byte that
// is not the key's, or a wrong length. A ciphertext of the right form that
// was not made for this key is not an error: it yields the implicit
// rejection key, a value the sender cannot predict, as the standard does.
absl::StatusOr<KemSharedSecret> Decapsulate(const KemSecretKey& secret_key,
                                            std::span<const uint8_t> ciphertext);

}  // namespace tandem::crypto
