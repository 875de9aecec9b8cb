// The relay's blob store: encrypted attachments (crypto/attachment.h),
// uploaded in chunks by their sender and downloaded by whoever the sender
// gave the id to. The relay sees only ciphertext; the id is unguessable (16
// random bytes), so knowing it is what lets an account download.
//
//  - Create() opens an upload of a declared length (1 .. max_length),
//    charged at once against the account's quota (the declared lengths of
//    its live blobs).
//  - Append() takes the chunk at exactly the offset received so far: a
//    client whose connection broke asks UploadState() and resumes there.
//    A chunk is durable before Append() returns; the upload is complete
//    when the declared length has arrived.
//  - Read() returns a range of a complete blob, to any caller.
//  - Blobs expire `retention` after their upload completed, incomplete
//    uploads `incomplete_retention` after they were created (Expire(), run
//    by the relay's upkeep); Delete(ids) removes the blobs a delivered
//    message carried, once every recipient has acknowledged it.
//
// BlobStore is the interface the relay's routes use, so an object store can
// replace the local files. Thread-safe.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <mutex>
#include <set>
#include <span>
#include <string>
#include <string_view>

#include "absl/base/thread_annotations.h"
#include "absl/time/time.h"
#include "common/clock.h"
#include "common/random.h"
#include "common/status.h"
#include "store/store.h"

namespace tandem::relay {

struct BlobStoreOptions {
  // The largest blob: that of a 100 MiB attachment, whose padding and MAC
  // make it 107,335,792 bytes (crypto::AttachmentBlobSize; a test checks).
  int64_t max_length = 107'335'792;
  // The largest chunk one request may carry (the upload route's body limit).
  int64_t max_chunk = int64_t{8} << 20;
  int64_t account_quota = int64_t{1} << 30;
  absl::Duration retention = absl::Hours(24 * 30);
  absl::Duration incomplete_retention = absl::Hours(24);
  absl::Duration upkeep_interval = absl::Hours(1);
};

struct BlobUpload {
  std::string id;
  int64_t length = 0;  // declared
  int64_t offset = 0;  // bytes received (and durable)
  bool complete = false;
};

class BlobStore {
 public:
  virtual ~BlobStore() = default;

  // InvalidArgument for a length below 1, OutOfRange above max_length,
  // ResourceExhausted past the account's quota.
  virtual absl::StatusOr<BlobUpload> Create(uint64_t account_id, int64_t length) = 0;
  // Appends `chunk` at `offset`. NotFound unless `account_id` created the
  // upload; FailedPrecondition (reason "offset_mismatch", the expected
  // offset in the message) when `offset` is not the bytes received so far,
  // or when the upload is complete; InvalidArgument for an empty chunk or
  // one past the declared length; Aborted while another chunk of the same
  // upload is being written. Nothing is written on an error.
  virtual absl::StatusOr<BlobUpload> Append(uint64_t account_id, const std::string& id, int64_t offset,
                                            std::string_view chunk) = 0;
  // NotFound unless `account_id` created the upload.
  virtual absl::StatusOr<BlobUpload> UploadState(uint64_t account_id, const std::string& id) = 0;
  // The length of a complete blob; NotFound for an unknown or incomplete one.
  virtual absl::StatusOr<int64_t> Size(const std::string& id) = 0;
  // `length` bytes of a complete blob from `offset`; InvalidArgument for a
  // range outside it.
  virtual absl::StatusOr<std::string> Read(const std::string& id, int64_t offset, int64_t length) = 0;
  // The uploader withdraws a blob (complete or not). NotFound otherwise.
  virtual absl::Status DeleteOwn(uint64_t account_id, const std::string& id) = 0;
  // The relay removes the blobs of a message every recipient acknowledged;
  // unknown ids are skipped. Returns how many were removed.
  virtual absl::StatusOr<int> Delete(std::span<const std::string> ids) = 0;
  // Removes what has expired by now; returns how many blobs.
  virtual absl::StatusOr<int> Expire() = 0;
};

// Creates the attachments table if it is missing. The table belongs to the
// blob store, not to the relay's numbered migrations, so that it can move
// to another store with it.
absl::Status MigrateBlobStore(store::Database& db);

// Files under `dir`: "<id>.part" while uploading, "<id>" once complete
// (renamed, so a reader never sees a partial blob). Metadata in the
// `attachments` table of `db` (which must outlive the store); the received
// offset there is advanced only after the chunk's fdatasync, so after a
// crash the file is cut back to the acknowledged bytes.
class LocalBlobStore final : public BlobStore {
 public:
  // Creates `dir`, migrates, and reconciles files with rows: a partial file
  // is cut to its acknowledged bytes, an upload whose last chunk was
  // acknowledged but not yet renamed is finished, and files no row knows
  // (and rows whose file is gone) are removed.
  static absl::StatusOr<std::unique_ptr<LocalBlobStore>> Open(std::filesystem::path dir, store::Database& db,
                                                              const Clock& clock, Random& random,
                                                              BlobStoreOptions options = {});

  absl::StatusOr<BlobUpload> Create(uint64_t account_id, int64_t length) override;
  absl::StatusOr<BlobUpload> Append(uint64_t account_id, const std::string& id, int64_t offset,
                                    std::string_view chunk) override;
  absl::StatusOr<BlobUpload> UploadState(uint64_t account_id, const std::string& id) override;
  absl::StatusOr<int64_t> Size(const std::string& id) override;
  absl::StatusOr<std::string> Read(const std::string& id, int64_t offset, int64_t length) override;
  absl::Status DeleteOwn(uint64_t account_id, const std::string& id) override;
  absl::StatusOr<int> Delete(std::span<const std::string> ids) override;
  absl::StatusOr<int> Expire() override;

  const BlobStoreOptions& options() const { return options_; }

 private:
  LocalBlobStore(std::filesystem::path dir, store::Database& db, const Clock& clock, Random& random,
                 BlobStoreOptions options);
  absl::Status Reconcile();
  std::filesystem::path PartPath(const std::string& id) const;
  std::filesystem::path FinalPath(const std::string& id) const;
  absl::Status Remove(const std::string& id);

  const std::filesystem::path dir_;
  store::Database& db_;
  const Clock& clock_;
  Random& random_;
  const BlobStoreOptions options_;
  std::mutex mu_;
  std::set<std::string> writing_ ABSL_GUARDED_BY(mu_);  // uploads with a chunk being written
};

}  // namespace tandem::relay
