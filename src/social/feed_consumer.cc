// Exactly-once application of feed events and the pull loop.
#include "social/feed_consumer.h"

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "common/log.h"
#include "net/client.h"
#include "social/social_store.h"

namespace tandem::social {

class HttpClientHolder {
 public:
  HttpClientHolder(const std::string& base, absl::Duration timeout) : client(base, timeout) {}
  net::HttpClient client;
};

absl::StatusOr<int64_t> FeedApplier::Cursor() { return db_.Read(&db::FeedCursor); }

absl::StatusOr<size_t> FeedApplier::Apply(std::span<const FeedEvent> events) {
  std::vector<const FeedEvent*> applied;
  RETURN_IF_ERROR(db_.Write(
      [&](store::Database& tx) -> absl::Status {
        applied.clear();
        ASSIGN_OR_RETURN(int64_t cursor, db::FeedCursor(tx));
        for (const FeedEvent& e : events) {
          if (e.seq <= cursor) continue;  // applied before: exactly once
          cursor = e.seq;
          applied.push_back(&e);
          const absl::Time at = absl::FromUnixSeconds(e.at);
          switch (e.type) {
            case FeedEventType::kAccountLinked:
              RETURN_IF_ERROR(db::PutMessengerAccount(tx, {e.account_id, e.phone}, at, e.seq));
              break;
            case FeedEventType::kUsageSummary:
              RETURN_IF_ERROR(db::PutMessengerUsage(
                  tx, {e.account_id, e.day, e.active_days_28, e.last_active_day}, at, e.seq));
              break;
            case FeedEventType::kObjectionChanged:
              RETURN_IF_ERROR(
                  db::PutMessengerObjection(tx, {e.account_id, e.purpose, e.objected}, at, e.seq));
              break;
            case FeedEventType::kAccountDeleted:
              RETURN_IF_ERROR(db::DeleteMessengerAccount(tx, e.account_id));
              break;
          }
        }
        if (applied.empty()) return absl::OkStatus();
        return db::SetFeedCursor(tx, cursor, absl::FromUnixSeconds(applied.back()->at));
      },
      [&](FactIndex& index) {
        for (const FeedEvent* e : applied) {
          switch (e->type) {
            case FeedEventType::kAccountLinked:
              index.LinkMessengerAccount(e->account_id, PhoneKeyFromE164(e->phone));
              break;
            case FeedEventType::kUsageSummary: {
              // Checked when the page was parsed (feed_event.cc).
              index.SetMessengerUsage(e->account_id, static_cast<uint8_t>(e->active_days_28),
                                      ParseDay(e->last_active_day).value_or(0));
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

FeedConsumer::FeedConsumer(SocialDb& db, FeedConsumerOptions options, net::Metrics& metrics,
                           const Clock& clock)
    : db_(db),
      applier_(db),
      options_(std::move(options)),
      metrics_(metrics),
      clock_(clock),
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

void FeedConsumer::RecordError(const absl::Status& st, std::string_view reason) {
  if (stopping_) return;  // the stop cut the request short
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
  const absl::Duration start = clock_.Monotonic();
  auto page = ParseFeedPage(response->body, cursor);
  if (!page.ok()) {
    RecordError(page.status(), "bad_page");
    return page.status();
  }
  PollResult result;
  ASSIGN_OR_RETURN(result.applied, applier_.Apply(page->events));
  apply_seconds_->Observe(absl::ToDoubleSeconds(clock_.Monotonic() - start));
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
  if (worker_) return;
  stopping_ = false;
  worker_ = std::make_unique<Worker>("social-feed", clock_, [this] { return Step(); });
  worker_->Start();
  log::Info("social.feed_consumer_started", {{"url", options_.url},
                                             {"batch", options_.batch},
                                             {"wait_ms", absl::ToInt64Milliseconds(options_.wait)}});
}

void FeedConsumer::Stop() {
  stopping_ = true;
  if (!worker_) return;
  http_->client.Cancel();
  worker_->Stop();
  worker_.reset();
  // A cancelled client stays cancelled; a later Start() or PollOnce() gets
  // a new one.
  http_ = std::make_unique<HttpClientHolder>(options_.url, options_.request_timeout + options_.wait);
}

std::string FeedConsumer::last_error() const {
  std::lock_guard lock(mu_);
  return last_error_;
}

absl::Duration FeedConsumer::Step() {
  auto r = PollOnce();
  if (!r.ok()) return options_.error_backoff;
  log::Debug("social.feed_pulled", {{"cursor", r->cursor}, {"applied", static_cast<uint64_t>(r->applied)}});
  if (r->has_more || r->long_poll) return absl::ZeroDuration();
  if (options_.wait > absl::ZeroDuration() && !long_poll_unsupported_) {
    long_poll_unsupported_ = true;
    log::Info("social.feed_polling",
              {{"url", options_.url}, {"reason", "the messenger does not answer wait_ms; polling instead"}});
  }
  return options_.poll_interval;
}

}  // namespace tandem::social
