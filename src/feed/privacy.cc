// Privacy settings, the shared-data view, export, usage summaries and the
// HTTP routes of the feed and privacy center.
#include "feed/privacy.h"

#include <sodium.h>

#include <algorithm>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "common/encoding.h"
#include "common/log.h"

namespace tandem::feed {
namespace {

using nlohmann::json;

// Stored times are Unix seconds; 0 (or less) means "never" and shows as "".
std::string Iso(int64_t unix_seconds) {
  if (unix_seconds <= 0) return "";
  return UtcTimestamp(absl::FromUnixSeconds(unix_seconds));
}

absl::StatusOr<json> GetSettings(PrivacyService& privacy, net::Request&, const Caller& who) {
  return privacy.Settings(who);
}

absl::StatusOr<json> PutObjection(PrivacyService& privacy, net::Request& req, const Caller& who) {
  ASSIGN_OR_RETURN(json body, net::ParseJsonObject(req));
  if (!body.contains("objected") || !body["objected"].is_boolean()) {
    return absl::InvalidArgumentError("body must be {\"objected\": true|false}");
  }
  RETURN_IF_ERROR(privacy.SetObjection(who, req.PathParam("purpose"), body["objected"].get<bool>()));
  log::Info("privacy.objection", {{"account", who.account_id},
                                  {"purpose", req.PathParam("purpose")},
                                  {"objected", body["objected"].get<bool>()}});
  return privacy.Settings(who);
}

absl::StatusOr<json> GetShared(PrivacyService& privacy, net::Request&, const Caller& who) {
  return privacy.Shared(who);
}

absl::StatusOr<json> GetExport(PrivacyService& privacy, net::Request&, const Caller& who) {
  return privacy.Export(who);
}

}  // namespace

absl::StatusOr<json> PrivacyService::Settings(const Caller& who) {
  json out = json::object();
  for (const char* p : {kPurposeAds, kPurposeFriendSuggestions})
    out[p] = {{"objected", false}, {"changed_at", nullptr}};
  ASSIGN_OR_RETURN(
      auto rows,
      db_.Query("SELECT purpose, objected, changed_at FROM privacy_objections WHERE account_id = $1",
                {static_cast<int64_t>(who.account_id)}));
  for (const auto& r : rows) out[r.Text(0)] = {{"objected", r.Int(1) != 0}, {"changed_at", Iso(r.Int(2))}};
  out["sharing"] = outbox_.policy().MayShare(who.number) ? "active" : "blocked_by_jurisdiction";
  const int64_t next = next_summary_s_.load();
  out["usage_summary"] = {{"interval_s", summary_interval_s_.load()},
                          {"next_at", next > 0 ? json(Iso(next)) : json(nullptr)}};
  return out;
}

absl::Status PrivacyService::SetObjection(const Caller& who, const std::string& purpose, bool objected) {
  if (!IsPurpose(purpose)) {
    return absl::InvalidArgumentError(
        absl::StrCat("unknown purpose '", purpose, "': use ads or friend_suggestions"));
  }
  const absl::Time now = clock_.Now();
  return db_.InTransaction([&](store::Database& tx) -> absl::Status {
    ASSIGN_OR_RETURN(
        auto rows, tx.Query("SELECT objected FROM privacy_objections WHERE account_id = $1 AND purpose = $2",
                            {static_cast<int64_t>(who.account_id), purpose}));
    const bool current = !rows.empty() && rows[0].Int(0) != 0;
    if (current == objected) return absl::OkStatus();
    RETURN_IF_ERROR(
        tx.Execute("INSERT INTO privacy_objections (account_id, purpose, objected, changed_at) "
                   "VALUES ($1, $2, $3, $4) ON CONFLICT (account_id, purpose) DO UPDATE SET "
                   "objected = excluded.objected, changed_at = excluded.changed_at",
                   {static_cast<int64_t>(who.account_id), purpose, objected, absl::ToUnixSeconds(now)})
            .status());
    RETURN_IF_ERROR(
        tx.Execute("INSERT INTO privacy_changes (account_id, at_ms, purpose, objected, device_id, "
                   "client_address) VALUES ($1, $2, $3, $4, $5, $6)",
                   {static_cast<int64_t>(who.account_id), absl::ToUnixMillis(now), purpose, objected,
                    who.device_id, who.client_address})
            .status());
    return outbox_.ObjectionChanged(tx, who.account_id, who.number, purpose, objected,
                                    absl::ToUnixSeconds(now));
  });
}

absl::StatusOr<json> PrivacyService::Shared(const Caller& who) {
  ASSIGN_OR_RETURN(auto events, outbox_.EventsFor(db_, who.account_id));
  json list = json::array();
  for (const auto& e : events) {
    json payload = json::parse(e.payload, nullptr, false);
    list.push_back({{"seq", e.seq},
                    {"type", e.type},
                    {"recorded_at", Iso(e.at)},
                    {"shared_at", e.shared_at ? json(Iso(e.shared_at)) : json(nullptr)},
                    {"data", payload}});
  }
  return json{{"recipient", "the social network operator"},
              {"sharing", outbox_.policy().MayShare(who.number) ? "active" : "blocked_by_jurisdiction"},
              {"events", list}};
}

absl::StatusOr<json> PrivacyService::Export(const Caller& who) {
  json out;
  ASSIGN_OR_RETURN(MessengerAccounts::Account account, accounts_.Get(db_, who.account_id));
  out["account"] = {{"account_id", std::to_string(who.account_id)},
                    {"number", account.number},
                    {"created_at", Iso(account.created_ms / 1000)},
                    {"identity_key_changed_at", Iso(account.identity_changed_ms / 1000)}};
  ASSIGN_OR_RETURN(out["privacy"], Settings(who));
  json changes = json::array();
  ASSIGN_OR_RETURN(
      auto rows, db_.Query("SELECT at_ms, purpose, objected, device_id, client_address FROM privacy_changes "
                           "WHERE account_id = $1 ORDER BY at_ms",
                           {static_cast<int64_t>(who.account_id)}));
  for (const auto& r : rows) {
    changes.push_back({{"at", Iso(r.Int(0) / 1000)},
                       {"purpose", r.Text(1)},
                       {"objected", r.Int(2) != 0},
                       {"device_id", r.Int(3)},
                       {"client_address", r.Text(4)}});
  }
  out["privacy_changes"] = changes;
  json usage = json::array();
  ASSIGN_OR_RETURN(auto days, accounts_.Usage(db_, who.account_id));
  for (const auto& d : days)
    usage.push_back({{"day", d.day}, {"sessions", d.sessions}, {"messages_sent", d.messages_sent}});
  out["usage"] = usage;
  ASSIGN_OR_RETURN(json shared, Shared(who));
  out["shared_with_social_network"] = shared["events"];
  out["not_included"] = "message contents (the relay never has them) and key material";
  return out;
}

absl::StatusOr<int> PrivacyService::SummarizeUsage(const std::string& today) {
  absl::Time day0;
  std::string err;
  if (!absl::ParseTime("%Y-%m-%d", today, absl::UTCTimeZone(), &day0, &err)) {
    return absl::InvalidArgumentError("today must be YYYY-MM-DD");
  }
  const std::string first = UtcDay(day0 - absl::Hours(24 * 27));
  ASSIGN_OR_RETURN(auto activity, accounts_.ActivityBetween(db_, first, today));
  // What each account's last summary said.
  std::map<int64_t, std::pair<int64_t, std::string>> said;
  ASSIGN_OR_RETURN(auto states,
                   db_.Query("SELECT account_id, active_days_28, last_active_day FROM feed_usage_state"));
  for (const auto& r : states) said[r.Int(0)] = {r.Int(1), r.Text(2)};
  const int64_t now = absl::ToUnixSeconds(clock_.Now());
  std::vector<const MessengerAccounts::Activity*> due;
  for (const auto& a : activity) {
    auto known = said.find(static_cast<int64_t>(a.account_id));
    if (known != said.end() && known->second.first == a.active_days &&
        known->second.second == a.last_active_day) {
      continue;
    }
    if (known == said.end() && a.active_days == 0) continue;  // never used: nothing to say
    due.push_back(&a);
  }
  // Many summaries per commit (a commit's fsync costs far more than its
  // rows); each summary still commits with its state row.
  constexpr size_t kSummariesPerCommit = 512;
  for (size_t start = 0; start < due.size(); start += kSummariesPerCommit) {
    const size_t end = std::min(due.size(), start + kSummariesPerCommit);
    RETURN_IF_ERROR(db_.InTransaction([&](store::Database& tx) -> absl::Status {
      for (size_t i = start; i < end; ++i) {
        const MessengerAccounts::Activity& a = *due[i];
        const int64_t account_id = static_cast<int64_t>(a.account_id);
        const int active = a.active_days;
        const std::string& last = a.last_active_day;
        RETURN_IF_ERROR(
            tx.Execute(
                  "INSERT INTO feed_usage_state (account_id, active_days_28, last_active_day, "
                  "summarized_day) "
                  "VALUES ($1, $2, $3, $4) ON CONFLICT (account_id) DO UPDATE SET "
                  "active_days_28 = excluded.active_days_28, last_active_day = excluded.last_active_day, "
                  "summarized_day = excluded.summarized_day",
                  {account_id, active, last, today})
                .status());
        RETURN_IF_ERROR(outbox_.UsageSummary(tx, a.account_id, a.number, today, active, last, now));
      }
      return absl::OkStatus();
    }));
  }
  return static_cast<int>(due.size());
}

void AddRoutes(net::Router& router, store::Database& db, Outbox& outbox, PrivacyService& privacy,
               std::string feed_token, Authenticator authenticate, const Clock& clock) {
  // Served pages carry X-Feed-Wait-Ms, the wait applied, so that a consumer
  // can tell a messenger that long-polls from one that does not.
  auto serve = [&db, &outbox, &clock](int64_t after, int limit, int64_t wait_ms,
                                      bool* empty) -> net::Response {
    auto read = outbox.Read(db, after, limit, absl::ToUnixSeconds(clock.Now()));
    if (!read.ok()) return net::Response::Error(read.status());
    if (empty != nullptr) *empty = read->events.empty();
    json events = json::array();
    for (const auto& e : read->events) events.push_back(json::parse(e.payload));
    auto res = net::Response::Json({{"events", events}, {"next", read->next}, {"has_more", read->has_more}});
    res.headers.emplace_back("X-Feed-Wait-Ms", std::to_string(wait_ms));
    return res;
  };
  router.LongPoll(
      "/v1/feed/events",
      [&outbox, serve, feed_token](net::Request& req, net::Wake wake) -> net::LongPollReply {
        if (feed_token.empty()) {
          return net::Response::Error(
              absl::UnavailableError("the data-sharing feed is not configured (feed.token)"));
        }
        const std::string given = req.BearerToken();
        if (given.size() != feed_token.size() ||
            sodium_memcmp(given.data(), feed_token.data(), feed_token.size()) != 0) {
          return net::Response::Error(absl::UnauthenticatedError("missing or wrong feed token"));
        }
        int64_t after = 0, limit = 500, wait_ms = 0;
        if (!absl::SimpleAtoi(req.QueryParam("after", "0"), &after) || after < 0) {
          return net::Response::Error(absl::InvalidArgumentError("after must be a non-negative integer"));
        }
        if (!absl::SimpleAtoi(req.QueryParam("limit", "500"), &limit) || limit < 1 || limit > 5000) {
          return net::Response::Error(absl::InvalidArgumentError("limit must be between 1 and 5000"));
        }
        if (!absl::SimpleAtoi(req.QueryParam("wait_ms", "0"), &wait_ms) || wait_ms < 0) {
          return net::Response::Error(absl::InvalidArgumentError("wait_ms must be a non-negative integer"));
        }
        wait_ms = std::min(wait_ms, kMaxFeedWaitMs);
        bool empty = false;
        net::Response now = serve(after, static_cast<int>(limit), wait_ms, &empty);
        if (wait_ms == 0 || !empty) return now;
        // Nothing after the cursor yet: wait for a commit that appends.
        std::shared_ptr<Outbox::Subscription> subscription = outbox.WhenAppended(after, std::move(wake));
        return net::Wait{absl::Milliseconds(wait_ms),
                         [serve, after, limit, wait_ms, subscription](net::WaitEnd) {
                           return serve(after, static_cast<int>(limit), wait_ms, nullptr);
                         }};
      });
  // Every privacy route answers JSON for an authenticated messenger device.
  using Body = absl::StatusOr<json> (*)(PrivacyService&, net::Request&, const Caller&);
  struct PrivacyRoute {
    const char* method;
    const char* pattern;
    Body body;
  };
  static constexpr PrivacyRoute kPrivacyRoutes[] = {
      {"GET", "/v1/privacy", &GetSettings},
      {"PUT", "/v1/privacy/objections/{purpose}", &PutObjection},
      {"GET", "/v1/privacy/shared", &GetShared},
      {"GET", "/v1/privacy/export", &GetExport},
  };
  std::function<absl::StatusOr<Caller>(net::Request&)> who = [authenticate](net::Request& req) {
    return authenticate(req);
  };
  for (const PrivacyRoute& route : kPrivacyRoutes) {
    router.Handle(route.method, route.pattern,
                  net::Authenticated<Caller>(
                      who,
                      [&privacy, body = route.body](net::Request& req,
                                                    const Caller& caller) -> absl::StatusOr<net::Response> {
                        ASSIGN_OR_RETURN(json out, body(privacy, req, caller));
                        return net::Response::Json(out);
                      }));
  }
}

}  // namespace tandem::feed
