// Helpers shared by the social unit and property tests.
#pragma once

#include <cstdio>
#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "common/clock.h"
#include "common/random.h"
#include "social/feed_consumer.h"
#include "social/social_service.h"
#include "testing/capturing_sender.h"

namespace tandem::social::testing {

// Distinct valid test numbers: +1 650 <exchange> <i, four digits>.
inline std::string TestPhone(int i, int exchange = 253) {
  char buf[40];  // room for any int, so that GCC sees no truncation
  std::snprintf(buf, sizeof buf, "+1650%03d%04d", exchange, i);
  return buf;
}

// Remembers the last code sent to each number.
using ::tandem::testing::CapturingSender;

// Options without rate limits or budgets, for worlds with many users
// registered from one address (tests of limits set their own).
inline SocialServiceOptions UnlimitedOptions() {
  SocialServiceOptions o;
  const RateLimit unlimited{1e12, absl::Nanoseconds(1)};
  o.codes = {unlimited, unlimited, unlimited, unlimited, unlimited};
  o.address_book_new_numbers = unlimited;
  return o;
}

// The client address that World's helpers use.
inline constexpr char kTestAddress[] = "192.0.2.1:4000";

// A social world in one in-memory (or file) database.
struct World {
  explicit World(const std::string& path = ":memory:", uint64_t seed = 1,
                 SocialServiceOptions options = UnlimitedOptions())
      : random(seed) {
    auto opened = SocialDb::OpenSqlite(path);
    if (!opened.ok()) abort();
    db = std::move(*opened);
    service = std::make_unique<SocialService>(*db, sender, clock, random, options);
    applier = std::make_unique<FeedApplier>(*db);
  }

  // Registers and verifies `e164`; returns the account id.
  UserId AddUser(const std::string& e164, const std::string& name = "") {
    if (!service->StartVerification(e164, "", kTestAddress).ok()) abort();
    auto s = service->CompleteVerification(e164, "", sender.CodeFor(e164), name, kTestAddress);
    if (!s.ok()) abort();
    return s->user;
  }

  void MakeFriends(UserId a, UserId b) {
    auto r = service->RequestFriend(a, b);
    if (!r.ok()) abort();
    if (*r == FriendRequestOutcome::kRequested && !service->AcceptFriend(b, a).ok()) abort();
  }

  void Apply(const std::vector<FeedEvent>& events) {
    if (!applier->Apply(events).ok()) abort();
  }

  CapturingSender sender;
  FakeClock clock;
  SeededRandom random;
  std::unique_ptr<SocialDb> db;
  std::unique_ptr<SocialService> service;
  std::unique_ptr<FeedApplier> applier;
};

inline FeedEvent Linked(const std::string& account, const std::string& phone) {
  FeedEvent e;
  e.type = FeedEventType::kAccountLinked;
  e.account_id = account;
  e.phone = phone;
  e.at = 1'700'000'000;
  return e;
}

inline FeedEvent Objection(const std::string& account, Purpose p, bool objected) {
  FeedEvent e;
  e.type = FeedEventType::kObjectionChanged;
  e.account_id = account;
  e.purpose = p;
  e.objected = objected;
  e.at = 1'700'000'000;
  return e;
}

inline FeedEvent Usage(const std::string& account, int active_days) {
  FeedEvent e;
  e.type = FeedEventType::kUsageSummary;
  e.account_id = account;
  e.day = "2026-11-28";
  e.active_days_28 = active_days;
  e.last_active_day = "2026-11-27";
  e.at = 1'700'000'000;
  return e;
}

inline FeedEvent Deleted(const std::string& account) {
  FeedEvent e;
  e.type = FeedEventType::kAccountDeleted;
  e.account_id = account;
  e.at = 1'700'000'000;
  return e;
}

// Assigns consecutive sequence numbers starting after `after`.
inline std::vector<FeedEvent> Numbered(std::vector<FeedEvent> events, int64_t after = 0) {
  for (auto& e : events) e.seq = ++after;
  return events;
}

}  // namespace tandem::social::testing
