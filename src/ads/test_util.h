// Helpers shared by the ads unit, property and probing tests: a social world
// with an ads service on top, and upload shortcuts.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "ads/ads_service.h"
#include "common/encoding.h"
#include "social/test_util.h"

namespace tandem::ads::testing {

// The customer-list hash of a number: SHA-256 of its E.164 digits
// without '+', in lowercase hex (what an advertiser's tool uploads).
inline std::string HashHex(const std::string& e164) {
  return Sha256Hex(std::string_view(e164).substr(e164.starts_with('+') ? 1 : 0));
}

struct AdsWorld {
  explicit AdsWorld(AdsOptions options = TestOptions(),
                    const std::string& path = ":memory:", uint64_t seed = 1)
      : social(path, seed) {
    auto created = AdsService::Create(*social.db, social.clock, social.random, std::move(options));
    if (!created.ok()) abort();
    ads = std::move(*created);
  }

  // Small thresholds for worlds of a few dozen people; noise stays on.
  static AdsOptions TestOptions() {
    AdsOptions o;
    o.size.min_size = 2;
    o.size.margin = 0;
    o.size.noise_scale = 0.4;
    o.audience_budget_per_day = 1000;
    o.size_budget_per_day = 1000;
    o.noise_secret = "test-secret";
    return o;
  }

  // Applies feed events with fresh sequence numbers.
  void Feed(std::vector<social::FeedEvent> events) {
    for (auto& e : events) e.seq = ++seq;
    social.Apply(events);
  }

  // Users 1..n with the numbers social::testing::TestPhone(i), each linked
  // through the messenger as account "m<i>"; their numbers are appended to
  // `phones` when given.
  std::vector<social::UserId> AddLinkedUsers(int n, std::vector<std::string>* phones = nullptr) {
    std::vector<social::UserId> users;
    for (int i = 1; i <= n; ++i) {
      const std::string phone = social::testing::TestPhone(i);
      users.push_back(social.AddUser(phone));
      Feed({social::testing::Linked("m" + std::to_string(i), phone)});
      if (phones) phones->push_back(phone);
    }
    return users;
  }

  AdvertiserId NewAdvertiser(const std::string& name = "Shop") {
    auto a = ads->CreateAdvertiser(name);
    if (!a.ok()) abort();
    return a->id;
  }

  int64_t NewAudience(AdvertiserId adv, const std::string& name = "customers") {
    auto a = ads->CreateAudience(adv, name, "");
    if (!a.ok()) abort();
    return a->id;
  }

  // One complete session in batches of `batch` rows (hashed on "our side"
  // here, as the advertiser's tool would).
  absl::StatusOr<BatchResult> UploadAll(AdvertiserId adv, int64_t audience, SessionKind kind,
                                        const std::vector<std::string>& e164s, size_t batch = 10'000,
                                        Schema schema = Schema::kPhoneSha256,
                                        const std::string& country = "") {
    std::string session = "s" + std::to_string(++sessions);
    BatchResult last;
    size_t seqno = 0;
    for (size_t start = 0; start < e164s.size() || seqno == 0; start += batch) {
      UploadRequest r;
      r.session_id = session;
      r.batch_seq = static_cast<int64_t>(++seqno);
      r.schema = schema;
      r.country = country;
      size_t end = std::min(e164s.size(), start + batch);
      for (size_t i = start; i < end; ++i)
        r.rows.push_back(schema == Schema::kPhoneSha256 ? HashHex(e164s[i]) : e164s[i]);
      r.last_batch = end == e164s.size();
      auto res = ads->Upload(adv, audience, kind, r);
      if (!res.ok()) return res.status();
      last = *res;
      if (r.last_batch) break;
    }
    return last;
  }

  // Rows of a table of the shared database; -1 on error.
  int64_t CountRows(const std::string& table) {
    auto row = social.db->DatabaseForTesting().QueryOne("SELECT COUNT(*) FROM " + table);
    return row.ok() ? row->Int(0) : -1;
  }

  std::vector<Membership> Members(int64_t audience) {
    auto m = ads->MembershipsForTesting(audience);
    if (!m.ok()) abort();
    return *m;
  }

  social::testing::World social;
  std::unique_ptr<AdsService> ads;
  int64_t seq = 0;
  int sessions = 0;
};

}  // namespace tandem::ads::testing
