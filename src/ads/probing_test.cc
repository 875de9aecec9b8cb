// Attacks on the audience size reports, run within the per-advertiser
// budget: the prefix-search attack of Venkatadri et al. (IEEE S&P 2018), and
// (WatchObjections, further below) watching free looks at one audience
// version while one chosen member objects.
//
// Prefix search: the attacker holds a list of 900 numbers (about 60% of them on the
// platform) and a target number. It binary-searches for the longest prefix
// whose reported size still shows the range of a shorter prefix (so the
// prefix sits at the top of a rounding bucket), then asks for the size of
// that prefix plus the target: a higher range means "the target is on the
// platform". Every look is a fresh audience version and costs one unit of
// the daily size budget; the attacker spends at most that budget per target
// (one target per advertiser-day).
//
// Statistical test: 100 targets, 50 on the platform. Under the null
// hypothesis "no better than chance" the number of correct guesses is
// Binomial(100, 1/2); we reject it when P[X >= correct] < 0.01, i.e. at 63
// or more correct guesses. With the defense on, the attack must not reach
// that; with the noise switched off (the control, plain deterministic
// rounding) the same attack must reach it, which shows the test can fail.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>

#include "ads/test_util.h"

namespace tandem::ads {
namespace {

using testing::AdsWorld;

std::string Phone(int i) { return social::testing::TestPhone(i, 264); }

// P[X >= k] for X ~ Binomial(n, 1/2).
double UpperTail(int n, int k) {
  double p = 0;
  for (int i = k; i <= n; ++i)
    p += std::exp(std::lgamma(n + 1) - std::lgamma(i + 1) - std::lgamma(n - i + 1) - n * std::log(2.0));
  return p;
}

struct AttackResult {
  int correct = 0;
  int targets = 0;
  int budget_refusals = 0;
};

AttackResult RunAttack(AdsOptions options) {
  AdsWorld w(options);
  // The platform: 60% of list numbers 1..900, plus half of the targets
  // (numbers 5000..5099, even ones on the platform).
  SeededRandom r(2018);
  for (int i = 1; i <= 900; ++i) {
    if (r.Uniform(10) < 6) {
      auto u = w.social.AddUser(Phone(i));
      if (!w.social.service->UpdateProfile(u, std::nullopt, true).ok()) abort();
    }
  }
  for (int t = 0; t < 100; t += 2) {
    auto u = w.social.AddUser(Phone(5000 + t));
    if (!w.social.service->UpdateProfile(u, std::nullopt, true).ok()) abort();
  }
  std::vector<std::string> list;
  for (int i = 1; i <= 900; ++i) list.push_back(Phone(i));

  AttackResult result;
  auto adv = w.NewAdvertiser("attacker");
  for (int t = 0; t < 100; ++t) {
    w.social.clock.Advance(absl::Hours(24));  // a fresh daily budget per target
    int64_t audience = w.NewAudience(adv, "probe" + std::to_string(t));
    // Reported lower bound for a list, or -1 when the budget refuses.
    auto look = [&](size_t prefix, bool with_target) -> int64_t {
      std::vector<std::string> rows(list.begin(), list.begin() + static_cast<long>(prefix));
      if (with_target) rows.push_back(Phone(5000 + t));
      if (!w.UploadAll(adv, audience, SessionKind::kReplace, rows).ok()) abort();
      w.ads->RunPending();
      auto a = w.ads->GetAudience(adv, audience);
      if (!a.ok()) abort();
      if (!a->size) {
        ++result.budget_refusals;
        return -1;
      }
      return a->size->targetable ? a->size->lower : 0;
    };
    // Start somewhere different for each target, like a real attacker
    // would to avoid reusing one boundary.
    size_t lo = 500 + static_cast<size_t>(r.Uniform(150)), hi = lo + 160;
    int64_t base = look(lo, false);
    while (hi - lo > 1) {
      size_t mid = (lo + hi) / 2;
      int64_t v = look(mid, false);
      if (v > base) {
        hi = mid;
      } else {
        lo = mid;
      }
    }
    int64_t with_target = look(lo, true);
    bool guess_on = with_target > base && base >= 0;
    bool truly_on = t % 2 == 0;
    result.correct += guess_on == truly_on;
    ++result.targets;
  }
  return result;
}

constexpr int kCritical = 63;  // smallest k with P[Binomial(100, 1/2) >= k] < 0.01

TEST(AdsProbingTest, CriticalValueIsRight) {
  EXPECT_LT(UpperTail(100, kCritical), 0.01);
  EXPECT_GE(UpperTail(100, kCritical - 1), 0.01);
}

TEST(AdsProbingTest, PrefixSearchWithinBudgetIsNoBetterThanChance) {
  AdsOptions o;  // production defaults: min 100, noise scale 10, margin 80, budgets
  o.noise_secret = "probing-test";
  AttackResult r = RunAttack(o);
  RecordProperty("correct", r.correct);
  RecordProperty("p_value", std::to_string(UpperTail(r.targets, r.correct)));
  EXPECT_EQ(r.targets, 100);
  EXPECT_EQ(r.budget_refusals, 0) << "the attack must fit in the budget";
  EXPECT_LT(r.correct, kCritical) << "the attack beat chance: p = " << UpperTail(r.targets, r.correct);
}

TEST(AdsProbingTest, ControlWithoutNoiseTheAttackWorks) {
  AdsOptions o;
  o.noise_secret = "probing-test";
  o.size.noise_scale = 0;
  o.size.margin = 0;
  AttackResult r = RunAttack(o);
  RecordProperty("correct", r.correct);
  EXPECT_GE(r.correct, kCritical) << "the control attack should succeed; the probing test has no power";
}

// Watching one person object, for free. The advertiser controls a few
// messenger accounts of its own ("sybils") whose numbers are on its list,
// next to 300 customers and one target. It looks at the audience once (one
// unit of budget), then lets its sybils object to ads one at a time and
// looks again after each (free: the same version). Were the shown size to
// follow the live count, the range would drop after at most ten objections,
// and then the attacker would know the noisy size to within one; nine more
// sybil objections put it at the very bottom of its rounding bucket, where
// the target's objection alone would drop the range again. The attacker
// then waits while the target objects (in half of the trials, chosen at
// random) or not, looks a last time and guesses "objected" when the range
// dropped since the previous look.
//
// A version's size is fixed when the version is made, so no look shows
// anything new and the guess is right in half of the trials. Same
// statistics as above: 100 trials, reject "no better than chance" at 63.
struct WatchResult {
  int correct = 0;
  int trials = 0;
  int boundaries_found = 0;    // trials where a free look showed a change
  int objecting = 0;           // trials where the target objected
  int objections_removed = 0;  // ... and its membership was removed at once
  int paid_looks = 0;          // size budget spent
};

WatchResult WatchObjections(AdsOptions options) {
  AdsWorld w(options);
  constexpr int kCustomers = 300, kSybils = 20, kTrials = 100;
  std::vector<std::string> customers;
  for (int i = 1; i <= kCustomers; ++i) {
    auto u = w.social.AddUser(Phone(i));
    if (!w.social.service->UpdateProfile(u, std::nullopt, true).ok()) abort();
    customers.push_back(Phone(i));
  }
  SeededRandom coin(4242);
  auto adv = w.NewAdvertiser("watcher");
  WatchResult result;
  for (int t = 0; t < kTrials; ++t) {
    w.social.clock.Advance(absl::Hours(24));  // a fresh daily budget per trial
    // This trial's sybils and target: messenger users linked to their
    // numbers, matched through the messenger link.
    auto messenger_user = [&](int number, const std::string& account) {
      social::UserId u = w.social.AddUser(Phone(number));
      w.Feed({social::testing::Linked(account, Phone(number))});
      return u;
    };
    const int base = 1000 + t * (kSybils + 1);
    std::vector<std::string> list = customers;
    for (int k = 0; k < kSybils; ++k) {
      messenger_user(base + k, "sybil-" + std::to_string(base + k));
      list.push_back(Phone(base + k));
    }
    social::UserId target = messenger_user(base + kSybils, "target-" + std::to_string(t));
    list.push_back(Phone(base + kSybils));
    int64_t audience = w.NewAudience(adv, "watch" + std::to_string(t));
    if (!w.UploadAll(adv, audience, SessionKind::kAdd, list).ok()) abort();
    w.ads->RunPending();
    auto look = [&]() -> int64_t {
      auto a = w.ads->GetAudience(adv, audience);
      if (!a.ok() || !a->size) abort();  // within budget: every look answers
      return a->size->targetable ? a->size->lower : 0;
    };
    auto object = [&](const std::string& account) {
      w.Feed({social::testing::Objection(account, social::Purpose::kAds, true)});
      w.ads->RunPending();  // the retroactive removal
    };
    const int64_t first = look();
    int64_t previous = first;
    int used = 0;
    bool found = false;
    while (used < kSybils && !found) {
      object("sybil-" + std::to_string(base + used++));
      const int64_t now = look();
      found = now != previous;
      previous = now;
    }
    if (found) {
      ++result.boundaries_found;
      // Down to the bottom of the bucket the size dropped into.
      for (int k = 0; k < 9 && used < kSybils; ++k) object("sybil-" + std::to_string(base + used++));
      previous = look();
    }
    const bool objects = coin.Uniform(2) == 1;
    if (objects) {
      ++result.objecting;
      object("target-" + std::to_string(t));
      bool member = false;
      for (const auto& m : w.Members(audience)) member |= m.user == target;
      result.objections_removed += !member;
    }
    const bool guess = look() < previous;
    result.correct += guess == objects;
    ++result.trials;
    result.paid_looks += options.size_budget_per_day - w.ads->Budget(adv)->size_queries;
  }
  return result;
}

TEST(AdsProbingTest, WatchingFreeLooksDoesNotRevealAnObjection) {
  AdsOptions o;  // production defaults
  o.noise_secret = "probing-test";
  WatchResult r = WatchObjections(o);
  RecordProperty("correct", r.correct);
  RecordProperty("boundaries_found", r.boundaries_found);
  EXPECT_EQ(r.trials, 100);
  EXPECT_EQ(r.paid_looks, 100) << "one paid look per trial; the others are free";
  EXPECT_GT(r.objecting, 30);
  EXPECT_LT(r.objecting, 70);
  // Every objection took effect at once where it must (membership, serving).
  EXPECT_EQ(r.objections_removed, r.objecting);
  EXPECT_EQ(r.boundaries_found, 0) << "a free look at a seen version showed a different size";
  EXPECT_LT(r.correct, kCritical) << "watching free looks detected the objection: p = "
                                  << UpperTail(r.trials, r.correct);
}

TEST(AdsProbingTest, BelowThresholdAudiencesCannotBeTargeted) {
  AdsOptions o;
  o.noise_secret = "probing-test";
  o.size_budget_per_day = 1000;
  AdsWorld w(o);
  std::vector<std::string> phones;
  for (int i = 1; i <= 99; ++i) {
    auto u = w.social.AddUser(Phone(i));
    if (!w.social.service->UpdateProfile(u, std::nullopt, true).ok()) abort();
    phones.push_back(Phone(i));
  }
  auto adv = w.NewAdvertiser();
  int64_t audience = w.NewAudience(adv);
  CampaignSpec spec;
  spec.name = "c";
  spec.creative = {"t", "b", "https://example.com"};
  spec.impression_budget = 10;
  spec.include_audiences = {audience};
  // Many versions with 99 matched people (whatever the noise draws): never
  // targetable, always "too small to target".
  for (int v = 0; v < 200; ++v) {
    std::vector<std::string> rows = phones;
    rows.push_back("+1650265" + std::to_string(1000 + v));  // never matches
    ASSERT_TRUE(w.UploadAll(adv, audience, SessionKind::kReplace, rows).ok());
    w.ads->RunPending();
    auto a = w.ads->GetAudience(adv, audience);
    ASSERT_TRUE(a.ok() && a->size);
    EXPECT_EQ(a->size->text, "too small to target");
    EXPECT_TRUE(absl::IsFailedPrecondition(w.ads->CreateCampaign(adv, spec).status()));
  }
}

}  // namespace
}  // namespace tandem::ads
