// Relay assembly and configuration.
#include "relay/relay.h"

#include <sys/resource.h>

#include "common/log.h"
#include "common/worker.h"
#include "crypto/attachment.h"
#include "relay/blob_api.h"
#include "relay/http_api.h"
#include "relay/relay_impl.h"

namespace tandem::relay {

// The privacy center's view of the messenger's accounts and usage metering
// (feed::MessengerAccounts): the relay's tables, read by the relay.
class RelayImpl::PrivacyAccounts final : public feed::MessengerAccounts {
 public:
  absl::StatusOr<Account> Get(store::Database& db, uint64_t account_id) override {
    ASSIGN_OR_RETURN(auto row, db::GetAccount(db, account_id));
    if (!row) return absl::NotFoundError("no such account");
    return Account{row->number, row->created_ms, row->identity_changed_ms};
  }
  absl::StatusOr<std::vector<UsageDay>> Usage(store::Database& db, uint64_t account_id) override {
    ASSIGN_OR_RETURN(auto rows, db::UsageOf(db, account_id));
    std::vector<UsageDay> out;
    for (auto& r : rows) out.push_back({std::move(r.day), r.sessions, r.messages});
    return out;
  }
  absl::StatusOr<std::vector<Activity>> ActivityBetween(store::Database& db, const std::string& first,
                                                        const std::string& last) override {
    ASSIGN_OR_RETURN(auto rows, db::ActivityBetween(db, first, last));
    std::vector<Activity> out;
    out.reserve(rows.size());
    for (auto& r : rows) {
      out.push_back(
          {r.account_id, std::move(r.number), static_cast<int>(r.active_days), std::move(r.last_active_day)});
    }
    return out;
  }
};

namespace {

RateLimit ReadLimit(const Config& config, const std::string& name) {
  return ReadRateLimit(config, "relay.limits." + name);
}

void RaiseOpenFileLimit() {
  rlimit rl{};
  if (getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur >= rl.rlim_max) return;
  rlim_t before = rl.rlim_cur;
  rl.rlim_cur = rl.rlim_max;
  if (setrlimit(RLIMIT_NOFILE, &rl) == 0) {
    log::Info("relay.open_file_limit",
              {{"from", static_cast<uint64_t>(before)}, {"to", static_cast<uint64_t>(rl.rlim_cur)}});
  }
}

}  // namespace

RelayOptions RelayOptions::FromConfig(const Config& config) {
  RelayOptions o;
  o.stream.max_queue_depth = config.GetInt("relay.max_queue_depth");
  o.accounts.directory_daily_budget = config.GetInt("relay.directory_daily_budget");
  o.writer.max_batch = static_cast<size_t>(config.GetInt("relay.batch_max"));
  o.writer.dedup_retention = absl::Hours(config.GetInt("relay.dedup_retention_hours"));
  o.writer.commit_gap = absl::Microseconds(config.GetInt("relay.commit_gap_us"));
  o.writer.purge_delay = absl::Milliseconds(config.GetInt("relay.ack_purge_delay_ms"));
  o.checkpoint_interval = absl::Milliseconds(config.GetInt("relay.checkpoint_interval_ms"));
  o.send = ReadLimit(config, "send");
  o.lookup_miss = ReadLimit(config, "lookup_miss");
  o.accounts.codes = verification::Limits::FromConfig(config, "relay.limits");
  o.accounts.bundle_fetches_per_account = ReadLimit(config, "bundle_fetches");
  o.attachments.max_length = static_cast<int64_t>(
      crypto::AttachmentBlobSize(static_cast<uint64_t>(config.GetInt("relay.attachments.max_mib")) << 20));
  o.attachments.max_chunk = config.GetInt("relay.attachments.chunk_mib") << 20;
  o.attachments.account_quota = config.GetInt("relay.attachments.quota_mib") << 20;
  o.attachments.retention = absl::Hours(24 * config.GetInt("relay.attachments.retention_days"));
  o.attachments.incomplete_retention =
      absl::Hours(config.GetInt("relay.attachments.incomplete_retention_hours"));
  return o;
}

// ---- Relay ----

absl::StatusOr<Relay::Storage> Relay::OpenSqliteStorage(const std::string& path,
                                                        const store::SqliteOptions& sqlite,
                                                        const RelayOptions& options, net::Metrics& metrics,
                                                        const Clock& clock) {
  store::GroupCommitOptions group_commit;
  group_commit.interval = options.checkpoint_interval;
  group_commit.log_restart_pages = options.wal_restart_pages;
  net::Counter* wal_frames = &metrics.GetCounter(
      "tandem_relay_wal_frames_total", "Pages written to the WAL, as counted by the checkpointer's passes");
  group_commit.count_log_pages = [wal_frames](uint64_t pages) { wal_frames->Inc(pages); };
  ASSIGN_OR_RETURN(store::GroupCommitDatabase opened,
                   store::OpenSqliteForGroupCommit(path, sqlite, std::move(group_commit), clock));
  Storage storage;
  storage.writer = std::move(opened.writer);
  storage.maintenance = std::move(opened.maintenance);
  // Migrate before the reader opens, so both see the schema.
  RETURN_IF_ERROR(db::Migrate(*storage.writer));
  ASSIGN_OR_RETURN(storage.reader, store::OpenSqlite(path, sqlite));
  return storage;
}

absl::StatusOr<std::unique_ptr<Relay>> Relay::Create(Storage storage,
                                                     std::unique_ptr<verification::CodeSender> code_sender,
                                                     RelayOptions options, net::Metrics& metrics,
                                                     const Clock& clock, Random& random) {
  ASSIGN_OR_RETURN(auto relay, RelayImpl::Create(std::move(storage), std::move(code_sender), options, metrics,
                                                 clock, random));
  return std::unique_ptr<Relay>(std::move(relay));
}

// ---- RelayImpl ----

absl::StatusOr<std::unique_ptr<RelayImpl>> RelayImpl::Create(
    Storage storage, std::unique_ptr<verification::CodeSender> code_sender, RelayOptions options,
    net::Metrics& metrics, const Clock& clock, Random& random) {
  RETURN_IF_ERROR(db::Migrate(*storage.writer));
  std::unique_ptr<RelayImpl> r(new RelayImpl(clock));
  r->db_ = std::move(storage.writer);
  r->reader_ = std::move(storage.reader);
  r->maintenance_ = std::move(storage.maintenance);
  r->code_sender_ = std::move(code_sender);
  r->send_limiter_ = std::make_unique<RateLimiter>(clock, options.send, "envelopes sent");
  r->miss_limiter_ =
      std::make_unique<RateLimiter>(clock, options.lookup_miss, "lookups of unregistered numbers");
  RelayImpl* self = r.get();
  r->writer_ = std::make_unique<EnvelopeWriter>(
      *r->db_, r->directory_, clock, options.writer, metrics,
      [self](const db::EnvelopeRow& e) { self->stream_->Push(e); }, r->maintenance_.get());
  r->stream_ = std::make_shared<MessageStream>(r->directory_, *r->writer_, *r->reader_, *r->send_limiter_,
                                               *r->miss_limiter_, metrics, options.stream, clock);
  r->accounts_ = std::make_unique<AccountService>(
      *r->db_, r->directory_, *r->writer_, clock, random, *r->code_sender_, *r->miss_limiter_,
      options.accounts, [self](uint64_t account, uint32_t device, const std::string& reason) {
        if (device == 0) {
          self->stream_->Disconnect(account, reason);
        } else {
          self->stream_->DisconnectDevice(account, device, reason);
        }
      });
  r->links_ = std::make_unique<DeviceLinks>(*r->accounts_, clock, random, options.links);
  RETURN_IF_ERROR(r->accounts_->LoadDirectory());
  RETURN_IF_ERROR(r->writer_->Start());
  r->stream_->Start();
  return r;
}

RelayImpl::~RelayImpl() { Stop(); }

absl::Status RelayImpl::EnableFeed(const Config& config) {
  ASSIGN_OR_RETURN(feed::Policy policy, feed::Policy::FromConfig(config));
  summary_interval_ = absl::Seconds(config.GetInt("feed.usage_summary_interval_s"));
  RETURN_IF_ERROR(feed::Migrate(*db_));
  feed_token_ = config.GetString("feed.token");
  outbox_ = std::make_unique<feed::Outbox>(std::move(policy));
  privacy_accounts_ = std::make_unique<PrivacyAccounts>();
  privacy_ = std::make_unique<feed::PrivacyService>(*db_, *outbox_, *privacy_accounts_, clock_);
  feed::Outbox* outbox = outbox_.get();
  accounts_->SetHooks(
      AccountHooks{[outbox](store::Database& tx, uint64_t id, const std::string& number, int64_t at_ms) {
                     return outbox->AccountLinked(tx, id, number, at_ms / 1000);
                   },
                   [outbox](store::Database& tx, uint64_t id, const std::string& number, int64_t at_ms) {
                     return outbox->AccountDeleted(tx, id, number, at_ms / 1000);
                   }});
  summarizer_ = std::make_unique<Worker>("usage-summary", clock_, [this] { return SummarizePass(); });
  return absl::OkStatus();
}

absl::Duration RelayImpl::SummarizePass() {
  auto n = SummarizeUsageNow();
  if (!n.ok()) {
    log::Warn("feed.usage_summary_failed", {{"error", std::string(n.status().message())}});
  } else if (*n > 0) {
    log::Info("feed.usage_summaries", {{"appended", *n}});
  }
  privacy_->SetSummarySchedule(absl::ToUnixSeconds(clock_.Now() + summary_interval_),
                               absl::ToInt64Seconds(summary_interval_));
  return summary_interval_;
}

absl::StatusOr<int> RelayImpl::SummarizeUsageNow() {
  if (!privacy_) return absl::FailedPreconditionError("the data-sharing feed is not enabled");
  std::lock_guard lock(summarize_mu_);
  return privacy_->SummarizeUsage(EnvelopeWriter::DayOf(clock_.Now()));
}

bool RelayImpl::HasAccount(const std::string& number) const {
  return directory_.AccountForNumber(number).has_value();
}

void RelayImpl::Start() {
  if (maintenance_) maintenance_->Start();
  if (summarizer_) summarizer_->Start();
}

void RelayImpl::Stop() {
  if (summarizer_) summarizer_->Stop();
  if (maintenance_) maintenance_->Stop();
  if (writer_) writer_->Stop();
  if (stream_) stream_->Stop();
}

void RelayImpl::RegisterRoutes(net::Router& router) {
  RegisterHttpRoutes(*accounts_, router);
  RegisterDeviceLinkRoutes(*accounts_, *links_, router);
  if (!outbox_) return;
  AccountService* accounts = accounts_.get();
  feed::AddRoutes(
      router, *db_, *outbox_, *privacy_, feed_token_,
      [accounts](const net::Request& req) -> absl::StatusOr<feed::Caller> {
        ASSIGN_OR_RETURN(Credentials c, ParseBasicAuthorization(req.Header("authorization")));
        RETURN_IF_ERROR(accounts->Authenticate(c));
        ASSIGN_OR_RETURN(auto info, accounts->GetAccountInfo(c));
        return feed::Caller{c.account_id, c.device_id, info.number, req.remote_address};
      },
      clock_);
}

void RelayImpl::AttachTo(net::Server& server) { server.AddWebSocket(std::string(kWebSocketPath), stream_); }

void RelayImpl::ReleaseAttachmentsTo(std::shared_ptr<BlobStore> store) {
  writer_->SetOnBodyReleased([store = std::move(store)](uint64_t owner, std::vector<std::string> ids) {
    // Only the sender's own uploads: a message cannot name someone else's
    // attachment to have it deleted early.
    for (const std::string& id : ids) {
      absl::Status st = store->DeleteOwn(owner, id);
      if (!st.ok() && !absl::IsNotFound(st)) {
        log::Warn("relay.attachment_release_failed", {{"error", std::string(st.message())}});
      }
    }
  });
}

// ---- RelayModule ----

absl::StatusOr<std::unique_ptr<RelayModule>> RelayModule::Create(const net::ModuleEnv& env) {
  if (!env.config.GetBool("relay.enabled")) return std::unique_ptr<RelayModule>();
  RaiseOpenFileLimit();
  RelayOptions options = RelayOptions::FromConfig(env.config);
  std::string path = (env.data_dir / "messenger.db").string();
  store::SqliteOptions sqlite;
  sqlite.synchronous_full = true;
  ASSIGN_OR_RETURN(Relay::Storage storage,
                   Relay::OpenSqliteStorage(path, sqlite, options, env.metrics, env.clock));
  ASSIGN_OR_RETURN(auto sender, verification::MakeCodeSender(
                                    env.config, "relay", env.data_dir / "verification-codes.log", env.clock));
  ASSIGN_OR_RETURN(auto relay, Relay::Create(std::move(storage), std::move(sender), options, env.metrics,
                                             env.clock, env.random));
  RETURN_IF_ERROR(relay->EnableFeed(env.config));
  relay->RegisterRoutes(env.router);
  ASSIGN_OR_RETURN(EnabledAttachments attachments,
                   EnableAttachments(env, relay->accounts(), path, options.attachments));
  relay->ReleaseAttachmentsTo(std::move(attachments.store));
  log::Info("relay.ready", {{"database", path}, {"accounts", static_cast<uint64_t>(relay->account_count())}});
  return std::unique_ptr<RelayModule>(new RelayModule(std::move(relay), std::move(attachments.expiry)));
}

RelayModule::~RelayModule() { Stop(); }

void RelayModule::AttachTo(net::Server& server) { relay_->AttachTo(server); }

absl::Status RelayModule::Start(const std::string& /*self_address*/) {
  relay_->Start();
  return absl::OkStatus();
}

void RelayModule::Stop() {
  if (blob_expiry_) blob_expiry_->Stop();
  relay_->Stop();
}

}  // namespace tandem::relay
