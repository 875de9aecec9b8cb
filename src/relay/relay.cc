// Relay assembly and configuration.
#include "relay/relay.h"

#include <sys/resource.h>

#include <optional>

#include "absl/strings/str_cat.h"
#include "common/log.h"
#include "relay/http_api.h"

namespace tandem::relay {

// The privacy center's view of the messenger's accounts and usage metering
// (feed::MessengerAccounts): the relay's tables, read by the relay.
class Relay::PrivacyAccounts final : public feed::MessengerAccounts {
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
  return o;
}

absl::StatusOr<std::unique_ptr<Relay>> Relay::Create(std::unique_ptr<store::Database> db,
                                                     std::unique_ptr<store::Database> reader,
                                                     std::unique_ptr<verification::CodeSender> code_sender,
                                                     RelayOptions options, net::Metrics& metrics,
                                                     const Clock& clock, Random& random) {
  RETURN_IF_ERROR(db::Migrate(*db));
  std::unique_ptr<Relay> r(new Relay());
  r->db_ = std::move(db);
  r->reader_ = std::move(reader);
  r->code_sender_ = std::move(code_sender);
  r->checkpoint_interval_ = options.checkpoint_interval;
  r->wal_frames_ = &metrics.GetCounter("tandem_relay_wal_frames_total",
                                       "Pages written to the WAL, as counted by the checkpointer's passes");
  r->send_limiter_ = std::make_unique<RateLimiter>(clock, options.send, "envelopes sent");
  r->miss_limiter_ =
      std::make_unique<RateLimiter>(clock, options.lookup_miss, "lookups of unregistered numbers");
  Relay* self = r.get();
  r->writer_ = std::make_unique<EnvelopeWriter>(*r->db_, r->directory_, clock, options.writer, metrics,
                                                [self](const db::EnvelopeRow& e) { self->stream_->Push(e); });
  r->stream_ = std::make_shared<MessageStream>(r->directory_, *r->writer_, *r->reader_, *r->send_limiter_,
                                               *r->miss_limiter_, metrics, options.stream);
  r->accounts_ = std::make_unique<AccountService>(
      *r->db_, r->directory_, *r->writer_, clock, random, *r->code_sender_, *r->miss_limiter_,
      options.accounts,
      [self](uint64_t account, const std::string& reason) { self->stream_->Disconnect(account, reason); });
  RETURN_IF_ERROR(r->accounts_->LoadDirectory());
  RETURN_IF_ERROR(r->writer_->Start());
  r->stream_->Start();
  return r;
}

Relay::~Relay() { Stop(); }

absl::Status Relay::EnableFeed(const Config& config, const Clock& clock) {
  ASSIGN_OR_RETURN(feed::Policy policy, feed::Policy::FromConfig(config));
  int64_t interval_s = config.GetInt("feed.usage_summary_interval_s");
  RETURN_IF_ERROR(feed::Migrate(*db_));
  clock_ = &clock;
  feed_token_ = config.GetString("feed.token");
  outbox_ = std::make_unique<feed::Outbox>(std::move(policy));
  privacy_accounts_ = std::make_unique<PrivacyAccounts>();
  privacy_ = std::make_unique<feed::PrivacyService>(*db_, *outbox_, *privacy_accounts_, clock);
  feed::Outbox* outbox = outbox_.get();
  accounts_->SetHooks(
      AccountHooks{[outbox](store::Database& tx, uint64_t id, const std::string& number, int64_t at_ms) {
                     return outbox->AccountLinked(tx, id, number, at_ms / 1000);
                   },
                   [outbox](store::Database& tx, uint64_t id, const std::string& number, int64_t at_ms) {
                     return outbox->AccountDeleted(tx, id, number, at_ms / 1000);
                   }});
  summarizer_ = std::thread([this, interval = absl::Seconds(interval_s)] {
    std::unique_lock lock(summarizer_mu_);
    while (!stopping_) {
      lock.unlock();
      auto n = SummarizeUsageNow();
      if (!n.ok()) {
        log::Warn("feed.usage_summary_failed", {{"error", std::string(n.status().message())}});
      } else if (*n > 0) {
        log::Info("feed.usage_summaries", {{"appended", *n}});
      }
      privacy_->SetSummarySchedule(absl::ToUnixSeconds(clock_->Now() + interval),
                                   absl::ToInt64Seconds(interval));
      lock.lock();
      summarizer_cv_.wait_for(lock, std::chrono::nanoseconds(absl::ToInt64Nanoseconds(interval)),
                              [this] { return stopping_; });
    }
  });
  return absl::OkStatus();
}

absl::StatusOr<int> Relay::SummarizeUsageNow() {
  if (!privacy_) return absl::FailedPreconditionError("the data-sharing feed is not enabled");
  std::lock_guard lock(summarize_mu_);
  return privacy_->SummarizeUsage(EnvelopeWriter::DayOf(clock_->Now()));
}

void Relay::StartCheckpointer(std::unique_ptr<store::Database> connection, int64_t restart_frames) {
  checkpointer_ = std::move(connection);
  checkpoint_thread_ = std::thread([this, restart_frames] {
    // Set while the writer has a restart to do: no pass of our own until it
    // did (a pass holding the checkpoint lock would make the writer's copy
    // fail, and it would have to be asked again).
    std::optional<uint64_t> asked_after;
    auto asked_at = std::chrono::steady_clock::now();
    int64_t frames_seen = 0;  // in the current log at the last pass
    const auto interval = absl::ToChronoMilliseconds(checkpoint_interval_);
    std::unique_lock lock(summarizer_mu_);
    while (!stopping_) {
      lock.unlock();
      bool behind = false;
      if (asked_after && writer_->wal_restarts_done() == *asked_after &&
          std::chrono::steady_clock::now() - asked_at < std::chrono::seconds(1)) {
        behind = true;  // still waiting for the writer
      } else {
        asked_after.reset();
        // PASSIVE never waits for the writer or readers; what it cannot copy
        // now it copies next time. It answers (busy, frames in the WAL,
        // frames copied).
        auto r = checkpointer_->Query("PRAGMA wal_checkpoint(PASSIVE)");
        if (!r.ok()) {
          log::Warn("relay.checkpoint_failed", {{"error", std::string(r.status().message())}});
        } else if (!r->empty()) {
          int64_t frames = (*r)[0].Int(1), copied = (*r)[0].Int(2);
          // A log that shrank was started over since the last pass.
          wal_frames_->Inc(static_cast<uint64_t>(frames >= frames_seen ? frames - frames_seen : frames));
          frames_seen = frames;
          if (frames >= restart_frames) {
            // Under steady writes the WAL would only grow: the log starts
            // over only when a write begins with every frame copied. The
            // writer copies the few frames added since this pass, between
            // batches (it waits for that copy and its fsync, so the fewer
            // the better). Past four times the size it copies whatever is
            // left, however long.
            if (frames - copied <= restart_frames / 64 || frames >= 4 * restart_frames) {
              asked_after = writer_->wal_restarts_done();
              asked_at = std::chrono::steady_clock::now();
              writer_->RequestWalRestart();
            }
            behind = true;
          }
        }
      }
      lock.lock();
      // Small, frequent passes: each one's fsync of the database is short,
      // so the writer's fdatasync of the WAL seldom queues behind a long one
      // (passes every 250 ms or 1 s made the commits' tail longer).
      summarizer_cv_.wait_for(lock, behind ? std::chrono::milliseconds(5) : interval,
                              [this] { return stopping_; });
    }
  });
}

void Relay::Stop() {
  {
    std::lock_guard lock(summarizer_mu_);
    stopping_ = true;
    summarizer_cv_.notify_all();
  }
  if (summarizer_.joinable()) summarizer_.join();
  if (checkpoint_thread_.joinable()) checkpoint_thread_.join();
  if (writer_) writer_->Stop();
  if (stream_) stream_->Stop();
}

void Relay::RegisterRoutes(net::Router& router) {
  RegisterHttpRoutes(*accounts_, router);
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
      *clock_);
}

void Relay::AttachTo(net::Server& server) { server.AddWebSocket(std::string(kWebSocketPath), stream_); }

absl::StatusOr<std::unique_ptr<Relay>> StartRelay(const Config& config, const std::filesystem::path& data_dir,
                                                  net::Router& router, net::Metrics& metrics) {
  if (!config.GetBool("relay.enabled")) return std::unique_ptr<Relay>();
  RaiseOpenFileLimit();
  RelayOptions options = RelayOptions::FromConfig(config);
  std::string path = (data_dir / "messenger.db").string();
  store::SqliteOptions sqlite;
  sqlite.synchronous_full = true;
  ASSIGN_OR_RETURN(auto db, store::OpenSqlite(path, sqlite));
  // Migrate before the reader opens, so both see the schema.
  RETURN_IF_ERROR(db::Migrate(*db));
  ASSIGN_OR_RETURN(auto reader, store::OpenSqlite(path, sqlite));
  ASSIGN_OR_RETURN(auto checkpointer, store::OpenSqlite(path, sqlite));
  // The WAL file is cut back only past twice the restart size: cutting it
  // to the restart size itself would shorten and regrow it in every cycle
  // (an ftruncate and block allocations the next fdatasyncs have to commit).
  RETURN_IF_ERROR(db->ExecuteScript(absl::StrCat("PRAGMA wal_autocheckpoint=0; PRAGMA journal_size_limit=",
                                                 2 * Relay::kWalRestartFrames * 4096)));
  ASSIGN_OR_RETURN(auto sender,
                   verification::MakeCodeSender(config, "relay", data_dir / "verification-codes.log",
                                                SystemClock::Real()));
  ASSIGN_OR_RETURN(auto relay, Relay::Create(std::move(db), std::move(reader), std::move(sender), options,
                                             metrics, SystemClock::Real(), SecureRandom::Instance()));
  relay->StartCheckpointer(std::move(checkpointer));
  RETURN_IF_ERROR(relay->EnableFeed(config, SystemClock::Real()));
  relay->RegisterRoutes(router);
  log::Info("relay.ready",
            {{"database", path}, {"accounts", static_cast<uint64_t>(relay->directory().account_count())}});
  return relay;
}

}  // namespace tandem::relay
