// Signal's attachment format on OpenSSL 3's streaming EVP interfaces; see
// attachment.h.
#include "crypto/attachment.h"

#include <openssl/core_names.h>
#include <openssl/evp.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <span>
#include <vector>

#include "absl/strings/str_cat.h"
#include "crypto/internal/primitives.h"

namespace tandem::crypto {
namespace {

constexpr uint64_t kMinPaddedSize = 541;
constexpr size_t kBlock = 16;
constexpr size_t kCipherKeySize = 32;
constexpr size_t kFilePiece = 1 << 20;
// The smallest blob: the IV, one cipher block (PKCS#7 always adds one), the MAC.
constexpr uint64_t kMinBlobSize = kAttachmentIvSize + kBlock + kAttachmentMacSize;

template <typename T>
T* Required(T* p) {
  if (p == nullptr) std::abort();  // A broken OpenSSL install; nothing to recover.
  return p;
}

void Check(int openssl_result) {
  if (openssl_result != 1) std::abort();  // Only fails on allocation failure or misuse.
}

const EVP_CIPHER* Aes256Cbc() {
  static EVP_CIPHER* cipher = Required(EVP_CIPHER_fetch(nullptr, "AES-256-CBC", nullptr));
  return cipher;
}
const EVP_MD* Sha256Md() {
  static EVP_MD* md = Required(EVP_MD_fetch(nullptr, "SHA256", nullptr));
  return md;
}
EVP_MAC* Hmac() {
  static EVP_MAC* mac = Required(EVP_MAC_fetch(nullptr, "HMAC", nullptr));
  return mac;
}

const uint8_t* U8(std::string_view s) { return reinterpret_cast<const uint8_t*>(s.data()); }

// The three running computations of a blob, owned together.
struct Contexts {
  EVP_CIPHER_CTX* cipher = Required(EVP_CIPHER_CTX_new());
  EVP_MAC_CTX* mac = Required(EVP_MAC_CTX_new(Hmac()));
  EVP_MD_CTX* md = Required(EVP_MD_CTX_new());

  explicit Contexts(std::string_view mac_key) {
    char digest_name[] = "SHA256";
    OSSL_PARAM params[] = {OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest_name, 0),
                           OSSL_PARAM_construct_end()};
    Check(EVP_MAC_init(mac, U8(mac_key), mac_key.size(), params));
    Check(EVP_DigestInit_ex(md, Sha256Md(), nullptr));
  }
  ~Contexts() {
    EVP_CIPHER_CTX_free(cipher);
    EVP_MAC_CTX_free(mac);
    EVP_MD_CTX_free(md);
  }
  Contexts(const Contexts&) = delete;
  Contexts& operator=(const Contexts&) = delete;

  std::string FinishMac() {
    std::string out(kAttachmentMacSize, '\0');
    size_t n = 0;
    Check(EVP_MAC_final(mac, reinterpret_cast<uint8_t*>(out.data()), &n, out.size()));
    return out;
  }
  std::string FinishDigest() {
    std::string out(kAttachmentDigestSize, '\0');
    unsigned n = 0;
    Check(EVP_DigestFinal_ex(md, reinterpret_cast<uint8_t*>(out.data()), &n));
    return out;
  }
};

bool ConstantTimeEqual(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  return internal::ConstantTimeEqual(std::span(U8(a), a.size()), std::span(U8(b), b.size()));
}

absl::Status CheckKey(std::string_view key) {
  if (key.size() != kAttachmentKeySize) {
    return absl::InvalidArgumentError(
        absl::StrCat("an attachment key is ", kAttachmentKeySize, " bytes, not ", key.size()));
  }
  return absl::OkStatus();
}

// Appends `in`'s cipher output to `out`.
void CipherUpdate(EVP_CIPHER_CTX* ctx, bool encrypt, std::string_view in, std::string* out) {
  size_t at = out->size();
  out->resize(at + in.size() + kBlock);
  int n = 0;
  auto* dst = reinterpret_cast<uint8_t*>(out->data() + at);
  if (encrypt) {
    Check(EVP_EncryptUpdate(ctx, dst, &n, U8(in), static_cast<int>(in.size())));
  } else {
    Check(EVP_DecryptUpdate(ctx, dst, &n, U8(in), static_cast<int>(in.size())));
  }
  out->resize(at + static_cast<size_t>(n));
}

absl::Status ReadError(const std::string& path) {
  return absl::UnavailableError(absl::StrCat("cannot read ", path));
}

struct FileCloser {
  void operator()(std::FILE* f) const { std::fclose(f); }
};
using File = std::unique_ptr<std::FILE, FileCloser>;

// Calls `fn` with every piece of the file at `path`.
absl::Status ForEachPiece(const std::string& path, const std::function<absl::Status(std::string_view)>& fn) {
  File f(std::fopen(path.c_str(), "rb"));
  if (!f) return absl::NotFoundError(absl::StrCat("cannot open ", path));
  std::string buf(kFilePiece, '\0');
  for (;;) {
    size_t n = std::fread(buf.data(), 1, buf.size(), f.get());
    if (n > 0) RETURN_IF_ERROR(fn(std::string_view(buf.data(), n)));
    if (n < buf.size()) {
      if (std::ferror(f.get())) return ReadError(path);
      return absl::OkStatus();
    }
  }
}

absl::Status WriteAll(std::FILE* f, std::string_view bytes, const std::string& path) {
  if (!bytes.empty() && std::fwrite(bytes.data(), 1, bytes.size(), f) != bytes.size()) {
    return absl::UnavailableError(absl::StrCat("cannot write ", path));
  }
  return absl::OkStatus();
}

}  // namespace

uint64_t PaddedAttachmentSize(uint64_t size) {
  // Signal's bucket rule. The floating-point power can land a hair below
  // `size` when `size` is itself a bucket; a bucket is never smaller than
  // what it holds.
  if (size <= 1) return kMinPaddedSize;
  double exponent = std::ceil(std::log(static_cast<double>(size)) / std::log(1.05));
  auto bucket = static_cast<uint64_t>(std::floor(std::pow(1.05, exponent)));
  return std::max({kMinPaddedSize, bucket, size});
}

uint64_t AttachmentBlobSize(uint64_t size) {
  uint64_t padded = PaddedAttachmentSize(size);
  return kAttachmentIvSize + (padded / kBlock + 1) * kBlock + kAttachmentMacSize;
}

std::string GenerateAttachmentKey(Random& random) {
  std::string key(kAttachmentKeySize, '\0');
  random.Fill(std::span(reinterpret_cast<uint8_t*>(key.data()), key.size()));
  return key;
}

// ---- AttachmentEncryptor ----

struct AttachmentEncryptor::State {
  explicit State(std::string_view key) : ctx(key.substr(kCipherKeySize)) {}
  Contexts ctx;
  std::string iv;
  uint64_t size = 0;
  uint64_t given = 0;
  bool started = false;
  bool finished = false;

  // Appends blob bytes; everything but the MAC itself is MACed.
  void Emit(std::string_view bytes, std::string* out, bool macced = true) {
    if (macced) Check(EVP_MAC_update(ctx.mac, U8(bytes), bytes.size()));
    Check(EVP_DigestUpdate(ctx.md, bytes.data(), bytes.size()));
    out->append(bytes);
  }
  void Start(std::string* out) {
    if (started) return;
    started = true;
    Emit(iv, out);
  }
  void Encrypt(std::string_view plaintext, std::string* out) {
    std::string cipher;
    CipherUpdate(ctx.cipher, true, plaintext, &cipher);
    Emit(cipher, out);
  }
};

AttachmentEncryptor::AttachmentEncryptor(std::unique_ptr<State> state) : state_(std::move(state)) {}
AttachmentEncryptor::~AttachmentEncryptor() = default;

absl::StatusOr<std::unique_ptr<AttachmentEncryptor>> AttachmentEncryptor::Create(std::string_view key,
                                                                                 std::string_view iv,
                                                                                 uint64_t size) {
  RETURN_IF_ERROR(CheckKey(key));
  if (iv.size() != kAttachmentIvSize) {
    return absl::InvalidArgumentError(
        absl::StrCat("an attachment IV is ", kAttachmentIvSize, " bytes, not ", iv.size()));
  }
  auto state = std::make_unique<State>(key);
  state->iv = std::string(iv);
  state->size = size;
  Check(EVP_EncryptInit_ex2(state->ctx.cipher, Aes256Cbc(), U8(key), U8(iv), nullptr));
  return std::unique_ptr<AttachmentEncryptor>(new AttachmentEncryptor(std::move(state)));
}

absl::Status AttachmentEncryptor::Update(std::string_view plaintext, std::string* out) {
  State& s = *state_;
  if (s.finished) return absl::FailedPreconditionError("the attachment encryptor has finished");
  if (plaintext.size() > s.size - s.given) {
    return absl::InvalidArgumentError(
        absl::StrCat("the attachment was declared as ", s.size, " bytes, but more were given"));
  }
  s.Start(out);
  s.given += plaintext.size();
  s.Encrypt(plaintext, out);
  return absl::OkStatus();
}

absl::StatusOr<std::string> AttachmentEncryptor::Finish(std::string* out) {
  State& s = *state_;
  if (s.finished) return absl::FailedPreconditionError("the attachment encryptor has finished");
  if (s.given != s.size) {
    return absl::FailedPreconditionError(
        absl::StrCat("the attachment was declared as ", s.size, " bytes, but ", s.given, " were given"));
  }
  s.finished = true;
  s.Start(out);
  static const std::string kZeros(64 << 10, '\0');
  for (uint64_t left = PaddedAttachmentSize(s.size) - s.size; left > 0;) {
    size_t n = static_cast<size_t>(std::min<uint64_t>(left, kZeros.size()));
    s.Encrypt(std::string_view(kZeros.data(), n), out);
    left -= n;
  }
  std::string last(kBlock, '\0');
  int n = 0;
  Check(EVP_EncryptFinal_ex(s.ctx.cipher, reinterpret_cast<uint8_t*>(last.data()), &n));
  last.resize(static_cast<size_t>(n));
  s.Emit(last, out);
  s.Emit(s.ctx.FinishMac(), out, false);
  return s.ctx.FinishDigest();
}

// ---- AttachmentDecryptor ----

struct AttachmentDecryptor::State {
  State(std::string_view key) : ctx(key.substr(kCipherKeySize)), key(key) {}
  enum class Phase { kVerifying, kVerified, kDone, kFailed };
  Contexts ctx;
  std::string key;
  std::string digest;
  uint64_t size = 0;
  uint64_t blob_size = 0;
  Phase phase = Phase::kVerifying;
  uint64_t read = 0;      // bytes seen in the current pass
  std::string mac;        // pass 1: the blob's last kAttachmentMacSize bytes
  std::string iv;         // pass 2: the blob's first kAttachmentIvSize bytes
  uint64_t released = 0;  // pass 2: plaintext bytes handed out
  bool cipher_started = false;

  uint64_t MacStart() const { return blob_size - kAttachmentMacSize; }

  absl::Status Fail(absl::Status st) {
    phase = Phase::kFailed;
    return st;
  }
  absl::Status Overrun() {
    return Fail(absl::InvalidArgumentError(
        absl::StrCat("more than the declared ", blob_size, " bytes of attachment blob were given")));
  }
  // Appends decrypted bytes to `out`, cut at the declared size (the rest is
  // padding).
  void Release(std::string_view plain, std::string* out) {
    uint64_t room = size - released;
    size_t n = static_cast<size_t>(std::min<uint64_t>(room, plain.size()));
    out->append(plain.data(), n);
    released += n;
  }
};

AttachmentDecryptor::AttachmentDecryptor(std::unique_ptr<State> state) : state_(std::move(state)) {}
AttachmentDecryptor::~AttachmentDecryptor() = default;

absl::StatusOr<std::unique_ptr<AttachmentDecryptor>> AttachmentDecryptor::Create(std::string_view key,
                                                                                 std::string_view digest,
                                                                                 uint64_t size,
                                                                                 uint64_t blob_size) {
  RETURN_IF_ERROR(CheckKey(key));
  if (digest.size() != kAttachmentDigestSize) {
    return absl::InvalidArgumentError(
        absl::StrCat("an attachment digest is ", kAttachmentDigestSize, " bytes, not ", digest.size()));
  }
  auto state = std::make_unique<State>(key);
  state->digest = std::string(digest);
  state->size = size;
  state->blob_size = blob_size;
  return std::unique_ptr<AttachmentDecryptor>(new AttachmentDecryptor(std::move(state)));
}

absl::Status AttachmentDecryptor::Verify(std::string_view piece) {
  State& s = *state_;
  if (s.phase != State::Phase::kVerifying) {
    return absl::FailedPreconditionError("the attachment's verifying pass is over");
  }
  if (piece.size() > s.blob_size - s.read) return s.Overrun();
  Check(EVP_DigestUpdate(s.ctx.md, piece.data(), piece.size()));
  // The MAC covers everything before the blob's last 32 bytes, which are
  // the MAC. A blob too short to hold one fails the digest first or the
  // shape check after it; its bytes only need hashing.
  if (s.blob_size >= kMinBlobSize) {
    uint64_t mac_start = s.MacStart();
    size_t macced =
        s.read >= mac_start ? 0 : static_cast<size_t>(std::min<uint64_t>(piece.size(), mac_start - s.read));
    Check(EVP_MAC_update(s.ctx.mac, U8(piece), macced));
    s.mac.append(piece.substr(macced));
  }
  s.read += piece.size();
  return absl::OkStatus();
}

absl::Status AttachmentDecryptor::FinishVerification() {
  State& s = *state_;
  if (s.phase != State::Phase::kVerifying) {
    return absl::FailedPreconditionError("the attachment's verifying pass is over");
  }
  if (s.read != s.blob_size) {
    return s.Fail(absl::FailedPreconditionError(
        absl::StrCat("only ", s.read, " of the attachment blob's ", s.blob_size, " bytes were verified")));
  }
  if (!ConstantTimeEqual(s.ctx.FinishDigest(), s.digest)) {
    return s.Fail(absl::DataLossError("attachment digest mismatch: the blob was altered or truncated"));
  }
  // The blob is the one the sender described; what follows are the
  // sender's own mistakes, or a key that is not the blob's.
  if (s.blob_size < kMinBlobSize || (s.blob_size - kAttachmentIvSize - kAttachmentMacSize) % kBlock != 0) {
    return s.Fail(absl::DataLossError(
        absl::StrCat("attachment blob of ", s.blob_size, " bytes is not IV || whole cipher blocks || MAC")));
  }
  if (!ConstantTimeEqual(s.ctx.FinishMac(), s.mac)) {
    return s.Fail(
        absl::DataLossError("attachment MAC mismatch: the key is not the one the blob was encrypted with"));
  }
  // PKCS#7 adds at least one byte.
  uint64_t capacity = s.blob_size - kAttachmentIvSize - kAttachmentMacSize - 1;
  if (s.size > capacity) {
    return s.Fail(absl::DataLossError(
        absl::StrCat("attachment size ", s.size, " exceeds what its blob can hold (", capacity, " bytes)")));
  }
  s.phase = State::Phase::kVerified;
  s.read = 0;
  return absl::OkStatus();
}

absl::Status AttachmentDecryptor::Decrypt(std::string_view piece, std::string* out) {
  State& s = *state_;
  if (s.phase != State::Phase::kVerified) {
    return absl::FailedPreconditionError(
        "attachment bytes are decrypted only after a successful verifying pass, and only once");
  }
  if (piece.size() > s.blob_size - s.read) return s.Overrun();
  const uint64_t begin = s.read;
  s.read += piece.size();
  if (begin < kAttachmentIvSize) {
    size_t n = static_cast<size_t>(std::min<uint64_t>(piece.size(), kAttachmentIvSize - begin));
    s.iv.append(piece.substr(0, n));
    piece.remove_prefix(n);
    if (s.iv.size() < kAttachmentIvSize) return absl::OkStatus();
  }
  if (!s.cipher_started) {
    s.cipher_started = true;
    Check(EVP_DecryptInit_ex2(s.ctx.cipher, Aes256Cbc(), U8(s.key), U8(s.iv), nullptr));
  }
  // The ciphertext ends where the MAC begins.
  const uint64_t at = std::max<uint64_t>(begin, kAttachmentIvSize);
  const uint64_t mac_start = s.MacStart();
  if (at >= mac_start) return absl::OkStatus();
  size_t n = static_cast<size_t>(std::min<uint64_t>(piece.size(), mac_start - at));
  std::string plain;
  CipherUpdate(s.ctx.cipher, false, piece.substr(0, n), &plain);
  s.Release(plain, out);
  return absl::OkStatus();
}

absl::Status AttachmentDecryptor::Finish(std::string* out) {
  State& s = *state_;
  if (s.phase != State::Phase::kVerified) {
    return absl::FailedPreconditionError(
        "attachment bytes are decrypted only after a successful verifying pass, and only once");
  }
  if (s.read != s.blob_size) {
    return s.Fail(absl::FailedPreconditionError(
        absl::StrCat("only ", s.read, " of the attachment blob's ", s.blob_size, " bytes were decrypted")));
  }
  std::string last(kBlock, '\0');
  int n = 0;
  if (EVP_DecryptFinal_ex(s.ctx.cipher, reinterpret_cast<uint8_t*>(last.data()), &n) != 1) {
    return s.Fail(absl::DataLossError("attachment padding is malformed (the sender's encryption is broken)"));
  }
  last.resize(static_cast<size_t>(n));
  s.Release(last, out);
  s.phase = State::Phase::kDone;
  // FinishVerification bounded the size by the blob, not by the PKCS#7
  // padding actually found.
  if (s.released != s.size) {
    return absl::DataLossError(
        absl::StrCat("attachment holds ", s.released, " bytes, fewer than its declared size of ", s.size));
  }
  return absl::OkStatus();
}

// ---- whole attachments ----

absl::StatusOr<EncryptedAttachment> EncryptAttachment(std::string_view key, std::string_view iv,
                                                      std::string_view plaintext) {
  ASSIGN_OR_RETURN(auto enc, AttachmentEncryptor::Create(key, iv, plaintext.size()));
  EncryptedAttachment out;
  out.blob.reserve(AttachmentBlobSize(plaintext.size()));
  RETURN_IF_ERROR(enc->Update(plaintext, &out.blob));
  ASSIGN_OR_RETURN(out.digest, enc->Finish(&out.blob));
  return out;
}

absl::StatusOr<std::string> DecryptAttachment(std::string_view key, std::string_view digest, uint64_t size,
                                              std::string_view blob) {
  ASSIGN_OR_RETURN(auto dec, AttachmentDecryptor::Create(key, digest, size, blob.size()));
  RETURN_IF_ERROR(dec->Verify(blob));
  RETURN_IF_ERROR(dec->FinishVerification());
  std::string out;
  out.reserve(size);
  RETURN_IF_ERROR(dec->Decrypt(blob, &out));
  RETURN_IF_ERROR(dec->Finish(&out));
  return out;
}

absl::StatusOr<EncryptedFile> EncryptAttachmentFile(std::string_view key, std::string_view iv,
                                                    const std::string& plaintext_path,
                                                    const std::string& blob_path) {
  std::error_code ec;
  uint64_t size = std::filesystem::file_size(plaintext_path, ec);
  if (ec) return absl::NotFoundError(absl::StrCat("cannot read ", plaintext_path, ": ", ec.message()));
  ASSIGN_OR_RETURN(auto enc, AttachmentEncryptor::Create(key, iv, size));
  File out(std::fopen(blob_path.c_str(), "wb"));
  if (!out) return absl::UnavailableError(absl::StrCat("cannot create ", blob_path));
  std::string buf;
  RETURN_IF_ERROR(ForEachPiece(plaintext_path, [&](std::string_view piece) -> absl::Status {
    buf.clear();
    RETURN_IF_ERROR(enc->Update(piece, &buf));
    return WriteAll(out.get(), buf, blob_path);
  }));
  buf.clear();
  // A file that grew or shrank while it was read fails here.
  ASSIGN_OR_RETURN(std::string digest, enc->Finish(&buf));
  RETURN_IF_ERROR(WriteAll(out.get(), buf, blob_path));
  if (std::fflush(out.get()) != 0) return absl::UnavailableError(absl::StrCat("cannot write ", blob_path));
  return EncryptedFile{std::move(digest), size};
}

absl::Status DecryptAttachmentFile(std::string_view key, std::string_view digest, uint64_t size,
                                   const std::string& blob_path, const std::string& plaintext_path) {
  std::error_code ec;
  uint64_t blob_size = std::filesystem::file_size(blob_path, ec);
  if (ec) return absl::NotFoundError(absl::StrCat("cannot read ", blob_path, ": ", ec.message()));
  ASSIGN_OR_RETURN(auto dec, AttachmentDecryptor::Create(key, digest, size, blob_size));
  RETURN_IF_ERROR(ForEachPiece(blob_path, [&](std::string_view piece) { return dec->Verify(piece); }));
  RETURN_IF_ERROR(dec->FinishVerification());
  const std::string part = plaintext_path + ".part";
  absl::Status st = [&]() -> absl::Status {
    File out(std::fopen(part.c_str(), "wb"));
    if (!out) return absl::UnavailableError(absl::StrCat("cannot create ", part));
    std::string buf;
    RETURN_IF_ERROR(ForEachPiece(blob_path, [&](std::string_view piece) -> absl::Status {
      buf.clear();
      RETURN_IF_ERROR(dec->Decrypt(piece, &buf));
      return WriteAll(out.get(), buf, part);
    }));
    buf.clear();
    RETURN_IF_ERROR(dec->Finish(&buf));
    RETURN_IF_ERROR(WriteAll(out.get(), buf, part));
    if (std::fflush(out.get()) != 0) return absl::UnavailableError(absl::StrCat("cannot write ", part));
    return absl::OkStatus();
  }();
  if (st.ok()) {
    std::filesystem::rename(part, plaintext_path, ec);
    if (ec) st = absl::UnavailableError(absl::StrCat("cannot rename ", part, ": ", ec.message()));
  }
  if (!st.ok()) std::filesystem::remove(part, ec);
  return st;
}

}  // namespace tandem::crypto
