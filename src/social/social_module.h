// The social operator as tandemd runs it: its database file, the service,
// posts, the HTTP routes (the timeline among them) and (when feed.url is
// set) the feed consumer thread.
//
// Configuration keys:
//   social.enabled        (bool, default true)
//   social.db             (path, default <data_dir>/social.db)
//   social.code_sender    ("dev" (default) or "http", see verification/code_sender.h;
//                         with "http": social.sms_gateway_url, social.sms_gateway_timeout_ms)
//   social.code_log       (path, default <data_dir>/social-verification-codes.log:
//                         where the "dev" sender appends "<UTC time> <number> <code>")
//   social.code_ttl_s     (int, default 600)
//   social.limits.<name>.burst / .interval_ms  token buckets (defaults in
//                         social_service.h, documented in docs/social-api.md):
//                         codes_per_address, codes_per_prefix, codes_per_number,
//                         verifies_per_address, verifies_per_number,
//                         address_book_new_numbers
//   feed.url              ("host:port" of the messenger operator; "self": this
//                         tandemd, for the embedded default; empty: no consumer)
//   feed.token            (bearer token; required with feed.url)
//   feed.batch            (events per pull, 1..5000, default 500)
//   feed.wait_ms          (long poll wait, default 25000; 0: plain polling)
//   feed.poll_interval_ms (default 200; the pause between polls without
//                         long polls)
//   feed.error_backoff_ms (default 1000)
#pragma once

#include <memory>
#include <optional>
#include <string>

#include "common/clock.h"
#include "common/config.h"
#include "common/random.h"
#include "net/http.h"
#include "net/metrics.h"
#include "social/feed_consumer.h"
#include "social/social_db.h"
#include "social/social_service.h"
#include "verification/code_sender.h"

namespace tandem::social {

class AdSource;
class Posts;

class SocialModule {
 public:
  // Opens the database and adds the routes. Returns nullptr if
  // social.enabled is false. InvalidArgument for bad configuration.
  static absl::StatusOr<std::unique_ptr<SocialModule>> Create(const Config& config, const std::string& data_dir,
                                                              net::Router& router, net::Metrics& metrics);
  ~SocialModule();

  // Starts the feed consumer (if configured). Call once the server serves;
  // `self_address` (host:port of this server) replaces feed.url "self".
  void Start(const std::string& self_address = "");
  // Stops the feed consumer, cancelling its request in flight; idempotent.
  // Call before the server it pulls from drains, so that the drain is no
  // error to it.
  void StopFeed();

  // Connects the ad platform to the timeline (null: a timeline without
  // ads). Call before the server serves: requests read it unlocked.
  void SetAdSource(AdSource* ads) { ad_source_ = ads; }

  SocialDb& db() { return *db_; }
  SocialService& service() { return *service_; }
  Posts& posts() { return *posts_; }

 private:
  SocialModule() = default;

  std::unique_ptr<SocialDb> db_;
  std::unique_ptr<verification::CodeSender> sender_;
  std::unique_ptr<SocialService> service_;
  std::unique_ptr<Posts> posts_;
  AdSource* ad_source_ = nullptr;
  std::optional<FeedConsumerOptions> feed_options_;
  net::Metrics* metrics_ = nullptr;
  std::unique_ptr<FeedConsumer> consumer_;
};

}  // namespace tandem::social
