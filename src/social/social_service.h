// The social network's own features: phone-verified accounts and bearer
// tokens, profiles, friend requests, friendships, blocks, dismissals and
// address-book uploads. Every change is one SocialDb::Write, so the fact
// index follows the database.
//
// Errors: InvalidArgument for bad input, NotFound for unknown users or
// requests, AlreadyExists for duplicates, FailedPrecondition when a block
// forbids the action, Unauthenticated for bad tokens or codes,
// ResourceExhausted when codes are requested or tried too often.
//
// Thread safety: all methods are thread-safe.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "common/clock.h"
#include "common/random.h"
#include "common/status.h"
#include "social/address_book.h"
#include "social/code_sender.h"
#include "social/social_db.h"

namespace tandem::social {

struct SocialServiceOptions {
  absl::Duration code_ttl = absl::Minutes(10);
  absl::Duration code_resend_interval = absl::Seconds(30);
  int max_code_attempts = 5;
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

struct FriendRequests {
  std::vector<Profile> incoming, outgoing;
};

struct AddressBookResult {
  size_t stored = 0;
  std::vector<RejectedRow> rejected;
};

class SocialService {
 public:
  SocialService(SocialDb& db, CodeSender& sender, Clock& clock, Random& random,
                SocialServiceOptions options = {});

  // Sends a one-time code to the number (normalized with `region`).
  absl::Status StartVerification(std::string_view phone_input, std::string_view region);
  // Checks the code; creates the account on first verification, and returns
  // a new session token either way.
  absl::StatusOr<Session> CompleteVerification(std::string_view phone_input, std::string_view region,
                                               std::string_view code, std::string_view display_name);
  absl::StatusOr<UserId> Authenticate(std::string_view token);

  absl::StatusOr<Profile> GetProfile(UserId user, bool own);
  absl::StatusOr<Profile> UpdateProfile(UserId user, std::optional<std::string> display_name,
                                        std::optional<bool> discoverable_by_phone);

  // Sends a request, or makes the two friends if `to` had asked already.
  // Returns "requested" or "friends".
  absl::StatusOr<std::string> RequestFriend(UserId from, UserId to);
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
  // invalid rows are reported, not stored.
  absl::StatusOr<AddressBookResult> ReplaceAddressBook(UserId me, const AddressBookUpload& upload);
  absl::StatusOr<std::vector<std::string>> GetAddressBook(UserId me);
  absl::Status DeleteAddressBook(UserId me);

  SocialDb& db() { return db_; }

 private:
  absl::Status RequireUser(UserId u);
  absl::StatusOr<std::vector<Profile>> Profiles(std::string_view sql, UserId me);

  SocialDb& db_;
  CodeSender& sender_;
  Clock& clock_;
  Random& random_;
  SocialServiceOptions options_;
};

// SHA-256 as raw bytes (tokens and codes are stored only hashed).
std::string Sha256(std::string_view data);

}  // namespace tandem::social
