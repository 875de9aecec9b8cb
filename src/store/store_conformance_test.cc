// Conformance tests every Database backend must pass. A backend joins by
// adding a factory to the INSTANTIATE_TEST_SUITE_P list below.
#include <gtest/gtest.h>

#include <filesystem>
#include <thread>

#include "store/fault_vfs.h"
#include "store/store.h"

namespace tandem::store {
namespace {

struct Backend {
  std::string name;
  std::function<std::unique_ptr<Database>(const std::string& dir)> open;
};

class StoreConformance : public ::testing::TestWithParam<Backend> {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("tandem_store_" + std::to_string(::getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
    db_ = GetParam().open(dir_.string());
    ASSERT_NE(db_, nullptr);
    ASSERT_TRUE(db_->Migrate(kMigrations).ok());
  }
  void TearDown() override {
    db_.reset();
    std::filesystem::remove_all(dir_);
  }

  static constexpr Migration kMigrations[] = {
      {1, "items", "CREATE TABLE items (id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE, n BIGINT);"},
      {2, "blobs", "CREATE TABLE blobs (k TEXT PRIMARY KEY, v BLOB); CREATE INDEX items_n ON items (n);"},
  };

  std::filesystem::path dir_;
  std::unique_ptr<Database> db_;
};

TEST_P(StoreConformance, InsertAndQueryWithNumberedParameters) {
  ASSERT_EQ(*db_->Execute("INSERT INTO items (name, n) VALUES ($1, $2)", {"a", 1}), 1);
  // Parameters used out of order still bind by number.
  ASSERT_TRUE(db_->Execute("INSERT INTO items (n, name) VALUES ($2, $1)", {"b", 2}).ok());
  auto rows = db_->Query("SELECT name, n FROM items WHERE n >= $1 ORDER BY n", {1});
  ASSERT_TRUE(rows.ok()) << rows.status();
  ASSERT_EQ(rows->size(), 2u);
  EXPECT_EQ((*rows)[1].Text(0), "b");
  EXPECT_EQ((*rows)[1].Int(1), 2);
  auto one = db_->QueryOne("SELECT n FROM items WHERE name = $1", {"zzz"});
  EXPECT_EQ(one.status().code(), absl::StatusCode::kNotFound);
  auto null_row = db_->QueryOne("SELECT NULL");
  ASSERT_TRUE(null_row.ok());
  EXPECT_TRUE(null_row->IsNull(0));
}

// A new row's id comes from its own statement, so concurrent inserts on one
// handle each learn their own id.
TEST_P(StoreConformance, InsertReturningGivesEachInsertItsOwnId) {
  std::vector<std::thread> threads;
  std::vector<std::vector<std::pair<int64_t, int64_t>>> got(4);
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 200; ++i) {
        int64_t n = t * 1000 + i;
        auto row = db_->QueryOne("INSERT INTO items (name, n) VALUES ($1, $2) RETURNING id",
                                 {"x" + std::to_string(n), n});
        ASSERT_TRUE(row.ok()) << row.status();
        got[t].emplace_back(row->Int(0), n);
      }
    });
  }
  for (auto& th : threads) th.join();
  for (const auto& list : got) {
    for (const auto& [id, n] : list) {
      EXPECT_EQ(db_->QueryOne("SELECT n FROM items WHERE id = $1", {id})->Int(0), n);
    }
  }
}

TEST_P(StoreConformance, ErrorsAreClassified) {
  ASSERT_TRUE(db_->Execute("INSERT INTO items (name, n) VALUES ($1, $2)", {"a", 1}).ok());
  auto dup = db_->Execute("INSERT INTO items (name, n) VALUES ($1, $2)", {"a", 2});
  EXPECT_EQ(dup.status().code(), absl::StatusCode::kAlreadyExists) << dup.status();
  auto null = db_->Execute("INSERT INTO items (name, n) VALUES ($1, $2)", {nullptr, 2});
  EXPECT_EQ(null.status().code(), absl::StatusCode::kFailedPrecondition) << null.status();
  EXPECT_EQ(db_->Execute("SELEC nonsense").status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(db_->Execute("INSERT INTO items (name) VALUES ($1)", {}).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(db_->Execute("INSERT INTO items (name) VALUES ($1); DELETE FROM items", {"x"}).status().code(),
            absl::StatusCode::kInvalidArgument);
  // Nothing from the failed statements was written.
  EXPECT_EQ(db_->QueryOne("SELECT COUNT(*) FROM items")->Int(0), 1);
}

TEST_P(StoreConformance, BlobsKeepEveryByte) {
  std::string bytes("\0\x01\xff text\0", 10);
  ASSERT_TRUE(db_->Execute("INSERT INTO blobs (k, v) VALUES ($1, $2)", {"k", Value::Blob(bytes)}).ok());
  auto row = db_->QueryOne("SELECT v FROM blobs WHERE k = $1", {"k"});
  ASSERT_TRUE(row.ok());
  EXPECT_EQ(row->at(0).type(), Value::Type::kBlob);
  EXPECT_EQ(row->Bytes(0), bytes);
}

TEST_P(StoreConformance, FailedTransactionChangesNothing) {
  absl::Status st = db_->InTransaction([](Database& tx) -> absl::Status {
    RETURN_IF_ERROR(tx.Execute("INSERT INTO items (name, n) VALUES ($1, $2)", {"x", 1}).status());
    return absl::AbortedError("changed my mind");
  });
  EXPECT_EQ(st.code(), absl::StatusCode::kAborted);
  EXPECT_EQ(db_->QueryOne("SELECT COUNT(*) FROM items")->Int(0), 0);

  // A failing statement inside the transaction rolls back earlier ones too.
  st = db_->InTransaction([](Database& tx) -> absl::Status {
    RETURN_IF_ERROR(tx.Execute("INSERT INTO items (name, n) VALUES ($1, $2)", {"y", 1}).status());
    return tx.Execute("INSERT INTO items (name, n) VALUES ($1, $2)", {"y", 2}).status();
  });
  EXPECT_EQ(st.code(), absl::StatusCode::kAlreadyExists);
  EXPECT_EQ(db_->QueryOne("SELECT COUNT(*) FROM items")->Int(0), 0);
}

TEST_P(StoreConformance, NestedTransactionsUseSavepoints) {
  absl::Status st = db_->InTransaction([](Database& tx) -> absl::Status {
    RETURN_IF_ERROR(tx.Execute("INSERT INTO items (name, n) VALUES ($1, $2)", {"outer", 1}).status());
    absl::Status inner = tx.InTransaction([](Database& t2) -> absl::Status {
      RETURN_IF_ERROR(t2.Execute("INSERT INTO items (name, n) VALUES ($1, $2)", {"inner", 2}).status());
      return absl::AbortedError("inner fails");
    });
    EXPECT_FALSE(inner.ok());
    return absl::OkStatus();
  });
  ASSERT_TRUE(st.ok()) << st;
  auto rows = db_->Query("SELECT name FROM items");
  ASSERT_EQ(rows->size(), 1u);
  EXPECT_EQ((*rows)[0].Text(0), "outer");
}

TEST_P(StoreConformance, AfterCommitRunsOnlyForWhatCommitted) {
  std::vector<std::string> ran;
  db_->AfterCommit([&] { ran.push_back("outside"); });
  EXPECT_EQ(ran, std::vector<std::string>{"outside"});
  ran.clear();

  absl::Status st = db_->InTransaction([&](Database& tx) -> absl::Status {
    RETURN_IF_ERROR(tx.Execute("INSERT INTO items (name, n) VALUES ($1, $2)", {"a", 1}).status());
    tx.AfterCommit([&] {
      // Runs after the commit, with the handle free and the row visible.
      auto row = db_->QueryOne("SELECT COUNT(*) FROM items WHERE name = 'a'");
      ran.push_back(row.ok() && row->Int(0) == 1 ? "outer" : "outer-too-early");
    });
    EXPECT_TRUE(tx.InTransaction([&](Database& t2) -> absl::Status {
                    t2.AfterCommit([&] { ran.push_back("inner-released"); });
                    return absl::OkStatus();
                  }).ok());
    EXPECT_FALSE(tx.InTransaction([&](Database& t2) -> absl::Status {
                     t2.AfterCommit([&] { ran.push_back("inner-rolled-back"); });
                     return absl::AbortedError("inner fails");
                   }).ok());
    EXPECT_TRUE(ran.empty()) << "nothing runs before the outermost commit";
    return absl::OkStatus();
  });
  ASSERT_TRUE(st.ok()) << st;
  EXPECT_EQ(ran, (std::vector<std::string>{"outer", "inner-released"}));
  ran.clear();

  st = db_->InTransaction([&](Database& tx) -> absl::Status {
    tx.AfterCommit([&] { ran.push_back("rolled-back"); });
    return absl::AbortedError("changed my mind");
  });
  EXPECT_FALSE(st.ok());
  EXPECT_TRUE(ran.empty());
}

TEST_P(StoreConformance, MigrationsApplyOnceAndRefuseNewerSchemas) {
  EXPECT_EQ(*db_->SchemaVersion(), 2);
  ASSERT_TRUE(db_->Migrate(kMigrations).ok());  // idempotent
  EXPECT_EQ(db_->QueryOne("SELECT COUNT(*) FROM schema_migrations")->Int(0), 2);
  std::span<const Migration> older(kMigrations, 1);
  EXPECT_EQ(db_->Migrate(older).code(), absl::StatusCode::kFailedPrecondition);
  // A broken migration leaves the schema where it was.
  const Migration broken[] = {
      kMigrations[0], kMigrations[1], {3, "broken", "CREATE TABLE t3 (a INT); CREATE TABLE items (x INT);"}};
  EXPECT_FALSE(db_->Migrate(broken).ok());
  EXPECT_EQ(*db_->SchemaVersion(), 2);
  EXPECT_FALSE(db_->Query("SELECT * FROM t3").ok());
}

TEST_P(StoreConformance, ComponentsKeepSeparateSchemaVersions) {
  const Migration other[] = {{1, "other", "CREATE TABLE other_things (a INT);"}};
  ASSERT_TRUE(db_->Migrate(other, "other").ok());
  EXPECT_EQ(*db_->SchemaVersion("other"), 1);
  EXPECT_EQ(*db_->SchemaVersion(), 2);
  ASSERT_TRUE(db_->Migrate(kMigrations).ok());
  EXPECT_TRUE(db_->Query("SELECT * FROM other_things").ok());
}

TEST_P(StoreConformance, CommittedDataSurvivesReopen) {
  ASSERT_TRUE(db_->Execute("INSERT INTO items (name, n) VALUES ($1, $2)", {"kept", 7}).ok());
  db_.reset();
  db_ = GetParam().open(dir_.string());
  ASSERT_TRUE(db_->Migrate(kMigrations).ok());
  EXPECT_EQ(db_->QueryOne("SELECT n FROM items WHERE name = $1", {"kept"})->Int(0), 7);
}

TEST_P(StoreConformance, ConcurrentWritersAreSerialized) {
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 200; ++i) {
        ASSERT_TRUE(db_->InTransaction([&](Database& tx) {
                         return tx
                             .Execute("INSERT INTO items (name, n) VALUES ($1, $2)",
                                      {std::to_string(t) + "-" + std::to_string(i), i})
                             .status();
                       })
                        .ok());
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(db_->QueryOne("SELECT COUNT(*) FROM items")->Int(0), 800);
}

INSTANTIATE_TEST_SUITE_P(Backends, StoreConformance,
                         ::testing::Values(Backend{"sqlite",
                                                   [](const std::string& dir) {
                                                     auto db = OpenSqlite(dir + "/test.db");
                                                     return db.ok() ? *std::move(db) : nullptr;
                                                   }},
                                           // The fault-injecting VFS with no fault set must be
                                           // indistinguishable from SQLite's own.
                                           Backend{"sqlite_fault_vfs",
                                                   [](const std::string& dir) -> std::unique_ptr<Database> {
                                                     static auto vfs =
                                                         FaultVfs::Register("tandem-conformance");
                                                     if (!vfs.ok()) return nullptr;
                                                     SqliteOptions o;
                                                     o.vfs = (*vfs)->name();
                                                     auto db = OpenSqlite(dir + "/test.db", o);
                                                     return db.ok() ? *std::move(db) : nullptr;
                                                   }}),
                         [](const auto& info) { return info.param.name; });

TEST(SqliteTest, UsesWalAndReportsUnopenablePaths) {
  auto bad = OpenSqlite("/nonexistent/dir/x.db");
  EXPECT_EQ(bad.status().code(), absl::StatusCode::kUnavailable) << bad.status();
  auto dir = std::filesystem::temp_directory_path() / ("tandem_wal_" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  auto db = OpenSqlite((dir / "w.db").string());
  ASSERT_TRUE(db.ok());
  EXPECT_EQ((*db)->QueryOne("PRAGMA journal_mode")->Text(0), "wal");
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace tandem::store
