// The suggestion ranking. Candidates are collected into a per-thread dense
// scratch array indexed by user id, which costs two bytes per user and
// avoids hashing on the hot path.
#include "social/suggestions.h"

#include <algorithm>

namespace tandem::social {
namespace {

enum : uint8_t { kTouched = 1, kInContacts = 2, kHasNumber = 4, kExcluded = 8 };

struct Scratch {
  std::vector<uint16_t> mutual;
  std::vector<uint8_t> flags;
  std::vector<UserId> touched;

  void Fit(UserId limit) {
    if (mutual.size() < limit) {
      mutual.resize(limit, 0);
      flags.resize(limit, 0);
    }
  }
  void Touch(UserId u) {
    if (flags[u] == 0) touched.push_back(u);
    flags[u] |= kTouched;
  }
  void Clear() {
    for (UserId u : touched) {
      mutual[u] = 0;
      flags[u] = 0;
    }
    touched.clear();
  }
};

}  // namespace

std::vector<Suggestion> Suggest(const PurposeView& view, UserId viewer, size_t limit) {
  std::vector<Suggestion> out;
  limit = std::min(limit, kMaxSuggestions);
  if (!view.Exists(viewer) || limit == 0) return out;
  thread_local Scratch s;
  s.Fit(view.UserLimit());

  auto exclude = [&](UserId u) {
    if (u >= s.flags.size()) return;
    if (s.flags[u] == 0) s.touched.push_back(u);
    s.flags[u] |= kExcluded;
  };
  exclude(viewer);
  auto friends = view.Friends(viewer);
  for (UserId f : friends) exclude(f);
  for (UserId d : view.Dismissed(viewer)) exclude(d);

  for (UserId f : friends) {
    for (UserId c : view.Friends(f)) {
      if (s.flags[c] & kExcluded) continue;
      s.Touch(c);
      if (s.mutual[c] != UINT16_MAX) ++s.mutual[c];
    }
  }
  for (PhoneKey p : view.AddressBook(viewer)) {
    PhoneReach r = view.UserAtPhone(p);
    if (!r.found() || (s.flags[r.user] & kExcluded)) continue;
    s.Touch(r.user);
    s.flags[r.user] |= kInContacts;
  }
  if (PhoneReach me = view.ReachOf(viewer); me.found()) {
    for (UserId owner : view.AddressBookOwners(view.OwnPhone(viewer))) {
      if (s.flags[owner] & kExcluded) continue;
      s.Touch(owner);
      s.flags[owner] |= kHasNumber;
    }
  }

  std::vector<Suggestion> all;
  for (UserId c : s.touched) {
    if (s.flags[c] & kExcluded) continue;
    if (view.Blocked(viewer, c)) continue;
    Suggestion sg;
    sg.user = c;
    sg.mutual_friends = s.mutual[c];
    sg.in_your_contacts = (s.flags[c] & kInContacts) != 0;
    sg.has_your_number = (s.flags[c] & kHasNumber) != 0;
    sg.score = kScorePerMutualFriend * sg.mutual_friends + (sg.in_your_contacts ? kScoreInYourContacts : 0) +
               (sg.has_your_number ? kScoreHasYourNumber : 0);
    all.push_back(sg);
  }
  s.Clear();
  // Messenger activity only reorders near-ties, so it is looked up for the
  // candidates that can still make the cut.
  auto by_rank = [](const Suggestion& a, const Suggestion& b) {
    return a.score != b.score ? a.score > b.score : a.user < b.user;
  };
  const int64_t kMaxActivityBonus = 28 / kMessengerActivityDivisor;
  if (all.size() > limit) {
    std::nth_element(all.begin(), all.begin() + static_cast<long>(limit) - 1, all.end(), by_rank);
    int64_t cut = all[limit - 1].score - kMaxActivityBonus;
    all.erase(std::partition(all.begin(), all.end(), [&](const Suggestion& x) { return x.score >= cut; }),
              all.end());
  }
  for (Suggestion& sg : all) {
    if (auto usage = view.Usage(sg.user)) {
      sg.messenger_active_days = usage->active_days_28;
      sg.score += usage->active_days_28 / kMessengerActivityDivisor;
    }
  }
  std::sort(all.begin(), all.end(), by_rank);
  if (all.size() > limit) all.resize(limit);
  return all;
}

}  // namespace tandem::social
