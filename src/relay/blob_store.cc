// LocalBlobStore: attachment blobs as files, their metadata in the relay's
// database; see blob_store.h.
#include "relay/blob_store.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <map>
#include <optional>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/error_codes.h"
#include "common/log.h"

namespace tandem::relay {
namespace {

constexpr size_t kIdBytes = 16;
constexpr char kPartSuffix[] = ".part";

constexpr std::string_view kSchema = R"sql(
CREATE TABLE IF NOT EXISTS attachments (
  id TEXT PRIMARY KEY,
  account_id INTEGER NOT NULL,
  length INTEGER NOT NULL,
  received INTEGER NOT NULL DEFAULT 0,
  created_ms INTEGER NOT NULL,
  completed_ms INTEGER
);
CREATE INDEX IF NOT EXISTS attachments_by_account ON attachments (account_id);
CREATE INDEX IF NOT EXISTS attachments_by_created ON attachments (created_ms);
)sql";

// Ids are what Create() makes: 32 lowercase hex digits. Anything else is
// refused before it gets near a file name.
bool ValidId(const std::string& id) {
  if (id.size() != 2 * kIdBytes) return false;
  for (char c : id) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

absl::Status NoUpload(const std::string& id) {
  return absl::NotFoundError(absl::StrCat("no attachment upload '", id, "' of this account"));
}

absl::Status Errno(const char* what, const std::filesystem::path& path) {
  return absl::UnavailableError(absl::StrCat(what, " ", path.string(), ": ", std::strerror(errno)));
}

struct Fd {
  int fd = -1;
  ~Fd() {
    if (fd >= 0) ::close(fd);
  }
};

absl::Status SyncDirectory(const std::filesystem::path& dir) {
  Fd d{::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC)};
  if (d.fd < 0 || ::fsync(d.fd) != 0) return Errno("cannot sync", dir);
  return absl::OkStatus();
}

struct BlobRow {
  uint64_t account_id = 0;
  int64_t length = 0;
  int64_t received = 0;
  bool complete = false;
};

absl::StatusOr<std::optional<BlobRow>> LoadRow(store::Database& db, const std::string& id) {
  ASSIGN_OR_RETURN(auto rows, db.Query("SELECT account_id, length, received, completed_ms IS NOT NULL "
                                       "FROM attachments WHERE id = $1",
                                       {id}));
  if (rows.empty()) return std::optional<BlobRow>();
  const store::Row& r = rows[0];
  return BlobRow{static_cast<uint64_t>(r.Int(0)), r.Int(1), r.Int(2), r.Int(3) != 0};
}

BlobUpload UploadOf(const std::string& id, const BlobRow& row) {
  return BlobUpload{id, row.length, row.received, row.complete};
}

}  // namespace

absl::Status MigrateBlobStore(store::Database& db) { return db.ExecuteScript(kSchema); }

LocalBlobStore::LocalBlobStore(std::filesystem::path dir, store::Database& db, const Clock& clock,
                               Random& random, BlobStoreOptions options)
    : dir_(std::move(dir)), db_(db), clock_(clock), random_(random), options_(options) {}

absl::StatusOr<std::unique_ptr<LocalBlobStore>> LocalBlobStore::Open(std::filesystem::path dir,
                                                                     store::Database& db, const Clock& clock,
                                                                     Random& random,
                                                                     BlobStoreOptions options) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) return absl::UnavailableError(absl::StrCat("cannot create ", dir.string(), ": ", ec.message()));
  RETURN_IF_ERROR(MigrateBlobStore(db));
  std::unique_ptr<LocalBlobStore> s(new LocalBlobStore(std::move(dir), db, clock, random, options));
  RETURN_IF_ERROR(s->Reconcile());
  return s;
}

std::filesystem::path LocalBlobStore::PartPath(const std::string& id) const {
  return dir_ / absl::StrCat(id, kPartSuffix);
}
std::filesystem::path LocalBlobStore::FinalPath(const std::string& id) const { return dir_ / id; }

absl::Status LocalBlobStore::Reconcile() {
  ASSIGN_OR_RETURN(auto rows,
                   db_.Query("SELECT id, length, received, completed_ms IS NOT NULL FROM attachments"));
  std::set<std::string> keep;  // file names that belong to a row
  const int64_t now_ms = absl::ToUnixMillis(clock_.Now());
  for (const store::Row& r : rows) {
    const std::string& id = r.Text(0);
    const int64_t length = r.Int(1);
    int64_t received = r.Int(2);
    bool complete = r.Int(3) != 0;
    std::error_code ec;
    const auto part = PartPath(id), final_path = FinalPath(id);
    if (!complete && received == length) {
      // The last chunk was acknowledged; the rename (or its record) was not.
      if (std::filesystem::exists(part, ec)) {
        std::filesystem::rename(part, final_path, ec);
        if (ec)
          return absl::UnavailableError(absl::StrCat("cannot rename ", part.string(), ": ", ec.message()));
        RETURN_IF_ERROR(SyncDirectory(dir_));
      }
      complete = std::filesystem::exists(final_path, ec);
      if (complete) {
        RETURN_IF_ERROR(
            db_.Execute("UPDATE attachments SET completed_ms = $2 WHERE id = $1", {id, now_ms}).status());
      }
    }
    if (complete) {
      uint64_t size = std::filesystem::file_size(final_path, ec);
      if (ec || static_cast<int64_t>(size) != length) {
        log::Warn("blob.lost", {{"id", id}, {"length", length}});
        RETURN_IF_ERROR(db_.Execute("DELETE FROM attachments WHERE id = $1", {id}).status());
        continue;
      }
      keep.insert(id);
      continue;
    }
    // Bytes past the acknowledged offset came from a chunk whose answer
    // never left: the client sends it again.
    uint64_t size = std::filesystem::file_size(part, ec);
    if (ec) size = 0;
    if (static_cast<int64_t>(size) > received) {
      std::filesystem::resize_file(part, static_cast<uint64_t>(received), ec);
      if (ec) return absl::UnavailableError(absl::StrCat("cannot cut ", part.string(), ": ", ec.message()));
    } else if (static_cast<int64_t>(size) < received) {
      // Cannot happen with fdatasync before the record; keep what is there.
      log::Warn("blob.short_part",
                {{"id", id}, {"received", received}, {"on_disk", static_cast<int64_t>(size)}});
      RETURN_IF_ERROR(
          db_.Execute("UPDATE attachments SET received = $2 WHERE id = $1", {id, static_cast<int64_t>(size)})
              .status());
    }
    keep.insert(absl::StrCat(id, kPartSuffix));
  }
  int removed = 0;
  for (const auto& entry : std::filesystem::directory_iterator(dir_)) {
    const std::string name = entry.path().filename().string();
    if (keep.count(name)) continue;
    std::error_code ec;
    std::filesystem::remove_all(entry.path(), ec);
    ++removed;
  }
  if (removed > 0) log::Info("blob.orphans_removed", {{"files", removed}});
  return absl::OkStatus();
}

absl::StatusOr<BlobUpload> LocalBlobStore::Create(uint64_t account_id, int64_t length) {
  if (length < 1) return absl::InvalidArgumentError("an attachment's length must be at least 1 byte");
  if (length > options_.max_length) {
    return absl::OutOfRangeError(
        absl::StrCat("an attachment of ", length, " bytes exceeds the limit of ", options_.max_length));
  }
  BlobUpload up{random_.Hex(kIdBytes), length, 0, false};
  const int64_t now_ms = absl::ToUnixMillis(clock_.Now());
  RETURN_IF_ERROR(db_.InTransaction([&](store::Database& tx) -> absl::Status {
    ASSIGN_OR_RETURN(store::Row used, tx.QueryOne("SELECT COALESCE(SUM(length), 0) FROM attachments "
                                                  "WHERE account_id = $1",
                                                  {account_id}));
    if (used.Int(0) + length > options_.account_quota) {
      return absl::ResourceExhaustedError(absl::StrCat("attachment quota exceeded: the account's blobs hold ",
                                                       used.Int(0), " of ", options_.account_quota,
                                                       " bytes, and this one would add ", length));
    }
    return tx
        .Execute(
            "INSERT INTO attachments (id, account_id, length, received, created_ms) "
            "VALUES ($1, $2, $3, 0, $4)",
            {up.id, account_id, length, now_ms})
        .status();
  }));
  return up;
}

absl::StatusOr<BlobUpload> LocalBlobStore::Append(uint64_t account_id, const std::string& id, int64_t offset,
                                                  std::string_view chunk) {
  if (!ValidId(id)) return NoUpload(id);
  {
    std::lock_guard lock(mu_);
    if (!writing_.insert(id).second) {
      return absl::AbortedError(
          "another chunk of this upload is being written; ask for the offset and resume");
    }
  }
  struct Release {
    LocalBlobStore* s;
    const std::string& id;
    ~Release() {
      std::lock_guard lock(s->mu_);
      s->writing_.erase(id);
    }
  } release{this, id};

  ASSIGN_OR_RETURN(auto row, LoadRow(db_, id));
  if (!row || row->account_id != account_id) return NoUpload(id);
  if (row->complete) return absl::FailedPreconditionError(absl::StrCat("the upload '", id, "' is complete"));
  if (offset != row->received) {
    return WithReason(absl::FailedPreconditionError(
                          absl::StrCat("chunk offset ", offset, " does not match the upload, which has ",
                                       row->received, " bytes: send from offset ", row->received)),
                      "offset_mismatch");
  }
  if (chunk.empty()) return absl::InvalidArgumentError("an attachment chunk must not be empty");
  if (static_cast<int64_t>(chunk.size()) > row->length - offset) {
    return absl::InvalidArgumentError(absl::StrCat("a chunk of ", chunk.size(), " bytes at offset ", offset,
                                                   " passes the declared length of ", row->length));
  }

  const auto part = PartPath(id);
  {
    Fd f{::open(part.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0600)};
    if (f.fd < 0) return Errno("cannot open", part);
    // Whatever lies past the acknowledged bytes is from a chunk that failed.
    if (::ftruncate(f.fd, offset) != 0) return Errno("cannot cut", part);
    for (size_t done = 0; done < chunk.size();) {
      ssize_t n = ::pwrite(f.fd, chunk.data() + done, chunk.size() - done, offset + static_cast<off_t>(done));
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) return Errno("cannot write", part);
      done += static_cast<size_t>(n);
    }
    // Durable before it is acknowledged (and before it is recorded, so
    // that the record never runs ahead of the file).
    if (::fdatasync(f.fd) != 0) return Errno("cannot sync", part);
  }
  row->received = offset + static_cast<int64_t>(chunk.size());
  RETURN_IF_ERROR(
      db_.Execute("UPDATE attachments SET received = $2 WHERE id = $1", {id, row->received}).status());
  if (row->received == row->length) {
    std::error_code ec;
    std::filesystem::rename(part, FinalPath(id), ec);
    if (ec) return absl::UnavailableError(absl::StrCat("cannot rename ", part.string(), ": ", ec.message()));
    RETURN_IF_ERROR(SyncDirectory(dir_));
    RETURN_IF_ERROR(db_.Execute("UPDATE attachments SET completed_ms = $2 WHERE id = $1",
                                {id, absl::ToUnixMillis(clock_.Now())})
                        .status());
    row->complete = true;
  }
  return UploadOf(id, *row);
}

absl::StatusOr<BlobUpload> LocalBlobStore::UploadState(uint64_t account_id, const std::string& id) {
  if (!ValidId(id)) return NoUpload(id);
  ASSIGN_OR_RETURN(auto row, LoadRow(db_, id));
  if (!row || row->account_id != account_id) return NoUpload(id);
  return UploadOf(id, *row);
}

absl::StatusOr<int64_t> LocalBlobStore::Size(const std::string& id) {
  auto missing = absl::NotFoundError(absl::StrCat("no attachment '", id, "'"));
  if (!ValidId(id)) return missing;
  ASSIGN_OR_RETURN(auto row, LoadRow(db_, id));
  if (!row || !row->complete) return missing;
  return row->length;
}

absl::StatusOr<std::string> LocalBlobStore::Read(const std::string& id, int64_t offset, int64_t length) {
  ASSIGN_OR_RETURN(int64_t size, Size(id));
  if (offset < 0 || length < 0 || offset > size || length > size - offset) {
    return absl::InvalidArgumentError(absl::StrCat("the range of ", length, " bytes at offset ", offset,
                                                   " is outside the attachment of ", size, " bytes"));
  }
  const auto path = FinalPath(id);
  Fd f{::open(path.c_str(), O_RDONLY | O_CLOEXEC)};
  // Deleted or expired since Size(): as if it had never been there.
  if (f.fd < 0) return absl::NotFoundError(absl::StrCat("no attachment '", id, "'"));
  std::string out(static_cast<size_t>(length), '\0');
  for (size_t done = 0; done < out.size();) {
    ssize_t n = ::pread(f.fd, out.data() + done, out.size() - done, offset + static_cast<off_t>(done));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return Errno("cannot read", path);
    done += static_cast<size_t>(n);
  }
  return out;
}

absl::Status LocalBlobStore::Remove(const std::string& id) {
  // The row goes first: a crash between leaves an orphan file, which the
  // next Open() removes, never a row without its file.
  RETURN_IF_ERROR(db_.Execute("DELETE FROM attachments WHERE id = $1", {id}).status());
  std::error_code ec;
  std::filesystem::remove(PartPath(id), ec);
  std::filesystem::remove(FinalPath(id), ec);
  return absl::OkStatus();
}

absl::Status LocalBlobStore::DeleteOwn(uint64_t account_id, const std::string& id) {
  ASSIGN_OR_RETURN(BlobUpload up, UploadState(account_id, id));
  std::lock_guard lock(mu_);
  if (writing_.count(up.id)) return absl::AbortedError("a chunk of this upload is being written");
  return Remove(up.id);
}

absl::StatusOr<int> LocalBlobStore::Delete(std::span<const std::string> ids) {
  int removed = 0;
  for (const std::string& id : ids) {
    if (!ValidId(id)) continue;
    std::lock_guard lock(mu_);
    if (writing_.count(id)) continue;  // still uploading: not what a delivered message carried
    ASSIGN_OR_RETURN(auto row, LoadRow(db_, id));
    if (!row) continue;
    RETURN_IF_ERROR(Remove(id));
    ++removed;
  }
  return removed;
}

absl::StatusOr<int> LocalBlobStore::Expire() {
  const absl::Time now = clock_.Now();
  ASSIGN_OR_RETURN(
      auto rows,
      db_.Query("SELECT id FROM attachments WHERE (completed_ms IS NOT NULL AND completed_ms <= $1) "
                "OR (completed_ms IS NULL AND created_ms <= $2)",
                {absl::ToUnixMillis(now - options_.retention),
                 absl::ToUnixMillis(now - options_.incomplete_retention)}));
  std::vector<std::string> ids;
  ids.reserve(rows.size());
  for (const store::Row& r : rows) ids.push_back(r.Text(0));
  ASSIGN_OR_RETURN(int removed, Delete(ids));
  if (removed > 0) log::Info("blob.expired", {{"blobs", removed}});
  return removed;
}

}  // namespace tandem::relay
