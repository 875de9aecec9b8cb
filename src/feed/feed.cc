// Feed outbox storage and the jurisdiction policy.
#include "feed/feed.h"

#include <algorithm>
#include <nlohmann/json.hpp>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "phone/phone.h"

namespace tandem::feed {
namespace {

using nlohmann::json;

constexpr store::Migration kMigrations[] = {
    {1, "feed outbox and privacy settings", R"sql(
CREATE TABLE feed_events (
  seq BIGINT PRIMARY KEY,
  type TEXT NOT NULL,
  account_id BIGINT NOT NULL,
  at BIGINT NOT NULL,
  payload TEXT NOT NULL,
  shared_at BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX feed_events_account ON feed_events (account_id, seq);
CREATE TABLE feed_head (id INTEGER PRIMARY KEY CHECK (id = 1), seq BIGINT NOT NULL);
INSERT INTO feed_head (id, seq) VALUES (1, 0);
CREATE TABLE privacy_objections (
  account_id BIGINT NOT NULL,
  purpose TEXT NOT NULL,
  objected INTEGER NOT NULL,
  changed_at BIGINT NOT NULL,
  PRIMARY KEY (account_id, purpose)
);
CREATE TABLE privacy_changes (
  account_id BIGINT NOT NULL,
  at_ms BIGINT NOT NULL,
  purpose TEXT NOT NULL,
  objected INTEGER NOT NULL,
  device_id INTEGER NOT NULL,
  client_address TEXT NOT NULL
);
CREATE INDEX privacy_changes_account ON privacy_changes (account_id, at_ms);
CREATE TABLE feed_usage_state (
  account_id BIGINT PRIMARY KEY,
  active_days_28 INTEGER NOT NULL,
  last_active_day TEXT NOT NULL,
  summarized_day TEXT NOT NULL
);
)sql"},
};

bool AllDigits(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
  }
  return true;
}

}  // namespace

bool IsPurpose(std::string_view purpose) {
  return purpose == kPurposeAds || purpose == kPurposeFriendSuggestions;
}

absl::StatusOr<Policy> Policy::FromConfig(const Config& config) {
  Policy p;
  std::string codes = config.GetString("feed.blocked_calling_codes");
  for (absl::string_view part : absl::StrSplit(codes, ',', absl::SkipWhitespace())) {
    std::string code(part);
    code.erase(0, code.find_first_not_of(" +"));
    while (!code.empty() && code.back() == ' ') code.pop_back();
    if (!AllDigits(code) || code.size() > 3 || !phone::IsCallingCode(code)) {
      return absl::InvalidArgumentError(absl::StrCat("feed.blocked_calling_codes: '", code,
                                                     "' is not a country calling code (1-3 digits)"));
    }
    p.blocked_calling_codes.insert(code);
  }
  return p;
}

bool Policy::MayShare(std::string_view e164) const {
  if (e164.size() < 2 || e164[0] != '+') return false;
  // Calling codes are prefix-free, so at most one of the 1-3 digit prefixes
  // can be a calling code.
  for (size_t len = 1; len <= 3 && len < e164.size(); ++len) {
    if (blocked_calling_codes.contains(std::string(e164.substr(1, len)))) return false;
  }
  return true;
}

absl::Status Migrate(store::Database& db) { return db.Migrate(kMigrations, "feed"); }

absl::Status Outbox::Append(store::Database& tx, const std::string& e164, const json& event) {
  if (!policy_.MayShare(e164)) return absl::OkStatus();
  ASSIGN_OR_RETURN(store::Row head, tx.QueryOne("SELECT seq FROM feed_head WHERE id = 1"));
  const int64_t seq = head.Int(0) + 1;
  RETURN_IF_ERROR(tx.Execute("UPDATE feed_head SET seq = $1 WHERE id = 1", {seq}).status());
  json e = event;
  e["seq"] = seq;
  RETURN_IF_ERROR(
      tx.Execute("INSERT INTO feed_events (seq, type, account_id, at, payload) VALUES ($1, $2, $3, $4, $5)",
                 {seq, e["type"].get<std::string>(),
                  static_cast<int64_t>(e["account_id_num"].get<uint64_t>()), e["at"].get<int64_t>(),
                  [&] {
                    json out = e;
                    out.erase("account_id_num");
                    return out.dump();
                  }()})
          .status());
  tx.AfterCommit([this, seq] { Committed(seq); });
  return absl::OkStatus();
}

namespace {
json Base(const char* type, uint64_t account_id, int64_t at) {
  return json{
      {"type", type}, {"account_id", std::to_string(account_id)}, {"account_id_num", account_id}, {"at", at}};
}
}  // namespace

absl::Status Outbox::AccountLinked(store::Database& tx, uint64_t account_id, const std::string& e164,
                                   int64_t at) {
  json e = Base("account_linked", account_id, at);
  e["phone"] = e164;
  return Append(tx, e164, e);
}

absl::Status Outbox::AccountDeleted(store::Database& tx, uint64_t account_id, const std::string& e164,
                                    int64_t at) {
  RETURN_IF_ERROR(
      tx.Execute("DELETE FROM feed_events WHERE account_id = $1", {static_cast<int64_t>(account_id)})
          .status());
  RETURN_IF_ERROR(
      tx.Execute("DELETE FROM privacy_objections WHERE account_id = $1", {static_cast<int64_t>(account_id)})
          .status());
  RETURN_IF_ERROR(
      tx.Execute("DELETE FROM privacy_changes WHERE account_id = $1", {static_cast<int64_t>(account_id)})
          .status());
  RETURN_IF_ERROR(
      tx.Execute("DELETE FROM feed_usage_state WHERE account_id = $1", {static_cast<int64_t>(account_id)})
          .status());
  return Append(tx, e164, Base("account_deleted", account_id, at));
}

absl::Status Outbox::ObjectionChanged(store::Database& tx, uint64_t account_id, const std::string& e164,
                                      const std::string& purpose, bool objected, int64_t at) {
  if (!IsPurpose(purpose)) return absl::InvalidArgumentError(absl::StrCat("unknown purpose '", purpose, "'"));
  json e = Base("objection_changed", account_id, at);
  e["purpose"] = purpose;
  e["objected"] = objected;
  return Append(tx, e164, e);
}

absl::Status Outbox::UsageSummary(store::Database& tx, uint64_t account_id, const std::string& e164,
                                  const std::string& day, int active_days_28,
                                  const std::string& last_active_day, int64_t at) {
  json e = Base("usage_summary", account_id, at);
  e["day"] = day;
  e["active_days_28"] = active_days_28;
  e["last_active_day"] = last_active_day;
  return Append(tx, e164, e);
}

absl::StatusOr<Outbox::Page> Outbox::Read(store::Database& db, int64_t after, int limit, int64_t now) {
  if (after < 0) return absl::InvalidArgumentError("the cursor must be 0 or a sequence number");
  Page page;
  RETURN_IF_ERROR(db.InTransaction([&](store::Database& tx) -> absl::Status {
    ASSIGN_OR_RETURN(store::Row head, tx.QueryOne("SELECT seq FROM feed_head WHERE id = 1"));
    if (after > head.Int(0)) {
      return absl::InvalidArgumentError(
          absl::StrCat("unknown cursor ", after, ": the feed's head is ", head.Int(0)));
    }
    ASSIGN_OR_RETURN(auto rows,
                     tx.Query("SELECT seq, type, account_id, at, payload, shared_at FROM feed_events "
                              "WHERE seq > $1 ORDER BY seq LIMIT $2",
                              {after, limit + 1}));
    page.has_more = static_cast<int>(rows.size()) > limit;
    if (page.has_more) rows.pop_back();
    page.next = after;
    for (const auto& r : rows) {
      Event e{r.Int(0), r.Text(1), static_cast<uint64_t>(r.Int(2)), r.Int(3), r.Text(4), r.Int(5)};
      page.next = e.seq;
      page.events.push_back(std::move(e));
    }
    if (!page.events.empty()) {
      RETURN_IF_ERROR(
          tx.Execute("UPDATE feed_events SET shared_at = $3 WHERE seq > $1 AND seq <= $2 AND shared_at = 0",
                     {after, page.next, now})
              .status());
    }
    return absl::OkStatus();
  }));
  return page;
}

Outbox::Subscription::~Subscription() { outbox_.Unsubscribe(id_); }

std::unique_ptr<Outbox::Subscription> Outbox::WhenAppended(int64_t after, std::function<void()> wake) {
  std::unique_lock lock(mu_);
  const uint64_t id = next_waiter_++;
  if (committed_ > after) {
    lock.unlock();
    wake();
  } else {
    waiters_.emplace(id, Waiter{after, std::move(wake)});
  }
  return std::unique_ptr<Subscription>(new Subscription(*this, id));
}

void Outbox::Committed(int64_t seq) {
  std::vector<std::function<void()>> due;
  {
    std::lock_guard lock(mu_);
    committed_ = std::max(committed_, seq);
    for (auto it = waiters_.begin(); it != waiters_.end();) {
      if (it->second.after < seq) {
        due.push_back(std::move(it->second.wake));
        it = waiters_.erase(it);
      } else {
        ++it;
      }
    }
  }
  for (auto& wake : due) wake();
}

void Outbox::Unsubscribe(uint64_t id) {
  std::lock_guard lock(mu_);
  waiters_.erase(id);
}

absl::StatusOr<std::vector<Event>> Outbox::EventsFor(store::Database& db, uint64_t account_id) {
  ASSIGN_OR_RETURN(auto rows,
                   db.Query("SELECT seq, type, account_id, at, payload, shared_at FROM feed_events "
                            "WHERE account_id = $1 ORDER BY seq",
                            {static_cast<int64_t>(account_id)}));
  std::vector<Event> out;
  for (const auto& r : rows)
    out.push_back({r.Int(0), r.Text(1), static_cast<uint64_t>(r.Int(2)), r.Int(3), r.Text(4), r.Int(5)});
  return out;
}

}  // namespace tandem::feed
