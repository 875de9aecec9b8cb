// The purpose-scoped read path: the one way features read facts.
//
//   PurposeView view(db.index(), Purpose::kFriendSuggestions);
//   for (UserId f : view.Friends(u)) ...
//   PhoneReach r = view.UserAtPhone(key);   // messenger link hidden if objected
//
// Every fact has a provenance. Facts the social network's own users gave it
// (profiles, friendships, blocks, dismissals, uploaded address books) are
// visible for every purpose. Facts that came from the messenger through the
// feed (a messenger account linked to a phone number, its usage summary) are
// visible for a purpose only if that messenger account has not objected to
// the purpose. This class is the only place that rule is applied
// (Visible() in purpose_view.cc); the fact index has no other public read
// access, so a feature cannot forget it.
//
// How messenger facts attach to social users: a messenger account is linked
// to a phone number; a social user whose verified phone is that number is
// "messenger-linked". The link is what makes the user findable by that number
// (UserAtPhone) unless the user also chose to be discoverable by phone on the
// social network itself (a social fact). See docs/social-api.md.
//
// Lifetime and threads: a view holds a shared lock on the index for as long
// as it lives, so spans it returns stay valid until it is destroyed; keep
// views short (one request). Writers wait while views exist. A view is used
// by one thread.
#pragma once

#include <functional>
#include <optional>
#include <shared_mutex>
#include <span>
#include <string>
#include <vector>

#include "social/fact_index.h"
#include "social/types.h"

namespace tandem::social {

// How a user can be found by a phone number, for one purpose.
struct PhoneReach {
  UserId user = kNoUser;       // kNoUser: nobody is findable at that number
  bool via_social = false;     // the user made the number discoverable
  bool via_messenger = false;  // a non-objecting messenger account has it
  bool found() const { return user != kNoUser; }
};

// A messenger account's usage summary (the most active visible account when
// several share the number).
struct MessengerUsage {
  int active_days_28 = 0;
  uint16_t last_active_day = 0;  // days since 1970-01-01
};

// One fact about a user as a purpose sees it, for explanations and exports.
struct Fact {
  std::string kind;   // "phone", "discoverable_by_phone", "messenger_link", "messenger_usage"
  std::string value;  // e.g. "+14155550123", "true", "active_days_28=12 last_active_day=2026-11-28"
  Provenance provenance = Provenance::kSocial;
};

class PurposeView {
 public:
  PurposeView(const FactIndex& index, Purpose purpose);
  PurposeView(const PurposeView&) = delete;
  PurposeView& operator=(const PurposeView&) = delete;

  Purpose purpose() const { return purpose_; }

  // --- social provenance: the same for every purpose ---
  bool Exists(UserId u) const;
  // One past the highest user id (for sizing per-user scratch arrays).
  UserId UserLimit() const { return static_cast<UserId>(index_.users_.size()); }
  // The verified number the user registered with (login and security; not
  // by itself a way to find the user, see UserAtPhone).
  PhoneKey OwnPhone(UserId u) const;
  bool DiscoverableByPhone(UserId u) const;
  std::span<const UserId> Friends(UserId u) const;
  // The numbers in the user's uploaded address book (sorted).
  std::span<const PhoneKey> AddressBook(UserId u) const;
  // Users whose uploaded address book contains `phone`.
  std::span<const UserId> AddressBookOwners(PhoneKey phone) const;
  // Whether either of the two blocked the other.
  bool Blocked(UserId a, UserId b) const;
  // Everyone `u` blocked or was blocked by (may repeat).
  std::span<const UserId> BlockedEitherWay(UserId u) const;
  // People `u` dismissed from their suggestions.
  std::span<const UserId> Dismissed(UserId u) const;

  // --- mixed and messenger provenance: filtered by objections ---
  // Who can be found at `phone` for this purpose, and through which fact.
  PhoneReach UserAtPhone(PhoneKey phone) const;
  // Whether `u` can be found at their own number for this purpose.
  PhoneReach ReachOf(UserId u) const;
  // Whether a messenger account visible for this purpose is linked to u.
  bool MessengerLinked(UserId u) const;
  std::optional<MessengerUsage> Usage(UserId u) const;

  // Every fact about `u` this purpose may see, with provenance.
  std::vector<Fact> FactsAbout(UserId u) const;
  // Calls fn for every number at which somebody is findable for this
  // purpose (e.g. to build a hash index for customer-list matching).
  void ForEachReachablePhone(const std::function<void(PhoneKey, const PhoneReach&)>& fn) const;

 private:
  // The enforcement point: whether a messenger account's facts may be used
  // for this view's purpose.
  bool Visible(const FactIndex::MessengerSlot& slot) const;

  const FactIndex& index_;
  Purpose purpose_;
  std::shared_lock<WriterPriorityMutex> lock_;
};

}  // namespace tandem::social
