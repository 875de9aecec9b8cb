// Attachments from the client's side: a file is encrypted under a fresh key
// (crypto/attachment.h), its blob uploaded to the relay in chunks, and the
// pointer that lets a recipient fetch and decrypt it is what goes into an
// end-to-end encrypted message. Uploads resume from the relay's offset
// after a broken connection; downloads resume with byte ranges, and the
// plaintext is written only once the whole blob passed its digest and MAC.
//
// The blob lives in a scratch file while it travels, so memory holds about
// one chunk whatever the attachment's size. An upload encrypts on a thread
// of its own, which lives only during Upload(), so that the first chunks
// travel while the last are encrypted.
//
// Thread safety: an AttachmentClient is used from one thread, like the
// RelayTransport it is given.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>

#include "absl/time/time.h"
#include "client/relay_transport.h"
#include "common/clock.h"
#include "common/random.h"
#include "common/status.h"

namespace tandem::client {

// What a message carries so that its recipient can fetch the attachment.
struct AttachmentPointer {
  std::string id;      // the relay's blob id
  std::string key;     // 64 bytes
  std::string digest;  // SHA-256 of the blob, 32 bytes
  uint64_t size = 0;   // of the plaintext
  std::string content_type;
  std::string file_name;
};

struct AttachmentOptions {
  // Where blobs are kept while they travel; empty: the system's temporary
  // directory.
  std::filesystem::path scratch_dir;
  // Bytes per download request (uploads use the relay's max_chunk).
  int64_t download_chunk = int64_t{8} << 20;
  // Failed requests (no answer, or 5xx) in a row before giving up.
  int max_retries = 5;
  absl::Duration retry_delay = absl::Milliseconds(200);
};

class AttachmentClient {
 public:
  // `server` is the relay's "host:port"; `authorization` the value of the
  // Authorization header of this device (relay::BasicAuthorization).
  // `transport`, `clock` (for the waits between retries) and `random` must
  // outlive the client.
  AttachmentClient(RelayTransport& transport, std::string server, std::string authorization,
                   const Clock& clock, Random& random, AttachmentOptions options = {});

  // Encrypts the file at `path`, uploads its blob and returns the pointer.
  // `file_name` defaults to the path's file name.
  absl::StatusOr<AttachmentPointer> Upload(const std::filesystem::path& path, std::string content_type,
                                           std::string file_name = "");
  // Fetches the blob of `pointer` and writes its plaintext to `path`.
  // DataLoss (digest or MAC mismatch) if the blob is not what the sender
  // uploaded; nothing is written to `path` then.
  absl::Status Download(const AttachmentPointer& pointer, const std::filesystem::path& path);

 private:
  absl::StatusOr<net::HttpResponse> Call(const std::string& method, const std::string& target,
                                         const std::string& body, net::Headers headers = {});
  absl::StatusOr<int64_t> ServerOffset(const std::string& id);
  std::filesystem::path ScratchFile(std::string_view what);
  void PauseBeforeRetry() const;

  RelayTransport& transport_;
  const std::string server_;
  const std::string authorization_;
  const Clock& clock_;
  Random& random_;
  const AttachmentOptions options_;
};

}  // namespace tandem::client
