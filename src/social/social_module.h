// The social operator as tandemd runs it: its database file, the service,
// posts, the HTTP routes (the timeline among them) and (when feed.url is
// set) the feed consumer thread.
//
// Configuration: the social.* and feed.* keys of common/config_keys.cc
// (docs/configuration.md lists them with their defaults). feed.url "self"
// is this tandemd (the embedded default); empty: no consumer.
//
// Thread safety: Create, Start, BeginStop and Stop are called by tandemd's
// main thread, in that order (net/module.h); the accessors are for wiring
// before the server serves and for tandemd's demo world.
#pragma once

#include <memory>
#include <optional>
#include <string>

#include "net/module.h"
#include "social/feed_consumer.h"
#include "social/social_db.h"
#include "social/social_service.h"
#include "verification/code_sender.h"

namespace tandem::social {

class AdSource;
class Posts;

class SocialModule final : public net::Module {
 public:
  // Opens the database (server.data_dir/social.db unless social.db is set)
  // and adds the routes. Returns nullptr if social.enabled is false.
  // InvalidArgument for bad configuration. Time and randomness come from
  // `env`.
  static absl::StatusOr<std::unique_ptr<SocialModule>> Create(const net::ModuleEnv& env);
  ~SocialModule() override;

  // Starts the feed consumer (if configured); `self_address` (host:port of
  // this server) replaces feed.url "self". Call once the server serves.
  absl::Status Start(const std::string& self_address) override;
  // Stops the feed consumer, cancelling its request in flight; idempotent.
  // Called before the server it pulls from drains, so that the drain is no
  // error to it.
  void BeginStop() override;
  // BeginStop(); nothing else runs in the background.
  void Stop() override;

  // Connects the ad platform to the timeline (null: a timeline without
  // ads). Call before the server serves: requests read it unlocked.
  void SetAdSource(AdSource* ads) { ad_source_ = ads; }

  SocialDb& db() { return *db_; }
  SocialService& service() { return *service_; }
  Posts& posts() { return *posts_; }

 private:
  // Defined where Posts is complete (unique_ptr members).
  SocialModule(const Clock& clock, net::Metrics& metrics);

  const Clock& clock_;
  net::Metrics& metrics_;
  std::unique_ptr<SocialDb> db_;
  std::unique_ptr<verification::CodeSender> sender_;
  std::unique_ptr<SocialService> service_;
  std::unique_ptr<Posts> posts_;
  AdSource* ad_source_ = nullptr;
  std::optional<FeedConsumerOptions> feed_options_;
  std::unique_ptr<FeedConsumer> consumer_;
};

}  // namespace tandem::social
