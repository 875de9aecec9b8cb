// Accounts, friendships, blocks and address books of the social network.
#include "social/social_service.h"

#include <openssl/sha.h>

#include <algorithm>
#include <cmath>

#include "absl/strings/str_cat.h"
#include "common/log.h"
#include "common/text.h"
#include "phone/phone.h"

namespace tandem::social {
namespace {

int64_t Unix(const Clock& clock) { return absl::ToUnixSeconds(clock.Now()); }

// Shown to friends, in suggestions and next to posts: one line, may be empty.
absl::Status ValidateDisplayName(std::string_view name) {
  return ValidateText("display_name", name, TextRules{0, 64, false});
}

}  // namespace

std::string Sha256(std::string_view data) {
  unsigned char out[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(data.data()), data.size(), out);
  return std::string(reinterpret_cast<const char*>(out), sizeof out);
}

SocialService::SocialService(SocialDb& db, verification::CodeSender& sender, Clock& clock, Random& random,
                             SocialServiceOptions options)
    : db_(db),
      sender_(sender),
      clock_(clock),
      random_(random),
      options_(options),
      guard_(clock, options.codes) {}

absl::Status SocialService::StartVerification(std::string_view phone_input, std::string_view region,
                                              std::string_view client_address) {
  // The address pays before anything is parsed: parsing is the costly part.
  RETURN_IF_ERROR(guard_.AdmitCodeRequest(client_address));
  ASSIGN_OR_RETURN(std::string e164, phone::Normalize(phone_input, region));
  RETURN_IF_ERROR(guard_.AdmitCodeFor(e164));
  const int64_t now = Unix(clock_);
  std::string code = random_.Digits(6);
  RETURN_IF_ERROR(db_.Write(
      [&](store::Database& db) -> absl::Status {
        RETURN_IF_ERROR(
            db.Execute("DELETE FROM verification_codes WHERE phone = $1 AND expires_at < $2", {e164, now})
                .status());
        // The codes sent before stay valid (up to max_live_codes): a request
        // by someone else must not take away the code the owner was sent.
        RETURN_IF_ERROR(db.Execute("INSERT INTO verification_codes (phone, code_hash, expires_at, attempts) "
                                   "VALUES ($1, $2, $3, 0)",
                                   {e164, store::Value::Blob(verification::CodeHash(e164, code)),
                                    now + absl::ToInt64Seconds(options_.code_ttl)})
                            .status());
        return db
            .Execute(
                "DELETE FROM verification_codes WHERE phone = $1 AND id NOT IN "
                "(SELECT id FROM verification_codes WHERE phone = $1 ORDER BY id DESC LIMIT $2)",
                {e164, static_cast<int64_t>(options_.max_live_codes)})
            .status();
      },
      nullptr));
  return sender_.Send(e164, code);
}

absl::StatusOr<Session> SocialService::CompleteVerification(std::string_view phone_input,
                                                            std::string_view region, std::string_view code,
                                                            std::string_view display_name,
                                                            std::string_view client_address) {
  RETURN_IF_ERROR(guard_.AdmitCheck(client_address));
  ASSIGN_OR_RETURN(std::string e164, phone::Normalize(phone_input, region));
  RETURN_IF_ERROR(ValidateDisplayName(display_name));
  // Charged per number whatever the code and however many codes were sent:
  // requesting a new code does not buy more guesses.
  RETURN_IF_ERROR(guard_.AdmitGuess(e164));
  const int64_t now = Unix(clock_);
  Session session;
  session.token = random_.Hex(32);
  PhoneKey key = PhoneKeyFromE164(e164);
  const std::string given = verification::CodeHash(e164, code);
  absl::Status code_error;
  RETURN_IF_ERROR(db_.Write(
      [&](store::Database& db) -> absl::Status {
        RETURN_IF_ERROR(
            db.Execute("DELETE FROM verification_codes WHERE phone = $1 AND expires_at < $2", {e164, now})
                .status());
        ASSIGN_OR_RETURN(
            auto codes,
            db.Query("SELECT code_hash, attempts FROM verification_codes WHERE phone = $1", {e164}));
        if (codes.empty()) {
          code_error = absl::UnauthenticatedError(
              "no code is pending for this number (none was requested, or it "
              "expired); request one");
          return absl::OkStatus();
        }
        bool live = false, match = false;
        for (const auto& c : codes) {
          if (c.Int(1) >= options_.max_code_attempts) continue;
          live = true;
          match |= verification::SameHash(c.Bytes(0), given);
        }
        if (!live) {
          code_error = absl::ResourceExhaustedError("too many wrong codes; request a new one");
          return absl::OkStatus();
        }
        if (!match) {
          // The attempt must be counted even though the request fails, so it
          // is committed and the error reported afterwards.
          RETURN_IF_ERROR(db.Execute("UPDATE verification_codes SET attempts = attempts + 1 "
                                     "WHERE phone = $1 AND attempts < $2",
                                     {e164, static_cast<int64_t>(options_.max_code_attempts)})
                              .status());
          code_error = absl::UnauthenticatedError("wrong verification code");
          return absl::OkStatus();
        }
        RETURN_IF_ERROR(db.Execute("DELETE FROM verification_codes WHERE phone = $1", {e164}).status());
        auto existing = db.QueryOne("SELECT id FROM accounts WHERE phone = $1", {e164});
        if (existing.ok()) {
          session.user = static_cast<UserId>(existing->Int(0));
        } else {
          ASSIGN_OR_RETURN(auto created, db.QueryOne("INSERT INTO accounts (phone, display_name, created_at) "
                                                     "VALUES ($1, $2, $3) RETURNING id",
                                                     {e164, std::string(display_name), now}));
          session.user = static_cast<UserId>(created.Int(0));
          session.created = true;
        }
        return db
            .Execute("INSERT INTO sessions (token_hash, account_id, created_at) VALUES ($1, $2, $3)",
                     {store::Value::Blob(Sha256(session.token)), session.user, now})
            .status();
      },
      [&](FactIndex& index) {
        if (session.created) index.PutUser(session.user, key, false);
      }));
  if (!code_error.ok()) return code_error;
  if (session.created)
    log::Info("social.account_created", {{"account_id", static_cast<int64_t>(session.user)}});
  return session;
}

absl::StatusOr<bool> SocialService::HasAccountWithPhone(const std::string& e164) {
  ASSIGN_OR_RETURN(auto rows, db_.db().Query("SELECT 1 FROM accounts WHERE phone = $1", {e164}));
  return !rows.empty();
}

absl::StatusOr<std::vector<Session>> SocialService::ImportAccounts(
    const std::vector<ImportedAccount>& accounts, const std::vector<std::pair<size_t, size_t>>& friendships) {
  std::vector<PhoneKey> keys;
  std::vector<std::vector<PhoneKey>> books;
  for (const ImportedAccount& a : accounts) {
    ASSIGN_OR_RETURN(std::string normalized, phone::Normalize(a.phone));
    if (normalized != a.phone) return absl::InvalidArgumentError("numbers must be given in E.164 form");
    RETURN_IF_ERROR(ValidateDisplayName(a.display_name));
    if (a.address_book.size() > kMaxAddressBookEntries) {
      return absl::InvalidArgumentError(
          absl::StrCat("at most ", kMaxAddressBookEntries, " address-book entries"));
    }
    NormalizedAddressBook book = NormalizeAddressBook({"", a.address_book});
    if (!book.rejected.empty()) {
      return absl::InvalidArgumentError(absl::StrCat("address book of ", a.phone, ": entry ",
                                                     book.rejected[0].index, ": ", book.rejected[0].message));
    }
    keys.push_back(PhoneKeyFromE164(normalized));
    books.push_back(std::move(book.phones));
  }
  {
    std::vector<PhoneKey> sorted = keys;
    std::sort(sorted.begin(), sorted.end());
    if (std::adjacent_find(sorted.begin(), sorted.end()) != sorted.end()) {
      return absl::AlreadyExistsError("a number appears twice");
    }
  }
  std::vector<std::pair<size_t, size_t>> pairs;
  for (auto [x, y] : friendships) {
    if (x >= accounts.size() || y >= accounts.size() || x == y) {
      return absl::InvalidArgumentError("a friendship must join two different imported accounts");
    }
    pairs.emplace_back(std::min(x, y), std::max(x, y));
  }
  std::sort(pairs.begin(), pairs.end());
  if (std::adjacent_find(pairs.begin(), pairs.end()) != pairs.end()) {
    return absl::InvalidArgumentError("a friendship is given twice");
  }

  const int64_t now = Unix(clock_);
  std::vector<Session> sessions(accounts.size());
  RETURN_IF_ERROR(db_.Write(
      [&](store::Database& db) -> absl::Status {
        for (size_t i = 0; i < accounts.size(); ++i) {
          ASSIGN_OR_RETURN(auto existing,
                           db.Query("SELECT id FROM accounts WHERE phone = $1", {accounts[i].phone}));
          if (!existing.empty()) {
            return absl::AlreadyExistsError(absl::StrCat("an account exists for ", accounts[i].phone));
          }
          ASSIGN_OR_RETURN(auto created, db.QueryOne("INSERT INTO accounts (phone, display_name, created_at) "
                                                     "VALUES ($1, $2, $3) RETURNING id",
                                                     {accounts[i].phone, accounts[i].display_name, now}));
          Session& s = sessions[i];
          s.user = static_cast<UserId>(created.Int(0));
          s.token = random_.Hex(32);
          s.created = true;
          RETURN_IF_ERROR(
              db.Execute("INSERT INTO sessions (token_hash, account_id, created_at) VALUES ($1, $2, $3)",
                         {store::Value::Blob(Sha256(s.token)), s.user, now})
                  .status());
          for (PhoneKey p : books[i]) {
            RETURN_IF_ERROR(
                db.Execute("INSERT INTO address_book (owner_id, phone, uploaded_at) VALUES ($1, $2, $3)",
                           {s.user, E164FromPhoneKey(p), now})
                    .status());
          }
        }
        for (auto [x, y] : pairs) {
          const UserId a = std::min(sessions[x].user, sessions[y].user),
                       b = std::max(sessions[x].user, sessions[y].user);
          RETURN_IF_ERROR(
              db.Execute("INSERT INTO friendships (a, b, since) VALUES ($1, $2, $3)", {a, b, now}).status());
        }
        return absl::OkStatus();
      },
      [&](FactIndex& index) {
        for (size_t i = 0; i < accounts.size(); ++i) {
          index.PutUser(sessions[i].user, keys[i], false);
          index.SetAddressBook(sessions[i].user, books[i]);
        }
        for (auto [x, y] : pairs) {
          index.AddFriendship(std::min(sessions[x].user, sessions[y].user),
                              std::max(sessions[x].user, sessions[y].user));
        }
      }));
  log::Info("social.accounts_imported", {{"accounts", static_cast<uint64_t>(accounts.size())},
                                         {"friendships", static_cast<uint64_t>(pairs.size())}});
  return sessions;
}

absl::StatusOr<UserId> SocialService::Authenticate(std::string_view token) {
  if (token.empty()) return absl::UnauthenticatedError("missing bearer token");
  auto row = db_.db().QueryOne("SELECT account_id FROM sessions WHERE token_hash = $1",
                               {store::Value::Blob(Sha256(token))});
  if (!row.ok()) {
    if (absl::IsNotFound(row.status())) return absl::UnauthenticatedError("invalid bearer token");
    return row.status();
  }
  return static_cast<UserId>(row->Int(0));
}

absl::Status SocialService::RequireUser(UserId u) {
  auto row = db_.db().QueryOne("SELECT 1 FROM accounts WHERE id = $1", {u});
  if (!row.ok()) {
    if (absl::IsNotFound(row.status())) return absl::NotFoundError(absl::StrCat("no user ", u));
    return row.status();
  }
  return absl::OkStatus();
}

absl::StatusOr<Profile> SocialService::GetProfile(UserId user, bool own) {
  auto row = db_.db().QueryOne(
      "SELECT id, phone, display_name, discoverable_by_phone FROM accounts WHERE id = $1", {user});
  if (!row.ok()) {
    if (absl::IsNotFound(row.status())) return absl::NotFoundError(absl::StrCat("no user ", user));
    return row.status();
  }
  Profile p;
  p.id = static_cast<UserId>(row->Int(0));
  p.display_name = row->Text(2);
  if (own) {
    p.phone = row->Text(1);
    p.discoverable_by_phone = row->Int(3) != 0;
  }
  return p;
}

absl::StatusOr<Profile> SocialService::UpdateProfile(UserId user, std::optional<std::string> display_name,
                                                     std::optional<bool> discoverable_by_phone) {
  if (display_name) RETURN_IF_ERROR(ValidateDisplayName(*display_name));
  RETURN_IF_ERROR(db_.Write(
      [&](store::Database& db) -> absl::Status {
        if (display_name) {
          RETURN_IF_ERROR(
              db.Execute("UPDATE accounts SET display_name = $2 WHERE id = $1", {user, *display_name})
                  .status());
        }
        if (discoverable_by_phone) {
          RETURN_IF_ERROR(db.Execute("UPDATE accounts SET discoverable_by_phone = $2 WHERE id = $1",
                                     {user, *discoverable_by_phone})
                              .status());
        }
        return absl::OkStatus();
      },
      [&](FactIndex& index) {
        if (discoverable_by_phone) index.SetDiscoverable(user, *discoverable_by_phone);
      }));
  return GetProfile(user, true);
}

absl::StatusOr<std::string> SocialService::RequestFriend(UserId from, UserId to) {
  if (from == to) return absl::InvalidArgumentError("you cannot befriend yourself");
  RETURN_IF_ERROR(RequireUser(to));
  const int64_t now = Unix(clock_);
  const UserId a = std::min(from, to), b = std::max(from, to);
  std::string outcome;
  RETURN_IF_ERROR(db_.Write(
      [&](store::Database& db) -> absl::Status {
        auto blocked = db.Query(
            "SELECT 1 FROM blocks WHERE (blocker = $1 AND blocked = $2) OR (blocker = $2 AND blocked = $1)",
            {from, to});
        if (!blocked.ok()) return blocked.status();
        if (!blocked->empty())
          return absl::FailedPreconditionError("a block stands between you and this user");
        ASSIGN_OR_RETURN(auto friends, db.Query("SELECT 1 FROM friendships WHERE a = $1 AND b = $2", {a, b}));
        if (!friends.empty()) return absl::AlreadyExistsError("you are already friends");
        ASSIGN_OR_RETURN(
            int64_t reverse,
            db.Execute("DELETE FROM friend_requests WHERE from_id = $1 AND to_id = $2", {to, from}));
        if (reverse > 0) {
          outcome = "friends";
          return db.Execute("INSERT INTO friendships (a, b, since) VALUES ($1, $2, $3)", {a, b, now})
              .status();
        }
        outcome = "requested";
        return db
            .Execute(
                "INSERT INTO friend_requests (from_id, to_id, created_at) VALUES ($1, $2, $3) "
                "ON CONFLICT DO NOTHING",
                {from, to, now})
            .status();
      },
      [&](FactIndex& index) {
        if (outcome == "friends") index.AddFriendship(a, b);
      }));
  return outcome;
}

absl::Status SocialService::AcceptFriend(UserId me, UserId from) {
  const UserId a = std::min(me, from), b = std::max(me, from);
  return db_.Write(
      [&](store::Database& db) -> absl::Status {
        ASSIGN_OR_RETURN(
            int64_t n,
            db.Execute("DELETE FROM friend_requests WHERE from_id = $1 AND to_id = $2", {from, me}));
        if (n == 0) return absl::NotFoundError(absl::StrCat("no friend request from user ", from));
        return db
            .Execute("INSERT INTO friendships (a, b, since) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
                     {a, b, Unix(clock_)})
            .status();
      },
      [&](FactIndex& index) { index.AddFriendship(a, b); });
}

absl::Status SocialService::DeclineFriend(UserId me, UserId from) {
  return db_.Write(
      [&](store::Database& db) -> absl::Status {
        ASSIGN_OR_RETURN(
            int64_t n,
            db.Execute("DELETE FROM friend_requests WHERE from_id = $1 AND to_id = $2", {from, me}));
        if (n == 0) return absl::NotFoundError(absl::StrCat("no friend request from user ", from));
        return absl::OkStatus();
      },
      nullptr);
}

absl::Status SocialService::CancelFriendRequest(UserId me, UserId to) {
  return db_.Write(
      [&](store::Database& db) -> absl::Status {
        ASSIGN_OR_RETURN(
            int64_t n, db.Execute("DELETE FROM friend_requests WHERE from_id = $1 AND to_id = $2", {me, to}));
        if (n == 0) return absl::NotFoundError(absl::StrCat("no friend request to user ", to));
        return absl::OkStatus();
      },
      nullptr);
}

absl::Status SocialService::RemoveFriend(UserId me, UserId other) {
  const UserId a = std::min(me, other), b = std::max(me, other);
  return db_.Write(
      [&](store::Database& db) -> absl::Status {
        ASSIGN_OR_RETURN(int64_t n, db.Execute("DELETE FROM friendships WHERE a = $1 AND b = $2", {a, b}));
        if (n == 0) return absl::NotFoundError(absl::StrCat("user ", other, " is not your friend"));
        return absl::OkStatus();
      },
      [&](FactIndex& index) { index.RemoveFriendship(a, b); });
}

absl::StatusOr<std::vector<Profile>> SocialService::Profiles(std::string_view sql, UserId me) {
  ASSIGN_OR_RETURN(auto rows, db_.db().Query(sql, {me}));
  std::vector<Profile> out;
  out.reserve(rows.size());
  for (const auto& r : rows) {
    Profile p;
    p.id = static_cast<UserId>(r.Int(0));
    p.display_name = r.Text(1);
    out.push_back(std::move(p));
  }
  return out;
}

absl::StatusOr<std::vector<Profile>> SocialService::ListFriends(UserId me) {
  return Profiles(
      "SELECT id, display_name FROM accounts WHERE id IN "
      "(SELECT b FROM friendships WHERE a = $1 UNION SELECT a FROM friendships WHERE b = $1) ORDER BY id",
      me);
}

absl::StatusOr<FriendRequests> SocialService::ListFriendRequests(UserId me) {
  FriendRequests r;
  ASSIGN_OR_RETURN(r.incoming, Profiles("SELECT id, display_name FROM accounts WHERE id IN "
                                        "(SELECT from_id FROM friend_requests WHERE to_id = $1) ORDER BY id",
                                        me));
  ASSIGN_OR_RETURN(r.outgoing, Profiles("SELECT id, display_name FROM accounts WHERE id IN "
                                        "(SELECT to_id FROM friend_requests WHERE from_id = $1) ORDER BY id",
                                        me));
  return r;
}

absl::Status SocialService::Block(UserId me, UserId other) {
  if (me == other) return absl::InvalidArgumentError("you cannot block yourself");
  RETURN_IF_ERROR(RequireUser(other));
  const UserId a = std::min(me, other), b = std::max(me, other);
  bool added = false;
  return db_.Write(
      [&](store::Database& db) -> absl::Status {
        ASSIGN_OR_RETURN(int64_t n,
                         db.Execute("INSERT INTO blocks (blocker, blocked, created_at) VALUES ($1, $2, $3) "
                                    "ON CONFLICT DO NOTHING",
                                    {me, other, Unix(clock_)}));
        added = n > 0;
        RETURN_IF_ERROR(db.Execute("DELETE FROM friendships WHERE a = $1 AND b = $2", {a, b}).status());
        return db
            .Execute(
                "DELETE FROM friend_requests WHERE (from_id = $1 AND to_id = $2) OR (from_id = $2 AND to_id "
                "= $1)",
                {me, other})
            .status();
      },
      [&](FactIndex& index) {
        if (added) index.AddBlock(me, other);
        index.RemoveFriendship(a, b);
      });
}

absl::Status SocialService::Unblock(UserId me, UserId other) {
  return db_.Write(
      [&](store::Database& db) -> absl::Status {
        ASSIGN_OR_RETURN(int64_t n,
                         db.Execute("DELETE FROM blocks WHERE blocker = $1 AND blocked = $2", {me, other}));
        if (n == 0) return absl::NotFoundError(absl::StrCat("you have not blocked user ", other));
        return absl::OkStatus();
      },
      [&](FactIndex& index) { index.RemoveBlock(me, other); });
}

absl::StatusOr<std::vector<Profile>> SocialService::ListBlocked(UserId me) {
  return Profiles(
      "SELECT id, display_name FROM accounts WHERE id IN (SELECT blocked FROM blocks WHERE blocker = $1) "
      "ORDER BY id",
      me);
}

absl::Status SocialService::Dismiss(UserId me, UserId other) {
  if (me == other) return absl::InvalidArgumentError("you cannot dismiss yourself");
  RETURN_IF_ERROR(RequireUser(other));
  return db_.Write(
      [&](store::Database& db) -> absl::Status {
        return db
            .Execute(
                "INSERT INTO dismissals (account_id, dismissed_id, created_at) VALUES ($1, $2, $3) "
                "ON CONFLICT DO NOTHING",
                {me, other, Unix(clock_)})
            .status();
      },
      [&](FactIndex& index) { index.AddDismissal(me, other); });
}

absl::StatusOr<AddressBookResult> SocialService::ReplaceAddressBook(UserId me,
                                                                    const AddressBookUpload& upload) {
  NormalizedAddressBook book = NormalizeAddressBook(upload);
  const int64_t now = Unix(clock_);
  const int64_t now_ms = absl::ToUnixMillis(clock_.Now());
  const RateLimit& budget = options_.address_book_new_numbers;
  AddressBookResult result;
  result.stored = book.phones.size();
  result.rejected = std::move(book.rejected);
  absl::Status verdict;
  RETURN_IF_ERROR(db_.Write(
      [&](store::Database& db) -> absl::Status {
        // "New" means not in the book stored now: what an upload can teach
        // its uploader (through suggestions) is bounded by the numbers that
        // enter books, so each entering number costs a token, including one
        // that was in an earlier book (no list of past numbers is kept).
        ASSIGN_OR_RETURN(auto stored, db.Query("SELECT phone FROM address_book WHERE owner_id = $1", {me}));
        std::vector<PhoneKey> before;
        before.reserve(stored.size());
        for (const auto& r : stored) before.push_back(PhoneKeyFromE164(r.Text(0)));
        std::sort(before.begin(), before.end());
        size_t fresh = 0;
        for (PhoneKey p : book.phones) fresh += !std::binary_search(before.begin(), before.end(), p);

        double tokens = budget.burst;
        ASSIGN_OR_RETURN(
            auto row,
            db.Query("SELECT tokens, updated_ms FROM address_book_budget WHERE owner_id = $1", {me}));
        if (!row.empty()) {
          tokens = row[0].Real(0);
          const int64_t updated_ms = row[0].Int(1);
          if (now_ms > updated_ms && budget.interval > absl::ZeroDuration()) {
            tokens = std::min(
                budget.burst,
                tokens + absl::FDivDuration(absl::Milliseconds(now_ms - updated_ms), budget.interval));
          }
        }
        if (static_cast<double>(fresh) > tokens + 1e-9) {
          const int64_t left = static_cast<int64_t>(tokens + 1e-9);
          if (static_cast<double>(fresh) > budget.burst) {
            verdict = absl::ResourceExhaustedError(
                absl::StrCat("address book budget: this upload adds ", fresh,
                             " numbers that are not in your address book; at most ",
                             static_cast<int64_t>(budget.burst), " can be added at once (", left, " now)"));
          } else {
            const int64_t wait_s = static_cast<int64_t>(
                std::ceil(absl::ToDoubleSeconds(budget.interval) * (static_cast<double>(fresh) - tokens)));
            verdict = absl::ResourceExhaustedError(
                absl::StrCat("address book budget: this upload adds ", fresh,
                             " numbers that are not in your address book; ", left,
                             " can be added now; try again in ", std::max<int64_t>(1, wait_s), " s"));
          }
          return absl::OkStatus();
        }
        tokens -= static_cast<double>(fresh);
        result.budget_remaining = static_cast<int64_t>(tokens + 1e-9);
        if (fresh > 0) {
          RETURN_IF_ERROR(
              db.Execute("INSERT INTO address_book_budget (owner_id, tokens, updated_ms) VALUES ($1, $2, $3) "
                         "ON CONFLICT (owner_id) DO UPDATE SET tokens = excluded.tokens, "
                         "updated_ms = excluded.updated_ms",
                         {me, tokens, now_ms})
                  .status());
        }
        RETURN_IF_ERROR(db.Execute("DELETE FROM address_book WHERE owner_id = $1", {me}).status());
        for (PhoneKey p : book.phones) {
          RETURN_IF_ERROR(
              db.Execute("INSERT INTO address_book (owner_id, phone, uploaded_at) VALUES ($1, $2, $3)",
                         {me, E164FromPhoneKey(p), now})
                  .status());
        }
        return absl::OkStatus();
      },
      [&](FactIndex& index) {
        if (verdict.ok()) index.SetAddressBook(me, book.phones);
      }));
  RETURN_IF_ERROR(verdict);
  return result;
}

absl::StatusOr<std::vector<std::string>> SocialService::GetAddressBook(UserId me) {
  ASSIGN_OR_RETURN(auto rows,
                   db_.db().Query("SELECT phone FROM address_book WHERE owner_id = $1 ORDER BY phone", {me}));
  std::vector<std::string> out;
  for (const auto& r : rows) out.push_back(r.Text(0));
  return out;
}

absl::Status SocialService::DeleteAddressBook(UserId me) {
  return db_.Write(
      [&](store::Database& db) {
        return db.Execute("DELETE FROM address_book WHERE owner_id = $1", {me}).status();
      },
      [&](FactIndex& index) { index.SetAddressBook(me, {}); });
}

}  // namespace tandem::social
