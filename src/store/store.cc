// Backend-independent parts of the Database interface.
#include "store/store.h"

#include <ctime>

#include "absl/strings/str_cat.h"

namespace tandem::store {

Value Value::Blob(std::string bytes) {
  Value v;
  v.v_ = BlobBytes{std::move(bytes)};
  return v;
}

Value::Type Value::type() const {
  switch (v_.index()) {
    case 0:
      return Type::kNull;
    case 1:
      return Type::kInt;
    case 2:
      return Type::kReal;
    case 3:
      return Type::kText;
    default:
      return Type::kBlob;
  }
}

int64_t Value::AsInt() const {
  if (auto* i = std::get_if<int64_t>(&v_)) return *i;
  if (auto* d = std::get_if<double>(&v_)) return static_cast<int64_t>(*d);
  return 0;
}

double Value::AsReal() const {
  if (auto* d = std::get_if<double>(&v_)) return *d;
  if (auto* i = std::get_if<int64_t>(&v_)) return static_cast<double>(*i);
  return 0;
}

const std::string& Value::AsString() const {
  static const std::string kEmpty;
  if (auto* s = std::get_if<std::string>(&v_)) return *s;
  if (auto* b = std::get_if<BlobBytes>(&v_)) return b->bytes;
  return kEmpty;
}

absl::StatusOr<Row> Database::QueryOne(std::string_view sql, const Params& params) {
  ASSIGN_OR_RETURN(std::vector<Row> rows, Query(sql, params));
  if (rows.empty()) return absl::NotFoundError("no such row");
  return std::move(rows.front());
}

absl::StatusOr<int> Database::SchemaVersion(std::string_view component) {
  RETURN_IF_ERROR(
      ExecuteScript("CREATE TABLE IF NOT EXISTS schema_migrations ("
                    " component TEXT NOT NULL, version INTEGER NOT NULL, name TEXT NOT NULL,"
                    " applied_at BIGINT NOT NULL, PRIMARY KEY (component, version))"));
  ASSIGN_OR_RETURN(Row row,
                   QueryOne("SELECT COALESCE(MAX(version), 0) FROM schema_migrations WHERE component = $1",
                            {std::string(component)}));
  return static_cast<int>(row.Int(0));
}

absl::Status Database::Migrate(std::span<const Migration> migrations, std::string_view component) {
  ASSIGN_OR_RETURN(int current, SchemaVersion(component));
  int known = 0;
  for (size_t i = 0; i < migrations.size(); ++i) {
    if (migrations[i].version != static_cast<int>(i) + 1) {
      return absl::InternalError(
          absl::StrCat("migration #", i, " has version ", migrations[i].version, ", expected ", i + 1));
    }
    known = migrations[i].version;
  }
  if (current > known) {
    return absl::FailedPreconditionError(
        absl::StrCat("database schema version ", current, " is newer than this binary's ", known));
  }
  for (const Migration& m : migrations) {
    if (m.version <= current) continue;
    absl::Status st = InTransaction([&](Database& tx) -> absl::Status {
      RETURN_IF_ERROR(tx.ExecuteScript(m.sql));
      return tx
          .Execute(
              "INSERT INTO schema_migrations (component, version, name, applied_at) VALUES ($1, $2, $3, $4)",
              {std::string(component), m.version, std::string(m.name),
               static_cast<int64_t>(std::time(nullptr))})
          .status();
    });
    if (!st.ok()) {
      return absl::Status(st.code(), absl::StrCat("migration ", m.version, " (", std::string(m.name),
                                                  "): ", std::string(st.message())));
    }
  }
  return absl::OkStatus();
}

}  // namespace tandem::store
