// Chunked, resumable attachment transfers over the relay's attachment
// routes (docs/relay-protocol.md, "Attachments"); see attachments.h.
#include "client/attachments.h"

#include <algorithm>
#include <condition_variable>
#include <cstdio>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <span>
#include <thread>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "common/error_codes.h"
#include "crypto/attachment.h"
#include "net/client.h"

namespace tandem::client {
namespace {

using nlohmann::json;

struct FileCloser {
  void operator()(std::FILE* f) const { std::fclose(f); }
};
using File = std::unique_ptr<std::FILE, FileCloser>;

// Removes a scratch file when the transfer is over, however it ended.
struct Scratch {
  std::filesystem::path path;
  ~Scratch() {
    std::error_code ec;
    std::filesystem::remove(path, ec);
  }
};

// Worth trying again: no answer, or the relay's own trouble.
bool Transient(const absl::StatusOr<net::HttpResponse>& r) {
  return !r.ok() ? r.status().code() == absl::StatusCode::kUnavailable ||
                       r.status().code() == absl::StatusCode::kDeadlineExceeded
                 : r->status >= 500;
}

absl::Status ErrorOf(const absl::StatusOr<net::HttpResponse>& r) {
  return r.ok() ? net::StatusFromResponse(*r) : r.status();
}

absl::StatusOr<json> JsonOf(const net::HttpResponse& r) {
  json j = json::parse(r.body, nullptr, false);
  if (j.is_discarded() || !j.is_object()) {
    return absl::UnavailableError(
        absl::StrCat("the relay answered HTTP ", r.status, " without a JSON object"));
  }
  return j;
}

absl::StatusOr<int64_t> IntField(const json& j, const char* name) {
  auto it = j.find(name);
  if (it == j.end() || !it->is_number_integer()) {
    return absl::UnavailableError(absl::StrCat("the relay's answer lacks \"", name, "\""));
  }
  return it->get<int64_t>();
}

// The total of "bytes a-b/total".
std::optional<int64_t> RangeTotal(const std::string& content_range) {
  size_t slash = content_range.rfind('/');
  int64_t total = 0;
  if (slash == std::string::npos || !absl::SimpleAtoi(content_range.substr(slash + 1), &total)) {
    return std::nullopt;
  }
  return total;
}

// Encrypts a file into a blob file on a thread of its own, so that the
// blob's first chunks travel while its last ones are still being made. The
// blob file only grows; WaitFor() returns once the bytes the uploader needs
// are in it (written through to the kernel, so another handle reads them).
// The destructor stops the thread early and joins it.
class EncryptionJob {
 public:
  EncryptionJob(std::string key, std::string iv, std::string plaintext_path, std::string blob_path)
      : thread_([this, key = std::move(key), iv = std::move(iv), in = std::move(plaintext_path),
                 out = std::move(blob_path)] { Finish(Run(key, iv, in, out)); }) {}
  ~EncryptionJob() {
    {
      std::lock_guard lock(mu_);
      cancelled_ = true;
    }
    thread_.join();
  }
  EncryptionJob(const EncryptionJob&) = delete;
  EncryptionJob& operator=(const EncryptionJob&) = delete;

  // Waits until the blob file holds `bytes` bytes; the encryption's error
  // if it failed first.
  absl::Status WaitFor(int64_t bytes) {
    std::unique_lock lock(mu_);
    cv_.wait(lock, [&] { return written_ >= bytes || done_; });
    if (written_ >= bytes) return absl::OkStatus();
    return status_.ok() ? absl::InternalError("the attachment blob is shorter than its size") : status_;
  }
  // Waits for the end; the blob's digest.
  absl::StatusOr<std::string> Digest() {
    std::unique_lock lock(mu_);
    cv_.wait(lock, [&] { return done_; });
    if (!status_.ok()) return status_;
    return digest_;
  }

 private:
  absl::StatusOr<std::string> Run(const std::string& key, const std::string& iv, const std::string& in_path,
                                  const std::string& out_path) {
    std::error_code ec;
    const uint64_t size = std::filesystem::file_size(in_path, ec);
    if (ec) return absl::NotFoundError(absl::StrCat("cannot read ", in_path, ": ", ec.message()));
    ASSIGN_OR_RETURN(auto enc, crypto::AttachmentEncryptor::Create(key, iv, size));
    File in(std::fopen(in_path.c_str(), "rb"));
    File out(std::fopen(out_path.c_str(), "wb"));
    if (!in || !out) return absl::UnavailableError(absl::StrCat("cannot open ", in_path, " or ", out_path));
    std::string piece(1 << 20, '\0'), blob;
    auto emit = [&]() -> absl::Status {
      if (!blob.empty() && (std::fwrite(blob.data(), 1, blob.size(), out.get()) != blob.size() ||
                            std::fflush(out.get()) != 0)) {
        return absl::UnavailableError(absl::StrCat("cannot write ", out_path));
      }
      std::lock_guard lock(mu_);
      written_ += static_cast<int64_t>(blob.size());
      cv_.notify_all();
      blob.clear();
      return cancelled_ ? absl::CancelledError("the upload ended") : absl::OkStatus();
    };
    for (;;) {
      size_t n = std::fread(piece.data(), 1, piece.size(), in.get());
      if (n > 0) {
        RETURN_IF_ERROR(enc->Update(std::string_view(piece.data(), n), &blob));
        RETURN_IF_ERROR(emit());
      }
      if (n < piece.size()) break;
    }
    if (std::ferror(in.get())) return absl::UnavailableError(absl::StrCat("cannot read ", in_path));
    // A file that grew or shrank while it was read fails here.
    ASSIGN_OR_RETURN(std::string digest, enc->Finish(&blob));
    RETURN_IF_ERROR(emit());
    return digest;
  }
  void Finish(absl::StatusOr<std::string> result) {
    std::lock_guard lock(mu_);
    done_ = true;
    if (result.ok()) {
      digest_ = std::move(*result);
    } else {
      status_ = result.status();
    }
    cv_.notify_all();
  }

  std::mutex mu_;
  std::condition_variable cv_;
  int64_t written_ = 0;
  bool done_ = false;
  bool cancelled_ = false;
  absl::Status status_;
  std::string digest_;
  std::thread thread_;  // last: it starts once the state above exists
};

}  // namespace

AttachmentClient::AttachmentClient(RelayTransport& transport, std::string server, std::string authorization,
                                   const Clock& clock, Random& random, AttachmentOptions options)
    : transport_(transport),
      server_(std::move(server)),
      authorization_(std::move(authorization)),
      clock_(clock),
      random_(random),
      options_(std::move(options)) {}

absl::StatusOr<net::HttpResponse> AttachmentClient::Call(const std::string& method, const std::string& target,
                                                         const std::string& body, net::Headers headers) {
  headers.emplace_back("Authorization", authorization_);
  if (method == "POST") headers.emplace_back("Content-Type", "application/json");
  return transport_.Request(server_, method, target, body, headers);
}

absl::StatusOr<int64_t> AttachmentClient::ServerOffset(const std::string& id) {
  auto r = Call("GET", absl::StrCat("/v1/attachments/", id, "/upload"), "");
  if (!r.ok() || r->status != 200) return ErrorOf(r);
  ASSIGN_OR_RETURN(json j, JsonOf(*r));
  return IntField(j, "offset");
}

void AttachmentClient::PauseBeforeRetry() const { clock_.SleepFor(options_.retry_delay); }

std::filesystem::path AttachmentClient::ScratchFile(std::string_view what) {
  std::filesystem::path dir =
      options_.scratch_dir.empty() ? std::filesystem::temp_directory_path() : options_.scratch_dir;
  return dir / absl::StrCat("tandem-", std::string(what), "-", random_.Hex(8));
}

absl::StatusOr<AttachmentPointer> AttachmentClient::Upload(const std::filesystem::path& path,
                                                           std::string content_type, std::string file_name) {
  AttachmentPointer pointer;
  pointer.key = crypto::GenerateAttachmentKey(random_);
  pointer.content_type = std::move(content_type);
  pointer.file_name = file_name.empty() ? path.filename().string() : std::move(file_name);
  std::string iv(crypto::kAttachmentIvSize, '\0');
  random_.Fill(std::span(reinterpret_cast<uint8_t*>(iv.data()), iv.size()));
  std::error_code ec;
  pointer.size = std::filesystem::file_size(path, ec);
  if (ec) return absl::NotFoundError(absl::StrCat("cannot read ", path.string(), ": ", ec.message()));
  const auto blob_size = static_cast<int64_t>(crypto::AttachmentBlobSize(pointer.size));

  // The upload is created first, so that a quota or size refusal comes
  // before any encryption.
  auto created = Call("POST", "/v1/attachments", json{{"length", blob_size}}.dump());
  if (!created.ok() || created->status != 201) return ErrorOf(created);
  ASSIGN_OR_RETURN(json up, JsonOf(*created));
  if (!up.contains("id") || !up["id"].is_string()) {
    return absl::UnavailableError("the relay's answer lacks \"id\"");
  }
  pointer.id = up["id"].get<std::string>();
  ASSIGN_OR_RETURN(int64_t max_chunk, IntField(up, "max_chunk"));
  if (max_chunk < 1) return absl::UnavailableError("the relay offers no chunk size");

  Scratch blob{ScratchFile("upload")};
  EncryptionJob job(pointer.key, iv, path.string(), blob.path.string());
  File in;
  std::string chunk;
  int64_t offset = 0;
  int failures = 0;
  while (offset < blob_size) {
    chunk.resize(static_cast<size_t>(std::min(max_chunk, blob_size - offset)));
    RETURN_IF_ERROR(job.WaitFor(offset + static_cast<int64_t>(chunk.size())));
    if (!in) in.reset(std::fopen(blob.path.c_str(), "rb"));
    if (!in || std::fseek(in.get(), offset, SEEK_SET) != 0 ||
        std::fread(chunk.data(), 1, chunk.size(), in.get()) != chunk.size()) {
      return absl::UnavailableError(absl::StrCat("cannot read ", blob.path.string()));
    }
    auto r = Call("PUT", absl::StrCat("/v1/attachments/", pointer.id, "?offset=", offset), chunk);
    if (r.ok() && r->status == 200) {
      ASSIGN_OR_RETURN(json j, JsonOf(*r));
      ASSIGN_OR_RETURN(offset, IntField(j, "offset"));
      failures = 0;
      continue;
    }
    // The relay has a different offset than we think when an earlier
    // answer was lost: it tells us, and we go on from there.
    const bool resync = r.ok() && ReasonOf(net::StatusFromResponse(*r)) == "offset_mismatch";
    if (!resync && !Transient(r)) return ErrorOf(r);
    if (++failures > options_.max_retries) return ErrorOf(r);
    if (!resync) PauseBeforeRetry();
    auto at = ServerOffset(pointer.id);
    if (at.ok()) offset = *at;
  }
  ASSIGN_OR_RETURN(pointer.digest, job.Digest());
  return pointer;
}

absl::Status AttachmentClient::Download(const AttachmentPointer& pointer, const std::filesystem::path& path) {
  if (pointer.id.empty()) return absl::InvalidArgumentError("the attachment pointer has no id");
  const auto expected = static_cast<int64_t>(crypto::AttachmentBlobSize(pointer.size));
  Scratch blob{ScratchFile("download")};
  // The verifying pass runs on the ranges as they arrive; the decrypting
  // pass reads the blob file once it is all there and verified.
  std::unique_ptr<crypto::AttachmentDecryptor> dec;
  {
    File out(std::fopen(blob.path.c_str(), "wb"));
    if (!out) return absl::UnavailableError(absl::StrCat("cannot create ", blob.path.string()));
    int64_t have = 0;
    std::optional<int64_t> total;
    int failures = 0;
    while (!total || have < *total) {
      auto r = Call("GET", absl::StrCat("/v1/attachments/", pointer.id), "",
                    {{"Range", absl::StrCat("bytes=", have, "-", have + options_.download_chunk - 1)}});
      if (r.ok() && (r->status == 206 || (r->status == 200 && have == 0))) {
        std::optional<int64_t> now = r->status == 206 ? RangeTotal(r->Header("content-range"))
                                                      : std::optional<int64_t>(r->body.size());
        if (!now) return absl::UnavailableError("the relay's partial answer lacks a Content-Range");
        if (total && *now != *total)
          return absl::UnavailableError("the relay's blob changed size during the download");
        // Refused before it fills the disk: no blob of this attachment is
        // that large.
        if (*now > expected) {
          return absl::DataLossError(absl::StrCat("the relay offers a blob of ", *now,
                                                  " bytes, more than an attachment of ", pointer.size,
                                                  " bytes is encrypted to (", expected, ")"));
        }
        if (!total) {
          total = now;
          ASSIGN_OR_RETURN(dec, crypto::AttachmentDecryptor::Create(pointer.key, pointer.digest, pointer.size,
                                                                    static_cast<uint64_t>(*total)));
        }
        if (r->body.empty() && have < *total) return absl::UnavailableError("the relay sent an empty range");
        RETURN_IF_ERROR(dec->Verify(r->body));
        if (!r->body.empty() && std::fwrite(r->body.data(), 1, r->body.size(), out.get()) != r->body.size()) {
          return absl::UnavailableError(absl::StrCat("cannot write ", blob.path.string()));
        }
        have += static_cast<int64_t>(r->body.size());
        failures = 0;
        continue;
      }
      if (!Transient(r) || ++failures > options_.max_retries) return ErrorOf(r);
      PauseBeforeRetry();
    }
    if (std::fflush(out.get()) != 0) {
      return absl::UnavailableError(absl::StrCat("cannot write ", blob.path.string()));
    }
  }
  RETURN_IF_ERROR(dec->FinishVerification());

  // Only verified bytes are decrypted, into a file renamed at the end, so
  // that a failure leaves nothing at `path`.
  Scratch part{path.string() + ".part"};
  {
    File in(std::fopen(blob.path.c_str(), "rb"));
    File out(std::fopen(part.path.c_str(), "wb"));
    if (!in || !out) return absl::UnavailableError(absl::StrCat("cannot create ", part.path.string()));
    std::string piece(1 << 20, '\0'), plain;
    for (;;) {
      size_t n = std::fread(piece.data(), 1, piece.size(), in.get());
      plain.clear();
      if (n > 0) RETURN_IF_ERROR(dec->Decrypt(std::string_view(piece.data(), n), &plain));
      if (n < piece.size()) RETURN_IF_ERROR(dec->Finish(&plain));
      if (!plain.empty() && std::fwrite(plain.data(), 1, plain.size(), out.get()) != plain.size()) {
        return absl::UnavailableError(absl::StrCat("cannot write ", part.path.string()));
      }
      if (n < piece.size()) break;
    }
    if (std::ferror(in.get()) || std::fflush(out.get()) != 0) {
      return absl::UnavailableError(absl::StrCat("cannot decrypt into ", part.path.string()));
    }
  }
  std::error_code ec;
  std::filesystem::rename(part.path, path, ec);
  if (ec)
    return absl::UnavailableError(absl::StrCat("cannot rename ", part.path.string(), ": ", ec.message()));
  return absl::OkStatus();
}

}  // namespace tandem::client
