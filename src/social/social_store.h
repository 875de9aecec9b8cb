// The social network's persistent state behind store::Database: one typed
// function per statement, so SocialService, the feed applier and the index
// rebuild never spell SQL and a second backend needs only this file (and
// the schema in social_db.cc) reviewed. SQL is portable ($n placeholders,
// ON CONFLICT upserts).
//
// Time: callers pass and get absl::Time; the columns keep the units they
// always had (Unix seconds, and milliseconds for the address-book budget),
// converted here only.
//
// What is stored: accounts (number, display name, discoverability),
// sessions and verification codes (as hashes only), friend requests,
// friendships (a < b), blocks, dismissals, address books and their budget,
// the messenger facts the feed delivered, and the feed cursor.
//
// Thread safety: the functions are stateless; pass the Database (or the
// transaction handle SocialDb::Write gives you) that the caller owns.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "common/status.h"
#include "social/types.h"
#include "store/store.h"

namespace tandem::social::db {

using store::Database;

// ---- accounts and sessions ----
struct AccountRow {
  UserId id = kNoUser;
  std::string phone;  // E.164
  std::string display_name;
  bool discoverable_by_phone = false;
};
absl::StatusOr<std::optional<UserId>> FindAccountByPhone(Database& db, const std::string& e164);
absl::StatusOr<UserId> InsertAccount(Database& db, const std::string& e164, const std::string& display_name,
                                     absl::Time now);
absl::StatusOr<std::optional<AccountRow>> GetAccount(Database& db, UserId id);
absl::Status SetDisplayName(Database& db, UserId id, const std::string& display_name);
absl::Status SetDiscoverable(Database& db, UserId id, bool discoverable);
// The highest account id (0 with none) and every account, for the index.
absl::StatusOr<UserId> MaxAccountId(Database& db);
absl::Status ForEachAccount(Database& db, const std::function<void(const AccountRow&)>& fn);

// `token_hash` is tandem::Sha256 of the bearer token.
absl::Status InsertSession(Database& db, const std::string& token_hash, UserId user, absl::Time now);
absl::StatusOr<std::optional<UserId>> FindSession(Database& db, const std::string& token_hash);

// ---- verification codes (several may be live per number) ----
struct CodeRow {
  std::string code_hash;
  int attempts = 0;
};
absl::Status DeleteExpiredCodes(Database& db, const std::string& e164, absl::Time now);
absl::Status InsertCode(Database& db, const std::string& e164, const std::string& code_hash,
                        absl::Time expires);
// Deletes all but the newest `keep` codes of the number.
absl::Status KeepNewestCodes(Database& db, const std::string& e164, int keep);
absl::StatusOr<std::vector<CodeRow>> ListCodes(Database& db, const std::string& e164);
// Counts a wrong try against every code of the number that has fewer than
// `max_attempts` tries.
absl::Status CountWrongAttempt(Database& db, const std::string& e164, int max_attempts);
absl::Status DeleteCodes(Database& db, const std::string& e164);

// ---- friends, blocks, dismissals ----
// A person as lists show them: id and display name, in id order.
struct PersonRow {
  UserId id = kNoUser;
  std::string display_name;
};
// Which list of people related to `me` to read.
enum class Relation {
  kFriends,           // friendships either way
  kIncomingRequests,  // requests to me
  kOutgoingRequests,  // requests from me
  kBlocked,           // whom I block
};
absl::StatusOr<std::vector<PersonRow>> ListPeople(Database& db, UserId me, Relation relation);

// Whether either of the two blocks the other.
absl::StatusOr<bool> BlockedEitherWay(Database& db, UserId x, UserId y);
absl::StatusOr<bool> AreFriends(Database& db, UserId a, UserId b);  // a < b
// Adds the friendship unless it exists. a < b.
absl::Status InsertFriendship(Database& db, UserId a, UserId b, absl::Time since);
// Returns whether there was one. a < b.
absl::StatusOr<bool> DeleteFriendship(Database& db, UserId a, UserId b);
absl::Status ForEachFriendship(Database& db, const std::function<void(UserId a, UserId b)>& fn);

// Adds the request unless it is pending already.
absl::Status InsertFriendRequest(Database& db, UserId from, UserId to, absl::Time now);
// Returns whether the request was pending.
absl::StatusOr<bool> DeleteFriendRequest(Database& db, UserId from, UserId to);
// Deletes the requests between the two, either way.
absl::Status DeleteFriendRequestsBetween(Database& db, UserId x, UserId y);

// Returns whether the block is new.
absl::StatusOr<bool> InsertBlock(Database& db, UserId blocker, UserId blocked, absl::Time now);
// Returns whether there was one.
absl::StatusOr<bool> DeleteBlock(Database& db, UserId blocker, UserId blocked);
absl::Status ForEachBlock(Database& db, const std::function<void(UserId blocker, UserId blocked)>& fn);

absl::Status InsertDismissal(Database& db, UserId me, UserId dismissed, absl::Time now);
absl::Status ForEachDismissal(Database& db, const std::function<void(UserId me, UserId dismissed)>& fn);

// ---- address books ----
// The owner's numbers (E.164), in text order.
absl::StatusOr<std::vector<std::string>> AddressBookOf(Database& db, UserId owner);
// Replaces the owner's book with `phones` (E.164; none: deletes it).
absl::Status PutAddressBook(Database& db, UserId owner, const std::vector<std::string>& phones,
                            absl::Time now);
// Every stored book, grouped by owner (the index rebuild).
absl::Status ForEachAddressBook(Database& db,
                                const std::function<void(UserId owner, std::vector<std::string> phones)>& fn);

// The owner's token bucket of new numbers.
struct BudgetRow {
  double tokens = 0;
  absl::Time updated;
};
absl::StatusOr<std::optional<BudgetRow>> GetAddressBookBudget(Database& db, UserId owner);
absl::Status PutAddressBookBudget(Database& db, UserId owner, const BudgetRow& budget);

// ---- messenger facts from the feed, and its cursor ----
absl::StatusOr<int64_t> FeedCursor(Database& db);
// `at` is the last applied event's time.
absl::Status SetFeedCursor(Database& db, int64_t seq, absl::Time at);

struct MessengerAccountRow {
  std::string account_id;
  std::string phone;  // E.164
};
absl::Status PutMessengerAccount(Database& db, const MessengerAccountRow& account, absl::Time linked,
                                 int64_t seq);
absl::Status ForEachMessengerAccount(Database& db, const std::function<void(const MessengerAccountRow&)>& fn);

struct MessengerUsageRow {
  std::string account_id;
  std::string day;  // YYYY-MM-DD, the summary's day
  int active_days_28 = 0;
  std::string last_active_day;  // YYYY-MM-DD
};
absl::Status PutMessengerUsage(Database& db, const MessengerUsageRow& usage, absl::Time at, int64_t seq);
absl::Status ForEachMessengerUsage(Database& db, const std::function<void(const MessengerUsageRow&)>& fn);

struct MessengerObjectionRow {
  std::string account_id;
  Purpose purpose = Purpose::kAds;
  bool objected = false;
};
absl::Status PutMessengerObjection(Database& db, const MessengerObjectionRow& objection, absl::Time at,
                                   int64_t seq);
// Rows with a purpose this build does not know are skipped.
absl::Status ForEachMessengerObjection(Database& db,
                                       const std::function<void(const MessengerObjectionRow&)>& fn);

// Forgets every messenger fact of the account.
absl::Status DeleteMessengerAccount(Database& db, const std::string& account_id);

}  // namespace tandem::social::db
