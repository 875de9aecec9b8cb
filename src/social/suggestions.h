// Friend suggestions, computed per request from the fact index through a
// kFriendSuggestions PurposeView.
//
// Signals for a candidate C shown to viewer V:
//   - mutual friends (social); for viewers with more than kMaxFriendsWalked
//     friends, estimated from an even sample of that many of them;
//   - V's address book holds a number at which C is findable ("in your
//     contacts");
//   - C's address book holds a number at which V is findable ("has your
//     number");
//   - C is an active messenger user (messenger usage; only ranks people who
//     already have another signal).
// "Findable at a number" is PurposeView::UserAtPhone: the user made the
// number discoverable on the social network, or a messenger account linked
// to it has not objected to friend suggestions.
// Excluded: V, V's friends, anyone blocked either way, anyone V dismissed.
//
// There is no suggestion cache: every answer is computed from the current
// index, so an objection applied to the index is enforced for the very next
// request and nothing derived from it outlives it.
//
// Thread safety: Suggest() is thread-safe; each thread keeps its own
// scratch array (4 bytes per user).
#pragma once

#include <cstdint>
#include <vector>

#include "social/purpose_view.h"

namespace tandem::social {

inline constexpr size_t kMaxFriendsWalked = 64;

struct Suggestion {
  UserId user = kNoUser;
  int64_t score = 0;
  uint32_t mutual_friends = 0;
  bool in_your_contacts = false;
  bool has_your_number = false;
  int messenger_active_days = -1;  // -1: no usage visible

  bool operator==(const Suggestion&) const = default;
};

// Score weights (documented in docs/social-api.md).
inline constexpr int64_t kScoreInYourContacts = 40;
inline constexpr int64_t kScoreHasYourNumber = 30;
inline constexpr int64_t kScorePerMutualFriend = 10;
// Active days / 7: 0..4 points.
inline constexpr int kMessengerActivityDivisor = 7;

inline constexpr size_t kMaxSuggestions = 100;

// Best first; ties by lower user id. `limit` is capped at kMaxSuggestions.
std::vector<Suggestion> Suggest(const PurposeView& view, UserId viewer, size_t limit);

}  // namespace tandem::social
