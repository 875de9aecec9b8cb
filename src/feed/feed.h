// The messenger side of the data-sharing agreement: the feed outbox, users'
// objections and the jurisdiction policy.
//
// The outbox is an append-only, sequence-numbered table in the messenger's
// database. Every Append* call takes the caller's open transaction, so an
// event is written together with the change it reports, or not at all.
// Events carry only what the agreement allows (docs/feed.md):
//   account_linked    phone (E.164), account id, when
//   usage_summary     active days in the last 28, last active day
//   objection_changed purpose, objected, when
//   account_deleted   account id, when
// For numbers in a blocked jurisdiction nothing is appended at all.
//
// Long polls: WhenAppended registers a wake-up that runs once a transaction
// that appended a later event has committed (store::Database::AfterCommit).
//
// Thread safety: thread-safe; the database serializes the outbox itself.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <nlohmann/json_fwd.hpp>
#include <set>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "common/config.h"
#include "common/status.h"
#include "store/store.h"

namespace tandem::feed {

inline constexpr char kPurposeAds[] = "ads";
inline constexpr char kPurposeFriendSuggestions[] = "friend_suggestions";
bool IsPurpose(std::string_view purpose);

struct Policy {
  // Country calling codes ("49", "33") whose numbers are never shared.
  std::set<std::string> blocked_calling_codes;
  // Reads feed.blocked_calling_codes ("49,33"); InvalidArgument if malformed.
  static absl::StatusOr<Policy> FromConfig(const Config& config);
  // Whether anything about this E.164 number may cross.
  bool MayShare(std::string_view e164) const;
};

struct Event {
  int64_t seq = 0;
  std::string type;
  uint64_t account_id = 0;
  int64_t at = 0;         // unix seconds
  std::string payload;    // the JSON object that crosses (includes the fields above)
  int64_t shared_at = 0;  // unix seconds when first served to the social side; 0: not yet
};

// Creates the feed's tables in the messenger database (component "feed").
absl::Status Migrate(store::Database& db);

class Outbox {
 public:
  explicit Outbox(Policy policy) : policy_(std::move(policy)) {}
  Outbox(const Outbox&) = delete;
  Outbox& operator=(const Outbox&) = delete;
  const Policy& policy() const { return policy_; }

  absl::Status AccountLinked(store::Database& tx, uint64_t account_id, const std::string& e164, int64_t at);
  // Also removes the account's earlier events from the outbox, so that its
  // phone number no longer lingers there; the deletion itself still crosses.
  absl::Status AccountDeleted(store::Database& tx, uint64_t account_id, const std::string& e164, int64_t at);
  absl::Status ObjectionChanged(store::Database& tx, uint64_t account_id, const std::string& e164,
                                const std::string& purpose, bool objected, int64_t at);
  absl::Status UsageSummary(store::Database& tx, uint64_t account_id, const std::string& e164,
                            const std::string& day, int active_days_28, const std::string& last_active_day,
                            int64_t at);

  struct Page {
    std::vector<Event> events;
    int64_t next = 0;
    bool has_more = false;
  };
  // Events after `after`, at most `limit`. InvalidArgument for a cursor
  // beyond the head or negative. Marks served events' shared_at = `now`.
  absl::StatusOr<Page> Read(store::Database& db, int64_t after, int limit, int64_t now);

  // Everything recorded about one account, oldest first.
  absl::StatusOr<std::vector<Event>> EventsFor(store::Database& db, uint64_t account_id);

  // Unregisters its wake-up when destroyed. Must not outlive the Outbox.
  class Subscription {
   public:
    ~Subscription();
    Subscription(const Subscription&) = delete;
    Subscription& operator=(const Subscription&) = delete;

   private:
    friend class Outbox;
    Subscription(Outbox& outbox, uint64_t id) : outbox_(outbox), id_(id) {}
    Outbox& outbox_;
    uint64_t id_;
  };
  // Calls `wake` once, when a transaction that appended an event with
  // seq > `after` has committed; at once if one has already committed since
  // this Outbox was made. Register after a Read(after) that found nothing,
  // so that no commit can fall between the two. `wake` runs on the
  // committing thread and must be cheap (e.g. post elsewhere).
  std::unique_ptr<Subscription> WhenAppended(int64_t after, std::function<void()> wake);

 private:
  struct Waiter {
    int64_t after;
    std::function<void()> wake;
  };
  absl::Status Append(store::Database& tx, const std::string& e164, const nlohmann::json& event);
  void Committed(int64_t seq);
  void Unsubscribe(uint64_t id);

  Policy policy_;
  std::mutex mu_;
  // The highest seq appended by a committed transaction.
  int64_t committed_ ABSL_GUARDED_BY(mu_) = 0;
  uint64_t next_waiter_ ABSL_GUARDED_BY(mu_) = 1;
  std::map<uint64_t, Waiter> waiters_ ABSL_GUARDED_BY(mu_);
};

}  // namespace tandem::feed
