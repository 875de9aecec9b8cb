// OpenSSL-backed symmetric primitives; see primitives.h.
#include "crypto/internal/primitives.h"

#include <openssl/evp.h>
#include <sodium.h>

#include <cstdlib>
#include <cstring>

#include "absl/status/status.h"

namespace tandem::crypto::internal {
namespace {

template <typename T>
T* Required(T* p) {
  if (p == nullptr) std::abort();  // A broken OpenSSL install; nothing to recover.
  return p;
}

const EVP_MD* Sha256Md() {
  static EVP_MD* md = Required(EVP_MD_fetch(nullptr, "SHA256", nullptr));
  return md;
}

const EVP_MD* Sha512Md() {
  static EVP_MD* md = Required(EVP_MD_fetch(nullptr, "SHA512", nullptr));
  return md;
}

const EVP_CIPHER* Aes256Cbc() {
  static EVP_CIPHER* cipher = Required(EVP_CIPHER_fetch(nullptr, "AES-256-CBC", nullptr));
  return cipher;
}

// One digest and one cipher context per thread, reset between uses.
struct ThreadContexts {
  EVP_MD_CTX* md = Required(EVP_MD_CTX_new());
  EVP_CIPHER_CTX* cipher = Required(EVP_CIPHER_CTX_new());
  ~ThreadContexts() {
    EVP_MD_CTX_free(md);
    EVP_CIPHER_CTX_free(cipher);
  }
};

ThreadContexts& Contexts() {
  thread_local ThreadContexts contexts;
  return contexts;
}

void Check(int openssl_result) {
  if (openssl_result != 1) std::abort();  // Only fails on allocation failure.
}

constexpr size_t kSha256Block = 64;

}  // namespace

std::array<uint8_t, kSha256Size> HmacSha256(ByteSpan key, std::initializer_list<ByteSpan> parts) {
  EVP_MD_CTX* ctx = Contexts().md;
  uint8_t pad[kSha256Block] = {};
  if (key.size() > kSha256Block) {
    Check(EVP_DigestInit_ex2(ctx, Sha256Md(), nullptr));
    Check(EVP_DigestUpdate(ctx, key.data(), key.size()));
    Check(EVP_DigestFinal_ex(ctx, pad, nullptr));
  } else if (!key.empty()) {
    std::memcpy(pad, key.data(), key.size());
  }
  for (uint8_t& b : pad) b ^= 0x36;
  uint8_t inner[kSha256Size];
  Check(EVP_DigestInit_ex2(ctx, Sha256Md(), nullptr));
  Check(EVP_DigestUpdate(ctx, pad, sizeof pad));
  for (ByteSpan part : parts) {
    if (!part.empty()) Check(EVP_DigestUpdate(ctx, part.data(), part.size()));
  }
  Check(EVP_DigestFinal_ex(ctx, inner, nullptr));
  for (uint8_t& b : pad) b ^= 0x36 ^ 0x5c;
  std::array<uint8_t, kSha256Size> out;
  Check(EVP_DigestInit_ex2(ctx, Sha256Md(), nullptr));
  Check(EVP_DigestUpdate(ctx, pad, sizeof pad));
  Check(EVP_DigestUpdate(ctx, inner, sizeof inner));
  Check(EVP_DigestFinal_ex(ctx, out.data(), nullptr));
  Wipe(pad);
  Wipe(inner);
  return out;
}

void Hkdf(ByteSpan ikm, ByteSpan salt, ByteSpan info, std::span<uint8_t> out) {
  if (out.size() > 255 * kSha256Size) std::abort();  // Caller bug: RFC 5869 limit.
  static constexpr uint8_t kZeroSalt[kSha256Size] = {};
  std::array<uint8_t, kSha256Size> prk = HmacSha256(salt.empty() ? ByteSpan(kZeroSalt) : salt, {ikm});
  std::array<uint8_t, kSha256Size> block{};
  size_t done = 0;
  for (uint8_t counter = 1; done < out.size(); ++counter) {
    ByteSpan previous = counter == 1 ? ByteSpan() : ByteSpan(block);
    block = HmacSha256(prk, {previous, info, ByteSpan(&counter, 1)});
    size_t take = std::min(block.size(), out.size() - done);
    std::memcpy(out.data() + done, block.data(), take);
    done += take;
  }
  Wipe(prk);
  Wipe(block);
}

std::array<uint8_t, kSha512Size> Sha512(std::initializer_list<ByteSpan> parts) {
  EVP_MD_CTX* ctx = Contexts().md;
  Check(EVP_DigestInit_ex2(ctx, Sha512Md(), nullptr));
  for (ByteSpan part : parts) {
    if (!part.empty()) Check(EVP_DigestUpdate(ctx, part.data(), part.size()));
  }
  std::array<uint8_t, kSha512Size> out;
  Check(EVP_DigestFinal_ex(ctx, out.data(), nullptr));
  return out;
}

Bytes Aes256CbcEncrypt(ByteSpan key, ByteSpan iv, ByteSpan plaintext) {
  if (key.size() != 32 || iv.size() != 16) std::abort();  // Caller bug.
  EVP_CIPHER_CTX* ctx = Contexts().cipher;
  Check(EVP_EncryptInit_ex2(ctx, Aes256Cbc(), key.data(), iv.data(), nullptr));
  Bytes out(plaintext.size() + 16);
  int len = 0;
  if (!plaintext.empty()) {
    Check(EVP_EncryptUpdate(ctx, out.data(), &len, plaintext.data(), static_cast<int>(plaintext.size())));
  }
  int final_len = 0;
  Check(EVP_EncryptFinal_ex(ctx, out.data() + len, &final_len));
  out.resize(static_cast<size_t>(len + final_len));
  return out;
}

absl::StatusOr<Bytes> Aes256CbcDecrypt(ByteSpan key, ByteSpan iv, ByteSpan ciphertext) {
  if (key.size() != 32 || iv.size() != 16) std::abort();  // Caller bug.
  if (ciphertext.empty() || ciphertext.size() % 16 != 0) {
    return absl::InvalidArgumentError("ciphertext is not a whole number of AES blocks");
  }
  EVP_CIPHER_CTX* ctx = Contexts().cipher;
  Check(EVP_DecryptInit_ex2(ctx, Aes256Cbc(), key.data(), iv.data(), nullptr));
  Bytes out(ciphertext.size() + 16);
  int len = 0;
  Check(EVP_DecryptUpdate(ctx, out.data(), &len, ciphertext.data(), static_cast<int>(ciphertext.size())));
  int final_len = 0;
  if (EVP_DecryptFinal_ex(ctx, out.data() + len, &final_len) != 1) {
    Wipe(out);
    return absl::InvalidArgumentError("bad PKCS#7 padding");
  }
  out.resize(static_cast<size_t>(len + final_len));
  return out;
}

bool ConstantTimeEqual(ByteSpan a, ByteSpan b) {
  if (a.size() != b.size()) return false;
  return sodium_memcmp(a.data(), b.data(), a.size()) == 0;
}

void Wipe(std::span<uint8_t> bytes) {
  if (!bytes.empty()) sodium_memzero(bytes.data(), bytes.size());
}

}  // namespace tandem::crypto::internal
