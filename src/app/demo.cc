// Building (or reusing) the demo world of `tandemd serve --demo`.
#include "app/demo.h"

#include <algorithm>
#include <chrono>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "ads/ads_module.h"
#include "client/client_store.h"
#include "common/clock.h"
#include "common/log.h"
#include "common/random.h"
#include "crypto/keys.h"
#include "phone/phone.h"
#include "relay/accounts.h"
#include "relay/envelope_writer.h"
#include "relay/relay.h"
#include "social/posts.h"
#include "social/social_module.h"

namespace tandem::app {
namespace {

using json = nlohmann::json;
namespace fs = std::filesystem;

constexpr int kMarkerVersion = 1;
constexpr int kGroupSize = 10;              // social users come in circles of ten
constexpr int kAudienceSocialUsers = 240;   // demo social users on the customer list
constexpr int kAudienceMessengerOnly = 10;  // numbers on the list with no social account
constexpr int kOneTimePreKeys = 10;         // per demo user; Dana gets the client's usual 100
constexpr int kDanaOneTimePreKeys = 100;
constexpr absl::Duration kFeedWait = absl::Seconds(30);

// Display names: 50 first names times 30 surnames, distinct for every demo
// user (the surname index moves by a different step for each block of 50).
constexpr const char* kFirstNames[] = {
    "Dana",   "Erin",  "Farid", "Grace",  "Hiro",  "Ines",   "Jonas", "Keiko", "Liam",  "Maya",
    "Nadia",  "Omar",  "Priya", "Quinn",  "Rosa",  "Sami",   "Tara",  "Umar",  "Vera",  "Wen",
    "Ximena", "Yusuf", "Zoe",   "Amara",  "Bruno", "Chloe",  "Diego", "Elif",  "Felix", "Gita",
    "Hana",   "Ivan",  "Jade",  "Kofi",   "Lena",  "Mateo",  "Noor",  "Oscar", "Paula", "Ravi",
    "Sofia",  "Tomas", "Una",   "Viktor", "Wanda", "Xavier", "Yara",  "Zeke",  "Aisha", "Ben"};
constexpr const char* kSurnames[] = {"Reyes",  "Okafor",  "Lindqvist", "Tanaka", "Moreau",   "Haddad",
                                     "Novak",  "Silva",   "Kowalski",  "Ahmed",  "Brandt",   "Costa",
                                     "Dubois", "Eriksen", "Fischer",   "Garcia", "Horvat",   "Ivanova",
                                     "Jensen", "Khan",    "Larsen",    "Mendez", "Nakamura", "Olsen",
                                     "Petrov", "Quist",   "Rossi",     "Sato",   "Torres",   "Weber"};

std::string DemoName(int i) {
  return absl::StrCat(kFirstNames[i % 50], " ", kSurnames[(i / 50 + 7 * i) % 30]);
}

// The social users' friendships: a ring in each circle of ten, a chord from
// every even member three places on, and one bridge from each circle's
// first member to the next circle's sixth. Everyone has friends of friends
// they are not friends with (suggestions with mutual friends).
std::vector<std::pair<int, int>> DemoFriendships() {
  std::vector<std::pair<int, int>> edges;
  const int groups = kDemoSocialAccounts / kGroupSize;
  for (int g = 0; g < groups; ++g) {
    const int base = g * kGroupSize;
    for (int j = 0; j < kGroupSize; ++j) {
      edges.emplace_back(base + j, base + (j + 1) % kGroupSize);
      if (j % 2 == 0) edges.emplace_back(base + j, base + (j + 3) % kGroupSize);
    }
    edges.emplace_back(base, ((g + 1) % groups) * kGroupSize + 5);
  }
  return edges;
}

// Who holds the walk-through's numbers in their address book: enough people
// that a newly registered Alice or Bob gets a page of suggestions.
bool HoldsAlice(int i) { return i % 6 == 0; }
bool HoldsBob(int i) { return i % 7 == 0; }

struct Person {
  std::string number;
  int active_days = 0;
  social::UserId social_user = social::kNoUser;
};

absl::Status WriteFileAtomically(const fs::path& path, const std::string& text) {
  const fs::path tmp = path.string() + ".tmp";
  {
    std::ofstream out(tmp, std::ios::trunc);
    out << text;
    out.flush();
    if (!out) return absl::InternalError(absl::StrCat("cannot write ", tmp.string()));
  }
  std::error_code ec;
  fs::rename(tmp, path, ec);
  if (ec) return absl::InternalError(absl::StrCat("cannot rename ", tmp.string(), ": ", ec.message()));
  return absl::OkStatus();
}

std::string Bytes(std::span<const uint8_t> b) { return std::string(b.begin(), b.end()); }

// A messenger account as a freshly registered client makes it: a new
// identity, a signed prekey and one-time prekeys, their public halves
// published. The private halves stay in `keys` (kept only for Dana).
struct ClientKeys {
  crypto::LocalIdentity identity;
  crypto::SignedPreKey signed_prekey;
  std::vector<crypto::OneTimePreKey> one_time_prekeys;
};
relay::AccountService::ImportedAccount NewMessengerAccount(const std::string& number, Random& random,
                                                           int one_time_prekeys, ClientKeys* keys) {
  keys->identity.key_pair = crypto::KeyPair::Generate(random);
  keys->identity.registration_id = crypto::GenerateRegistrationId(random);
  keys->signed_prekey = crypto::GenerateSignedPreKey(keys->identity.key_pair, 1, random);
  keys->one_time_prekeys = crypto::GenerateOneTimePreKeys(1, static_cast<size_t>(one_time_prekeys), random);
  relay::AccountService::ImportedAccount a;
  a.number = number;
  a.identity_key = Bytes(keys->identity.key_pair.public_key.Serialize());
  a.registration_id = keys->identity.registration_id;
  a.signed_prekey = relay::db::SignedPreKeyRow{keys->signed_prekey.id,
                                               Bytes(keys->signed_prekey.key_pair.public_key.Serialize()),
                                               Bytes(keys->signed_prekey.signature)};
  for (const auto& k : keys->one_time_prekeys) {
    a.one_time_prekeys.push_back({k.id, Bytes(k.key_pair.public_key.Serialize())});
  }
  return a;
}

// Four weeks of metered use: `days` distinct days among the last 28
// (always today for active people, so the last active day is recent).
std::vector<relay::db::UsageRow> UsageHistory(int days, absl::Time now, Random& shape) {
  std::vector<int> offsets(28);
  for (int d = 0; d < 28; ++d) offsets[d] = d;
  for (int d = 27; d > 1; --d) std::swap(offsets[d], offsets[1 + shape.Uniform(d)]);
  std::vector<relay::db::UsageRow> rows;
  for (int k = 0; k < days; ++k) {
    relay::db::UsageRow row;
    row.day = relay::EnvelopeWriter::DayOf(now - absl::Hours(24) * offsets[k]);
    row.sessions = 1 + static_cast<int64_t>(shape.Uniform(6));
    row.messages = static_cast<int64_t>(shape.Uniform(41));
    rows.push_back(std::move(row));
  }
  return rows;
}

int ActiveDays(int i, Random& shape) {
  if (i == 0) return 21;  // Dana: well inside active_messenger_users
  const uint64_t r = shape.Uniform(100);
  if (r < 75) return 7 + static_cast<int>(shape.Uniform(22));  // 7..28
  if (r < 92) return 1 + static_cast<int>(shape.Uniform(6));   // 1..6
  return 0;                                                    // installed, not used this month
}

// Waits until the social side has applied every demo account's link and
// usage summary (the customer list can only match what the feed carried).
absl::Status WaitForFeed(social::SocialModule& social, const std::vector<Person>& people) {
  const Clock& clock = SystemClock::Real();
  const absl::Time deadline = clock.Now() + kFeedWait;
  while (true) {
    size_t missing = 0;
    {
      social::PurposeView view = social.db().View(social::Purpose::kSecurity);
      for (const Person& p : people) {
        if (p.social_user == social::kNoUser) continue;
        if (!view.MessengerLinked(p.social_user)) {
          ++missing;
          continue;
        }
        // Present, not equal to active_days: a build that straddles UTC
        // midnight summarizes a window one day later.
        if (p.active_days > 0 && !view.Usage(p.social_user)) ++missing;
      }
    }
    if (missing == 0) return absl::OkStatus();
    if (clock.Now() > deadline) {
      return absl::DeadlineExceededError(absl::StrCat(
          "the social side did not receive the feed for ", missing, " demo accounts within ",
          absl::FormatDuration(kFeedWait), "; --demo needs the social side to consume this server's feed"));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

absl::Status PointProfilesAt(const DemoWorld& world, const std::string& server_address) {
  ASSIGN_OR_RETURN(auto bakery, client::ClientStore::Open(world.bakery_profile.string()));
  RETURN_IF_ERROR(bakery->SetSetting("server", server_address));
  ASSIGN_OR_RETURN(auto dana, client::ClientStore::Open(world.dana_profile.string()));
  RETURN_IF_ERROR(dana->SetSetting("server", server_address));
  auto account = dana->LoadAccount();
  if (account.ok() && account->server != server_address) {
    account->server = server_address;
    RETURN_IF_ERROR(dana->SaveAccount(*account));
  }
  return absl::OkStatus();
}

json MarkerOf(const DemoWorld& w) {
  return {{"version", kMarkerVersion},
          {"messenger_users", w.messenger_users},
          {"social_accounts", w.social_accounts},
          {"friendships", w.friendships},
          {"address_books", w.address_books},
          {"posts", w.posts},
          {"advertisers", w.advertisers},
          {"advertiser_id", w.advertiser_id},
          {"audience_id", w.audience_id},
          {"audience_rows", w.audience_rows},
          {"campaign_id", w.campaign_id},
          {"dana_number", w.dana_number},
          {"dana_social_account_id", w.dana_social_account_id}};
}

absl::StatusOr<DemoWorld> ReadMarker(const fs::path& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  json j = json::parse(text.str(), nullptr, false);
  if (!j.is_object() || j.value("version", 0) != kMarkerVersion) {
    return absl::FailedPreconditionError(
        absl::StrCat(path.string(), " is not a demo world marker of this version"));
  }
  DemoWorld w;
  try {
    w.messenger_users = j.at("messenger_users").get<int>();
    w.social_accounts = j.at("social_accounts").get<int>();
    w.friendships = j.at("friendships").get<int>();
    w.address_books = j.at("address_books").get<int>();
    w.posts = j.at("posts").get<int>();
    w.advertisers = j.at("advertisers").get<int>();
    w.advertiser_id = j.at("advertiser_id").get<int64_t>();
    w.audience_id = j.at("audience_id").get<int64_t>();
    w.audience_rows = j.at("audience_rows").get<int64_t>();
    w.campaign_id = j.at("campaign_id").get<int64_t>();
    w.dana_number = j.at("dana_number").get<std::string>();
    w.dana_social_account_id = j.at("dana_social_account_id").get<int64_t>();
  } catch (const json::exception& e) {
    return absl::FailedPreconditionError(absl::StrCat(path.string(), " is damaged: ", e.what()));
  }
  return w;
}

absl::StatusOr<DemoWorld> Build(relay::Relay& relay, social::SocialModule& social, ads::AdsModule& ads_module,
                                const fs::path& demo_dir, const std::string& server_address) {
  relay::AccountService& accounts = relay.accounts();
  social::SocialService& network = social.service();
  ads::AdsService& ads = ads_module.service();
  Random& keys = SecureRandom::Instance();
  // The world's shape is the same on every machine (the README can name
  // people); only keys, tokens and account ids are fresh.
  SeededRandom shape(20261201);
  const absl::Time now = SystemClock::Real().Now();

  DemoWorld world;
  world.dana_profile = demo_dir / "dana.db";
  world.bakery_profile = demo_dir / "bakery.db";
  for (const fs::path& p : {world.dana_profile, world.bakery_profile}) {
    std::error_code ec;
    for (const char* suffix : {"", "-wal", "-shm"}) fs::remove(p.string() + suffix, ec);
  }

  // Messenger accounts with keys and usage history.
  std::vector<Person> people(kDemoMessengerUsers);
  std::vector<relay::AccountService::ImportedAccount> imports;
  ClientKeys dana_keys;
  for (int i = 0; i < kDemoMessengerUsers; ++i) {
    Person& p = people[i];
    p.number = DemoNumber(i);
    ClientKeys client_keys;
    imports.push_back(NewMessengerAccount(p.number, keys, i == 0 ? kDanaOneTimePreKeys : kOneTimePreKeys,
                                          i == 0 ? &dana_keys : &client_keys));
    p.active_days = ActiveDays(i, shape);
    imports.back().usage = UsageHistory(p.active_days, now, shape);
  }
  ASSIGN_OR_RETURN(auto registered, accounts.ImportAccounts(imports));
  world.messenger_users = kDemoMessengerUsers;
  world.dana_number = people[0].number;
  // Now rather than at the next feed.usage_summary_interval_s.
  RETURN_IF_ERROR(relay.SummarizeUsageNow().status());

  // Dana's profile is a registered device like any `tandem verify` leaves
  // behind: the same account row, private keys and prekeys.
  ASSIGN_OR_RETURN(auto dana_store, client::ClientStore::Open(world.dana_profile.string()));
  {
    const relay::AccountService::Registered& r = registered[0];
    client::AccountRow row;
    row.server = server_address;
    row.number = r.number;
    row.account_id = r.credentials.account_id;
    row.device_id = r.credentials.device_id;
    row.password = r.credentials.password;
    row.identity = dana_keys.identity;
    row.signed_prekey_id = dana_keys.signed_prekey.id;
    row.next_prekey_id = dana_keys.one_time_prekeys.back().id + 1;
    RETURN_IF_ERROR(dana_store->SaveAccount(row));
    RETURN_IF_ERROR(dana_store->SaveSignedPreKey(dana_keys.signed_prekey));
    RETURN_IF_ERROR(dana_store->SaveOneTimePreKeys(dana_keys.one_time_prekeys));
  }

  // Social accounts on the same numbers with their address books and
  // friendships, and a few posts.
  std::vector<social::SocialService::ImportedAccount> social_imports;
  for (int i = 0; i < kDemoSocialAccounts; ++i) {
    social::SocialService::ImportedAccount a;
    a.phone = people[i].number;
    a.display_name = DemoName(i);
    const int base = i / kGroupSize * kGroupSize;
    for (int j = base; j < base + kGroupSize; ++j) {
      if (j != i) a.address_book.push_back(people[j].number);
    }
    for (int k = 0; k < 3; ++k) a.address_book.push_back(people[shape.Uniform(kDemoMessengerUsers)].number);
    if (HoldsAlice(i)) a.address_book.push_back(kDemoAliceNumber);
    if (HoldsBob(i)) a.address_book.push_back(kDemoBobNumber);
    social_imports.push_back(std::move(a));
  }
  std::vector<std::pair<size_t, size_t>> friendships;
  for (const auto& [a, b] : DemoFriendships()) friendships.emplace_back(a, b);
  ASSIGN_OR_RETURN(auto sessions, network.ImportAccounts(social_imports, friendships));
  for (int i = 0; i < kDemoSocialAccounts; ++i) people[i].social_user = sessions[i].user;
  const std::string dana_token = sessions[0].token;
  world.social_accounts = kDemoSocialAccounts;
  world.address_books = kDemoSocialAccounts;
  world.friendships = static_cast<int>(friendships.size());
  world.dana_social_account_id = people[0].social_user;
  // Dana's friends (1, 3 and 9 in her circle) have written something.
  const std::pair<int, const char*> posts[] = {
      {1, "The corner bakery had rye fresh out of the oven this morning."},
      {3, "Anyone up for a walk by the bay on Saturday?"},
      {9, "Finally finished the book club pick. No spoilers!"}};
  for (const auto& [author, text] : posts) {
    RETURN_IF_ERROR(social.posts().Create(people[author].social_user, text).status());
    ++world.posts;
  }

  // The customer list is matched against what the feed carried: wait for it.
  RETURN_IF_ERROR(WaitForFeed(social, people));

  ASSIGN_OR_RETURN(ads::NewAdvertiser bakery, ads.CreateAdvertiser("Corner Bakery"));
  world.advertisers = 1;
  world.advertiser_id = bakery.id;
  ASSIGN_OR_RETURN(ads::Audience audience,
                   ads.CreateAudience(bakery.id, "Loyalty card holders", "Customers with a loyalty card"));
  world.audience_id = audience.id;
  ads::UploadRequest upload;
  upload.session_id = "demo-loyalty-cards";
  upload.batch_seq = 1;
  upload.last_batch = true;
  upload.schema = ads::Schema::kPhoneSha256;
  phone::PhoneHasher hasher;
  for (int i = 0; i < kAudienceSocialUsers; ++i) upload.rows.push_back(hasher.HexHash(people[i].number));
  for (int i = kDemoSocialAccounts; i < kDemoSocialAccounts + kAudienceMessengerOnly; ++i) {
    upload.rows.push_back(hasher.HexHash(people[i].number));
  }
  upload.rows.push_back(hasher.HexHash(kDemoAliceNumber));
  world.audience_rows = static_cast<int64_t>(upload.rows.size());
  RETURN_IF_ERROR(ads.Upload(bakery.id, audience.id, ads::SessionKind::kAdd, upload).status());
  ads.WaitIdle();

  ads::CampaignSpec spec;
  spec.name = "Fresh rye";
  spec.creative = {"Fresh rye", "Baked daily", "https://bakery.example"};
  spec.include_audiences = {audience.id};
  spec.impression_budget = 1'000'000;
  // The walk-through shows the timeline again and again; the cap is the
  // platform's highest so that the ad stays.
  spec.frequency_cap_per_day = 100;
  ASSIGN_OR_RETURN(ads::Campaign campaign, ads.CreateCampaign(bakery.id, spec));
  world.campaign_id = campaign.id;

  RETURN_IF_ERROR(dana_store->SetSetting("server", server_address));
  RETURN_IF_ERROR(dana_store->SetSetting("social.token", dana_token));
  RETURN_IF_ERROR(dana_store->SetSetting("social.account_id", std::to_string(world.dana_social_account_id)));
  ASSIGN_OR_RETURN(auto bakery_store, client::ClientStore::Open(world.bakery_profile.string()));
  RETURN_IF_ERROR(bakery_store->SetSetting("server", server_address));
  RETURN_IF_ERROR(bakery_store->SetSetting("ads.token", bakery.token));
  RETURN_IF_ERROR(bakery_store->SetSetting("ads.advertiser_id", std::to_string(bakery.id)));
  world.created = true;
  return world;
}

}  // namespace

std::string DemoNumber(int i) { return absl::StrFormat("+1650555%04d", 100 + i); }

absl::StatusOr<DemoWorld> SetUpDemoWorld(relay::Relay& relay, social::SocialModule& social,
                                         ads::AdsModule& ads, const fs::path& data_dir,
                                         const std::string& server_address) {
  const fs::path demo_dir = data_dir / "demo";
  const fs::path marker = demo_dir / "world.json";
  std::error_code ec;
  if (fs::exists(marker, ec)) {
    ASSIGN_OR_RETURN(DemoWorld world, ReadMarker(marker));
    world.dana_profile = demo_dir / "dana.db";
    world.bakery_profile = demo_dir / "bakery.db";
    RETURN_IF_ERROR(PointProfilesAt(world, server_address));
    return world;
  }
  // Without the marker, any demo account means an interrupted build: its
  // keys and tokens are lost, so it cannot be completed, only started over.
  for (int i : {0, kDemoMessengerUsers - 1}) {
    ASSIGN_OR_RETURN(bool on_social, social.service().HasAccountWithPhone(DemoNumber(i)));
    if (relay.HasAccount(DemoNumber(i)) || on_social) {
      return absl::FailedPreconditionError(
          absl::StrCat("the data directory ", data_dir.string(), " holds part of a demo world but no ",
                       marker.string(), " (an interrupted start?); use an empty --data-dir for --demo"));
    }
  }
  fs::create_directories(demo_dir, ec);
  if (ec) return absl::InternalError(absl::StrCat("cannot create ", demo_dir.string(), ": ", ec.message()));
  ASSIGN_OR_RETURN(DemoWorld world, Build(relay, social, ads, demo_dir, server_address));
  RETURN_IF_ERROR(WriteFileAtomically(marker, MarkerOf(world).dump(2) + "\n"));
  return world;
}

}  // namespace tandem::app
