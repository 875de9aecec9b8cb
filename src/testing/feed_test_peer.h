// Test support: a real net::Server that serves the feed contract
// (docs/feed.md) from events held in memory, a deterministic event
// generator, and a canonical dump of the social side's messenger facts.
// Used by unit tests, benchmarks and the social_feed_peer binary; never
// linked into tandemd.
#pragma once

#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "common/status.h"
#include "net/metrics.h"
#include "net/server.h"
#include "social/feed_event.h"
#include "store/store.h"

namespace tandem::social::testing {

// Thread-safe.
class FeedTestPeer {
 public:
  // With `control`, POST /test/events appends the JSON event in the body
  // (its seq, if 0 or missing, becomes head() + 1): for end-to-end scripts.
  explicit FeedTestPeer(std::string token, std::string listen = "127.0.0.1:0", int threads = 1,
                        bool control = false);
  ~FeedTestPeer();

  absl::Status Start();
  void Stop();
  // "127.0.0.1:<port>" after Start().
  std::string address() const;

  // Appends an event; a seq of 0 is replaced by head() + 1. Returns the seq.
  int64_t Append(FeedEvent e);
  // Appends any JSON object as an event (e.g. an unknown type); it must
  // carry its own seq.
  void AppendRaw(const std::string& json_object, int64_t seq);
  int64_t head() const;
  uint64_t requests() const;
  // Sleeps this long before answering each page (to stretch a feed out).
  void set_page_delay(absl::Duration d);
  // Whether wait_ms is honoured as the messenger does (a long poll, with
  // X-Feed-Wait-Ms); off by default, like a messenger from before long polls.
  void set_long_poll(bool on);

 private:
  net::Response Serve(net::Request& req, bool* empty = nullptr);

  std::string token_;
  net::Metrics metrics_;
  std::unique_ptr<net::Server> server_;
  mutable std::mutex mu_;
  std::vector<std::pair<int64_t, std::string>> events_;  // seq, serialized
  absl::Duration page_delay_ = absl::ZeroDuration();
  bool long_poll_ = false;
  std::vector<net::Wake> waiting_;  // woken by the next append
  uint64_t requests_ = 0;
};

// A deterministic feed over `accounts` messenger accounts ("m1".."mN",
// phones +1555000xxxx style): links first, then a random mix of usage
// summaries, objection changes, deletions and re-links.
std::vector<FeedEvent> GenerateFeed(uint64_t seed, size_t events, size_t accounts);
// The E.164 number GenerateFeed gives account `i` (1-based).
std::string GeneratedPhone(size_t i);

// Every messenger fact, the objections and the cursor of a social.db, one
// sorted line each; equal dumps mean equal feed-derived state.
absl::StatusOr<std::string> DumpFeedState(store::Database& db);

}  // namespace tandem::social::testing
