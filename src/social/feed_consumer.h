// The social side of the feed: pulls events from the messenger operator with
// a cursor and applies each exactly once, in order.
//
// FeedApplier writes a batch of events and the new cursor in one
// transaction, then mirrors the effects into the fact index (SocialDb::Write),
// so a crash at any point leaves either all of a batch or none of it.
// Effects: account_linked upserts the account's phone; usage_summary
// replaces its usage; objection_changed records the objection state for the
// purpose; account_deleted removes every messenger fact of the account.
//
// FeedConsumer runs the pull loop on a tandem::Worker: GET
// /v1/feed/events?after=<cursor>&limit=<batch>&wait_ms=<wait>, apply,
// repeat. With `wait` set the request is a long poll: the messenger answers
// as soon as an event follows the cursor (or with an empty page after the
// wait), so the consumer asks again at once. A peer that does not honour
// wait_ms (no X-Feed-Wait-Ms in its answer: an older messenger) is polled
// instead, sleeping poll_interval after a page with has_more false, as
// with wait zero. A page that cannot be applied (an
// unknown event type, a malformed event, an unknown cursor, rejected
// credentials) stops progress at the last good event: the error is logged,
// counted in tandem_social_feed_errors_total{reason} and flagged by the
// tandem_social_feed_stalled gauge, and the consumer retries after
// error_backoff without ever skipping the event.
//
// Stop() cancels the request in flight and joins the thread; what fails
// because of a stop is no error (nothing is logged or counted). Every wait
// (poll interval, error backoff) and the apply-time metric take their time
// from the Clock, so a FakeClock drives them in tests.
//
// Thread safety: FeedApplier is thread-safe (writes are serialized by
// SocialDb). FeedConsumer's PollOnce must not run concurrently with its own
// thread (call it only when Start() was not called).
#pragma once

#include <atomic>
#include <memory>
#include <mutex>
#include <span>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/time/time.h"
#include "common/clock.h"
#include "common/status.h"
#include "common/worker.h"
#include "net/metrics.h"
#include "social/feed_event.h"
#include "social/social_db.h"

namespace tandem::social {

class FeedApplier {
 public:
  explicit FeedApplier(SocialDb& db) : db_(db) {}
  // The seq of the last applied event (0 before the first).
  absl::StatusOr<int64_t> Cursor();
  // Applies the events with seq above the stored cursor, in one transaction
  // that also stores the new cursor. Returns how many were applied.
  absl::StatusOr<size_t> Apply(std::span<const FeedEvent> events);

 private:
  SocialDb& db_;
};

struct FeedConsumerOptions {
  std::string url;    // "host:port" of the messenger operator (feed.url)
  std::string token;  // bearer token (feed.token)
  int batch = 500;    // events per request, 1..5000 (feed.batch)
  // The long poll's wait (feed.wait_ms); zero: plain polling.
  absl::Duration wait = absl::Seconds(25);
  absl::Duration poll_interval = absl::Milliseconds(200);  // feed.poll_interval_ms, without long polls
  absl::Duration error_backoff = absl::Seconds(1);         // feed.error_backoff_ms
  // For one request; a long poll gets `wait` on top.
  absl::Duration request_timeout = absl::Seconds(5);
};

struct PollResult {
  size_t applied = 0;
  int64_t cursor = 0;
  bool has_more = false;
  bool long_poll = false;  // the peer honoured the wait (X-Feed-Wait-Ms > 0)
};

class FeedConsumer {
 public:
  FeedConsumer(SocialDb& db, FeedConsumerOptions options, net::Metrics& metrics, const Clock& clock);
  ~FeedConsumer();  // stops the thread
  FeedConsumer(const FeedConsumer&) = delete;
  FeedConsumer& operator=(const FeedConsumer&) = delete;

  // Fetches and applies one page. Errors: Unauthenticated (credentials
  // rejected), InvalidArgument (unknown cursor, or a bad event, after the
  // good events before it were applied), Unavailable (peer unreachable or a
  // 5xx answer).
  absl::StatusOr<PollResult> PollOnce();
  // Pulls until the feed reports no more events or an error occurs.
  absl::StatusOr<int64_t> CatchUp();

  // Starts the pull loop; a no-op while it runs. A Start() after Stop()
  // starts a new loop.
  void Start();
  void Stop();  // idempotent
  // The last error's message, or "" while healthy.
  std::string last_error() const;

 private:
  // One pass of the loop (the Worker's step): returns the wait before the
  // next pull.
  absl::Duration Step();
  void RecordError(const absl::Status& st, std::string_view reason);

  SocialDb& db_;
  FeedApplier applier_;
  FeedConsumerOptions options_;
  net::Metrics& metrics_;
  const Clock& clock_;
  // Replaced only by Stop(), after the loop has ended.
  std::unique_ptr<class HttpClientHolder> http_;
  net::Gauge* cursor_gauge_;
  net::Gauge* stalled_gauge_;
  net::Histogram* apply_seconds_;

  // Set by Stop() before it cancels the request in flight, so that what
  // the cancel makes fail is not reported.
  std::atomic<bool> stopping_{false};
  bool long_poll_unsupported_ = false;  // logged once; only the loop's thread
  mutable std::mutex mu_;
  std::string last_error_ ABSL_GUARDED_BY(mu_);
  // Start() and Stop() are called by the owner's thread only.
  std::unique_ptr<Worker> worker_;
};

}  // namespace tandem::social
