// Symmetric primitives used by the Signal Protocol: HMAC-SHA256, HKDF
// (RFC 5869), SHA-512 and AES-256-CBC with PKCS#7 padding, all on OpenSSL 3.
//
// Algorithms are fetched once per process and the hashing/cipher contexts are
// reused per thread, because OpenSSL 3 looks algorithms up on every call of
// the convenience APIs. Every function is thread-safe.
#pragma once

#include <array>
#include <cstdint>
#include <initializer_list>
#include <span>
#include <vector>

#include "absl/status/statusor.h"

namespace tandem::crypto::internal {

using ByteSpan = std::span<const uint8_t>;
using Bytes = std::vector<uint8_t>;

inline constexpr size_t kSha256Size = 32;
inline constexpr size_t kSha512Size = 64;

// HMAC-SHA256 of the concatenation of `parts` under `key`.
std::array<uint8_t, kSha256Size> HmacSha256(ByteSpan key, std::initializer_list<ByteSpan> parts);

// HKDF-SHA256 (RFC 5869): fills `out` (at most 255 * 32 bytes) from `ikm`.
// An empty `salt` means 32 zero bytes, as the RFC specifies.
void Hkdf(ByteSpan ikm, ByteSpan salt, ByteSpan info, std::span<uint8_t> out);

// SHA-512 of the concatenation of `parts`.
std::array<uint8_t, kSha512Size> Sha512(std::initializer_list<ByteSpan> parts);

// AES-256-CBC with PKCS#7 padding; key is 32 bytes, iv 16 bytes.
Bytes Aes256CbcEncrypt(ByteSpan key, ByteSpan iv, ByteSpan plaintext);
// Fails with InvalidArgument on a ciphertext that is not a whole number of
// blocks or whose padding is wrong.
absl::StatusOr<Bytes> Aes256CbcDecrypt(ByteSpan key, ByteSpan iv, ByteSpan ciphertext);

// Constant-time comparison of two equally long byte strings.
bool ConstantTimeEqual(ByteSpan a, ByteSpan b);

// Overwrites `bytes` with zeros in a way the compiler keeps.
void Wipe(std::span<uint8_t> bytes);

}  // namespace tandem::crypto::internal
