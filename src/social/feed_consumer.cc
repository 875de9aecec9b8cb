// Exactly-once application of feed events and the pull loop.
#include "social/feed_consumer.h"

#include <chrono>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "common/log.h"
#include "net/client.h"

namespace tandem::social {

class HttpClientHolder {
 public:
  HttpClientHolder(const std::string& base, absl::Duration timeout) : client(base, timeout) {}
  net::HttpClient client;
};

absl::StatusOr<int64_t> FeedApplier::Cursor() {
  ASSIGN_OR_RETURN(auto row, db_.db().QueryOne("SELECT seq FROM feed_cursor WHERE id = 1"));
  return row.Int(0);
}

absl::StatusOr<size_t> FeedApplier::Apply(std::span<const FeedEvent> events) {
  std::vector<const FeedEvent*> applied;
  RETURN_IF_ERROR(db_.Write(
      [&](store::Database& db) -> absl::Status {
        applied.clear();
        ASSIGN_OR_RETURN(auto row, db.QueryOne("SELECT seq FROM feed_cursor WHERE id = 1"));
        int64_t cursor = row.Int(0);
        for (const FeedEvent& e : events) {
          if (e.seq <= cursor) continue;  // applied before: exactly once
          cursor = e.seq;
          applied.push_back(&e);
          switch (e.type) {
            case FeedEventType::kAccountLinked:
              RETURN_IF_ERROR(
                  db.Execute("INSERT INTO messenger_accounts (account_id, phone, linked_at, seq) "
                             "VALUES ($1, $2, $3, $4) ON CONFLICT (account_id) DO UPDATE SET "
                             "phone = excluded.phone, linked_at = excluded.linked_at, seq = excluded.seq",
                             {e.account_id, e.phone, e.at, e.seq})
                      .status());
              break;
            case FeedEventType::kUsageSummary:
              RETURN_IF_ERROR(
                  db.Execute("INSERT INTO messenger_usage (account_id, day, active_days_28, "
                             "last_active_day, at, seq) VALUES ($1, $2, $3, $4, $5, $6) "
                             "ON CONFLICT (account_id) DO UPDATE SET day = excluded.day, "
                             "active_days_28 = excluded.active_days_28, "
                             "last_active_day = excluded.last_active_day, at = excluded.at, "
                             "seq = excluded.seq",
                             {e.account_id, e.day, e.active_days_28, e.last_active_day, e.at, e.seq})
                      .status());
              break;
            case FeedEventType::kObjectionChanged:
              RETURN_IF_ERROR(
                  db.Execute("INSERT INTO messenger_objections (account_id, purpose, objected, at, seq) "
                             "VALUES ($1, $2, $3, $4, $5) ON CONFLICT (account_id, purpose) DO UPDATE "
                             "SET objected = excluded.objected, at = excluded.at, seq = excluded.seq",
                             {e.account_id, std::string(PurposeName(e.purpose)), e.objected, e.at, e.seq})
                      .status());
              break;
            case FeedEventType::kAccountDeleted:
              for (std::string_view table :
                   {"messenger_accounts", "messenger_usage", "messenger_objections"}) {
                RETURN_IF_ERROR(
                    db.Execute(absl::StrCat("DELETE FROM ", std::string(table), " WHERE account_id = $1"),
                               {e.account_id})
                        .status());
              }
              break;
          }
        }
        if (applied.empty()) return absl::OkStatus();
        return db
            .Execute("UPDATE feed_cursor SET seq = $1, updated_at = $2 WHERE id = 1",
                     {cursor, applied.back()->at})
            .status();
      },
      [&](FactIndex& index) {
        for (const FeedEvent* e : applied) {
          switch (e->type) {
            case FeedEventType::kAccountLinked:
              index.LinkMessengerAccount(e->account_id, PhoneKeyFromE164(e->phone));
              break;
            case FeedEventType::kUsageSummary: {
              uint16_t day = 0;
              ParseDay(e->last_active_day, &day);
              index.SetMessengerUsage(e->account_id, static_cast<uint8_t>(e->active_days_28), day);
              break;
            }
            case FeedEventType::kObjectionChanged:
              index.SetObjection(e->account_id, e->purpose, e->objected);
              break;
            case FeedEventType::kAccountDeleted:
              index.DeleteMessengerAccount(e->account_id);
              break;
          }
        }
      }));
  return applied.size();
}

FeedConsumer::FeedConsumer(SocialDb& db, FeedConsumerOptions options, net::Metrics& metrics)
    : db_(db),
      applier_(db),
      options_(std::move(options)),
      metrics_(metrics),
      http_(std::make_unique<HttpClientHolder>(options_.url, options_.request_timeout + options_.wait)) {
  cursor_gauge_ =
      &metrics_.GetGauge("tandem_social_feed_cursor", "Sequence number of the last applied feed event");
  stalled_gauge_ =
      &metrics_.GetGauge("tandem_social_feed_stalled",
                         "1 while the feed consumer cannot make progress (see the errors counter and log)");
  apply_seconds_ =
      &metrics_.GetHistogram("tandem_social_feed_apply_seconds", "Time to apply one page of feed events");
  if (auto c = applier_.Cursor(); c.ok()) cursor_gauge_->Set(*c);
}

FeedConsumer::~FeedConsumer() { Stop(); }

bool FeedConsumer::stopping() const {
  std::lock_guard lock(mu_);
  return stopping_;
}

void FeedConsumer::RecordError(const absl::Status& st, std::string_view reason) {
  if (stopping()) return;  // the stop cut the request short
  metrics_
      .GetCounter("tandem_social_feed_errors_total", "Feed pulls that failed, by reason",
                  {{"reason", std::string(reason)}})
      .Inc();
  stalled_gauge_->Set(1);
  std::lock_guard lock(mu_);
  std::string message(st.message());
  if (message != last_error_) {
    log::Error("social.feed_error", {{"reason", reason}, {"error", message}});
    last_error_ = message;
  }
}

absl::StatusOr<PollResult> FeedConsumer::PollOnce() {
  ASSIGN_OR_RETURN(int64_t cursor, applier_.Cursor());
  const int64_t wait_ms = absl::ToInt64Milliseconds(options_.wait);
  std::string target = absl::StrCat("/v1/feed/events?after=", cursor, "&limit=", options_.batch);
  if (wait_ms > 0) absl::StrAppend(&target, "&wait_ms=", wait_ms);
  auto response = http_->client.Get(target, {{"Authorization", "Bearer " + options_.token}});
  if (!response.ok()) {
    RecordError(response.status(), "unavailable");
    return absl::UnavailableError(
        absl::StrCat("feed unreachable: ", std::string(response.status().message())));
  }
  if (response->status == 401 || response->status == 403) {
    absl::Status st =
        absl::UnauthenticatedError("the messenger operator rejected the feed credentials (feed.token)");
    RecordError(st, "unauthenticated");
    return st;
  }
  if (response->status == 400) {
    absl::Status server = net::StatusFromResponse(*response);
    absl::Status st = absl::InvalidArgumentError(
        absl::StrCat("feed rejected cursor ", cursor, ": ", std::string(server.message())));
    RecordError(st, "bad_cursor");
    return st;
  }
  if (response->status != 200) {
    absl::Status st = absl::UnavailableError(absl::StrCat("feed answered HTTP ", response->status));
    RecordError(st, "unavailable");
    return st;
  }
  const auto start = std::chrono::steady_clock::now();
  auto page = ParseFeedPage(response->body, cursor);
  if (!page.ok()) {
    RecordError(page.status(), "bad_page");
    return page.status();
  }
  PollResult result;
  ASSIGN_OR_RETURN(result.applied, applier_.Apply(page->events));
  apply_seconds_->Observe(std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
  result.cursor = page->events.empty() ? cursor : page->events.back().seq;
  result.has_more = page->has_more;
  int64_t waited = 0;
  result.long_poll = absl::SimpleAtoi(response->Header("x-feed-wait-ms"), &waited) && waited > 0;
  cursor_gauge_->Set(result.cursor);
  for (const FeedEvent& e : page->events) {
    metrics_
        .GetCounter("tandem_social_feed_events_applied_total", "Feed events applied, by type",
                    {{"type", std::string(FeedEventTypeName(e.type))}})
        .Inc();
  }
  if (!page->error.ok()) {
    RecordError(page->error, "bad_event");
    return page->error;
  }
  stalled_gauge_->Set(0);
  std::lock_guard lock(mu_);
  if (!last_error_.empty()) {
    log::Info("social.feed_recovered", {{"cursor", result.cursor}});
    last_error_.clear();
  }
  return result;
}

absl::StatusOr<int64_t> FeedConsumer::CatchUp() {
  while (true) {
    ASSIGN_OR_RETURN(PollResult r, PollOnce());
    if (!r.has_more) return r.cursor;
  }
}

void FeedConsumer::Start() {
  std::lock_guard lock(mu_);
  if (thread_.joinable()) return;
  stopping_ = false;
  thread_ = std::thread([this] { Run(); });
  log::Info("social.feed_consumer_started", {{"url", options_.url},
                                             {"batch", options_.batch},
                                             {"wait_ms", absl::ToInt64Milliseconds(options_.wait)}});
}

void FeedConsumer::Stop() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (!thread_.joinable()) return;
  http_->client.Cancel();
  thread_.join();
  // A cancelled client stays cancelled; a later Start() gets a new one.
  http_ = std::make_unique<HttpClientHolder>(options_.url, options_.request_timeout + options_.wait);
}

std::string FeedConsumer::last_error() const {
  std::lock_guard lock(mu_);
  return last_error_;
}

void FeedConsumer::Run() {
  while (true) {
    auto r = PollOnce();
    absl::Duration wait = absl::ZeroDuration();
    if (!r.ok()) {
      wait = options_.error_backoff;
    } else {
      log::Debug("social.feed_pulled",
                 {{"cursor", r->cursor}, {"applied", static_cast<uint64_t>(r->applied)}});
      if (!r->has_more && !r->long_poll) {
        wait = options_.poll_interval;
        if (options_.wait > absl::ZeroDuration() && !long_poll_unsupported_) {
          long_poll_unsupported_ = true;
          log::Info(
              "social.feed_polling",
              {{"url", options_.url}, {"reason", "the messenger does not answer wait_ms; polling instead"}});
        }
      }
    }
    std::unique_lock lock(mu_);
    if (stopping_) return;
    if (wait > absl::ZeroDuration()) {
      cv_.wait_for(lock, absl::ToChronoNanoseconds(wait), [this] { return stopping_; });
      if (stopping_) return;
    }
  }
}

}  // namespace tandem::social
