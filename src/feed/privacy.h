// Users' privacy settings on the messenger, the operator that shares: the
// objections to the use of shared data for `ads` and `friend_suggestions`,
// the record of every change (when, what, through which device), the view
// of everything shared about oneself, the data export, and the daily usage
// summaries that the feed carries.
//
// What it needs of the messenger's accounts and usage metering it asks
// through `MessengerAccounts`, which the relay implements: the feed names
// none of the relay's tables. Thread-safe (the database serializes).
#pragma once

#include <atomic>
#include <cstdint>
#include <nlohmann/json_fwd.hpp>
#include <string>
#include <vector>

#include "common/clock.h"
#include "common/status.h"
#include "feed/feed.h"
#include "net/http.h"
#include "store/store.h"

namespace tandem::feed {

// The messenger's accounts and usage, as the privacy center needs them.
// The relay owns them and implements this; each call reads through `db`,
// the caller's handle or transaction on the messenger's database.
class MessengerAccounts {
 public:
  virtual ~MessengerAccounts() = default;

  struct Account {
    std::string number;  // E.164
    int64_t created_ms = 0;
    int64_t identity_changed_ms = 0;
  };
  // NotFound if there is no such account.
  virtual absl::StatusOr<Account> Get(store::Database& db, uint64_t account_id) = 0;

  struct UsageDay {
    std::string day;  // YYYY-MM-DD (UTC)
    int64_t sessions = 0;
    int64_t messages_sent = 0;
  };
  // Every metered day of the account, oldest first.
  virtual absl::StatusOr<std::vector<UsageDay>> Usage(store::Database& db, uint64_t account_id) = 0;

  struct Activity {
    uint64_t account_id = 0;
    std::string number;
    int active_days = 0;          // days in [first, last] with a session or a sent message
    std::string last_active_day;  // the latest such day on or before `last`, "" if none
  };
  // Every account's activity between two days (inclusive, YYYY-MM-DD).
  virtual absl::StatusOr<std::vector<Activity>> ActivityBetween(store::Database& db, const std::string& first,
                                                                const std::string& last) = 0;
};

// Who is asking (already authenticated by the relay).
struct Caller {
  uint64_t account_id = 0;
  uint32_t device_id = 0;
  std::string number;
  std::string client_address;
};

class PrivacyService {
 public:
  PrivacyService(store::Database& db, Outbox& outbox, MessengerAccounts& accounts, const Clock& clock)
      : db_(db), outbox_(outbox), accounts_(accounts), clock_(clock) {}

  // {"ads": {"objected": false, "changed_at": null}, "friend_suggestions": {...},
  //  "sharing": "active" | "blocked_by_jurisdiction",
  //  "usage_summary": {"interval_s": 3600, "next_at": "2026-…Z" | null}}
  // (changed_at is null when the setting never changed).
  absl::StatusOr<nlohmann::json> Settings(const Caller& who);

  // When the next usage summary pass runs, and how often (set by the
  // relay's summarizer; 0 when none is scheduled).
  void SetSummarySchedule(int64_t next_unix_seconds, int64_t interval_s) {
    next_summary_s_.store(next_unix_seconds);
    summary_interval_s_.store(interval_s);
  }

  // Records the objection (or its withdrawal) and appends objection_changed
  // to the feed in the same transaction. Setting the current value again
  // changes nothing. InvalidArgument for an unknown purpose.
  absl::Status SetObjection(const Caller& who, const std::string& purpose, bool objected);

  // Every feed event about `who`, with when it was recorded and when the
  // social operator fetched it.
  absl::StatusOr<nlohmann::json> Shared(const Caller& who);

  // Everything the messenger holds about `who` that is not key material or
  // message content: account, settings, their history, usage counts, feed.
  absl::StatusOr<nlohmann::json> Export(const Caller& who);

  // Appends a usage_summary for every account whose 28-day activity changed
  // since its last summary. `today` is "YYYY-MM-DD" (UTC). Returns how many
  // summaries were appended.
  absl::StatusOr<int> SummarizeUsage(const std::string& today);

 private:
  store::Database& db_;
  Outbox& outbox_;
  MessengerAccounts& accounts_;
  const Clock& clock_;
  std::atomic<int64_t> next_summary_s_{0};
  std::atomic<int64_t> summary_interval_s_{0};
};

// Authenticates a request as a messenger device (the relay's credentials).
using Authenticator = std::function<absl::StatusOr<Caller>(const net::Request&)>;

// The longest wait a feed request may ask for (wait_ms); longer asks wait
// this long.
inline constexpr int64_t kMaxFeedWaitMs = 30'000;

// Routes:
//   GET  /v1/feed/events?after=N&limit=M&wait_ms=W  (Bearer feed token; a long
//        poll: with no event after N, answered when one commits or after W ms)
//   GET  /v1/privacy                            settings
//   PUT  /v1/privacy/objections/{purpose}       {"objected": true|false}
//   GET  /v1/privacy/shared                     what was shared, and when
//   GET  /v1/privacy/export                     everything, as JSON
// An empty `feed_token` disables the feed endpoint (503).
void AddRoutes(net::Router& router, store::Database& db, Outbox& outbox, PrivacyService& privacy,
               std::string feed_token, Authenticator authenticate, const Clock& clock);

}  // namespace tandem::feed
