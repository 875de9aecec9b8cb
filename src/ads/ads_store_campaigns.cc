// SQL for campaigns and impressions.
#include <string_view>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "ads/ads_store.h"
#include "ads/ads_store_internal.h"

namespace tandem::ads::db {
namespace {

std::string JoinIds(const std::vector<int64_t>& ids) { return absl::StrJoin(ids, ","); }

std::vector<int64_t> SplitIds(const std::string& text) {
  std::vector<int64_t> ids;
  for (absl::string_view part : absl::StrSplit(text, ',', absl::SkipEmpty())) {
    int64_t id;
    if (absl::SimpleAtoi(part, &id)) ids.push_back(id);
  }
  return ids;
}

constexpr char kCampaignColumns[] =
    "c.id, c.name, c.title, c.body, c.link, c.include_audiences, c.exclude_audiences, c.segments, "
    "c.impression_budget, c.frequency_cap, c.status, c.impressions, c.advertiser_id";

absl::StatusOr<CampaignRow> CampaignFrom(const Row& r) {
  CampaignRow row;
  Campaign& c = row.campaign;
  c.id = r.Int(0);
  c.spec.name = r.Text(1);
  c.spec.creative = {r.Text(2), r.Text(3), r.Text(4)};
  c.spec.include_audiences = SplitIds(r.Text(5));
  c.spec.exclude_audiences = SplitIds(r.Text(6));
  for (absl::string_view seg : absl::StrSplit(r.Text(7), ',', absl::SkipEmpty()))
    c.spec.segments.emplace_back(seg);
  c.spec.impression_budget = r.Int(8);
  c.spec.frequency_cap_per_day = r.Int(9);
  ASSIGN_OR_RETURN(c.status, Parse(kStatuses, r.Text(10)));
  c.impressions = r.Int(11);
  row.advertiser = r.Int(12);
  if (r.size() > 13) row.advertiser_name = r.Text(13);
  return row;
}

absl::StatusOr<std::vector<CampaignRow>> CampaignsFrom(absl::StatusOr<std::vector<Row>> rows) {
  RETURN_IF_ERROR(rows.status());
  std::vector<CampaignRow> out;
  for (const Row& r : *rows) {
    ASSIGN_OR_RETURN(CampaignRow c, CampaignFrom(r));
    out.push_back(std::move(c));
  }
  return out;
}

std::vector<UserId> UsersFrom(const std::vector<Row>& rows) {
  std::vector<UserId> users;
  users.reserve(rows.size());
  for (const Row& r : rows) users.push_back(static_cast<UserId>(r.Int(0)));
  return users;
}

}  // namespace

// -------------------------------------------------------------- campaigns

absl::StatusOr<int64_t> InsertCampaign(Database& db, AdvertiserId adv, const CampaignSpec& s,
                                       absl::Time now) {
  // The id comes from the insert itself: another request's insert on the
  // shared handle may come between two statements.
  ASSIGN_OR_RETURN(
      auto row,
      db.QueryOne(
          "INSERT INTO ads_campaigns (advertiser_id, name, title, body, link, include_audiences, "
          "exclude_audiences, segments, impression_budget, frequency_cap, status, created_at, "
          "updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $12) "
          "RETURNING id",
          {adv, s.name, s.creative.title, s.creative.text, s.creative.link, JoinIds(s.include_audiences),
           JoinIds(s.exclude_audiences), absl::StrJoin(s.segments, ","), s.impression_budget,
           s.frequency_cap_per_day, Stored(kStatuses, CampaignStatus::kActive), Seconds(now)}));
  return row.Int(0);
}

absl::StatusOr<std::vector<CampaignRow>> ListCampaigns(Database& db, AdvertiserId adv) {
  return CampaignsFrom(db.Query(absl::StrCat("SELECT ", kCampaignColumns,
                                             " FROM ads_campaigns c WHERE c.advertiser_id = $1 AND "
                                             "c.status != $2 ORDER BY c.id"),
                                {adv, Stored(kStatuses, CampaignStatus::kDeleted)}));
}

absl::StatusOr<std::optional<CampaignRow>> GetCampaign(Database& db, AdvertiserId adv, int64_t id) {
  auto row = db.QueryOne(absl::StrCat("SELECT ", kCampaignColumns,
                                      " FROM ads_campaigns c WHERE c.id = $1 AND c.advertiser_id = $2 AND "
                                      "c.status != $3"),
                         {id, adv, Stored(kStatuses, CampaignStatus::kDeleted)});
  if (absl::IsNotFound(row.status())) return std::nullopt;
  RETURN_IF_ERROR(row.status());
  return CampaignFrom(*row);
}

absl::StatusOr<std::vector<CampaignRow>> ActiveCampaigns(Database& db) {
  return CampaignsFrom(db.Query(absl::StrCat("SELECT ", kCampaignColumns,
                                             ", COALESCE(a.name, '') FROM ads_campaigns c "
                                             "LEFT JOIN ads_advertisers a ON a.id = c.advertiser_id "
                                             "WHERE c.status = $1 AND c.impressions < c.impression_budget "
                                             "ORDER BY c.id"),
                                {Stored(kStatuses, CampaignStatus::kActive)}));
}

absl::Status SetCampaignStatus(Database& db, int64_t id, CampaignStatus status, absl::Time now) {
  return db
      .Execute("UPDATE ads_campaigns SET status = $2, updated_at = $3 WHERE id = $1",
               {id, Stored(kStatuses, status), Seconds(now)})
      .status();
}

// ------------------------------------------------------------ impressions

absl::StatusOr<int64_t> ImpressionsOnDay(Database& db, int64_t campaign_id, UserId user, absl::Time day) {
  ASSIGN_OR_RETURN(auto row, db.QueryOne("SELECT COUNT(*) FROM ads_impressions WHERE campaign_id = $1 AND "
                                         "user_id = $2 AND day = $3",
                                         {campaign_id, user, Day(day)}));
  return row.Int(0);
}

absl::StatusOr<int64_t> RecordImpression(Database& db, const ImpressionRow& i) {
  int64_t id = 0;
  RETURN_IF_ERROR(db.InTransaction([&](Database& tx) -> absl::Status {
    ASSIGN_OR_RETURN(
        auto row,
        tx.QueryOne("INSERT INTO ads_impressions (campaign_id, user_id, day, at, audience_id, source, "
                    "segment) VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
                    {i.campaign_id, i.user, Day(i.at), Seconds(i.at), i.audience_id, i.source, i.segment}));
    id = row.Int(0);
    return tx
        .Execute(
            "UPDATE ads_campaigns SET impressions = impressions + 1, status = CASE WHEN impressions + 1 >= "
            "impression_budget THEN $2 ELSE status END WHERE id = $1",
            {i.campaign_id, Stored(kStatuses, CampaignStatus::kCompleted)})
        .status();
  }));
  return id;
}

absl::StatusOr<std::optional<ImpressionFacts>> GetImpression(Database& db, int64_t impression_id,
                                                             UserId viewer) {
  auto row = db.QueryOne(
      "SELECT i.audience_id, i.source, i.segment, c.name, a.name, COALESCE(au.name, ''), "
      "i.messenger_forgotten "
      "FROM ads_impressions i JOIN ads_campaigns c ON c.id = i.campaign_id "
      "JOIN ads_advertisers a ON a.id = c.advertiser_id LEFT JOIN ads_audiences au ON au.id = i.audience_id "
      "WHERE i.id = $1 AND i.user_id = $2",
      {impression_id, viewer});
  if (absl::IsNotFound(row.status())) return std::nullopt;
  RETURN_IF_ERROR(row.status());
  return ImpressionFacts{
      row->Int(0),     static_cast<int>(row->Int(1)), row->Text(2), row->Text(3), row->Text(4), row->Text(5),
      row->Int(6) != 0};
}

absl::StatusOr<std::vector<UserId>> MessengerImpressedUsers(Database& db) {
  ASSIGN_OR_RETURN(auto rows, db.Query(absl::StrCat("SELECT DISTINCT user_id FROM ads_impressions "
                                                    "WHERE (source & ",
                                                    kViaMessenger, ") != 0 OR segment != ''")));
  return UsersFrom(rows);
}

absl::Status ForgetMessengerFacts(Database& db, UserId user) {
  return db
      .Execute(absl::StrCat("UPDATE ads_impressions SET source = source & ~", kViaMessenger,
                            ", segment = '', messenger_forgotten = 1 WHERE user_id = $1 AND "
                            "((source & ",
                            kViaMessenger, ") != 0 OR segment != '')"),
               {user})
      .status();
}

}  // namespace tandem::ads::db
