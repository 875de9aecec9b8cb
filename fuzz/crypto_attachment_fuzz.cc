// Fuzz target for the attachment decryptor (crypto/attachment.h), whose
// input, the blob, comes from the relay and so from anyone. The input is
//   mode (1 byte) || declared size (2 bytes, little endian) ||
//   piece length (1 byte) || body
// under a fixed key. Mode 0: the body is the blob, checked against a fixed
// digest (the digest check must refuse it unless it is the seed's blob).
// Mode 1: the body is the blob, checked against its own digest, so the MAC
// check runs on any bytes. Mode 2: the body is IV || ciphertext; the target
// appends the right MAC and uses the right digest, so decryption, the
// PKCS#7 padding and the size checks run on any ciphertext.
// Invariants: a decryption that succeeds yields exactly the declared size,
// and the same result whether the blob arrives whole or in pieces; a
// failure is DataLoss (or InvalidArgument for a size the blob cannot be).
// A violation aborts.
#include <cstdint>
#include <cstdlib>
#include <span>
#include <string>

#include "common/encoding.h"
#include "crypto/attachment.h"
#include "crypto/internal/primitives.h"

namespace {

namespace crypto = tandem::crypto;

void Require(bool condition) {
  if (!condition) std::abort();
}

std::string FixedKey() {
  std::string key;
  for (int i = 0; i < 64; ++i) key += static_cast<char>(i);
  return key;
}

std::span<const uint8_t> Bytes(std::string_view s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

absl::StatusOr<std::string> InPieces(const std::string& key, const std::string& digest, uint64_t size,
                                     const std::string& blob, size_t piece) {
  auto dec = crypto::AttachmentDecryptor::Create(key, digest, size, blob.size());
  if (!dec.ok()) return dec.status();
  for (size_t at = 0; at < blob.size(); at += piece) {
    if (auto st = (*dec)->Verify(std::string_view(blob).substr(at, piece)); !st.ok()) return st;
  }
  if (auto st = (*dec)->FinishVerification(); !st.ok()) return st;
  std::string out;
  for (size_t at = 0; at < blob.size(); at += piece) {
    if (auto st = (*dec)->Decrypt(std::string_view(blob).substr(at, piece), &out); !st.ok()) return st;
  }
  if (auto st = (*dec)->Finish(&out); !st.ok()) return st;
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 4) return 0;
  static const std::string key = FixedKey();
  const int mode = data[0] % 3;
  const uint64_t declared = data[1] | (uint64_t{data[2]} << 8);
  const size_t piece = data[3] == 0 ? 1 : data[3];
  std::string blob(reinterpret_cast<const char*>(data + 4), size - 4);
  if (mode == 2) {
    auto mac = crypto::internal::HmacSha256(Bytes(std::string_view(key).substr(32)), {Bytes(blob)});
    blob.append(reinterpret_cast<const char*>(mac.data()), mac.size());
  }
  const std::string digest = mode == 0 ? std::string(32, '\x5a') : tandem::Sha256(blob);

  auto whole = crypto::DecryptAttachment(key, digest, declared, blob);
  auto pieces = InPieces(key, digest, declared, blob, piece);
  Require(whole.ok() == pieces.ok());
  if (whole.ok()) {
    Require(whole->size() == declared);
    Require(*whole == *pieces);
  } else {
    Require(whole.status().code() == absl::StatusCode::kDataLoss);
    Require(whole.status() == pieces.status());
  }
  if (mode == 0) Require(!whole.ok());
  return 0;
}
