// Checks that encapsulation and decapsulation never branch on, or index
// memory by, secret data, the way valgrind's memcheck sees it: the secret
// inputs (the coins m, the secret vector ŝ and the rejection seed z) are
// marked undefined, so memcheck reports every conditional jump and every
// address computed from them or from anything derived from them, in our code
// and in OpenSSL's SHA3 alike. Run under `valgrind --error-exitcode=1` (the
// crypto.kem_constant_time test); without valgrind it only runs the
// operations. Both a valid and a tampered ciphertext are decapsulated, so the
// implicit-rejection path is covered too.
#include <valgrind/memcheck.h>

#include <array>
#include <cstdio>

#include "crypto/internal/mlkem.h"

namespace mlkem = tandem::crypto::internal::mlkem;

int main() {
  for (mlkem::Variant variant : {mlkem::Variant::kKyberRound3, mlkem::Variant::kMlKem}) {
    std::array<uint8_t, 32> d, z, m;
    for (int i = 0; i < 32; ++i) {
      d[i] = static_cast<uint8_t>(i);
      z[i] = static_cast<uint8_t>(100 + i);
      m[i] = static_cast<uint8_t>(200 + i);
    }
    // Key generation runs on defined seeds: ρ = G(d)[0:32] is public, and
    // sampling Â from it branches (rejection sampling) by design.
    std::array<uint8_t, mlkem::kPublicKeySize> public_key;
    std::array<uint8_t, mlkem::kSecretKeySize> secret_key;
    mlkem::KeyGen(variant, d, z, public_key, secret_key);
    std::array<uint8_t, 32> hash;
    mlkem::HashPublicKey(public_key, hash);

    // dk = ByteEncode12(ŝ) (1536 bytes) ‖ ek ‖ H(ek) ‖ z: ek and H(ek) are public.
    VALGRIND_MAKE_MEM_UNDEFINED(secret_key.data(), 1536);
    VALGRIND_MAKE_MEM_UNDEFINED(secret_key.data() + mlkem::kSecretKeySize - 32, 32);
    VALGRIND_MAKE_MEM_UNDEFINED(m.data(), m.size());

    std::array<uint8_t, mlkem::kCiphertextSize> ciphertext;
    std::array<uint8_t, mlkem::kSharedSecretSize> sent, received;
    mlkem::Encapsulate(variant, public_key, hash, m, ciphertext, sent);
    VALGRIND_MAKE_MEM_DEFINED(ciphertext.data(), ciphertext.size());  // it travels in the clear
    mlkem::Decapsulate(variant, secret_key, ciphertext, received);
    ciphertext[100] ^= 1;
    mlkem::Decapsulate(variant, secret_key, ciphertext, received);
  }
  std::printf("encapsulation and decapsulation ran on undefined secrets\n");
  return 0;
}
