// The messenger relay, assembled: its SQLite database (<data_dir>/
// messenger.db, WAL, synchronous=FULL), the in-memory directory, the
// group-commit writer, the message stream (WebSocket at /v1/websocket), the
// account service and its HTTP routes.
//
// Configuration: the relay.* and feed.* keys of common/config_keys.cc
// (docs/configuration.md lists them with their defaults).
//
// Lifetime: create, RegisterRoutes() before the server is built,
// AttachTo(server) before it starts. To shut down: stop the server (no
// handler runs after that), then Stop() the relay (the writer finishes
// what was queued; every connection the relay still refers to is let go),
// then destroy the server, then the relay. A connection must not outlive
// its server, and the relay must not be gone while handlers may run.
#pragma once

#include <condition_variable>
#include <filesystem>
#include <memory>
#include <mutex>
#include <thread>

#include "common/clock.h"
#include "common/config.h"
#include "common/random.h"
#include "common/rate_limiter.h"
#include "feed/feed.h"
#include "feed/privacy.h"
#include "net/server.h"
#include "relay/accounts.h"
#include "relay/directory.h"
#include "relay/envelope_writer.h"
#include "relay/message_stream.h"
#include "store/store.h"
#include "verification/code_sender.h"

namespace tandem::relay {

struct RelayOptions {
  AccountOptions accounts;
  MessageStream::Options stream;
  EnvelopeWriter::Options writer;
  RateLimit send{500, absl::Milliseconds(10)};
  RateLimit lookup_miss{60, absl::Minutes(1)};
  // How often the background checkpointer copies the WAL into the database
  // while the WAL is under its restart size.
  absl::Duration checkpoint_interval = absl::Milliseconds(100);

  // Reads the relay.* keys of `config`; a key not set has the configuration
  // schema's default, which the defaults above equal (a test checks).
  static RelayOptions FromConfig(const Config& config);
};

class Relay {
 public:
  // Opens the databases and starts the writer and delivery threads.
  // `db` is the read-write connection, `reader` a second connection to the
  // same database for the delivery thread.
  static absl::StatusOr<std::unique_ptr<Relay>> Create(std::unique_ptr<store::Database> db,
                                                       std::unique_ptr<store::Database> reader,
                                                       std::unique_ptr<verification::CodeSender> code_sender,
                                                       RelayOptions options, net::Metrics& metrics,
                                                       const Clock& clock, Random& random);
  ~Relay();

  // Sets up the data-sharing feed and the privacy center (docs/feed.md):
  // the outbox is written in the transactions that create and delete
  // accounts, and usage summaries are appended periodically. Call before
  // RegisterRoutes.
  absl::Status EnableFeed(const Config& config, const Clock& clock);

  // Takes over WAL checkpoints with its own connection to the database,
  // a pass every checkpoint_interval. The WAL is started over once it holds
  // `restart_frames` frames. Counts the frames written to the WAL in
  // tandem_relay_wal_frames_total (as seen by its passes).
  void StartCheckpointer(std::unique_ptr<store::Database> connection,
                         int64_t restart_frames = kWalRestartFrames);
  static constexpr int64_t kWalRestartFrames = 32768;  // 128 MiB of 4 KiB pages

  // Appends the usage summaries that are due now instead of at the next
  // feed.usage_summary_interval_s (for usage recorded through an operator
  // path, AccountService::RecordUsage). Returns how many were appended.
  // FailedPrecondition without EnableFeed.
  absl::StatusOr<int> SummarizeUsageNow();

  void RegisterRoutes(net::Router& router);
  void AttachTo(net::Server& server);
  // Flushes the writer, stops the threads and lets go of every connection.
  // Idempotent. Call after the server stopped, before it is destroyed.
  void Stop();

  AccountService& accounts() { return *accounts_; }
  MessageStream& stream() { return *stream_; }
  EnvelopeWriter& writer() { return *writer_; }
  Directory& directory() { return directory_; }
  store::Database& database() { return *db_; }

 private:
  Relay() = default;

  std::unique_ptr<store::Database> db_;
  std::unique_ptr<store::Database> reader_;
  std::unique_ptr<verification::CodeSender> code_sender_;
  Directory directory_;
  std::unique_ptr<RateLimiter> send_limiter_;
  std::unique_ptr<RateLimiter> miss_limiter_;
  std::unique_ptr<EnvelopeWriter> writer_;
  std::shared_ptr<MessageStream> stream_;
  std::unique_ptr<AccountService> accounts_;

  // The data-sharing feed (optional).
  std::unique_ptr<feed::Outbox> outbox_;
  class PrivacyAccounts;
  std::unique_ptr<PrivacyAccounts> privacy_accounts_;  // before privacy_, which uses it
  std::unique_ptr<feed::PrivacyService> privacy_;
  std::string feed_token_;
  const Clock* clock_ = nullptr;
  std::thread summarizer_;
  // One summary pass at a time: two concurrent passes could both append a
  // summary for the same change.
  std::mutex summarize_mu_;
  // Checkpoints the WAL off the writer thread (the writer's connection has
  // automatic checkpoints off, so a checkpoint never stalls a batch).
  std::unique_ptr<store::Database> checkpointer_;
  std::thread checkpoint_thread_;
  absl::Duration checkpoint_interval_;
  net::Counter* wal_frames_ = nullptr;
  std::mutex summarizer_mu_;
  std::condition_variable summarizer_cv_;
  bool stopping_ = false;
};

// What tandemd calls: builds the relay from configuration with its own
// database file under `data_dir` and registers its HTTP routes. Returns
// nullptr (and OK) when relay.enabled is false. Also raises the soft
// open-file limit to the hard limit (every connection is a descriptor).
absl::StatusOr<std::unique_ptr<Relay>> StartRelay(const Config& config, const std::filesystem::path& data_dir,
                                                  net::Router& router, net::Metrics& metrics);

}  // namespace tandem::relay
