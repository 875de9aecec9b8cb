// XEdDSA on libsodium's Ed25519 group operations; see xeddsa.h.
#include "crypto/xeddsa.h"

#include <sodium.h>

#include <cstring>

#include "crypto/internal/field25519.h"
#include "crypto/internal/primitives.h"
#include "crypto/internal/sodium.h"

namespace tandem::crypto {
namespace {

using internal::ByteSpan;

// hash1's prefix: the 32-byte little-endian encoding of 2^256 - 1 - 1.
constexpr std::array<uint8_t, 32> kHash1Prefix = [] {
  std::array<uint8_t, 32> p{};
  for (auto& b : p) b = 0xFF;
  p[0] = 0xFE;
  return p;
}();

std::array<uint8_t, 32> Reduce64(const std::array<uint8_t, 64>& wide) {
  std::array<uint8_t, 64> copy = wide;
  std::array<uint8_t, 32> out;
  crypto_core_ed25519_scalar_reduce(out.data(), copy.data());
  internal::Wipe(copy);
  return out;
}

}  // namespace

Signature XEdDSASign(const PrivateKey& key, std::span<const uint8_t> message, Random& random) {
  internal::EnsureSodium();
  // calculate_key_pair(k): clamp, E = kB, force the sign of A to 0 by
  // negating the scalar when E's sign bit is set.
  std::array<uint8_t, 64> k_wide{};
  std::memcpy(k_wide.data(), key.raw().data(), 32);
  k_wide[0] &= 248;
  k_wide[31] &= 127;
  k_wide[31] |= 64;
  std::array<uint8_t, 32> edwards_a;
  if (crypto_scalarmult_ed25519_base_noclamp(edwards_a.data(), k_wide.data()) != 0) std::abort();
  std::array<uint8_t, 32> a = Reduce64(k_wide);
  internal::Wipe(k_wide);
  if (edwards_a[31] & 0x80) {
    std::array<uint8_t, 32> negated;
    crypto_core_ed25519_scalar_negate(negated.data(), a.data());
    a = negated;
    internal::Wipe(negated);
  }
  edwards_a[31] &= 0x7F;

  std::array<uint8_t, 64> z;
  random.Fill(z);
  std::array<uint8_t, 32> r = Reduce64(internal::Sha512({kHash1Prefix, a, message, z}));
  Signature sig;
  // r is zero with negligible probability only; the base multiplication
  // reports that as an error, and the identity would still verify.
  (void)crypto_scalarmult_ed25519_base_noclamp(sig.data(), r.data());
  std::array<uint8_t, 32> h = Reduce64(internal::Sha512({ByteSpan(sig.data(), 32), edwards_a, message}));
  std::array<uint8_t, 32> ha;
  crypto_core_ed25519_scalar_mul(ha.data(), h.data(), a.data());
  crypto_core_ed25519_scalar_add(sig.data() + 32, r.data(), ha.data());
  internal::Wipe(a);
  internal::Wipe(r);
  internal::Wipe(ha);
  return sig;
}

bool XEdDSAVerify(const PublicKey& key, std::span<const uint8_t> message,
                  std::span<const uint8_t> signature) {
  internal::EnsureSodium();
  if (signature.size() != kSignatureSize) return false;
  // s without the carried sign bit must be below 2^253.
  if (signature[63] & 0x60) return false;
  if (!internal::IsCanonicalFieldElement(key.raw())) return false;
  std::array<uint8_t, 32> edwards_a = internal::MontgomeryUToEdwardsY(key.raw());
  edwards_a[31] |= signature[63] & 0x80;
  std::array<uint8_t, kSignatureSize> sig;
  std::memcpy(sig.data(), signature.data(), kSignatureSize);
  sig[63] &= 0x7F;
  return crypto_sign_ed25519_verify_detached(sig.data(), message.data(), message.size(), edwards_a.data()) ==
         0;
}

}  // namespace tandem::crypto
