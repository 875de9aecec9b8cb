// The social network's SQL, one function per statement.
#include "social/social_store.h"

namespace tandem::social::db {
namespace {

using store::Value;

int64_t Seconds(absl::Time t) { return absl::ToUnixSeconds(t); }

absl::StatusOr<bool> Changed(absl::StatusOr<int64_t> rows) {
  RETURN_IF_ERROR(rows.status());
  return *rows > 0;
}

absl::StatusOr<std::optional<UserId>> OptionalId(absl::StatusOr<std::vector<store::Row>> rows) {
  RETURN_IF_ERROR(rows.status());
  if (rows->empty()) return std::optional<UserId>();
  return std::optional<UserId>(static_cast<UserId>((*rows)[0].Int(0)));
}

}  // namespace

// ---- accounts and sessions ----

absl::StatusOr<std::optional<UserId>> FindAccountByPhone(Database& db, const std::string& e164) {
  return OptionalId(db.Query("SELECT id FROM accounts WHERE phone = $1", {e164}));
}

absl::StatusOr<UserId> InsertAccount(Database& db, const std::string& e164, const std::string& display_name,
                                     absl::Time now) {
  ASSIGN_OR_RETURN(auto created, db.QueryOne("INSERT INTO accounts (phone, display_name, created_at) "
                                             "VALUES ($1, $2, $3) RETURNING id",
                                             {e164, display_name, Seconds(now)}));
  return static_cast<UserId>(created.Int(0));
}

absl::StatusOr<std::optional<AccountRow>> GetAccount(Database& db, UserId id) {
  ASSIGN_OR_RETURN(
      auto rows,
      db.Query("SELECT id, phone, display_name, discoverable_by_phone FROM accounts WHERE id = $1", {id}));
  if (rows.empty()) return std::optional<AccountRow>();
  const store::Row& r = rows[0];
  return std::optional<AccountRow>(
      AccountRow{static_cast<UserId>(r.Int(0)), r.Text(1), r.Text(2), r.Int(3) != 0});
}

absl::Status SetDisplayName(Database& db, UserId id, const std::string& display_name) {
  return db.Execute("UPDATE accounts SET display_name = $2 WHERE id = $1", {id, display_name}).status();
}

absl::Status SetDiscoverable(Database& db, UserId id, bool discoverable) {
  return db.Execute("UPDATE accounts SET discoverable_by_phone = $2 WHERE id = $1", {id, discoverable})
      .status();
}

absl::StatusOr<UserId> MaxAccountId(Database& db) {
  ASSIGN_OR_RETURN(auto row, db.QueryOne("SELECT COALESCE(MAX(id), 0) FROM accounts"));
  return static_cast<UserId>(row.Int(0));
}

absl::Status ForEachAccount(Database& db, const std::function<void(const AccountRow&)>& fn) {
  ASSIGN_OR_RETURN(auto rows,
                   db.Query("SELECT id, phone, display_name, discoverable_by_phone FROM accounts"));
  for (const auto& r : rows)
    fn(AccountRow{static_cast<UserId>(r.Int(0)), r.Text(1), r.Text(2), r.Int(3) != 0});
  return absl::OkStatus();
}

absl::Status InsertSession(Database& db, const std::string& token_hash, UserId user, absl::Time now) {
  return db
      .Execute("INSERT INTO sessions (token_hash, account_id, created_at) VALUES ($1, $2, $3)",
               {Value::Blob(token_hash), user, Seconds(now)})
      .status();
}

absl::StatusOr<std::optional<UserId>> FindSession(Database& db, const std::string& token_hash) {
  return OptionalId(
      db.Query("SELECT account_id FROM sessions WHERE token_hash = $1", {Value::Blob(token_hash)}));
}

// ---- verification codes ----

absl::Status DeleteExpiredCodes(Database& db, const std::string& e164, absl::Time now) {
  return db
      .Execute("DELETE FROM verification_codes WHERE phone = $1 AND expires_at < $2", {e164, Seconds(now)})
      .status();
}

absl::Status InsertCode(Database& db, const std::string& e164, const std::string& code_hash,
                        absl::Time expires) {
  return db
      .Execute(
          "INSERT INTO verification_codes (phone, code_hash, expires_at, attempts) VALUES ($1, $2, $3, 0)",
          {e164, Value::Blob(code_hash), Seconds(expires)})
      .status();
}

absl::Status KeepNewestCodes(Database& db, const std::string& e164, int keep) {
  return db
      .Execute(
          "DELETE FROM verification_codes WHERE phone = $1 AND id NOT IN "
          "(SELECT id FROM verification_codes WHERE phone = $1 ORDER BY id DESC LIMIT $2)",
          {e164, static_cast<int64_t>(keep)})
      .status();
}

absl::StatusOr<std::vector<CodeRow>> ListCodes(Database& db, const std::string& e164) {
  ASSIGN_OR_RETURN(auto rows,
                   db.Query("SELECT code_hash, attempts FROM verification_codes WHERE phone = $1", {e164}));
  std::vector<CodeRow> out;
  out.reserve(rows.size());
  for (const auto& r : rows) out.push_back(CodeRow{r.Bytes(0), static_cast<int>(r.Int(1))});
  return out;
}

absl::Status CountWrongAttempt(Database& db, const std::string& e164, int max_attempts) {
  return db
      .Execute("UPDATE verification_codes SET attempts = attempts + 1 WHERE phone = $1 AND attempts < $2",
               {e164, static_cast<int64_t>(max_attempts)})
      .status();
}

absl::Status DeleteCodes(Database& db, const std::string& e164) {
  return db.Execute("DELETE FROM verification_codes WHERE phone = $1", {e164}).status();
}

// ---- friends, blocks, dismissals ----

absl::StatusOr<std::vector<PersonRow>> ListPeople(Database& db, UserId me, Relation relation) {
  std::string_view ids;
  switch (relation) {
    case Relation::kFriends:
      ids = "SELECT b FROM friendships WHERE a = $1 UNION SELECT a FROM friendships WHERE b = $1";
      break;
    case Relation::kIncomingRequests:
      ids = "SELECT from_id FROM friend_requests WHERE to_id = $1";
      break;
    case Relation::kOutgoingRequests:
      ids = "SELECT to_id FROM friend_requests WHERE from_id = $1";
      break;
    case Relation::kBlocked:
      ids = "SELECT blocked FROM blocks WHERE blocker = $1";
      break;
  }
  ASSIGN_OR_RETURN(auto rows, db.Query("SELECT id, display_name FROM accounts WHERE id IN (" +
                                           std::string(ids) + ") ORDER BY id",
                                       {me}));
  std::vector<PersonRow> out;
  out.reserve(rows.size());
  for (const auto& r : rows) out.push_back(PersonRow{static_cast<UserId>(r.Int(0)), r.Text(1)});
  return out;
}

absl::StatusOr<bool> BlockedEitherWay(Database& db, UserId x, UserId y) {
  ASSIGN_OR_RETURN(
      auto rows,
      db.Query(
          "SELECT 1 FROM blocks WHERE (blocker = $1 AND blocked = $2) OR (blocker = $2 AND blocked = $1)",
          {x, y}));
  return !rows.empty();
}

absl::StatusOr<bool> AreFriends(Database& db, UserId a, UserId b) {
  ASSIGN_OR_RETURN(auto rows, db.Query("SELECT 1 FROM friendships WHERE a = $1 AND b = $2", {a, b}));
  return !rows.empty();
}

absl::Status InsertFriendship(Database& db, UserId a, UserId b, absl::Time since) {
  return db
      .Execute("INSERT INTO friendships (a, b, since) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
               {a, b, Seconds(since)})
      .status();
}

absl::StatusOr<bool> DeleteFriendship(Database& db, UserId a, UserId b) {
  return Changed(db.Execute("DELETE FROM friendships WHERE a = $1 AND b = $2", {a, b}));
}

absl::Status ForEachFriendship(Database& db, const std::function<void(UserId a, UserId b)>& fn) {
  ASSIGN_OR_RETURN(auto rows, db.Query("SELECT a, b FROM friendships"));
  for (const auto& r : rows) fn(static_cast<UserId>(r.Int(0)), static_cast<UserId>(r.Int(1)));
  return absl::OkStatus();
}

absl::Status InsertFriendRequest(Database& db, UserId from, UserId to, absl::Time now) {
  return db
      .Execute(
          "INSERT INTO friend_requests (from_id, to_id, created_at) VALUES ($1, $2, $3) ON CONFLICT DO "
          "NOTHING",
          {from, to, Seconds(now)})
      .status();
}

absl::StatusOr<bool> DeleteFriendRequest(Database& db, UserId from, UserId to) {
  return Changed(db.Execute("DELETE FROM friend_requests WHERE from_id = $1 AND to_id = $2", {from, to}));
}

absl::Status DeleteFriendRequestsBetween(Database& db, UserId x, UserId y) {
  return db
      .Execute(
          "DELETE FROM friend_requests WHERE (from_id = $1 AND to_id = $2) OR (from_id = $2 AND to_id = $1)",
          {x, y})
      .status();
}

absl::StatusOr<bool> InsertBlock(Database& db, UserId blocker, UserId blocked, absl::Time now) {
  return Changed(db.Execute(
      "INSERT INTO blocks (blocker, blocked, created_at) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
      {blocker, blocked, Seconds(now)}));
}

absl::StatusOr<bool> DeleteBlock(Database& db, UserId blocker, UserId blocked) {
  return Changed(db.Execute("DELETE FROM blocks WHERE blocker = $1 AND blocked = $2", {blocker, blocked}));
}

absl::Status ForEachBlock(Database& db, const std::function<void(UserId blocker, UserId blocked)>& fn) {
  ASSIGN_OR_RETURN(auto rows, db.Query("SELECT blocker, blocked FROM blocks"));
  for (const auto& r : rows) fn(static_cast<UserId>(r.Int(0)), static_cast<UserId>(r.Int(1)));
  return absl::OkStatus();
}

absl::Status InsertDismissal(Database& db, UserId me, UserId dismissed, absl::Time now) {
  return db
      .Execute(
          "INSERT INTO dismissals (account_id, dismissed_id, created_at) VALUES ($1, $2, $3) "
          "ON CONFLICT DO NOTHING",
          {me, dismissed, Seconds(now)})
      .status();
}

absl::Status ForEachDismissal(Database& db, const std::function<void(UserId me, UserId dismissed)>& fn) {
  ASSIGN_OR_RETURN(auto rows, db.Query("SELECT account_id, dismissed_id FROM dismissals"));
  for (const auto& r : rows) fn(static_cast<UserId>(r.Int(0)), static_cast<UserId>(r.Int(1)));
  return absl::OkStatus();
}

// ---- address books ----

absl::StatusOr<std::vector<std::string>> AddressBookOf(Database& db, UserId owner) {
  ASSIGN_OR_RETURN(auto rows,
                   db.Query("SELECT phone FROM address_book WHERE owner_id = $1 ORDER BY phone", {owner}));
  std::vector<std::string> out;
  out.reserve(rows.size());
  for (const auto& r : rows) out.push_back(r.Text(0));
  return out;
}

absl::Status PutAddressBook(Database& db, UserId owner, const std::vector<std::string>& phones,
                            absl::Time now) {
  RETURN_IF_ERROR(db.Execute("DELETE FROM address_book WHERE owner_id = $1", {owner}).status());
  for (const std::string& phone : phones) {
    RETURN_IF_ERROR(db.Execute("INSERT INTO address_book (owner_id, phone, uploaded_at) VALUES ($1, $2, $3)",
                               {owner, phone, Seconds(now)})
                        .status());
  }
  return absl::OkStatus();
}

absl::Status ForEachAddressBook(
    Database& db, const std::function<void(UserId owner, std::vector<std::string> phones)>& fn) {
  ASSIGN_OR_RETURN(auto rows, db.Query("SELECT owner_id, phone FROM address_book ORDER BY owner_id"));
  std::vector<std::string> phones;
  for (size_t i = 0; i < rows.size(); ++i) {
    phones.push_back(rows[i].Text(1));
    if (i + 1 == rows.size() || rows[i + 1].Int(0) != rows[i].Int(0)) {
      fn(static_cast<UserId>(rows[i].Int(0)), std::move(phones));
      phones.clear();
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<std::optional<BudgetRow>> GetAddressBookBudget(Database& db, UserId owner) {
  ASSIGN_OR_RETURN(
      auto rows, db.Query("SELECT tokens, updated_ms FROM address_book_budget WHERE owner_id = $1", {owner}));
  if (rows.empty()) return std::optional<BudgetRow>();
  return std::optional<BudgetRow>(BudgetRow{rows[0].Real(0), absl::FromUnixMillis(rows[0].Int(1))});
}

absl::Status PutAddressBookBudget(Database& db, UserId owner, const BudgetRow& budget) {
  return db
      .Execute(
          "INSERT INTO address_book_budget (owner_id, tokens, updated_ms) VALUES ($1, $2, $3) "
          "ON CONFLICT (owner_id) DO UPDATE SET tokens = excluded.tokens, updated_ms = excluded.updated_ms",
          {owner, budget.tokens, absl::ToUnixMillis(budget.updated)})
      .status();
}

// ---- messenger facts and the feed cursor ----

absl::StatusOr<int64_t> FeedCursor(Database& db) {
  ASSIGN_OR_RETURN(auto row, db.QueryOne("SELECT seq FROM feed_cursor WHERE id = 1"));
  return row.Int(0);
}

absl::Status SetFeedCursor(Database& db, int64_t seq, absl::Time at) {
  return db.Execute("UPDATE feed_cursor SET seq = $1, updated_at = $2 WHERE id = 1", {seq, Seconds(at)})
      .status();
}

absl::Status PutMessengerAccount(Database& db, const MessengerAccountRow& account, absl::Time linked,
                                 int64_t seq) {
  return db
      .Execute(
          "INSERT INTO messenger_accounts (account_id, phone, linked_at, seq) VALUES ($1, $2, $3, $4) "
          "ON CONFLICT (account_id) DO UPDATE SET phone = excluded.phone, linked_at = excluded.linked_at, "
          "seq = excluded.seq",
          {account.account_id, account.phone, Seconds(linked), seq})
      .status();
}

absl::Status ForEachMessengerAccount(Database& db,
                                     const std::function<void(const MessengerAccountRow&)>& fn) {
  ASSIGN_OR_RETURN(auto rows, db.Query("SELECT account_id, phone FROM messenger_accounts"));
  for (const auto& r : rows) fn(MessengerAccountRow{r.Text(0), r.Text(1)});
  return absl::OkStatus();
}

absl::Status PutMessengerUsage(Database& db, const MessengerUsageRow& usage, absl::Time at, int64_t seq) {
  return db
      .Execute(
          "INSERT INTO messenger_usage (account_id, day, active_days_28, last_active_day, at, seq) "
          "VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (account_id) DO UPDATE SET day = excluded.day, "
          "active_days_28 = excluded.active_days_28, last_active_day = excluded.last_active_day, "
          "at = excluded.at, seq = excluded.seq",
          {usage.account_id, usage.day, usage.active_days_28, usage.last_active_day, Seconds(at), seq})
      .status();
}

absl::Status ForEachMessengerUsage(Database& db, const std::function<void(const MessengerUsageRow&)>& fn) {
  ASSIGN_OR_RETURN(auto rows,
                   db.Query("SELECT account_id, day, active_days_28, last_active_day FROM messenger_usage"));
  for (const auto& r : rows)
    fn(MessengerUsageRow{r.Text(0), r.Text(1), static_cast<int>(r.Int(2)), r.Text(3)});
  return absl::OkStatus();
}

absl::Status PutMessengerObjection(Database& db, const MessengerObjectionRow& objection, absl::Time at,
                                   int64_t seq) {
  return db
      .Execute(
          "INSERT INTO messenger_objections (account_id, purpose, objected, at, seq) VALUES ($1, $2, $3, $4, "
          "$5) "
          "ON CONFLICT (account_id, purpose) DO UPDATE SET objected = excluded.objected, at = excluded.at, "
          "seq = excluded.seq",
          {objection.account_id, std::string(PurposeName(objection.purpose)), objection.objected, Seconds(at),
           seq})
      .status();
}

absl::Status ForEachMessengerObjection(Database& db,
                                       const std::function<void(const MessengerObjectionRow&)>& fn) {
  ASSIGN_OR_RETURN(auto rows, db.Query("SELECT account_id, purpose, objected FROM messenger_objections"));
  for (const auto& r : rows) {
    absl::StatusOr<Purpose> purpose = ParsePurpose(r.Text(1));
    if (purpose.ok()) fn(MessengerObjectionRow{r.Text(0), *purpose, r.Int(2) != 0});
  }
  return absl::OkStatus();
}

absl::Status DeleteMessengerAccount(Database& db, const std::string& account_id) {
  RETURN_IF_ERROR(db.Execute("DELETE FROM messenger_accounts WHERE account_id = $1", {account_id}).status());
  RETURN_IF_ERROR(db.Execute("DELETE FROM messenger_usage WHERE account_id = $1", {account_id}).status());
  return db.Execute("DELETE FROM messenger_objections WHERE account_id = $1", {account_id}).status();
}

}  // namespace tandem::social::db
