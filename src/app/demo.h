// The demo world of `tandemd serve --demo`: a few hundred messenger users
// with real keys and four weeks of usage, most of them with social accounts
// on the same numbers, friendships and address books among them, and an
// advertiser whose customer list matches them, with a running campaign; plus
// two client profiles under <data_dir>/demo/ (docs/demo.md lists what the
// walk-through relies on).
//
// Everything is created in-process through the services' operator paths
// (relay::AccountService::ProvisionAccount and RecordUsage,
// social::SocialService::ProvisionAccount, the ads service), never through
// the HTTP routes: no limit that protects a route is raised, bypassed or
// spent, so a newcomer's own registrations from 127.0.0.1 meet the usual
// limits with their full budget.
//
// Idempotent: <data_dir>/demo/world.json, written last, marks a finished
// world; a later start with --demo reuses it, creates nothing and only
// points the profiles at the server's current address. A data directory
// that holds part of a world without the marker (a start interrupted while
// building) is refused rather than built over.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>

#include "common/status.h"

namespace tandem::relay {
class Relay;
}
namespace tandem::social {
class SocialModule;
}
namespace tandem::ads {
class AdsModule;
}

namespace tandem::app {

// The demo's numbers: +1 650 555 0100 to +1 650 555 0399 (the 555-01xx to
// 555-03xx lines of area code 650, which libphonenumber accepts). The
// walk-through's own numbers, +14155550101 (Alice) and +14155550102 (Bob),
// are outside the block.
inline constexpr int kDemoMessengerUsers = 300;  // +16505550100 + i
inline constexpr int kDemoSocialAccounts = 250;  // the first 250 of them
inline constexpr char kDemoAliceNumber[] = "+14155550101";
inline constexpr char kDemoBobNumber[] = "+14155550102";
// The i-th demo number (0 <= i < kDemoMessengerUsers).
std::string DemoNumber(int i);

struct DemoWorld {
  bool created = false;  // false: the world of an earlier start was reused
  int messenger_users = 0;
  int social_accounts = 0;
  int friendships = 0;
  int address_books = 0;
  int posts = 0;
  int advertisers = 0;
  int64_t advertiser_id = 0;
  int64_t audience_id = 0;
  int64_t audience_rows = 0;  // numbers on the customer list
  int64_t campaign_id = 0;
  std::string dana_number;
  int64_t dana_social_account_id = 0;
  std::filesystem::path dana_profile;    // <data_dir>/demo/dana.db
  std::filesystem::path bakery_profile;  // <data_dir>/demo/bakery.db
};

// Builds the world, or reuses the one an earlier start built. Call after
// the server listens and the social module's feed consumer and the ads
// worker have started: the customer list is matched only once the feed has
// carried every demo account and usage summary to the social side (waited
// for, up to 30 s). `server_address` (host:port) is stored in the profiles.
// FailedPrecondition for a partly built world; DeadlineExceeded if the
// feed does not deliver (the social side must consume this relay's feed).
absl::StatusOr<DemoWorld> SetUpDemoWorld(relay::Relay& relay, social::SocialModule& social,
                                         ads::AdsModule& ads, const std::filesystem::path& data_dir,
                                         const std::string& server_address);

}  // namespace tandem::app
