// Mutations of the in-memory fact index. Reads live in purpose_view.cc.
#include "social/fact_index.h"

#include <algorithm>
#include <mutex>

namespace tandem::social {

WriterPriorityMutex::WriterPriorityMutex() {
  pthread_rwlockattr_t attr;
  pthread_rwlockattr_init(&attr);
  pthread_rwlockattr_setkind_np(&attr, PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
  pthread_rwlock_init(&rw_, &attr);
  pthread_rwlockattr_destroy(&attr);
}
WriterPriorityMutex::~WriterPriorityMutex() { pthread_rwlock_destroy(&rw_); }
void WriterPriorityMutex::lock() { pthread_rwlock_wrlock(&rw_); }
void WriterPriorityMutex::unlock() { pthread_rwlock_unlock(&rw_); }
void WriterPriorityMutex::lock_shared() { pthread_rwlock_rdlock(&rw_); }
void WriterPriorityMutex::unlock_shared() { pthread_rwlock_unlock(&rw_); }

void FactIndex::EraseValue(std::vector<UserId>& v, UserId x) {
  auto it = std::find(v.begin(), v.end(), x);
  if (it == v.end()) return;
  *it = v.back();
  v.pop_back();
}

FactIndex::UserRecord* FactIndex::MutableUser(UserId id) {
  if (id == kNoUser) return nullptr;
  if (id >= users_.size()) {
    users_.resize(static_cast<size_t>(id) + 1);
    friends_.resize(static_cast<size_t>(id) + 1);
  }
  return &users_[id];
}

void FactIndex::ReserveUsers(UserId max_id) {
  std::unique_lock lock(mu_);
  MutableUser(max_id);
}

void FactIndex::PutUser(UserId id, PhoneKey phone, bool discoverable) {
  std::unique_lock lock(mu_);
  UserRecord* u = MutableUser(id);
  if (u == nullptr) return;
  if (u->phone != 0 && u->phone != phone) {
    auto it = user_at_phone_.find(u->phone);
    if (it != user_at_phone_.end() && it->second == id) user_at_phone_.erase(it);
  }
  u->phone = phone;
  u->flags = kExists | (discoverable ? kDiscoverable : 0);
  if (phone != 0) user_at_phone_[phone] = id;
}

void FactIndex::SetDiscoverable(UserId id, bool discoverable) {
  std::unique_lock lock(mu_);
  if (id >= users_.size()) return;
  if (discoverable) {
    users_[id].flags |= kDiscoverable;
  } else {
    users_[id].flags &= static_cast<uint8_t>(~kDiscoverable);
  }
}

void FactIndex::AddFriendshipUnlocked(UserId a, UserId b) {
  if (a == b || a == kNoUser || b == kNoUser) return;
  MutableUser(std::max(a, b));
  friends_[a].push_back(b);
  friends_[b].push_back(a);
}

void FactIndex::AddFriendship(UserId a, UserId b) {
  std::unique_lock lock(mu_);
  if (a < friends_.size() && std::find(friends_[a].begin(), friends_[a].end(), b) != friends_[a].end())
    return;
  AddFriendshipUnlocked(a, b);
}

void FactIndex::RemoveFriendship(UserId a, UserId b) {
  std::unique_lock lock(mu_);
  if (a >= friends_.size() || b >= friends_.size()) return;
  EraseValue(friends_[a], b);
  EraseValue(friends_[b], a);
}

void FactIndex::AddBlock(UserId blocker, UserId blocked) {
  std::unique_lock lock(mu_);
  for (auto [x, y] : {std::pair{blocker, blocked}, std::pair{blocked, blocker}}) {
    auto& v = blocks_[x];
    v.push_back(y);  // a multiset: A blocking B and B blocking A are two entries
  }
}

void FactIndex::RemoveBlock(UserId blocker, UserId blocked) {
  std::unique_lock lock(mu_);
  for (auto [x, y] : {std::pair{blocker, blocked}, std::pair{blocked, blocker}}) {
    auto it = blocks_.find(x);
    if (it == blocks_.end()) continue;
    EraseValue(it->second, y);
    if (it->second.empty()) blocks_.erase(it);
  }
}

void FactIndex::AddDismissal(UserId user, UserId dismissed) {
  std::unique_lock lock(mu_);
  auto& v = dismissed_[user];
  if (std::find(v.begin(), v.end(), dismissed) == v.end()) v.push_back(dismissed);
}

void FactIndex::SetAddressBook(UserId owner, std::vector<PhoneKey> phones) {
  std::sort(phones.begin(), phones.end());
  phones.erase(std::unique(phones.begin(), phones.end()), phones.end());
  phones.erase(std::remove(phones.begin(), phones.end(), PhoneKey{0}), phones.end());
  std::unique_lock lock(mu_);
  if (auto it = books_.find(owner); it != books_.end()) {
    for (PhoneKey p : it->second) {
      auto owners = book_owners_.find(p);
      if (owners == book_owners_.end()) continue;
      EraseValue(owners->second, owner);
      if (owners->second.empty()) book_owners_.erase(owners);
    }
    books_.erase(it);
  }
  if (phones.empty()) return;
  for (PhoneKey p : phones) book_owners_[p].push_back(owner);
  books_[owner] = std::move(phones);
}

uint32_t FactIndex::SlotFor(const std::string& account_id) {
  auto [it, inserted] = slot_of_account_.try_emplace(account_id, 0);
  if (!inserted) return it->second;
  uint32_t slot;
  if (!free_slots_.empty()) {
    slot = free_slots_.back();
    free_slots_.pop_back();
    slots_[slot] = MessengerSlot{};
  } else {
    slot = static_cast<uint32_t>(slots_.size());
    slots_.emplace_back();
  }
  it->second = slot;
  return slot;
}

void FactIndex::Chain(uint32_t slot) {
  MessengerSlot& s = slots_[slot];
  if (s.phone == 0) return;
  uint32_t& head = slots_at_phone_[s.phone];
  s.next_at_phone = head;
  head = slot + 1;
}

void FactIndex::Unchain(uint32_t slot) {
  MessengerSlot& s = slots_[slot];
  if (s.phone == 0) return;
  auto it = slots_at_phone_.find(s.phone);
  if (it == slots_at_phone_.end()) return;
  uint32_t* link = &it->second;
  while (*link != 0 && *link != slot + 1) link = &slots_[*link - 1].next_at_phone;
  if (*link == slot + 1) *link = s.next_at_phone;
  if (it->second == 0) slots_at_phone_.erase(it);
  s.next_at_phone = 0;
}

void FactIndex::LinkMessengerAccount(const std::string& account_id, PhoneKey phone) {
  std::unique_lock lock(mu_);
  uint32_t slot = SlotFor(account_id);
  if (slots_[slot].phone == phone) return;
  Unchain(slot);
  slots_[slot].phone = phone;
  Chain(slot);
}

void FactIndex::SetMessengerUsage(const std::string& account_id, uint8_t active_days_28,
                                  uint16_t last_active_day) {
  std::unique_lock lock(mu_);
  MessengerSlot& s = slots_[SlotFor(account_id)];
  s.active_days_28 = active_days_28;
  s.last_active_day = last_active_day;
  s.has_usage = 1;
}

void FactIndex::SetObjection(const std::string& account_id, Purpose purpose, bool objected) {
  std::unique_lock lock(mu_);
  MessengerSlot& s = slots_[SlotFor(account_id)];
  uint8_t bit = static_cast<uint8_t>(1u << static_cast<int>(purpose));
  s.objections = objected ? (s.objections | bit) : (s.objections & ~bit);
}

void FactIndex::DeleteMessengerAccount(const std::string& account_id) {
  std::unique_lock lock(mu_);
  auto it = slot_of_account_.find(account_id);
  if (it == slot_of_account_.end()) return;
  uint32_t slot = it->second;
  Unchain(slot);
  slots_[slot] = MessengerSlot{};
  free_slots_.push_back(slot);
  slot_of_account_.erase(it);
}

size_t FactIndex::user_count() const {
  std::shared_lock lock(mu_);
  return user_at_phone_.size();
}

size_t FactIndex::messenger_account_count() const {
  std::shared_lock lock(mu_);
  return slot_of_account_.size();
}

}  // namespace tandem::social
