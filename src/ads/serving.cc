// Serving and explanations.
#include "ads/serving.h"

#include <algorithm>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "ads/ads_store.h"
#include "social/purpose_view.h"
#include "social/social_service.h"

namespace tandem::ads {
using social::Purpose;
using social::PurposeView;
using social::UserId;

absl::StatusOr<std::vector<ServedAd>> Serving::ServeAds(UserId viewer) {
  std::lock_guard lock(serve_mu_);
  int reach_bits = 0;
  std::optional<social::MessengerUsage> usage;
  {
    PurposeView view = social_.View(Purpose::kAds);
    if (!view.Exists(viewer)) return absl::NotFoundError("no such user");
    reach_bits = SourcesOf(view.ReachOf(viewer));
    usage = view.Usage(viewer);
  }
  // Memberships count only through facts the ads view still shows, so an
  // objection is honoured here even before the worker has removed them.
  absl::flat_hash_map<int64_t, int> member;
  ASSIGN_OR_RETURN(auto memberships, db::MembershipsOf(db_, viewer));
  for (const auto& [audience, source] : memberships) {
    int bits = source & reach_bits;
    if (bits) member[audience] = bits;
  }
  bool active = usage && usage->active_days_28 >= options_.active_messenger_min_days;
  ASSIGN_OR_RETURN(std::vector<db::CampaignRow> campaigns, db::ActiveCampaigns(db_));
  absl::Time now = clock_.Now();
  std::vector<ServedAd> served;
  for (db::CampaignRow& row : campaigns) {
    if (static_cast<int>(served.size()) >= options_.ads_per_timeline) break;
    const Campaign& c = row.campaign;
    bool excluded = false;
    for (int64_t a : c.spec.exclude_audiences) excluded |= member.contains(a);
    if (excluded) continue;
    int64_t audience = 0;
    int source = 0;
    for (int64_t a : c.spec.include_audiences) {
      auto it = member.find(a);
      if (it == member.end()) continue;
      absl::StatusOr<std::optional<int64_t>> version = db::AudienceVersion(db_, a);
      if (!version.ok() || !*version) continue;
      // Serving follows the members as they are now (an audience that
      // objections took below the minimum stops at once), unlike size
      // reports, which are fixed per version.
      ASSIGN_OR_RETURN(int64_t matched_now, sizes_.MatchedCount(a));
      if (!sizes_.ReportFor(a, **version, matched_now).targetable) continue;
      audience = a;
      source = it->second;
      break;
    }
    if (!c.spec.include_audiences.empty() && audience == 0) continue;
    bool wants_active = std::find(c.spec.segments.begin(), c.spec.segments.end(), kActiveMessengerUsers) !=
                        c.spec.segments.end();
    if (wants_active && !active) continue;
    ASSIGN_OR_RETURN(int64_t seen, db::ImpressionsOnDay(db_, c.id, viewer, now));
    if (seen >= c.spec.frequency_cap_per_day) continue;
    ServedAd ad;
    ad.campaign_id = c.id;
    ad.creative = c.spec.creative;
    ASSIGN_OR_RETURN(ad.impression_id,
                     db::RecordImpression(db_, {c.id, viewer, now, audience, source,
                                                std::string(wants_active ? kActiveMessengerUsers : "")}));
    if ((source & kViaMessenger) || wants_active) matcher_.NoteMessengerImpression(viewer);
    ad.advertiser = std::move(row.advertiser_name);
    served.push_back(std::move(ad));
  }
  return served;
}

absl::StatusOr<Explanation> Serving::Why(UserId viewer, int64_t impression_id) {
  ASSIGN_OR_RETURN(std::optional<db::ImpressionFacts> facts, db::GetImpression(db_, impression_id, viewer));
  if (!facts) return absl::NotFoundError(absl::StrCat("no impression ", impression_id));
  Explanation e;
  e.impression_id = impression_id;
  e.campaign = facts->campaign;
  e.advertiser = facts->advertiser;
  e.segment = facts->segment;
  int source = facts->source;
  std::string phone;
  {
    PurposeView view = social_.View(Purpose::kSecurity);
    phone = social::E164FromPhoneKey(view.OwnPhone(viewer));
  }
  std::string text = absl::StrCat("You are seeing this ad from ", e.advertiser, " because:");
  if (facts->audience_id != 0) {
    e.audience = facts->audience;
    if (source & kViaSocial) e.data_sources.push_back("social_profile");
    if (source & kViaMessenger) e.data_sources.push_back("messenger");
    std::string how;
    if (source == 0) {
      how = "of information that has since been deleted with the account it came from; it is no longer used";
    } else if (source == (kViaSocial | kViaMessenger)) {
      how =
          "you let people find you by this number here, and the messenger you use with this number shares it "
          "with us";
    } else if (source & kViaMessenger) {
      how = "the messenger you use with this number shares it with us (you did not make it findable here)";
    } else {
      how = "you let people find you by this number here";
    }
    absl::StrAppend(&text, " ", e.advertiser, " uploaded a list of its customers' phone numbers (\"",
                    e.audience, "\"), and it contains your number ", phone,
                    ". We could tell it is yours because ", how, ".");
  }
  if (!e.segment.empty()) {
    absl::StrAppend(&text, " ", e.advertiser,
                    " asked to reach people who use the messenger regularly, and the "
                    "messenger tells us you were active on it on at least ",
                    options_.active_messenger_min_days, " of the last 28 days.");
  }
  if (facts->audience_id == 0 && e.segment.empty() && facts->messenger_forgotten) {
    absl::StrAppend(&text,
                    " It was chosen for you with information that has since been deleted with the account "
                    "it came from; that information is no longer used.");
  }
  if ((source & kViaMessenger) || !e.segment.empty()) {
    absl::StrAppend(
        &text,
        " If you do not want what the messenger shares to be used for ads, object in the "
        "messenger's privacy settings (tandem privacy object ads); it takes effect within a second.");
  }
  e.text = std::move(text);
  return e;
}

}  // namespace tandem::ads
