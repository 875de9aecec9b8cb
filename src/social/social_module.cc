// Assembly of the social operator from configuration.
#include "social/social_module.h"

#include "absl/strings/str_cat.h"
#include "common/config.h"
#include "common/log.h"
#include "net/http.h"
#include "net/metrics.h"
#include "social/ad_source.h"
#include "social/http_api.h"
#include "social/posts.h"

namespace tandem::social {

absl::StatusOr<std::unique_ptr<SocialModule>> SocialModule::Create(const net::ModuleEnv& env) {
  const Config& config = env.config;
  const std::string data_dir = env.data_dir.string();
  if (!config.GetBool("social.enabled")) return std::unique_ptr<SocialModule>();
  int64_t code_ttl = config.GetInt("social.code_ttl_s");
  int64_t batch = config.GetInt("feed.batch");
  int64_t wait_ms = config.GetInt("feed.wait_ms");
  int64_t poll_ms = config.GetInt("feed.poll_interval_ms");
  int64_t backoff_ms = config.GetInt("feed.error_backoff_ms");
  std::string feed_url = config.GetString("feed.url");
  std::string feed_token = config.GetString("feed.token");
  if (!feed_url.empty() && feed_token.empty()) {
    return absl::InvalidArgumentError("feed.url is set but feed.token is empty");
  }

  std::unique_ptr<SocialModule> m(new SocialModule(env.clock, env.metrics));
  std::string db_path = config.GetString("social.db");
  if (db_path.empty()) db_path = data_dir + "/social.db";
  auto db = SocialDb::OpenSqlite(db_path);
  if (!db.ok()) {
    return absl::Status(db.status().code(),
                        absl::StrCat("social database ", db_path, ": ", std::string(db.status().message())));
  }
  m->db_ = std::move(*db);
  SocialServiceOptions options;
  options.code_ttl = absl::Seconds(code_ttl);
  options.codes = verification::Limits::FromConfig(config, "social.limits");
  options.address_book_new_numbers = ReadRateLimit(config, "social.limits.address_book_new_numbers");
  std::string code_log = config.GetString("social.code_log");
  if (code_log.empty()) code_log = data_dir + "/social-verification-codes.log";
  ASSIGN_OR_RETURN(m->sender_, verification::MakeCodeSender(config, "social", code_log, env.clock));
  m->service_ = std::make_unique<SocialService>(*m->db_, *m->sender_, env.clock, env.random, options);
  ASSIGN_OR_RETURN(m->posts_, Posts::Create(*m->db_, env.clock));
  AddSocialRoutes(env.router, *m->service_);
  AddTimelineRoutes(env.router, *m->service_, *m->posts_, &m->ad_source_);
  if (!feed_url.empty()) {
    FeedConsumerOptions fo;
    fo.url = feed_url;
    fo.token = feed_token;
    fo.batch = static_cast<int>(batch);
    fo.wait = absl::Milliseconds(wait_ms);
    fo.poll_interval = absl::Milliseconds(poll_ms);
    fo.error_backoff = absl::Milliseconds(backoff_ms);
    // The consumer is built in Start(), when "self" can be resolved.
    m->feed_options_ = fo;
  }
  log::Info("social.ready", {{"db", db_path},
                             {"users", static_cast<uint64_t>(m->db_->index().user_count())},
                             {"feed", feed_url.empty() ? std::string("off") : feed_url}});
  return m;
}

SocialModule::SocialModule(const Clock& clock, net::Metrics& metrics) : clock_(clock), metrics_(metrics) {}

SocialModule::~SocialModule() { Stop(); }

void SocialModule::BeginStop() {
  if (consumer_) consumer_->Stop();
}

void SocialModule::Stop() { BeginStop(); }

absl::Status SocialModule::Start(const std::string& self_address) {
  if (!feed_options_ || consumer_) return absl::OkStatus();
  FeedConsumerOptions fo = *feed_options_;
  if (fo.url == "self") fo.url = self_address;
  consumer_ = std::make_unique<FeedConsumer>(*db_, fo, metrics_, clock_);
  consumer_->Start();
  return absl::OkStatus();
}

}  // namespace tandem::social
