// The in-memory feed peer and its helpers.
#include "testing/feed_test_peer.h"

#include <algorithm>
#include <nlohmann/json.hpp>
#include <thread>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "common/random.h"

namespace tandem::social::testing {

FeedTestPeer::FeedTestPeer(std::string token, std::string listen, int threads, bool control)
    : token_(std::move(token)) {
  net::Router router;
  router.LongPoll("/v1/feed/events", [this](net::Request& req, net::Wake wake) -> net::LongPollReply {
    bool empty = false;
    net::Response now = Serve(req, &empty);
    int64_t wait_ms = 0, after = 0;
    absl::SimpleAtoi(req.QueryParam("wait_ms", "0"), &wait_ms);
    absl::SimpleAtoi(req.QueryParam("after", "0"), &after);
    std::lock_guard lock(mu_);
    if (!long_poll_) return now;
    wait_ms = std::clamp<int64_t>(wait_ms, 0, 30'000);
    now.headers.emplace_back("X-Feed-Wait-Ms", std::to_string(wait_ms));
    if (wait_ms == 0 || !empty || now.status != 200) return now;
    if (!events_.empty() && events_.back().first > after) {
      wake();  // appended since Serve looked
    } else {
      waiting_.push_back(std::move(wake));
    }
    return net::Wait{absl::Milliseconds(wait_ms), [this, req, wait_ms](net::WaitEnd) mutable {
                       net::Response later = Serve(req);
                       later.headers.emplace_back("X-Feed-Wait-Ms", std::to_string(wait_ms));
                       return later;
                     }};
  });
  if (control) {
    router.Post("/test/events", [this](net::Request& req) {
      auto body = net::ParseJsonObject(req);
      if (!body.ok()) return net::Response::Error(body.status());
      int64_t seq = body->value("seq", int64_t{0});
      if (seq == 0) seq = head() + 1;
      (*body)["seq"] = seq;
      AppendRaw(body->dump(), seq);
      return net::Response::Json({{"seq", seq}});
    });
  }
  net::ServerOptions options;
  options.listen = std::move(listen);
  options.threads = threads;
  server_ = std::make_unique<net::Server>(options, std::move(router), metrics_);
}

FeedTestPeer::~FeedTestPeer() { Stop(); }

absl::Status FeedTestPeer::Start() { return server_->Start(); }
void FeedTestPeer::Stop() { server_->Stop(); }
std::string FeedTestPeer::address() const { return "127.0.0.1:" + std::to_string(server_->port()); }

int64_t FeedTestPeer::Append(FeedEvent e) {
  std::vector<net::Wake> wake;
  {
    std::lock_guard lock(mu_);
    if (e.seq == 0) e.seq = events_.empty() ? 1 : events_.back().first + 1;
    events_.emplace_back(e.seq, FeedEventToJson(e).dump());
    wake.swap(waiting_);
  }
  for (auto& w : wake) w();
  return e.seq;
}

void FeedTestPeer::AppendRaw(const std::string& json_object, int64_t seq) {
  std::vector<net::Wake> wake;
  {
    std::lock_guard lock(mu_);
    events_.emplace_back(seq, json_object);
    wake.swap(waiting_);
  }
  for (auto& w : wake) w();
}

void FeedTestPeer::set_long_poll(bool on) {
  std::lock_guard lock(mu_);
  long_poll_ = on;
}

int64_t FeedTestPeer::head() const {
  std::lock_guard lock(mu_);
  return events_.empty() ? 0 : events_.back().first;
}

uint64_t FeedTestPeer::requests() const {
  std::lock_guard lock(mu_);
  return requests_;
}

void FeedTestPeer::set_page_delay(absl::Duration d) {
  std::lock_guard lock(mu_);
  page_delay_ = d;
}

net::Response FeedTestPeer::Serve(net::Request& req, bool* empty) {
  if (req.BearerToken() != token_ || token_.empty()) {
    return net::Response::Error(absl::UnauthenticatedError("invalid feed token"));
  }
  int64_t after = 0, limit = 500;
  std::string after_text = req.QueryParam("after", "0"), limit_text = req.QueryParam("limit", "500");
  if (!absl::SimpleAtoi(after_text, &after) || after < 0) {
    return net::Response::Error(absl::InvalidArgumentError("after must be a non-negative integer"));
  }
  if (!absl::SimpleAtoi(limit_text, &limit) || limit < 1 || limit > 5000) {
    return net::Response::Error(absl::InvalidArgumentError("limit must be 1..5000"));
  }
  absl::Duration delay;
  std::string body = "{\"events\":[";
  int64_t next = after;
  bool has_more = false;
  {
    std::lock_guard lock(mu_);
    ++requests_;
    delay = page_delay_;
    int64_t head = events_.empty() ? 0 : events_.back().first;
    if (after > head) {
      return net::Response::Error(
          absl::InvalidArgumentError(absl::StrCat("unknown cursor ", after, " (head is ", head, ")")));
    }
    auto it = std::upper_bound(events_.begin(), events_.end(), after,
                               [](int64_t a, const auto& e) { return a < e.first; });
    int64_t n = 0;
    for (; it != events_.end() && n < limit; ++it, ++n) {
      if (n) body += ",";
      body += it->second;
      next = it->first;
    }
    has_more = it != events_.end();
    if (empty != nullptr) *empty = next == after;
  }
  body += absl::StrCat("],\"next\":", next, ",\"has_more\":", has_more ? "true" : "false", "}");
  if (delay > absl::ZeroDuration()) std::this_thread::sleep_for(absl::ToChronoNanoseconds(delay));
  net::Response res;
  res.body = std::move(body);
  return res;
}

std::string GeneratedPhone(size_t i) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "+1415%07d", static_cast<int>(i % 10000000));
  return buf;
}

std::vector<FeedEvent> GenerateFeed(uint64_t seed, size_t events, size_t accounts) {
  SeededRandom rnd(seed);
  std::vector<FeedEvent> out;
  out.reserve(events);
  std::vector<bool> live(accounts + 1, false);
  int64_t at = 1'700'000'000;
  for (size_t i = 0; out.size() < events; ++i) {
    FeedEvent e;
    e.seq = static_cast<int64_t>(out.size()) + 1;
    at += static_cast<int64_t>(rnd.Uniform(5));
    e.at = at;
    size_t a = i < accounts ? i + 1 : 1 + rnd.Uniform(accounts);
    e.account_id = absl::StrCat("m", a);
    uint64_t kind = i < accounts ? 0 : rnd.Uniform(100);
    if (!live[a] || kind < 5) {
      e.type = FeedEventType::kAccountLinked;
      e.phone = GeneratedPhone(a);
      live[a] = true;
    } else if (kind < 70) {
      e.type = FeedEventType::kUsageSummary;
      e.day = "2026-11-28";
      e.active_days_28 = static_cast<int>(rnd.Uniform(29));
      char day[24];
      std::snprintf(day, sizeof day, "2026-11-%02d", 1 + static_cast<int>(rnd.Uniform(28)));
      e.last_active_day = day;
    } else if (kind < 95) {
      e.type = FeedEventType::kObjectionChanged;
      e.purpose = rnd.Uniform(2) ? Purpose::kAds : Purpose::kFriendSuggestions;
      e.objected = rnd.Uniform(2) == 1;
    } else {
      e.type = FeedEventType::kAccountDeleted;
      live[a] = false;
    }
    out.push_back(std::move(e));
  }
  return out;
}

absl::StatusOr<std::string> DumpFeedState(store::Database& db) {
  std::string out;
  ASSIGN_OR_RETURN(auto cursor, db.QueryOne("SELECT seq FROM feed_cursor WHERE id = 1"));
  absl::StrAppend(&out, "cursor ", cursor.Int(0), "\n");
  ASSIGN_OR_RETURN(
      auto accounts,
      db.Query("SELECT account_id, phone, linked_at, seq FROM messenger_accounts ORDER BY account_id"));
  for (const auto& r : accounts)
    absl::StrAppend(&out, "linked ", r.Text(0), " ", r.Text(1), " ", r.Int(2), " ", r.Int(3), "\n");
  ASSIGN_OR_RETURN(auto usage, db.Query("SELECT account_id, day, active_days_28, last_active_day, at, seq "
                                        "FROM messenger_usage ORDER BY account_id"));
  for (const auto& r : usage) {
    absl::StrAppend(&out, "usage ", r.Text(0), " ", r.Text(1), " ", r.Int(2), " ", r.Text(3), " ", r.Int(4),
                    " ", r.Int(5), "\n");
  }
  ASSIGN_OR_RETURN(auto objections,
                   db.Query("SELECT account_id, purpose, objected, at, seq FROM messenger_objections "
                            "ORDER BY account_id, purpose"));
  for (const auto& r : objections) {
    absl::StrAppend(&out, "objection ", r.Text(0), " ", r.Text(1), " ", r.Int(2), " ", r.Int(3), " ",
                    r.Int(4), "\n");
  }
  return out;
}

}  // namespace tandem::social::testing
