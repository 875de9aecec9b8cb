// Accounts, friendships, blocks and address books of the social network.
#include "social/social_service.h"

#include <algorithm>
#include <cmath>

#include "absl/strings/str_cat.h"
#include "common/encoding.h"
#include "common/log.h"
#include "common/text.h"
#include "phone/phone.h"
#include "social/social_store.h"

namespace tandem::social {
namespace {

// Shown to friends, in suggestions and next to posts: one line, may be empty.
absl::Status ValidateDisplayName(std::string_view name) {
  return ValidateText("display_name", name, TextRules{0, 64, false});
}

}  // namespace

SocialService::SocialService(SocialDb& db, verification::CodeSender& sender, const Clock& clock,
                             Random& random, SocialServiceOptions options)
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
  const absl::Time now = clock_.Now();
  std::string code = random_.Digits(6);
  RETURN_IF_ERROR(db_.Write(
      [&](store::Database& tx) -> absl::Status {
        RETURN_IF_ERROR(db::DeleteExpiredCodes(tx, e164, now));
        // The codes sent before stay valid (up to max_live_codes): a request
        // by someone else must not take away the code the owner was sent.
        RETURN_IF_ERROR(
            db::InsertCode(tx, e164, verification::CodeHash(e164, code), now + options_.code_ttl));
        return db::KeepNewestCodes(tx, e164, options_.max_live_codes);
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
  const absl::Time now = clock_.Now();
  Session session;
  session.token = random_.Hex(32);
  PhoneKey key = PhoneKeyFromE164(e164);
  const std::string given = verification::CodeHash(e164, code);
  absl::Status code_error;
  RETURN_IF_ERROR(db_.Write(
      [&](store::Database& tx) -> absl::Status {
        RETURN_IF_ERROR(db::DeleteExpiredCodes(tx, e164, now));
        ASSIGN_OR_RETURN(std::vector<db::CodeRow> codes, db::ListCodes(tx, e164));
        if (codes.empty()) {
          code_error = absl::UnauthenticatedError(
              "no code is pending for this number (none was requested, or it "
              "expired); request one");
          return absl::OkStatus();
        }
        bool live = false, match = false;
        for (const db::CodeRow& c : codes) {
          if (c.attempts >= options_.max_code_attempts) continue;
          live = true;
          match |= verification::SameHash(c.code_hash, given);
        }
        if (!live) {
          code_error = absl::ResourceExhaustedError("too many wrong codes; request a new one");
          return absl::OkStatus();
        }
        if (!match) {
          // The attempt must be counted even though the request fails, so it
          // is committed and the error reported afterwards.
          RETURN_IF_ERROR(db::CountWrongAttempt(tx, e164, options_.max_code_attempts));
          code_error = absl::UnauthenticatedError("wrong verification code");
          return absl::OkStatus();
        }
        RETURN_IF_ERROR(db::DeleteCodes(tx, e164));
        ASSIGN_OR_RETURN(std::optional<UserId> existing, db::FindAccountByPhone(tx, e164));
        if (existing) {
          session.user = *existing;
        } else {
          ASSIGN_OR_RETURN(session.user, db::InsertAccount(tx, e164, std::string(display_name), now));
          session.created = true;
        }
        return db::InsertSession(tx, Sha256(session.token), session.user, now);
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
  ASSIGN_OR_RETURN(std::optional<UserId> id, db_.Read(&db::FindAccountByPhone, e164));
  return id.has_value();
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

  const absl::Time now = clock_.Now();
  std::vector<Session> sessions(accounts.size());
  RETURN_IF_ERROR(db_.Write(
      [&](store::Database& tx) -> absl::Status {
        for (size_t i = 0; i < accounts.size(); ++i) {
          ASSIGN_OR_RETURN(std::optional<UserId> existing, db::FindAccountByPhone(tx, accounts[i].phone));
          if (existing) {
            return absl::AlreadyExistsError(absl::StrCat("an account exists for ", accounts[i].phone));
          }
          Session& s = sessions[i];
          ASSIGN_OR_RETURN(s.user, db::InsertAccount(tx, accounts[i].phone, accounts[i].display_name, now));
          s.token = random_.Hex(32);
          s.created = true;
          RETURN_IF_ERROR(db::InsertSession(tx, Sha256(s.token), s.user, now));
          std::vector<std::string> book;
          book.reserve(books[i].size());
          for (PhoneKey p : books[i]) book.push_back(E164FromPhoneKey(p));
          RETURN_IF_ERROR(db::PutAddressBook(tx, s.user, book, now));
        }
        for (auto [x, y] : pairs) {
          const UserId a = std::min(sessions[x].user, sessions[y].user),
                       b = std::max(sessions[x].user, sessions[y].user);
          RETURN_IF_ERROR(db::InsertFriendship(tx, a, b, now));
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
  ASSIGN_OR_RETURN(std::optional<UserId> user, db_.Read(&db::FindSession, Sha256(token)));
  if (!user) return absl::UnauthenticatedError("invalid bearer token");
  return *user;
}

absl::Status SocialService::RequireUser(UserId u) {
  ASSIGN_OR_RETURN(std::optional<db::AccountRow> row, db_.Read(&db::GetAccount, u));
  if (!row) return absl::NotFoundError(absl::StrCat("no user ", u));
  return absl::OkStatus();
}

absl::StatusOr<Profile> SocialService::GetProfile(UserId user, bool own) {
  ASSIGN_OR_RETURN(std::optional<db::AccountRow> row, db_.Read(&db::GetAccount, user));
  if (!row) return absl::NotFoundError(absl::StrCat("no user ", user));
  Profile p;
  p.id = row->id;
  p.display_name = row->display_name;
  if (own) {
    p.phone = row->phone;
    p.discoverable_by_phone = row->discoverable_by_phone;
  }
  return p;
}

absl::StatusOr<Profile> SocialService::UpdateProfile(UserId user, std::optional<std::string> display_name,
                                                     std::optional<bool> discoverable_by_phone) {
  if (display_name) RETURN_IF_ERROR(ValidateDisplayName(*display_name));
  RETURN_IF_ERROR(db_.Write(
      [&](store::Database& tx) -> absl::Status {
        if (display_name) RETURN_IF_ERROR(db::SetDisplayName(tx, user, *display_name));
        if (discoverable_by_phone) RETURN_IF_ERROR(db::SetDiscoverable(tx, user, *discoverable_by_phone));
        return absl::OkStatus();
      },
      [&](FactIndex& index) {
        if (discoverable_by_phone) index.SetDiscoverable(user, *discoverable_by_phone);
      }));
  return GetProfile(user, true);
}

std::string_view FriendRequestOutcomeName(FriendRequestOutcome outcome) {
  return outcome == FriendRequestOutcome::kFriends ? "friends" : "requested";
}

absl::StatusOr<FriendRequestOutcome> SocialService::RequestFriend(UserId from, UserId to) {
  if (from == to) return absl::InvalidArgumentError("you cannot befriend yourself");
  RETURN_IF_ERROR(RequireUser(to));
  const absl::Time now = clock_.Now();
  const UserId a = std::min(from, to), b = std::max(from, to);
  FriendRequestOutcome outcome = FriendRequestOutcome::kRequested;
  RETURN_IF_ERROR(db_.Write(
      [&](store::Database& tx) -> absl::Status {
        ASSIGN_OR_RETURN(bool blocked, db::BlockedEitherWay(tx, from, to));
        if (blocked) return absl::FailedPreconditionError("a block stands between you and this user");
        ASSIGN_OR_RETURN(bool friends, db::AreFriends(tx, a, b));
        if (friends) return absl::AlreadyExistsError("you are already friends");
        ASSIGN_OR_RETURN(bool reverse, db::DeleteFriendRequest(tx, to, from));
        if (reverse) {
          outcome = FriendRequestOutcome::kFriends;
          return db::InsertFriendship(tx, a, b, now);
        }
        outcome = FriendRequestOutcome::kRequested;
        return db::InsertFriendRequest(tx, from, to, now);
      },
      [&](FactIndex& index) {
        if (outcome == FriendRequestOutcome::kFriends) index.AddFriendship(a, b);
      }));
  return outcome;
}

absl::Status SocialService::AcceptFriend(UserId me, UserId from) {
  const UserId a = std::min(me, from), b = std::max(me, from);
  return db_.Write(
      [&](store::Database& tx) -> absl::Status {
        ASSIGN_OR_RETURN(bool pending, db::DeleteFriendRequest(tx, from, me));
        if (!pending) return absl::NotFoundError(absl::StrCat("no friend request from user ", from));
        return db::InsertFriendship(tx, a, b, clock_.Now());
      },
      [&](FactIndex& index) { index.AddFriendship(a, b); });
}

absl::Status SocialService::DeclineFriend(UserId me, UserId from) {
  return db_.Write(
      [&](store::Database& tx) -> absl::Status {
        ASSIGN_OR_RETURN(bool pending, db::DeleteFriendRequest(tx, from, me));
        if (!pending) return absl::NotFoundError(absl::StrCat("no friend request from user ", from));
        return absl::OkStatus();
      },
      nullptr);
}

absl::Status SocialService::CancelFriendRequest(UserId me, UserId to) {
  return db_.Write(
      [&](store::Database& tx) -> absl::Status {
        ASSIGN_OR_RETURN(bool pending, db::DeleteFriendRequest(tx, me, to));
        if (!pending) return absl::NotFoundError(absl::StrCat("no friend request to user ", to));
        return absl::OkStatus();
      },
      nullptr);
}

absl::Status SocialService::RemoveFriend(UserId me, UserId other) {
  const UserId a = std::min(me, other), b = std::max(me, other);
  return db_.Write(
      [&](store::Database& tx) -> absl::Status {
        ASSIGN_OR_RETURN(bool existed, db::DeleteFriendship(tx, a, b));
        if (!existed) return absl::NotFoundError(absl::StrCat("user ", other, " is not your friend"));
        return absl::OkStatus();
      },
      [&](FactIndex& index) { index.RemoveFriendship(a, b); });
}

absl::StatusOr<std::vector<Profile>> SocialService::People(UserId me, db::Relation relation) {
  ASSIGN_OR_RETURN(std::vector<db::PersonRow> rows,
                   db_.Read([&](store::Database& d) { return db::ListPeople(d, me, relation); }));
  std::vector<Profile> out;
  out.reserve(rows.size());
  for (db::PersonRow& r : rows) {
    Profile p;
    p.id = r.id;
    p.display_name = std::move(r.display_name);
    out.push_back(std::move(p));
  }
  return out;
}

absl::StatusOr<std::vector<Profile>> SocialService::ListFriends(UserId me) {
  return People(me, db::Relation::kFriends);
}

absl::StatusOr<FriendRequests> SocialService::ListFriendRequests(UserId me) {
  FriendRequests r;
  ASSIGN_OR_RETURN(r.incoming, People(me, db::Relation::kIncomingRequests));
  ASSIGN_OR_RETURN(r.outgoing, People(me, db::Relation::kOutgoingRequests));
  return r;
}

absl::Status SocialService::Block(UserId me, UserId other) {
  if (me == other) return absl::InvalidArgumentError("you cannot block yourself");
  RETURN_IF_ERROR(RequireUser(other));
  const UserId a = std::min(me, other), b = std::max(me, other);
  bool added = false;
  return db_.Write(
      [&](store::Database& tx) -> absl::Status {
        ASSIGN_OR_RETURN(added, db::InsertBlock(tx, me, other, clock_.Now()));
        RETURN_IF_ERROR(db::DeleteFriendship(tx, a, b).status());
        return db::DeleteFriendRequestsBetween(tx, me, other);
      },
      [&](FactIndex& index) {
        if (added) index.AddBlock(me, other);
        index.RemoveFriendship(a, b);
      });
}

absl::Status SocialService::Unblock(UserId me, UserId other) {
  return db_.Write(
      [&](store::Database& tx) -> absl::Status {
        ASSIGN_OR_RETURN(bool existed, db::DeleteBlock(tx, me, other));
        if (!existed) return absl::NotFoundError(absl::StrCat("you have not blocked user ", other));
        return absl::OkStatus();
      },
      [&](FactIndex& index) { index.RemoveBlock(me, other); });
}

absl::StatusOr<std::vector<Profile>> SocialService::ListBlocked(UserId me) {
  return People(me, db::Relation::kBlocked);
}

absl::Status SocialService::Dismiss(UserId me, UserId other) {
  if (me == other) return absl::InvalidArgumentError("you cannot dismiss yourself");
  RETURN_IF_ERROR(RequireUser(other));
  return db_.Write([&](store::Database& tx) { return db::InsertDismissal(tx, me, other, clock_.Now()); },
                   [&](FactIndex& index) { index.AddDismissal(me, other); });
}

absl::StatusOr<AddressBookResult> SocialService::ReplaceAddressBook(UserId me,
                                                                    const AddressBookUpload& upload) {
  NormalizedAddressBook book = NormalizeAddressBook(upload);
  const absl::Time now = clock_.Now();
  const RateLimit& budget = options_.address_book_new_numbers;
  AddressBookResult result;
  result.stored = book.phones.size();
  result.rejected = std::move(book.rejected);
  absl::Status verdict;
  RETURN_IF_ERROR(db_.Write(
      [&](store::Database& tx) -> absl::Status {
        // "New" means not in the book stored now: what an upload can teach
        // its uploader (through suggestions) is bounded by the numbers that
        // enter books, so each entering number costs a token, including one
        // that was in an earlier book (no list of past numbers is kept).
        ASSIGN_OR_RETURN(std::vector<std::string> stored, db::AddressBookOf(tx, me));
        std::vector<PhoneKey> before;
        before.reserve(stored.size());
        for (const std::string& phone : stored) before.push_back(PhoneKeyFromE164(phone));
        std::sort(before.begin(), before.end());
        size_t fresh = 0;
        for (PhoneKey p : book.phones) fresh += !std::binary_search(before.begin(), before.end(), p);

        double tokens = budget.burst;
        ASSIGN_OR_RETURN(std::optional<db::BudgetRow> row, db::GetAddressBookBudget(tx, me));
        if (row) {
          tokens = row->tokens;
          // The budget is stored to the millisecond: refill from there.
          const absl::Time now_ms = absl::FromUnixMillis(absl::ToUnixMillis(now));
          if (now_ms > row->updated && budget.interval > absl::ZeroDuration()) {
            tokens =
                std::min(budget.burst, tokens + absl::FDivDuration(now_ms - row->updated, budget.interval));
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
        if (fresh > 0) RETURN_IF_ERROR(db::PutAddressBookBudget(tx, me, {tokens, now}));
        std::vector<std::string> phones;
        phones.reserve(book.phones.size());
        for (PhoneKey p : book.phones) phones.push_back(E164FromPhoneKey(p));
        return db::PutAddressBook(tx, me, phones, now);
      },
      [&](FactIndex& index) {
        if (verdict.ok()) index.SetAddressBook(me, book.phones);
      }));
  RETURN_IF_ERROR(verdict);
  return result;
}

absl::StatusOr<std::vector<std::string>> SocialService::GetAddressBook(UserId me) {
  return db_.Read([me](store::Database& d) { return db::AddressBookOf(d, me); });
}

absl::Status SocialService::DeleteAddressBook(UserId me) {
  return db_.Write([&](store::Database& tx) { return db::PutAddressBook(tx, me, {}, clock_.Now()); },
                   [&](FactIndex& index) { index.SetAddressBook(me, {}); });
}

}  // namespace tandem::social
