// Signal's KEM keys and ciphertexts on internal/mlkem; see kem.h.
#include "crypto/kem.h"

#include <cstring>
#include <utility>

#include "absl/status/status.h"
#include "crypto/internal/mlkem.h"
#include "crypto/internal/primitives.h"

namespace tandem::crypto {
namespace {

namespace mlkem = internal::mlkem;

static_assert(kKemPublicKeySize == mlkem::kPublicKeySize && kKemSecretKeySize == mlkem::kSecretKeySize &&
              kKemCiphertextSize == mlkem::kCiphertextSize &&
              kKemSharedSecretSize == mlkem::kSharedSecretSize);

mlkem::Variant VariantOf(KemKind kind) {
  return kind == KemKind::kMlKem1024 ? mlkem::Variant::kMlKem : mlkem::Variant::kKyberRound3;
}

absl::StatusOr<KemKind> KindOf(uint8_t type) {
  switch (type) {
    case static_cast<uint8_t>(KemKind::kKyber1024):
      return KemKind::kKyber1024;
    case static_cast<uint8_t>(KemKind::kMlKem1024):
      return KemKind::kMlKem1024;
    default:
      return absl::InvalidArgumentError("unknown KEM type byte");
  }
}

// Splits type byte ‖ body, checking that the body has `size` bytes.
absl::StatusOr<std::pair<KemKind, std::span<const uint8_t>>> SplitTyped(std::span<const uint8_t> serialized,
                                                                        size_t size, const char* what) {
  if (serialized.empty()) return absl::InvalidArgumentError(std::string(what) + " is empty");
  absl::StatusOr<KemKind> kind = KindOf(serialized[0]);
  if (!kind.ok()) return kind.status();
  if (serialized.size() != 1 + size) {
    return absl::InvalidArgumentError(std::string(what) + " must be " + std::to_string(1 + size) + " bytes");
  }
  return std::make_pair(*kind, serialized.subspan(1));
}

std::vector<uint8_t> Typed(KemKind kind, const std::vector<uint8_t>& raw) {
  std::vector<uint8_t> out;
  out.reserve(1 + raw.size());
  out.push_back(static_cast<uint8_t>(kind));
  out.insert(out.end(), raw.begin(), raw.end());
  return out;
}

}  // namespace

KemPublicKey::KemPublicKey(KemKind kind, std::vector<uint8_t> raw) : kind_(kind), raw_(std::move(raw)) {
  mlkem::PublicKeyView view(raw_.data(), mlkem::kPublicKeySize);
  mlkem::HashPublicKey(view, hash_);
  canonical_ = mlkem::PublicKeyIsCanonical(view);
}

absl::StatusOr<KemPublicKey> KemPublicKey::Deserialize(std::span<const uint8_t> serialized) {
  auto split = SplitTyped(serialized, kKemPublicKeySize, "KEM public key");
  if (!split.ok()) return split.status();
  return KemPublicKey(split->first, std::vector<uint8_t>(split->second.begin(), split->second.end()));
}

absl::StatusOr<KemPublicKey> KemPublicKey::FromRaw(KemKind kind, std::span<const uint8_t> raw) {
  if (!KindOf(static_cast<uint8_t>(kind)).ok()) return absl::InvalidArgumentError("unknown KEM kind");
  if (raw.size() != kKemPublicKeySize)
    return absl::InvalidArgumentError("raw KEM public key must be 1568 bytes");
  return KemPublicKey(kind, std::vector<uint8_t>(raw.begin(), raw.end()));
}

std::vector<uint8_t> KemPublicKey::Serialize() const { return Typed(kind_, raw_); }

KemSecretKey::~KemSecretKey() { internal::Wipe(raw_); }

absl::StatusOr<KemSecretKey> KemSecretKey::Deserialize(std::span<const uint8_t> serialized) {
  auto split = SplitTyped(serialized, kKemSecretKeySize, "KEM secret key");
  if (!split.ok()) return split.status();
  return FromRaw(split->first, split->second);
}

absl::StatusOr<KemSecretKey> KemSecretKey::FromRaw(KemKind kind, std::span<const uint8_t> raw) {
  if (!KindOf(static_cast<uint8_t>(kind)).ok()) return absl::InvalidArgumentError("unknown KEM kind");
  if (raw.size() != kKemSecretKeySize)
    return absl::InvalidArgumentError("raw KEM secret key must be 3168 bytes");
  if (!mlkem::SecretKeyHashMatches(mlkem::SecretKeyView(raw.data(), mlkem::kSecretKeySize))) {
    return absl::InvalidArgumentError("KEM secret key's H(ek) does not match its ek");
  }
  return KemSecretKey(kind, std::vector<uint8_t>(raw.begin(), raw.end()));
}

std::vector<uint8_t> KemSecretKey::Serialize() const { return Typed(kind_, raw_); }

KemPublicKey KemSecretKey::public_key() const {
  // dk = dk_pke (1536 bytes) ‖ ek ‖ H(ek) ‖ z.
  auto ek = raw_.begin() + (kKemSecretKeySize - kKemPublicKeySize - 64);
  return *KemPublicKey::FromRaw(kind_, std::span<const uint8_t>(&*ek, kKemPublicKeySize));
}

KemKeyPair KemKeyPair::Generate(KemKind kind, Random& random) {
  std::array<uint8_t, 64> seeds;
  random.Fill(seeds);
  std::vector<uint8_t> public_key(kKemPublicKeySize), secret_key(kKemSecretKeySize);
  mlkem::KeyGen(VariantOf(kind), mlkem::Seed(seeds.data(), 32), mlkem::Seed(seeds.data() + 32, 32),
                std::span<uint8_t, mlkem::kPublicKeySize>(public_key.data(), mlkem::kPublicKeySize),
                std::span<uint8_t, mlkem::kSecretKeySize>(secret_key.data(), mlkem::kSecretKeySize));
  internal::Wipe(seeds);
  auto secret = *KemSecretKey::FromRaw(kind, secret_key);
  internal::Wipe(secret_key);
  return KemKeyPair{*KemPublicKey::FromRaw(kind, public_key), std::move(secret)};
}

absl::StatusOr<KemEncapsulation> Encapsulate(const KemPublicKey& public_key, Random& random) {
  mlkem::PublicKeyView ek(public_key.raw().data(), mlkem::kPublicKeySize);
  if (public_key.kind() == KemKind::kMlKem1024 && !public_key.canonical()) {
    return absl::InvalidArgumentError("ML-KEM public key has a coefficient not below q");
  }
  std::array<uint8_t, 32> m;
  random.Fill(m);
  KemEncapsulation out;
  out.ciphertext.resize(1 + kKemCiphertextSize);
  out.ciphertext[0] = static_cast<uint8_t>(public_key.kind());
  mlkem::Encapsulate(
      VariantOf(public_key.kind()), ek, public_key.hash(), m,
      std::span<uint8_t, mlkem::kCiphertextSize>(out.ciphertext.data() + 1, kKemCiphertextSize),
      out.shared_secret);
  internal::Wipe(m);
  return out;
}

absl::StatusOr<KemSharedSecret> Decapsulate(const KemSecretKey& secret_key,
                                            std::span<const uint8_t> ciphertext) {
  auto split = SplitTyped(ciphertext, kKemCiphertextSize, "KEM ciphertext");
  if (!split.ok()) return split.status();
  if (split->first != secret_key.kind()) {
    return absl::InvalidArgumentError("KEM ciphertext's type byte is not its key's");
  }
  KemSharedSecret shared_secret;
  mlkem::Decapsulate(VariantOf(secret_key.kind()),
                     mlkem::SecretKeyView(secret_key.raw().data(), mlkem::kSecretKeySize),
                     mlkem::CiphertextView(split->second.data(), mlkem::kCiphertextSize), shared_secret);
  return shared_secret;
}

}  // namespace tandem::crypto
