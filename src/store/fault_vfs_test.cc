// The fault-injecting VFS: it passes everything through when no fault is
// set (the conformance suite's basics through it), each fault makes a
// transaction fail with Unavailable and roll back whole, and the same
// connection works again once the fault clears.
#include "store/fault_vfs.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <thread>

#include "store/store.h"

namespace tandem::store {
namespace {

class FaultVfsTest : public ::testing::TestWithParam<Fault> {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() / ("tandem_fault_vfs_" + std::to_string(::getpid()));
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
    auto vfs = FaultVfs::Register("tandem-fault-test");
    ASSERT_TRUE(vfs.ok()) << vfs.status();
    vfs_ = std::move(*vfs);
    SqliteOptions o;
    o.vfs = vfs_->name();
    auto db = OpenSqlite((dir_ / "f.db").string(), o);
    ASSERT_TRUE(db.ok()) << db.status();
    db_ = std::move(*db);
    ASSERT_TRUE(
        db_->ExecuteScript("CREATE TABLE items (id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE)").ok());
  }
  void TearDown() override {
    db_.reset();
    vfs_.reset();
    std::filesystem::remove_all(dir_);
  }

  absl::Status InsertMany(const std::string& prefix, int n) {
    return db_->InTransaction([&](Database& tx) -> absl::Status {
      for (int i = 0; i < n; ++i) {
        // Rows large enough to need many pages, so writes happen during
        // the transaction (cache spills) as well as at commit.
        RETURN_IF_ERROR(tx.Execute("INSERT INTO items (name) VALUES ($1)",
                                   {prefix + std::to_string(i) + std::string(2000, 'x')})
                            .status());
      }
      return absl::OkStatus();
    });
  }
  int64_t Count() { return db_->QueryOne("SELECT COUNT(*) FROM items")->Int(0); }

  std::filesystem::path dir_;
  std::unique_ptr<FaultVfs> vfs_;
  std::unique_ptr<Database> db_;
};

TEST_F(FaultVfsTest, PassesThroughWithoutFaultsAndUsesWal) {
  EXPECT_EQ(db_->QueryOne("PRAGMA journal_mode")->Text(0), "wal");
  ASSERT_TRUE(InsertMany("a", 100).ok());
  EXPECT_EQ(Count(), 100);
  // A second connection through the VFS sees the commit (shared memory
  // and locks pass through).
  SqliteOptions o;
  o.vfs = vfs_->name();
  auto other = OpenSqlite((dir_ / "f.db").string(), o);
  ASSERT_TRUE(other.ok());
  EXPECT_EQ((*other)->QueryOne("SELECT COUNT(*) FROM items")->Int(0), 100);
  EXPECT_EQ(vfs_->failures(), 0u);
  // The name is taken while registered.
  EXPECT_EQ(FaultVfs::Register(vfs_->name()).status().code(), absl::StatusCode::kAlreadyExists);
}

TEST_F(FaultVfsTest, UnknownVfsNameIsAnError) {
  SqliteOptions o;
  o.vfs = "no-such-vfs";
  EXPECT_FALSE(OpenSqlite((dir_ / "g.db").string(), o).ok());
}

TEST_P(FaultVfsTest, FailedTransactionRollsBackAndTheConnectionRecovers) {
  ASSERT_TRUE(InsertMany("before", 10).ok());
  // Failing at once, and (for writes) after a transaction's first frames
  // are already in the WAL.
  std::vector<int64_t> afters = {0};
  if (GetParam() != Fault::kSyncError) afters.push_back(3);
  for (int64_t after : afters) {
    vfs_->Inject(GetParam(), after);
    absl::Status st = InsertMany("during" + std::to_string(after), 200);
    EXPECT_EQ(st.code(), absl::StatusCode::kUnavailable) << st;
    vfs_->Clear();
    EXPECT_EQ(Count(), 10) << "nothing of the failed transaction is visible";
  }
  EXPECT_GT(vfs_->failures(), 0u);
  ASSERT_TRUE(InsertMany("after", 10).ok());
  EXPECT_EQ(Count(), 20);
  // And the file on disk agrees, for a fresh connection without the VFS.
  db_.reset();
  auto reopened = OpenSqlite((dir_ / "f.db").string());
  ASSERT_TRUE(reopened.ok());
  EXPECT_EQ((*reopened)->QueryOne("SELECT COUNT(*) FROM items")->Int(0), 20);
  EXPECT_EQ((*reopened)->QueryOne("PRAGMA integrity_check")->Text(0), "ok");
  EXPECT_EQ((*reopened)->QueryOne("SELECT COUNT(*) FROM items WHERE name LIKE 'during%'")->Int(0), 0);
}

INSTANTIATE_TEST_SUITE_P(Faults, FaultVfsTest,
                         ::testing::Values(Fault::kWriteError, Fault::kSyncError, Fault::kDiskFull),
                         [](const auto& info) {
                           switch (info.param) {
                             case Fault::kWriteError:
                               return std::string("WriteError");
                             case Fault::kSyncError:
                               return std::string("SyncError");
                             case Fault::kDiskFull:
                               return std::string("DiskFull");
                             case Fault::kNone:
                               break;
                           }
                           return std::string("None");
                         });

}  // namespace
}  // namespace tandem::store
