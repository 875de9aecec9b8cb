// Fuzz target for the KEM parsers and decapsulation (crypto/kem.h). The first
// byte picks what the rest is fed to:
//   0: KemPublicKey::Deserialize; an accepted key must serialize back to the
//      same bytes, and encapsulating to it must succeed or, for an ML-KEM key
//      with a coefficient not below q, fail with InvalidArgument;
//   1: KemSecretKey::Deserialize; an accepted key must serialize back and
//      decapsulate a well-formed ciphertext;
//   2: Decapsulate under fixed Kyber-1024 and ML-KEM-1024 keys; a ciphertext
//      of the right type and length must give a shared secret (implicit
//      rejection), anything else InvalidArgument.
// A violation aborts.
#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <span>
#include <vector>

#include "absl/status/status.h"
#include "common/random.h"
#include "crypto/kem.h"

namespace {

using tandem::crypto::KemKeyPair;
using tandem::crypto::KemKind;

void Require(bool condition) {
  if (!condition) std::abort();
}

const std::vector<KemKeyPair>& FixedKeys() {
  static const std::vector<KemKeyPair> keys = [] {
    tandem::SeededRandom random(1);
    std::vector<KemKeyPair> out;
    out.push_back(KemKeyPair::Generate(KemKind::kKyber1024, random));
    out.push_back(KemKeyPair::Generate(KemKind::kMlKem1024, random));
    return out;
  }();
  return keys;
}

void FuzzPublicKey(std::span<const uint8_t> input) {
  auto key = tandem::crypto::KemPublicKey::Deserialize(input);
  if (!key.ok()) {
    Require(key.status().code() == absl::StatusCode::kInvalidArgument);
    return;
  }
  std::vector<uint8_t> again = key->Serialize();
  Require(std::equal(again.begin(), again.end(), input.begin(), input.end()));
  tandem::SeededRandom random(input.size());
  auto sent = tandem::crypto::Encapsulate(*key, random);
  if (!sent.ok()) {
    Require(key->kind() == KemKind::kMlKem1024 && sent.status().code() == absl::StatusCode::kInvalidArgument);
  }
}

void FuzzSecretKey(std::span<const uint8_t> input) {
  auto key = tandem::crypto::KemSecretKey::Deserialize(input);
  if (!key.ok()) {
    Require(key.status().code() == absl::StatusCode::kInvalidArgument);
    return;
  }
  std::vector<uint8_t> again = key->Serialize();
  Require(std::equal(again.begin(), again.end(), input.begin(), input.end()));
  std::vector<uint8_t> ciphertext(1 + tandem::crypto::kKemCiphertextSize, 0x5a);
  ciphertext[0] = static_cast<uint8_t>(key->kind());
  Require(tandem::crypto::Decapsulate(*key, ciphertext).ok());
}

void FuzzDecapsulate(std::span<const uint8_t> input) {
  for (const KemKeyPair& pair : FixedKeys()) {
    auto shared = tandem::crypto::Decapsulate(pair.secret_key, input);
    bool well_formed = input.size() == 1 + tandem::crypto::kKemCiphertextSize &&
                       input[0] == static_cast<uint8_t>(pair.secret_key.kind());
    Require(shared.ok() == well_formed);
    if (!shared.ok()) Require(shared.status().code() == absl::StatusCode::kInvalidArgument);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  std::span<const uint8_t> rest(data + 1, size - 1);
  switch (data[0] % 3) {
    case 0:
      FuzzPublicKey(rest);
      break;
    case 1:
      FuzzSecretKey(rest);
      break;
    default:
      FuzzDecapsulate(rest);
      break;
  }
  return 0;
}
