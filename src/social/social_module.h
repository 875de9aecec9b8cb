// The social operator as tandemd runs it: its database file, the service,
// posts, the HTTP routes (the timeline among them) and (when feed.url is
// set) the feed consumer thread.
//
// Configuration: the social.* and feed.* keys of common/config_keys.cc
// (docs/configuration.md lists them with their defaults). feed.url "self"
// is this tandemd (the embedded default); empty: no consumer.
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
  static absl::StatusOr<std::unique_ptr<SocialModule>> Create(const Config& config,
                                                              const std::string& data_dir,
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
