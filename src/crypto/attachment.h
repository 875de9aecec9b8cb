// Encrypted attachments in Signal's format. The sender encrypts a file once
// under a fresh 64-byte key, uploads the blob to the relay's blob store, and
// sends the key, the blob's digest and the plaintext size inside an
// end-to-end encrypted message; the relay only ever holds the blob.
//
//   key    = 32-byte AES-256 key || 32-byte HMAC-SHA256 key
//   padded = plaintext || zero bytes, up to PaddedAttachmentSize(size)
//   blob   = IV (16 random bytes) || AES-256-CBC-PKCS7(padded)
//            || HMAC-SHA256(mac key, IV || ciphertext)
//   digest = SHA-256(blob)
//
// The padding hides the exact size from the relay: sizes fall into buckets
// 5% apart (at least 541 bytes). The receiver checks the digest, then the
// MAC, and only then decrypts and cuts the plaintext to the size the
// message carried. docs/crypto.md describes the format.
//
// Both directions stream: AttachmentEncryptor takes the plaintext in
// pieces; AttachmentDecryptor reads the blob twice (a verifying pass, then a
// decrypting pass) so that no plaintext is released before the whole blob
// is known to be authentic, while holding no more than one piece in memory.
// EncryptAttachmentFile and DecryptAttachmentFile do that over files.
//
// Thread safety: an encryptor or decryptor is used by one thread at a time;
// the free functions are thread-safe.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "common/random.h"
#include "common/status.h"

namespace tandem::crypto {

inline constexpr size_t kAttachmentKeySize = 64;  // AES-256 key || HMAC-SHA256 key
inline constexpr size_t kAttachmentIvSize = 16;
inline constexpr size_t kAttachmentMacSize = 32;
inline constexpr size_t kAttachmentDigestSize = 32;

// The size a plaintext of `size` bytes is padded to before encryption:
// max(541, floor(1.05^ceil(log_1.05(size)))), never below `size`.
uint64_t PaddedAttachmentSize(uint64_t size);
// The size of the blob for a plaintext of `size` bytes: the IV, the padded
// plaintext with its PKCS#7 block, the MAC.
uint64_t AttachmentBlobSize(uint64_t size);

// A fresh 64-byte attachment key.
std::string GenerateAttachmentKey(Random& random);

class AttachmentEncryptor {
 public:
  // `key` is kAttachmentKeySize bytes, `iv` kAttachmentIvSize (random, from
  // the caller's Random); `size` is the plaintext's length, which the
  // padding needs before the first byte. InvalidArgument otherwise.
  static absl::StatusOr<std::unique_ptr<AttachmentEncryptor>> Create(std::string_view key,
                                                                     std::string_view iv, uint64_t size);
  ~AttachmentEncryptor();
  AttachmentEncryptor(const AttachmentEncryptor&) = delete;
  AttachmentEncryptor& operator=(const AttachmentEncryptor&) = delete;

  // Encrypts the next piece of plaintext and appends the blob bytes it
  // yields to `out` (the IV comes out first). InvalidArgument if the
  // pieces together exceed the declared size.
  absl::Status Update(std::string_view plaintext, std::string* out);
  // Appends the padding's ciphertext and the MAC; returns the blob's
  // digest. FailedPrecondition if fewer bytes than declared were given or
  // Finish already ran.
  absl::StatusOr<std::string> Finish(std::string* out);

 private:
  struct State;
  explicit AttachmentEncryptor(std::unique_ptr<State> state);
  std::unique_ptr<State> state_;
};

// Reads a blob twice. Pass 1: Verify() every piece in order, then
// FinishVerification(), which checks the digest (constant time) and then
// the MAC. Pass 2, only after a successful pass 1: Decrypt() the same bytes
// in order (pieces may be cut differently), then Finish(). Plaintext comes
// out only in pass 2, cut to the declared size. A call out of that order
// is FailedPrecondition; every integrity failure is DataLoss with a message
// that says which check failed.
class AttachmentDecryptor {
 public:
  // `digest` is kAttachmentDigestSize bytes, `size` the plaintext size the
  // pointer carries, `blob_size` the length of the blob about to be read.
  static absl::StatusOr<std::unique_ptr<AttachmentDecryptor>> Create(std::string_view key,
                                                                     std::string_view digest, uint64_t size,
                                                                     uint64_t blob_size);
  ~AttachmentDecryptor();
  AttachmentDecryptor(const AttachmentDecryptor&) = delete;
  AttachmentDecryptor& operator=(const AttachmentDecryptor&) = delete;

  absl::Status Verify(std::string_view piece);
  absl::Status FinishVerification();
  absl::Status Decrypt(std::string_view piece, std::string* out);
  absl::Status Finish(std::string* out);

 private:
  struct State;
  explicit AttachmentDecryptor(std::unique_ptr<State> state);
  std::unique_ptr<State> state_;
};

struct EncryptedAttachment {
  std::string blob;
  std::string digest;
};

// In memory, for small attachments and tests.
absl::StatusOr<EncryptedAttachment> EncryptAttachment(std::string_view key, std::string_view iv,
                                                      std::string_view plaintext);
absl::StatusOr<std::string> DecryptAttachment(std::string_view key, std::string_view digest, uint64_t size,
                                              std::string_view blob);

// Over files, a piece (1 MiB) at a time. EncryptAttachmentFile writes the
// blob of `plaintext_path` to `blob_path` and returns its digest and the
// plaintext size. DecryptAttachmentFile verifies `blob_path` completely,
// then writes the plaintext to `plaintext_path` (through a temporary file
// beside it, renamed at the end, so a failure leaves nothing behind).
struct EncryptedFile {
  std::string digest;
  uint64_t size = 0;
};
absl::StatusOr<EncryptedFile> EncryptAttachmentFile(std::string_view key, std::string_view iv,
                                                    const std::string& plaintext_path,
                                                    const std::string& blob_path);
absl::Status DecryptAttachmentFile(std::string_view key, std::string_view digest, uint64_t size,
                                   const std::string& blob_path, const std::string& plaintext_path);

}  // namespace tandem::crypto
