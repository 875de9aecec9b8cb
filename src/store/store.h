// Storage interface: a narrow SQL database that SQLite implements today and
// PostgreSQL can implement with the same conformance tests.
//
// SQL uses PostgreSQL-style numbered parameters ($1, $2, ...) in both
// backends. Values are NULL, 64-bit integers, doubles, text or blobs.
//
// Thread safety: a Database may be shared by threads; calls are serialized
// per Database (SQLite has one writer anyway). InTransaction holds the
// database for the duration of the callback; the callback must use the
// Database& it is given, not another handle.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "common/status.h"

namespace tandem::store {

class Value {
 public:
  enum class Type { kNull, kInt, kReal, kText, kBlob };

  Value() = default;
  Value(std::nullptr_t) {}
  Value(int v) : v_(int64_t{v}) {}
  Value(long v) : v_(int64_t{v}) {}
  Value(long long v) : v_(int64_t{v}) {}
  Value(unsigned v) : v_(int64_t{v}) {}
  Value(unsigned long v) : v_(static_cast<int64_t>(v)) {}
  Value(unsigned long long v) : v_(static_cast<int64_t>(v)) {}
  Value(bool v) : v_(int64_t{v}) {}
  Value(double v) : v_(v) {}
  Value(const char* v) : v_(std::string(v)) {}
  Value(std::string v) : v_(std::move(v)) {}
  Value(std::string_view v) : v_(std::string(v)) {}
  // Bytes that are stored as a blob, not text.
  static Value Blob(std::string bytes);

  Type type() const;
  bool is_null() const { return type() == Type::kNull; }
  int64_t AsInt() const;  // 0 for NULL; text is not converted
  double AsReal() const;
  const std::string& AsString() const;  // text or blob bytes; "" otherwise

 private:
  struct BlobBytes {
    std::string bytes;
  };
  std::variant<std::monostate, int64_t, double, std::string, BlobBytes> v_;
};

using Params = std::vector<Value>;

// One result row; columns are addressed by position.
class Row {
 public:
  explicit Row(std::vector<Value> values) : values_(std::move(values)) {}
  size_t size() const { return values_.size(); }
  const Value& at(size_t i) const { return values_.at(i); }
  bool IsNull(size_t i) const { return values_.at(i).is_null(); }
  int64_t Int(size_t i) const { return values_.at(i).AsInt(); }
  double Real(size_t i) const { return values_.at(i).AsReal(); }
  const std::string& Text(size_t i) const { return values_.at(i).AsString(); }
  const std::string& Bytes(size_t i) const { return values_.at(i).AsString(); }

 private:
  std::vector<Value> values_;
};

// A numbered schema change. Versions start at 1 and increase by 1; a
// migration's SQL may hold several statements and runs in one transaction.
struct Migration {
  int version;
  std::string_view name;
  std::string_view sql;
};

class Database {
 public:
  virtual ~Database() = default;

  // Runs one statement; returns the number of rows it changed. Errors:
  // InvalidArgument (bad SQL or parameter count), AlreadyExists (a
  // uniqueness constraint), FailedPrecondition (another constraint),
  // Unavailable (busy past the timeout, or I/O).
  virtual absl::StatusOr<int64_t> Execute(std::string_view sql, const Params& params = {}) = 0;

  // Runs one statement and returns every row it yields.
  virtual absl::StatusOr<std::vector<Row>> Query(std::string_view sql, const Params& params = {}) = 0;

  // Runs `fn` in a transaction: committed if `fn` returns OK, rolled back
  // otherwise (and then `fn`'s error is returned). Nested calls use
  // savepoints.
  virtual absl::Status InTransaction(const std::function<absl::Status(Database&)>& fn) = 0;

  // Runs `fn` once the outermost transaction open on this handle has
  // committed, after the handle is released (so `fn` may use it); never if
  // that transaction, or the savepoint `fn` was registered in, rolls back.
  // Outside a transaction `fn` runs at once. For telling others about a
  // change only once it is durable (e.g. waking long polls); keep `fn` short.
  virtual void AfterCommit(std::function<void()> fn) = 0;

  // Runs several statements without parameters (schema scripts).
  virtual absl::Status ExecuteScript(std::string_view sql) = 0;

  // There is deliberately no "last insert id": read a new row's id from
  // its own statement (INSERT ... RETURNING id), which is right however
  // many threads share the handle and on every backend.

  // Backend name: "sqlite" or "postgres".
  virtual std::string_view backend() const = 0;

  // Applies the migrations newer than the stored schema version, each in
  // its own transaction with its record in schema_migrations. Fails with
  // FailedPrecondition if the database is newer than `migrations`.
  // Components that share one database keep separate version sequences by
  // passing their own `component` name.
  absl::Status Migrate(std::span<const Migration> migrations, std::string_view component = "");
  // The highest applied migration version of `component` (0 if none).
  absl::StatusOr<int> SchemaVersion(std::string_view component = "");

  // Convenience: the first row, or NotFound.
  absl::StatusOr<Row> QueryOne(std::string_view sql, const Params& params = {});
};

struct SqliteOptions {
  // FULL: every commit is on disk before it returns (the default; hot paths
  // batch commits instead of weakening this). NORMAL: may lose the last
  // commits on power loss, never on a process crash.
  bool synchronous_full = true;
  int busy_timeout_ms = 5000;
  bool read_only = false;
  // The SQLite VFS to open the file with; empty is SQLite's default. Tests
  // name a FaultVfs (store/fault_vfs.h) here to fail writes on command.
  std::string vfs;
};

// Opens (creating if needed) the SQLite database at `path` in WAL mode.
// ":memory:" gives a private in-memory database.
absl::StatusOr<std::unique_ptr<Database>> OpenSqlite(const std::string& path,
                                                     const SqliteOptions& options = {});

}  // namespace tandem::store
