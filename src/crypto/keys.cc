// Curve25519 key handling on libsodium; see keys.h.
#include "crypto/keys.h"

#include <sodium.h>

#include <cstring>

#include "absl/status/status.h"
#include "crypto/internal/field25519.h"
#include "crypto/internal/primitives.h"
#include "crypto/internal/sodium.h"
#include "crypto/xeddsa.h"

namespace tandem::crypto {

absl::StatusOr<PublicKey> PublicKey::Deserialize(std::span<const uint8_t> bytes) {
  if (bytes.size() != kSerializedKeySize) {
    return absl::InvalidArgumentError("public key must be 33 bytes");
  }
  if (bytes[0] != kDjbKeyType) {
    return absl::InvalidArgumentError("public key has unknown type byte (want 0x05)");
  }
  std::array<uint8_t, kKeySize> raw;
  std::memcpy(raw.data(), bytes.data() + 1, kKeySize);
  return PublicKey(raw);
}

std::array<uint8_t, kSerializedKeySize> PublicKey::Serialize() const {
  std::array<uint8_t, kSerializedKeySize> out;
  out[0] = kDjbKeyType;
  std::memcpy(out.data() + 1, raw_.data(), kKeySize);
  return out;
}

PrivateKey::~PrivateKey() { internal::Wipe(raw_); }

absl::StatusOr<PrivateKey> PrivateKey::Deserialize(std::span<const uint8_t> bytes) {
  if (bytes.size() != kKeySize) return absl::InvalidArgumentError("private key must be 32 bytes");
  std::array<uint8_t, kKeySize> raw;
  std::memcpy(raw.data(), bytes.data(), kKeySize);
  PrivateKey key(raw);
  internal::Wipe(raw);
  return key;
}

KeyPair KeyPair::Generate(Random& random) {
  std::array<uint8_t, kKeySize> raw;
  random.Fill(raw);
  // Stored clamped, as other Signal implementations store them.
  raw[0] &= 248;
  raw[31] &= 127;
  raw[31] |= 64;
  KeyPair pair = FromPrivate(PrivateKey(raw));
  internal::Wipe(raw);
  return pair;
}

KeyPair KeyPair::FromPrivate(const PrivateKey& private_key) {
  internal::EnsureSodium();
  // X25519's k*B computed on the birationally equivalent Edwards curve, whose
  // fixed-base multiplication uses precomputed tables and is about twice as
  // fast as the Montgomery ladder; the result is mapped back to u.
  std::array<uint8_t, kKeySize> scalar = private_key.raw();
  scalar[0] &= 248;
  scalar[31] &= 127;
  scalar[31] |= 64;
  std::array<uint8_t, kKeySize> edwards;
  // Only fails for a zero scalar, which clamping rules out.
  if (crypto_scalarmult_ed25519_base_noclamp(edwards.data(), scalar.data()) != 0) std::abort();
  internal::Wipe(scalar);
  return KeyPair{PublicKey(internal::EdwardsYToMontgomeryU(edwards)), private_key};
}

absl::StatusOr<std::array<uint8_t, kKeySize>> Agree(const PrivateKey& ours, const PublicKey& theirs) {
  internal::EnsureSodium();
  std::array<uint8_t, kKeySize> shared;
  if (crypto_scalarmult_curve25519(shared.data(), ours.raw().data(), theirs.raw().data()) != 0) {
    return absl::InvalidArgumentError("X25519 agreement with a small-order public key");
  }
  return shared;
}

uint32_t GenerateRegistrationId(Random& random) { return static_cast<uint32_t>(random.Uniform(16380)) + 1; }

SignedPreKey GenerateSignedPreKey(const IdentityKeyPair& identity, uint32_t id, Random& random) {
  SignedPreKey out;
  out.id = id;
  out.key_pair = KeyPair::Generate(random);
  out.signature = XEdDSASign(identity.private_key, out.key_pair.public_key.Serialize(), random);
  return out;
}

namespace {

// `count` consecutive prekey ids from `first_id`, wrapping below 2^24 as
// Signal clients do and skipping 0, which some peers read as "no prekey".
std::vector<uint32_t> PreKeyIds(uint32_t first_id, size_t count) {
  constexpr uint32_t kIdModulus = 0xFFFFFE;  // Signal's Medium.MAX_VALUE
  std::vector<uint32_t> ids;
  ids.reserve(count);
  uint32_t id = first_id % kIdModulus;
  for (size_t i = 0; i < count; ++i) {
    if (id == 0) id = 1;
    ids.push_back(id);
    id = (id + 1) % kIdModulus;
  }
  return ids;
}

}  // namespace

std::vector<OneTimePreKey> GenerateOneTimePreKeys(uint32_t first_id, size_t count, Random& random) {
  std::vector<OneTimePreKey> out;
  out.reserve(count);
  for (uint32_t id : PreKeyIds(first_id, count)) out.push_back(OneTimePreKey{id, KeyPair::Generate(random)});
  return out;
}

PreKeyBundle MakePreKeyBundle(uint32_t registration_id, uint32_t device_id, const PublicKey& identity,
                              const SignedPreKey& signed_prekey, const OneTimePreKey* one_time_prekey,
                              const KyberPreKey* kyber_prekey) {
  PreKeyBundle bundle;
  bundle.registration_id = registration_id;
  bundle.device_id = device_id;
  bundle.identity_key = identity;
  bundle.signed_prekey = PublicPreKey{signed_prekey.id, signed_prekey.key_pair.public_key};
  bundle.signed_prekey_signature = signed_prekey.signature;
  if (one_time_prekey != nullptr) {
    bundle.one_time_prekey = PublicPreKey{one_time_prekey->id, one_time_prekey->key_pair.public_key};
  }
  if (kyber_prekey != nullptr) {
    bundle.kyber_prekey =
        PublicKyberPreKey{kyber_prekey->id, kyber_prekey->key_pair.public_key, kyber_prekey->signature};
  }
  return bundle;
}

KyberPreKey GenerateKyberPreKey(const IdentityKeyPair& identity, uint32_t id, Random& random, KemKind kind) {
  KemKeyPair key_pair = KemKeyPair::Generate(kind, random);
  Signature signature = XEdDSASign(identity.private_key, key_pair.public_key.Serialize(), random);
  return KyberPreKey{id, std::move(key_pair), signature};
}

std::vector<KyberPreKey> GenerateKyberPreKeys(const IdentityKeyPair& identity, uint32_t first_id,
                                              size_t count, Random& random) {
  std::vector<KyberPreKey> out;
  out.reserve(count);
  for (uint32_t id : PreKeyIds(first_id, count)) out.push_back(GenerateKyberPreKey(identity, id, random));
  return out;
}

}  // namespace tandem::crypto
