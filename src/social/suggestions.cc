// The suggestion ranking. Candidates are collected into a per-thread dense
// scratch array indexed by user id, which costs four bytes per user and
// avoids hashing on the hot path.
#include "social/suggestions.h"

#include <algorithm>
#include <functional>

namespace tandem::social {
namespace {

enum : uint8_t { kTouched = 1, kInContacts = 2, kHasNumber = 4, kExcluded = 8 };

// One 4-byte cell per user, so that counting a candidate touches one cache
// line (the counting loop is bound by cache misses on large graphs).
struct Cell {
  uint16_t mutual = 0;
  uint8_t flags = 0;
  uint8_t unused = 0;
};

struct Scratch {
  std::vector<Cell> cells;
  std::vector<UserId> touched;
  std::vector<uint64_t> keys;

  void Fit(UserId limit) {
    if (cells.size() < limit) cells.resize(limit);
  }
  void Touch(Cell& c, UserId u) {
    if (c.flags == 0) touched.push_back(u);
    c.flags |= kTouched;
  }
  void Clear() {
    for (UserId u : touched) cells[u] = Cell{};
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
    if (u >= s.cells.size()) return;
    if (s.cells[u].flags == 0) s.touched.push_back(u);
    s.cells[u].flags |= kExcluded;
  };
  exclude(viewer);
  auto friends = view.Friends(viewer);
  for (UserId f : friends) exclude(f);
  for (UserId d : view.Dismissed(viewer)) exclude(d);
  for (UserId b : view.BlockedEitherWay(viewer)) exclude(b);

  // Counting is bound by cache misses on the cells (random ids); prefetching
  // a few entries ahead lets the misses overlap.
  constexpr size_t kPrefetchAhead = 8;
  // Viewers with many friends walk an even sample of them (by position in
  // the sorted friend list, so the answer is deterministic) and mutual
  // counts are scaled back up: the cost is bounded by kMaxFriendsWalked
  // times the friends' degree instead of growing with the degree squared.
  const size_t degree = friends.size();
  const size_t walked = std::min(degree, kMaxFriendsWalked);
  for (size_t w = 0; w < walked; ++w) {
    const UserId f = friends[w * degree / walked];
    auto list = view.Friends(f);
    const size_t n = list.size();
    for (size_t i = 0; i < n; ++i) {
      if (i + kPrefetchAhead < n) __builtin_prefetch(&s.cells[list[i + kPrefetchAhead]], 1);
      const UserId c = list[i];
      Cell& cell = s.cells[c];
      if (cell.flags & kExcluded) continue;
      s.Touch(cell, c);
      if (cell.mutual != UINT16_MAX) ++cell.mutual;
    }
  }
  for (PhoneKey p : view.AddressBook(viewer)) {
    PhoneReach r = view.UserAtPhone(p);
    if (!r.found()) continue;
    Cell& cell = s.cells[r.user];
    if (cell.flags & kExcluded) continue;
    s.Touch(cell, r.user);
    cell.flags |= kInContacts;
  }
  if (PhoneReach me = view.ReachOf(viewer); me.found()) {
    for (UserId owner : view.AddressBookOwners(view.OwnPhone(viewer))) {
      Cell& cell = s.cells[owner];
      if (cell.flags & kExcluded) continue;
      s.Touch(cell, owner);
      cell.flags |= kHasNumber;
    }
  }

  // Rank on packed keys (base score, then lower id first) so that only the
  // candidates that can make the cut become Suggestion objects.
  auto mutual_of = [&](const Cell& cell) -> int64_t {
    return walked == degree
               ? cell.mutual
               : (static_cast<int64_t>(cell.mutual) * static_cast<int64_t>(degree) + walked / 2) /
                     static_cast<int64_t>(walked);
  };
  auto base_score = [&](const Cell& cell) {
    return kScorePerMutualFriend * mutual_of(cell) + ((cell.flags & kInContacts) ? kScoreInYourContacts : 0) +
           ((cell.flags & kHasNumber) ? kScoreHasYourNumber : 0);
  };
  std::vector<uint64_t>& keys = s.keys;
  keys.clear();
  for (UserId c : s.touched) {
    const Cell& cell = s.cells[c];
    if (cell.flags & kExcluded) continue;
    keys.push_back((static_cast<uint64_t>(base_score(cell)) << 32) | (UINT32_MAX - c));
  }
  // Messenger activity adds at most kMaxActivityBonus and only reorders
  // near-ties, so it is looked up for the candidates that can still make it.
  const int64_t kMaxActivityBonus = 28 / kMessengerActivityDivisor;
  if (keys.size() > limit) {
    std::nth_element(keys.begin(), keys.begin() + static_cast<long>(limit) - 1, keys.end(), std::greater<>());
    int64_t cut = static_cast<int64_t>(keys[limit - 1] >> 32) - kMaxActivityBonus;
    keys.erase(std::partition(keys.begin(), keys.end(),
                              [&](uint64_t k) { return static_cast<int64_t>(k >> 32) >= cut; }),
               keys.end());
  }
  std::vector<Suggestion> all;
  all.reserve(keys.size());
  for (uint64_t k : keys) {
    const UserId c = UINT32_MAX - static_cast<UserId>(k & UINT32_MAX);
    const Cell& cell = s.cells[c];
    Suggestion sg;
    sg.user = c;
    sg.mutual_friends = static_cast<uint32_t>(mutual_of(cell));
    sg.in_your_contacts = (cell.flags & kInContacts) != 0;
    sg.has_your_number = (cell.flags & kHasNumber) != 0;
    sg.score = base_score(cell);
    if (auto usage = view.Usage(c)) {
      sg.messenger_active_days = usage->active_days_28;
      sg.score += usage->active_days_28 / kMessengerActivityDivisor;
    }
    all.push_back(sg);
  }
  s.Clear();
  auto by_rank = [](const Suggestion& a, const Suggestion& b) {
    return a.score != b.score ? a.score > b.score : a.user < b.user;
  };
  std::sort(all.begin(), all.end(), by_rank);
  if (all.size() > limit) all.resize(limit);
  return all;
}

}  // namespace tandem::social
