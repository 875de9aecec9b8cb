// The fault-injecting VFS: each file it opens is a ShimFile whose methods
// pass through to a file of the default VFS, stored right after it, except
// that writes and syncs first ask the FaultVfs whether to fail.
#include "store/fault_vfs.h"

#include <sqlite3.h>

#include <algorithm>

#include "absl/strings/str_cat.h"

namespace tandem::store {

struct FaultVfs::Registration {
  sqlite3_vfs vfs;  // what sqlite3_vfs_register gets; pAppData points here
  FaultVfs* owner;
  sqlite3_vfs* base;  // the default VFS every call goes to
};

namespace {

struct ShimFile {
  sqlite3_file base;  // what SQLite sees; must come first
  FaultVfs* owner;
  sqlite3_file* real;
};
// The real file follows the ShimFile in the szOsFile bytes SQLite
// allocates, at an offset that keeps it as aligned as the allocation.
constexpr size_t kRealFileOffset = (sizeof(ShimFile) + 15) / 16 * 16;

ShimFile* Shim(sqlite3_file* f) { return reinterpret_cast<ShimFile*>(f); }
sqlite3_file* Real(sqlite3_file* f) { return Shim(f)->real; }
const sqlite3_io_methods& M(sqlite3_file* f) { return *Real(f)->pMethods; }

// ---- file methods ----

int Close(sqlite3_file* f) {
  sqlite3_file* real = Real(f);
  int rc = real->pMethods != nullptr ? real->pMethods->xClose(real) : SQLITE_OK;
  f->pMethods = nullptr;
  return rc;
}
int Read(sqlite3_file* f, void* buf, int n, sqlite3_int64 offset) {
  return M(f).xRead(Real(f), buf, n, offset);
}
int Write(sqlite3_file* f, const void* buf, int n, sqlite3_int64 offset) {
  if (int rc = Shim(f)->owner->OnWrite(); rc != SQLITE_OK) return rc;
  return M(f).xWrite(Real(f), buf, n, offset);
}
int Truncate(sqlite3_file* f, sqlite3_int64 size) { return M(f).xTruncate(Real(f), size); }
int Sync(sqlite3_file* f, int flags) {
  if (int rc = Shim(f)->owner->OnSync(); rc != SQLITE_OK) return rc;
  int rc = M(f).xSync(Real(f), flags);
  if (rc == SQLITE_OK) Shim(f)->owner->CountSync();
  return rc;
}
int FileSize(sqlite3_file* f, sqlite3_int64* size) { return M(f).xFileSize(Real(f), size); }
int Lock(sqlite3_file* f, int level) { return M(f).xLock(Real(f), level); }
int Unlock(sqlite3_file* f, int level) { return M(f).xUnlock(Real(f), level); }
int CheckReservedLock(sqlite3_file* f, int* out) { return M(f).xCheckReservedLock(Real(f), out); }
int FileControl(sqlite3_file* f, int op, void* arg) { return M(f).xFileControl(Real(f), op, arg); }
int SectorSize(sqlite3_file* f) { return M(f).xSectorSize(Real(f)); }
int DeviceCharacteristics(sqlite3_file* f) { return M(f).xDeviceCharacteristics(Real(f)); }
int ShmMap(sqlite3_file* f, int region, int size, int extend, void volatile** out) {
  return M(f).xShmMap(Real(f), region, size, extend, out);
}
int ShmLock(sqlite3_file* f, int offset, int n, int flags) {
  return M(f).xShmLock(Real(f), offset, n, flags);
}
void ShmBarrier(sqlite3_file* f) { M(f).xShmBarrier(Real(f)); }
int ShmUnmap(sqlite3_file* f, int delete_flag) { return M(f).xShmUnmap(Real(f), delete_flag); }
int Fetch(sqlite3_file* f, sqlite3_int64 offset, int amount, void** out) {
  return M(f).xFetch(Real(f), offset, amount, out);
}
int Unfetch(sqlite3_file* f, sqlite3_int64 offset, void* p) { return M(f).xUnfetch(Real(f), offset, p); }

// One table per io_methods version, so that SQLite never calls a method the
// real file does not have.
sqlite3_io_methods MakeMethods(int version) {
  sqlite3_io_methods m{};
  m.iVersion = version;
  m.xClose = Close;
  m.xRead = Read;
  m.xWrite = Write;
  m.xTruncate = Truncate;
  m.xSync = Sync;
  m.xFileSize = FileSize;
  m.xLock = Lock;
  m.xUnlock = Unlock;
  m.xCheckReservedLock = CheckReservedLock;
  m.xFileControl = FileControl;
  m.xSectorSize = SectorSize;
  m.xDeviceCharacteristics = DeviceCharacteristics;
  if (version >= 2) {
    m.xShmMap = ShmMap;
    m.xShmLock = ShmLock;
    m.xShmBarrier = ShmBarrier;
    m.xShmUnmap = ShmUnmap;
  }
  if (version >= 3) {
    m.xFetch = Fetch;
    m.xUnfetch = Unfetch;
  }
  return m;
}
const sqlite3_io_methods kMethods[3] = {MakeMethods(1), MakeMethods(2), MakeMethods(3)};

// ---- VFS methods: everything but xOpen goes straight to the default VFS ----

FaultVfs::Registration* Reg(sqlite3_vfs* vfs) { return static_cast<FaultVfs::Registration*>(vfs->pAppData); }
sqlite3_vfs* Base(sqlite3_vfs* vfs) { return Reg(vfs)->base; }

int Open(sqlite3_vfs* vfs, sqlite3_filename name, sqlite3_file* file, int flags, int* out_flags) {
  sqlite3_vfs* base = Base(vfs);
  ShimFile* shim = Shim(file);
  shim->owner = Reg(vfs)->owner;
  shim->real = reinterpret_cast<sqlite3_file*>(reinterpret_cast<char*>(file) + kRealFileOffset);
  shim->real->pMethods = nullptr;
  int rc = base->xOpen(base, name, shim->real, flags, out_flags);
  const sqlite3_io_methods* real = shim->real->pMethods;
  // A non-null pMethods makes SQLite call xClose even when xOpen failed,
  // which closes the real file too.
  file->pMethods = real == nullptr ? nullptr : &kMethods[std::clamp(real->iVersion, 1, 3) - 1];
  return rc;
}
int Delete(sqlite3_vfs* vfs, const char* name, int sync_dir) {
  return Base(vfs)->xDelete(Base(vfs), name, sync_dir);
}
int Access(sqlite3_vfs* vfs, const char* name, int flags, int* out) {
  return Base(vfs)->xAccess(Base(vfs), name, flags, out);
}
int FullPathname(sqlite3_vfs* vfs, const char* name, int n, char* out) {
  return Base(vfs)->xFullPathname(Base(vfs), name, n, out);
}
void* DlOpen(sqlite3_vfs* vfs, const char* name) { return Base(vfs)->xDlOpen(Base(vfs), name); }
void DlError(sqlite3_vfs* vfs, int n, char* out) { Base(vfs)->xDlError(Base(vfs), n, out); }
void (*DlSym(sqlite3_vfs* vfs, void* handle, const char* symbol))(void) {
  return Base(vfs)->xDlSym(Base(vfs), handle, symbol);
}
void DlClose(sqlite3_vfs* vfs, void* handle) { Base(vfs)->xDlClose(Base(vfs), handle); }
int Randomness(sqlite3_vfs* vfs, int n, char* out) { return Base(vfs)->xRandomness(Base(vfs), n, out); }
int Sleep(sqlite3_vfs* vfs, int us) { return Base(vfs)->xSleep(Base(vfs), us); }
int CurrentTime(sqlite3_vfs* vfs, double* out) { return Base(vfs)->xCurrentTime(Base(vfs), out); }
int GetLastError(sqlite3_vfs* vfs, int n, char* out) { return Base(vfs)->xGetLastError(Base(vfs), n, out); }
int CurrentTimeInt64(sqlite3_vfs* vfs, sqlite3_int64* out) {
  return Base(vfs)->xCurrentTimeInt64(Base(vfs), out);
}
int SetSystemCall(sqlite3_vfs* vfs, const char* name, sqlite3_syscall_ptr fn) {
  return Base(vfs)->xSetSystemCall(Base(vfs), name, fn);
}
sqlite3_syscall_ptr GetSystemCall(sqlite3_vfs* vfs, const char* name) {
  return Base(vfs)->xGetSystemCall(Base(vfs), name);
}
const char* NextSystemCall(sqlite3_vfs* vfs, const char* name) {
  return Base(vfs)->xNextSystemCall(Base(vfs), name);
}

}  // namespace

FaultVfs::FaultVfs(std::string name)
    : name_(std::move(name)), registration_(std::make_unique<Registration>()) {}

FaultVfs::~FaultVfs() { sqlite3_vfs_unregister(&registration_->vfs); }

absl::StatusOr<std::unique_ptr<FaultVfs>> FaultVfs::Register(std::string name) {
  if (int rc = sqlite3_initialize(); rc != SQLITE_OK) {
    return absl::InternalError(absl::StrCat("sqlite3_initialize: ", sqlite3_errstr(rc)));
  }
  if (sqlite3_vfs_find(name.c_str()) != nullptr) {
    return absl::AlreadyExistsError(absl::StrCat("a SQLite VFS named '", name, "' is already registered"));
  }
  sqlite3_vfs* base = sqlite3_vfs_find(nullptr);
  if (base == nullptr) return absl::FailedPreconditionError("SQLite has no default VFS to wrap");
  std::unique_ptr<FaultVfs> self(new FaultVfs(std::move(name)));
  Registration& r = *self->registration_;
  r.owner = self.get();
  r.base = base;
  sqlite3_vfs& v = r.vfs;
  v = sqlite3_vfs{};
  v.iVersion = std::min(base->iVersion, 3);
  v.szOsFile = static_cast<int>(kRealFileOffset) + base->szOsFile;
  v.mxPathname = base->mxPathname;
  v.zName = self->name_.c_str();
  v.pAppData = &r;
  v.xOpen = Open;
  v.xDelete = Delete;
  v.xAccess = Access;
  v.xFullPathname = FullPathname;
  v.xDlOpen = DlOpen;
  v.xDlError = DlError;
  v.xDlSym = DlSym;
  v.xDlClose = DlClose;
  v.xRandomness = Randomness;
  v.xSleep = Sleep;
  v.xCurrentTime = CurrentTime;
  v.xGetLastError = GetLastError;
  if (v.iVersion >= 2) v.xCurrentTimeInt64 = CurrentTimeInt64;
  if (v.iVersion >= 3) {
    v.xSetSystemCall = SetSystemCall;
    v.xGetSystemCall = GetSystemCall;
    v.xNextSystemCall = NextSystemCall;
  }
  if (int rc = sqlite3_vfs_register(&v, /*makeDflt=*/0); rc != SQLITE_OK) {
    return absl::InternalError(absl::StrCat("sqlite3_vfs_register: ", sqlite3_errstr(rc)));
  }
  return self;
}

void FaultVfs::Inject(Fault fault, int64_t after) {
  grace_.store(std::max<int64_t>(after, 0), std::memory_order_relaxed);
  fault_.store(fault, std::memory_order_release);
}

int FaultVfs::Decide(bool is_sync) {
  const Fault fault = fault_.load(std::memory_order_acquire);
  if (fault == Fault::kNone || (fault == Fault::kSyncError) != is_sync) return SQLITE_OK;
  if (grace_.fetch_sub(1, std::memory_order_relaxed) > 0) return SQLITE_OK;
  failures_.fetch_add(1, std::memory_order_relaxed);
  switch (fault) {
    case Fault::kWriteError:
      return SQLITE_IOERR_WRITE;
    case Fault::kSyncError:
      return SQLITE_IOERR_FSYNC;
    case Fault::kDiskFull:
      return SQLITE_FULL;
    case Fault::kNone:
      break;
  }
  return SQLITE_OK;
}

int FaultVfs::OnWrite() { return Decide(/*is_sync=*/false); }
int FaultVfs::OnSync() { return Decide(/*is_sync=*/true); }

}  // namespace tandem::store
