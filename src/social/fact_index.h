// The in-memory copy of every fact the social network holds, kept compact
// for the suggestion hot path (and, later, audience matching).
//
// The database is the source of truth; the index is rebuilt from it at start
// (SocialDb::Open) and updated by SocialDb::Write right after each commit, in
// commit order. Features never read the index directly: its read side is
// private and reachable only through PurposeView (purpose_view.h), which is
// where objections are enforced.
//
// Memory: a 16-byte record per user (phone key, flags), a 16-byte slot per
// messenger account, and adjacency lists (4 bytes per friendship end, 4 per
// address-book entry in the owner list and 8 in the phone list).
//
// Thread safety: mutators take an exclusive lock; PurposeView holds a shared
// lock for its lifetime. All methods are safe to call from any thread.
#pragma once

#include <pthread.h>

#include <cstdint>
#include <shared_mutex>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "social/types.h"

namespace tandem::social {

// A readers-writer lock that lets a waiting writer in before new readers.
// std::shared_mutex on glibc prefers readers, so a steady stream of
// suggestion requests could hold off the feed's updates (and with them the
// enforcement of an objection) indefinitely. Meets the SharedMutex
// requirements used by std::shared_lock and std::unique_lock.
class ABSL_LOCKABLE WriterPriorityMutex {
 public:
  WriterPriorityMutex();
  ~WriterPriorityMutex();
  WriterPriorityMutex(const WriterPriorityMutex&) = delete;
  WriterPriorityMutex& operator=(const WriterPriorityMutex&) = delete;
  void lock();
  void unlock();
  void lock_shared();
  void unlock_shared();

 private:
  pthread_rwlock_t rw_;
};

class FactIndex {
 public:
  FactIndex() = default;
  FactIndex(const FactIndex&) = delete;
  FactIndex& operator=(const FactIndex&) = delete;

  // --- social facts (provenance kSocial) ---
  // Creates or updates a user with their verified phone.
  void PutUser(UserId id, PhoneKey phone, bool discoverable);
  void SetDiscoverable(UserId id, bool discoverable);
  void AddFriendship(UserId a, UserId b);
  void RemoveFriendship(UserId a, UserId b);
  void AddBlock(UserId blocker, UserId blocked);
  void RemoveBlock(UserId blocker, UserId blocked);
  void AddDismissal(UserId user, UserId dismissed);
  // Replaces the owner's address book with `phones` (deduplicated here).
  void SetAddressBook(UserId owner, std::vector<PhoneKey> phones);
  // Bulk loading for start-up and benchmarks: reserve, then add without
  // per-call locking. Only while no PurposeView exists.
  void ReserveUsers(UserId max_id);
  void AddFriendshipUnlocked(UserId a, UserId b);

  // --- messenger facts (provenance kMessenger, from the feed) ---
  void LinkMessengerAccount(const std::string& account_id, PhoneKey phone);
  void SetMessengerUsage(const std::string& account_id, uint8_t active_days_28, uint16_t last_active_day);
  void SetObjection(const std::string& account_id, Purpose purpose, bool objected);
  void DeleteMessengerAccount(const std::string& account_id);

  // Sizes, for metrics and tests.
  size_t user_count() const;
  size_t messenger_account_count() const;

 private:
  friend class PurposeView;

  enum UserFlags : uint8_t { kExists = 1, kDiscoverable = 2 };
  struct UserRecord {
    PhoneKey phone = 0;
    uint8_t flags = 0;
  };
  static_assert(sizeof(UserRecord) == 16);

  // One messenger account. Accounts sharing a phone are chained through
  // `next_at_phone` (slot index + 1; 0 ends the chain).
  struct MessengerSlot {
    PhoneKey phone = 0;
    uint32_t next_at_phone = 0;
    uint16_t last_active_day = 0;
    uint8_t active_days_28 = 0;
    uint8_t has_usage : 1 = 0;
    uint8_t objections : 3 = 0;  // bit per Purpose
  };
  static_assert(sizeof(MessengerSlot) == 16);

  UserRecord* MutableUser(UserId id);
  uint32_t SlotFor(const std::string& account_id);  // creates; lock held
  void Unchain(uint32_t slot);
  void Chain(uint32_t slot);
  static void EraseValue(std::vector<UserId>& v, UserId x);

  // Written under an exclusive lock; PurposeView reads under a shared one.
  // The *Unlocked bulk loaders skip it (see above).
  mutable WriterPriorityMutex mu_;
  std::vector<UserRecord> users_ ABSL_GUARDED_BY(mu_);             // by id
  std::vector<std::vector<UserId>> friends_ ABSL_GUARDED_BY(mu_);  // by id, unordered
  absl::flat_hash_map<PhoneKey, UserId> user_at_phone_ ABSL_GUARDED_BY(mu_);
  absl::flat_hash_map<UserId, std::vector<UserId>> blocks_ ABSL_GUARDED_BY(mu_);  // both directions
  absl::flat_hash_map<UserId, std::vector<UserId>> dismissed_ ABSL_GUARDED_BY(mu_);
  absl::flat_hash_map<UserId, std::vector<PhoneKey>> books_ ABSL_GUARDED_BY(mu_);
  absl::flat_hash_map<PhoneKey, std::vector<UserId>> book_owners_ ABSL_GUARDED_BY(mu_);

  std::vector<MessengerSlot> slots_ ABSL_GUARDED_BY(mu_);
  std::vector<uint32_t> free_slots_ ABSL_GUARDED_BY(mu_);
  absl::flat_hash_map<std::string, uint32_t> slot_of_account_ ABSL_GUARDED_BY(mu_);
  absl::flat_hash_map<PhoneKey, uint32_t> slots_at_phone_ ABSL_GUARDED_BY(mu_);  // chain head + 1
};

}  // namespace tandem::social
