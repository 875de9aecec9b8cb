// Fault injection under SQLite, for tests: a VFS that passes every call to
// the default one ("unix") and fails writes, fsyncs or reports a full disk
// on command. It is registered under its own name and never as the
// default, so a connection uses it only when opened with
// SqliteOptions::vfs set to that name; nothing in production registers it.
//
//   auto vfs = store::FaultVfs::Register("relay-faults");
//   store::SqliteOptions o;
//   o.vfs = (*vfs)->name();
//   auto db = store::OpenSqlite(path, o);
//   (*vfs)->Inject(store::Fault::kDiskFull);   // writes now fail: SQLITE_FULL
//   ...
//   (*vfs)->Clear();                           // the disk has room again
//
// Faults apply to every file opened through the VFS (database, WAL,
// journals); the WAL's shared memory is mapped, not written, and is not
// affected. Nothing is actually lost: a failed write writes nothing, a
// failed fsync syncs nothing, and the operation reports the error.
//
// Thread safety: Inject/Clear/failures may be called from any thread while
// connections use the VFS.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>

#include "common/status.h"

namespace tandem::store {

enum class Fault {
  kNone,
  kWriteError,  // xWrite fails with SQLITE_IOERR_WRITE
  kSyncError,   // xSync fails with SQLITE_IOERR_FSYNC
  kDiskFull,    // xWrite fails with SQLITE_FULL (out of space)
};

class FaultVfs {
 public:
  // Registers the VFS under `name` (not as the default). AlreadyExists if a
  // VFS of that name is registered, FailedPrecondition if SQLite has no
  // default VFS to wrap.
  static absl::StatusOr<std::unique_ptr<FaultVfs>> Register(std::string name);
  // Unregisters. Every connection opened through the VFS must be closed.
  ~FaultVfs();
  FaultVfs(const FaultVfs&) = delete;
  FaultVfs& operator=(const FaultVfs&) = delete;

  const std::string& name() const { return name_; }

  // From now on, once `after` more operations of the fault's kind have
  // succeeded, every one fails with `fault` until Clear() (or the next
  // Inject). kNone is Clear().
  void Inject(Fault fault, int64_t after = 0);
  void Clear() { Inject(Fault::kNone); }
  Fault fault() const { return fault_.load(std::memory_order_acquire); }
  // Operations failed by the VFS since it was registered.
  uint64_t failures() const { return failures_.load(std::memory_order_relaxed); }
  // fsyncs (xSync calls) that reached the disk since it was registered.
  uint64_t syncs() const { return syncs_.load(std::memory_order_relaxed); }

  // Internal, for the VFS's methods: SQLITE_OK, or the error code with
  // which the write (the sync) fails.
  int OnWrite();
  int OnSync();
  void CountSync() { syncs_.fetch_add(1, std::memory_order_relaxed); }
  struct Registration;  // the sqlite3_vfs and the default VFS it wraps

 private:
  explicit FaultVfs(std::string name);
  int Decide(bool is_sync);

  std::string name_;
  std::unique_ptr<Registration> registration_;
  std::atomic<Fault> fault_{Fault::kNone};
  std::atomic<int64_t> grace_{0};  // operations that still succeed
  std::atomic<uint64_t> failures_{0};
  std::atomic<uint64_t> syncs_{0};
};

}  // namespace tandem::store
