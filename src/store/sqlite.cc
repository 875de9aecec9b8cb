// SQLite implementation of store::Database: one connection, a prepared
// statement cache, WAL journaling and savepoint-based nested transactions.
#include <sqlite3.h>

#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "absl/strings/str_cat.h"
#include "store/store.h"

namespace tandem::store {
namespace {

absl::Status FromSqlite(int rc, sqlite3* db, std::string_view what) {
  if (rc == SQLITE_OK || rc == SQLITE_DONE || rc == SQLITE_ROW)
    return absl::OkStatus();  // the common case, cheaply
  std::string msg = absl::StrCat(std::string(what), ": ", db ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
  switch (rc & 0xff) {
    case SQLITE_OK:
    case SQLITE_DONE:
    case SQLITE_ROW:
      return absl::OkStatus();
    case SQLITE_CONSTRAINT:
      if (rc == SQLITE_CONSTRAINT_UNIQUE || rc == SQLITE_CONSTRAINT_PRIMARYKEY) {
        return absl::AlreadyExistsError(msg);
      }
      return absl::FailedPreconditionError(msg);
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
    case SQLITE_IOERR:
    case SQLITE_FULL:
    case SQLITE_CANTOPEN:
      return absl::UnavailableError(msg);
    case SQLITE_READONLY:
    case SQLITE_PERM:
    case SQLITE_AUTH:
      return absl::PermissionDeniedError(msg);
    case SQLITE_ERROR:
    case SQLITE_RANGE:
    case SQLITE_MISMATCH:
    case SQLITE_TOOBIG:
      return absl::InvalidArgumentError(msg);
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB:
      return absl::DataLossError(msg);
    default:
      return absl::InternalError(msg);
  }
}

class SqliteDatabase final : public Database {
 public:
  explicit SqliteDatabase(sqlite3* db) : db_(db) {}

  ~SqliteDatabase() override {
    for (auto& [sql, cached] : cache_) sqlite3_finalize(cached.stmt);
    sqlite3_close_v2(db_);
  }

  absl::StatusOr<int64_t> Execute(std::string_view sql, const Params& params) override {
    std::lock_guard lock(mu_);
    ASSIGN_OR_RETURN(sqlite3_stmt * stmt, Prepare(sql, params));
    int rc;
    while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
    }
    absl::Status st = FromSqlite(rc, db_, "execute");
    sqlite3_reset(stmt);
    RETURN_IF_ERROR(st);
    return static_cast<int64_t>(sqlite3_changes64(db_));
  }

  absl::StatusOr<std::vector<Row>> Query(std::string_view sql, const Params& params) override {
    std::lock_guard lock(mu_);
    ASSIGN_OR_RETURN(sqlite3_stmt * stmt, Prepare(sql, params));
    std::vector<Row> rows;
    int rc;
    const int columns = sqlite3_column_count(stmt);
    while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
      std::vector<Value> values;
      values.reserve(columns);
      for (int c = 0; c < columns; ++c) {
        switch (sqlite3_column_type(stmt, c)) {
          case SQLITE_INTEGER:
            values.emplace_back(static_cast<int64_t>(sqlite3_column_int64(stmt, c)));
            break;
          case SQLITE_FLOAT:
            values.emplace_back(sqlite3_column_double(stmt, c));
            break;
          case SQLITE_TEXT:
            values.emplace_back(std::string(reinterpret_cast<const char*>(sqlite3_column_text(stmt, c)),
                                            sqlite3_column_bytes(stmt, c)));
            break;
          case SQLITE_BLOB: {
            const void* p = sqlite3_column_blob(stmt, c);
            int n = sqlite3_column_bytes(stmt, c);
            values.push_back(Value::Blob(p ? std::string(static_cast<const char*>(p), n) : std::string()));
            break;
          }
          default:
            values.emplace_back();
            break;
        }
      }
      rows.emplace_back(std::move(values));
    }
    absl::Status st = FromSqlite(rc, db_, "query");
    sqlite3_reset(stmt);
    RETURN_IF_ERROR(st);
    return rows;
  }

  absl::Status InTransaction(const std::function<absl::Status(Database&)>& fn) override {
    std::vector<std::function<void()>> committed;
    absl::Status st = RunTransaction(fn, &committed);
    for (auto& f : committed) f();
    return st;
  }

  void AfterCommit(std::function<void()> fn) override {
    {
      std::lock_guard lock(mu_);
      if (depth_ > 0) {
        after_commit_.push_back(std::move(fn));
        return;
      }
    }
    fn();
  }

  absl::Status ExecuteScript(std::string_view sql) override {
    std::lock_guard lock(mu_);
    return Exec(std::string(sql));
  }

  std::string_view backend() const override { return "sqlite"; }

  // The transaction itself; on the outermost commit, hands the AfterCommit
  // callbacks to the caller, who runs them once the handle is released.
  absl::Status RunTransaction(const std::function<absl::Status(Database&)>& fn,
                              std::vector<std::function<void()>>* committed) {
    std::lock_guard lock(mu_);
    const int depth = depth_;
    const size_t callbacks = after_commit_.size();
    const std::string savepoint = depth == 0 ? std::string() : absl::StrCat("sp", depth);
    if (depth == 0) {
      RETURN_IF_ERROR(Step("BEGIN IMMEDIATE"));
    } else {
      RETURN_IF_ERROR(Exec("SAVEPOINT " + savepoint));
    }
    ++depth_;
    absl::Status st = fn(*this);
    --depth_;
    if (st.ok()) {
      st = depth == 0 ? Step("COMMIT") : Exec("RELEASE " + savepoint);
      if (st.ok()) {
        if (depth == 0) committed->swap(after_commit_);
        return st;
      }
    }
    after_commit_.resize(callbacks);
    if (depth == 0) {
      Step("ROLLBACK").IgnoreError();
    } else {
      Exec("ROLLBACK TO " + savepoint).IgnoreError();
      Exec("RELEASE " + savepoint).IgnoreError();
    }
    return st;
  }

  absl::Status Exec(const std::string& sql) {
    char* err = nullptr;
    int rc = sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, &err);
    if (rc == SQLITE_OK) return absl::OkStatus();
    std::string msg = err ? err : sqlite3_errstr(rc);
    sqlite3_free(err);
    return FromSqlite(rc, nullptr, msg);
  }

 private:
  struct Cached {
    sqlite3_stmt* stmt;
    std::vector<int> slots;  // parameter i ("$i+1" or the i-th "?") -> SQLite's index
  };
  // Looked up by string_view, so a cache hit copies nothing.
  struct SqlHash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };

  // Runs a statement without parameters or rows (transaction control),
  // prepared once.
  absl::Status Step(std::string_view sql) {
    ASSIGN_OR_RETURN(sqlite3_stmt * stmt, Prepare(sql, {}));
    int rc = sqlite3_step(stmt);
    absl::Status st = FromSqlite(rc, db_, sql);
    sqlite3_reset(stmt);
    return st;
  }

  absl::StatusOr<sqlite3_stmt*> Prepare(std::string_view sql, const Params& params) {
    auto it = cache_.find(sql);
    if (it == cache_.end()) {
      sqlite3_stmt* stmt = nullptr;
      const char* tail = nullptr;
      int rc = sqlite3_prepare_v3(db_, sql.data(), static_cast<int>(sql.size()), SQLITE_PREPARE_PERSISTENT,
                                  &stmt, &tail);
      if (rc != SQLITE_OK) return FromSqlite(rc, db_, absl::StrCat("prepare '", std::string(sql), "'"));
      if (stmt == nullptr) return absl::InvalidArgumentError("empty SQL statement");
      if (tail && *tail && std::string_view(tail).find_first_not_of(" \t\r\n;") != std::string_view::npos) {
        sqlite3_finalize(stmt);
        return absl::InvalidArgumentError("Execute/Query take one statement; use ExecuteScript");
      }
      Cached cached{stmt, {}};
      const int count = sqlite3_bind_parameter_count(stmt);
      for (int i = 0; i < count; ++i) {
        // "$N" is a named parameter to SQLite; map it to its slot explicitly
        // so that the order of first use in the SQL does not matter.
        std::string name = absl::StrCat("$", i + 1);
        int slot = sqlite3_bind_parameter_index(stmt, name.c_str());
        cached.slots.push_back(slot != 0 ? slot : i + 1);  // "?" placeholders
      }
      it = cache_.emplace(std::string(sql), std::move(cached)).first;
    }
    sqlite3_stmt* stmt = it->second.stmt;
    const std::vector<int>& slots = it->second.slots;
    sqlite3_clear_bindings(stmt);
    if (slots.size() != params.size()) {
      return absl::InvalidArgumentError(
          absl::StrCat("statement takes ", slots.size(), " parameters, got ", params.size()));
    }
    for (size_t i = 0; i < params.size(); ++i) {
      const int slot = slots[i];
      const Value& v = params[i];
      int rc = SQLITE_OK;
      switch (v.type()) {
        case Value::Type::kNull:
          rc = sqlite3_bind_null(stmt, slot);
          break;
        case Value::Type::kInt:
          rc = sqlite3_bind_int64(stmt, slot, v.AsInt());
          break;
        case Value::Type::kReal:
          rc = sqlite3_bind_double(stmt, slot, v.AsReal());
          break;
        case Value::Type::kText:
          rc = sqlite3_bind_text64(stmt, slot, v.AsString().data(), v.AsString().size(), SQLITE_STATIC,
                                   SQLITE_UTF8);
          break;
        case Value::Type::kBlob:
          rc = sqlite3_bind_blob64(stmt, slot, v.AsString().data(), v.AsString().size(), SQLITE_STATIC);
          break;
      }
      if (rc != SQLITE_OK) return FromSqlite(rc, db_, "bind");
    }
    return stmt;
  }

  std::recursive_mutex mu_;
  sqlite3* db_;
  int depth_ = 0;
  std::vector<std::function<void()>> after_commit_;  // guarded by mu_
  std::unordered_map<std::string, Cached, SqlHash, std::equal_to<>> cache_;
};

}  // namespace

absl::StatusOr<std::unique_ptr<Database>> OpenSqlite(const std::string& path, const SqliteOptions& options) {
  sqlite3* db = nullptr;
  int flags = options.read_only ? SQLITE_OPEN_READONLY : (SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE);
  flags |= SQLITE_OPEN_NOMUTEX;  // SqliteDatabase serializes access itself
  int rc = sqlite3_open_v2(path.c_str(), &db, flags, options.vfs.empty() ? nullptr : options.vfs.c_str());
  if (rc != SQLITE_OK) {
    absl::Status st = FromSqlite(rc, db, absl::StrCat("open ", path));
    sqlite3_close_v2(db);
    return st;
  }
  sqlite3_extended_result_codes(db, 1);
  sqlite3_busy_timeout(db, options.busy_timeout_ms);
  auto handle = std::make_unique<SqliteDatabase>(db);
  if (!options.read_only) {
    if (path != ":memory:") RETURN_IF_ERROR(handle->Exec("PRAGMA journal_mode=WAL"));
    RETURN_IF_ERROR(
        handle->Exec(options.synchronous_full ? "PRAGMA synchronous=FULL" : "PRAGMA synchronous=NORMAL"));
    RETURN_IF_ERROR(handle->Exec("PRAGMA foreign_keys=ON"));
  }
  return std::unique_ptr<Database>(std::move(handle));
}

}  // namespace tandem::store
