// The social network's own features: phone-verified accounts and bearer
// tokens, profiles, friend requests, friendships, blocks, dismissals and
// address-book uploads. Every change is one SocialDb::Write, so the fact
// index follows the database.
//
// Errors: InvalidArgument for bad input, NotFound for unknown users or
// requests, AlreadyExists for duplicates, FailedPrecondition when a block
// forbids the action, Unauthenticated for bad tokens or codes,
// ResourceExhausted when codes are requested or tried too often, or an
// address book would add more new numbers than the budget has left.
//
// Verification codes (docs/social-api.md has the numbers):
//  - requests are limited per client address (taken before the number is
//    parsed), per number range and per number; checks per client address
//    and per number, counting every code issued to the number together
//    (verification/code_guard.h, the same limits the messenger applies);
//  - a new code does not replace the codes sent before it: the newest
//    `max_live_codes` unexpired codes of a number are all valid, and each
//    allows `max_code_attempts` wrong tries. Someone who requests codes for
//    another person's number therefore cannot invalidate the code the
//    owner received, nor reset a failed-attempt count; the only way left to
//    get in the owner's way is to use up the number's request bucket, which
//    costs the attacker one token of their address's bucket per code, and
//    the address bucket refills more slowly than the number's (so one
//    address cannot keep a number's bucket empty).
//
// Address books: each account has a budget of numbers it never uploaded
// before (a token bucket, `address_book_new_numbers`); an upload with more
// new numbers than are left is refused whole and changes nothing. What the
// social network tells an uploader about the numbers is only what
// suggestions show; the upload answer says nothing about any number beyond
// whether it could be parsed.
//
// Thread safety: all methods are thread-safe.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "common/clock.h"
#include "common/random.h"
#include "common/rate_limiter.h"
#include "common/status.h"
#include "social/address_book.h"
#include "social/social_db.h"
#include "social/social_store.h"
#include "verification/code_guard.h"
#include "verification/code_sender.h"

namespace tandem::social {

// The social network's defaults for code requests and checks: tighter per
// address and per range than the messenger's (see the header comment).
inline verification::Limits DefaultSocialCodeLimits() {
  verification::Limits l;
  l.codes_per_address = {20, absl::Minutes(20)};
  l.codes_per_prefix = {20, absl::Minutes(10)};
  l.codes_per_number = {3, absl::Minutes(10)};
  l.checks_per_address = {30, absl::Minutes(1)};
  l.guesses_per_number = {10, absl::Hours(1)};
  return l;
}

struct SocialServiceOptions {
  absl::Duration code_ttl = absl::Minutes(10);
  int max_code_attempts = 5;  // wrong tries per code
  int max_live_codes = 3;     // valid codes per number at once (the newest)
  verification::Limits codes = DefaultSocialCodeLimits();
  // New numbers per account: a whole address book at once, then 2,000 a day.
  RateLimit address_book_new_numbers{10000, absl::Milliseconds(43200)};
};

struct Profile {
  UserId id = kNoUser;
  std::string phone;  // only in one's own profile
  std::string display_name;
  bool discoverable_by_phone = false;
};

struct Session {
  UserId user = kNoUser;
  std::string token;  // shown once; only its hash is stored
  bool created = false;
};

// What a friend request did.
enum class FriendRequestOutcome {
  kRequested,  // pending until the other accepts (also when it was already)
  kFriends,    // the other had asked already: now friends
};
// "requested" or "friends", as the API says it.
std::string_view FriendRequestOutcomeName(FriendRequestOutcome outcome);

struct FriendRequests {
  std::vector<Profile> incoming, outgoing;
};

struct AddressBookResult {
  size_t stored = 0;
  std::vector<RejectedRow> rejected;
  int64_t budget_remaining = 0;  // new numbers that may be added now
};

class SocialService {
 public:
  SocialService(SocialDb& db, verification::CodeSender& sender, const Clock& clock, Random& random,
                SocialServiceOptions options = {});

  // Sends a one-time code to the number (normalized with `region`).
  // `client_address` is the requester's (net::Request::remote_address).
  absl::Status StartVerification(std::string_view phone_input, std::string_view region,
                                 std::string_view client_address);
  // Checks the code; creates the account on first verification, and returns
  // a new session token either way.
  absl::StatusOr<Session> CompleteVerification(std::string_view phone_input, std::string_view region,
                                               std::string_view code, std::string_view display_name,
                                               std::string_view client_address);
  absl::StatusOr<UserId> Authenticate(std::string_view token);

  absl::StatusOr<Profile> GetProfile(UserId user, bool own);
  absl::StatusOr<Profile> UpdateProfile(UserId user, std::optional<std::string> display_name,
                                        std::optional<bool> discoverable_by_phone);

  // Sends a request, or makes the two friends if `to` had asked already.
  absl::StatusOr<FriendRequestOutcome> RequestFriend(UserId from, UserId to);
  absl::Status AcceptFriend(UserId me, UserId from);
  absl::Status DeclineFriend(UserId me, UserId from);
  absl::Status CancelFriendRequest(UserId me, UserId to);
  absl::Status RemoveFriend(UserId me, UserId other);
  absl::StatusOr<std::vector<Profile>> ListFriends(UserId me);
  absl::StatusOr<FriendRequests> ListFriendRequests(UserId me);

  // Blocking also ends a friendship and pending requests either way.
  absl::Status Block(UserId me, UserId other);
  absl::Status Unblock(UserId me, UserId other);
  absl::StatusOr<std::vector<Profile>> ListBlocked(UserId me);

  absl::Status Dismiss(UserId me, UserId other);

  // Replaces the user's address book with the valid rows of `upload`;
  // invalid rows are reported, not stored. ResourceExhausted, and nothing
  // changed or charged, if the valid rows hold more numbers this user never
  // uploaded before than the budget has left.
  absl::StatusOr<AddressBookResult> ReplaceAddressBook(UserId me, const AddressBookUpload& upload);
  absl::StatusOr<std::vector<std::string>> GetAddressBook(UserId me);
  absl::Status DeleteAddressBook(UserId me);

  // Operator path (no HTTP route reaches it; tandemd's demo world,
  // app/demo.h, uses it): creates these accounts in one transaction, not
  // discoverable by phone, with their address books and the friendships
  // (pairs of indexes into `accounts`), as if each person had verified,
  // uploaded and accepted. Returns a new session per account, in order. It
  // charges no client's limits or address-book budget, because no client
  // asks. All or nothing: AlreadyExists if a number has an account (or
  // appears twice); InvalidArgument for a number not in E.164 form, a bad
  // display name or address-book entry, or a friendship that is out of
  // range, with oneself or given twice.
  struct ImportedAccount {
    std::string phone;  // E.164
    std::string display_name;
    std::vector<std::string> address_book;  // E.164
  };
  absl::StatusOr<std::vector<Session>> ImportAccounts(
      const std::vector<ImportedAccount>& accounts,
      const std::vector<std::pair<size_t, size_t>>& friendships);

  // Operator path: whether an account has this number (E.164).
  absl::StatusOr<bool> HasAccountWithPhone(const std::string& e164);

  SocialDb& db() { return db_; }

 private:
  absl::Status RequireUser(UserId u);
  absl::StatusOr<std::vector<Profile>> People(UserId me, db::Relation relation);

  SocialDb& db_;
  verification::CodeSender& sender_;
  const Clock& clock_;
  Random& random_;
  SocialServiceOptions options_;
  verification::CodeGuard guard_;
};

}  // namespace tandem::social
