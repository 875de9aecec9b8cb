// The messenger relay, assembled: its database (<data_dir>/messenger.db),
// the in-memory directory, the group-commit writer, the message stream
// (WebSocket at /v1/websocket), the account service and its HTTP routes.
// `Relay` is the narrow interface tandemd, the demo and tests use; the
// implementation is RelayImpl (relay_impl.h). tandemd runs it as a
// RelayModule (net::Module).
//
// Configuration: the relay.* and feed.* keys of common/config_keys.cc
// (docs/configuration.md lists them with their defaults).
//
// Lifetime: create, RegisterRoutes() before the server is built,
// AttachTo(server) before it starts, Start() once it serves. To shut down:
// stop the server (no handler runs after that), then Stop() the relay (the
// writer finishes what was queued; every connection the relay still refers
// to is let go), then destroy the server, then the relay. A connection must
// not outlive its server, and the relay must not be gone while handlers may
// run.
//
// Thread safety: RegisterRoutes, AttachTo, Start and Stop are called from
// one thread in that order; the accessors and SummarizeUsageNow may be
// called from any thread between Create and Stop.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "net/module.h"
#include "relay/relay_options.h"
#include "store/maintenance.h"
#include "store/store.h"

namespace tandem {
class Worker;
}  // namespace tandem

namespace tandem::verification {
class CodeSender;
}  // namespace tandem::verification

namespace tandem::relay {

class BlobStore;

class AccountService;
class DeviceLinks;
class Directory;
class EnvelopeWriter;
class MessageStream;

class Relay {
 public:
  // The relay's connections to its database.
  struct Storage {
    std::unique_ptr<store::Database> writer;          // read-write, for the writer thread
    std::unique_ptr<store::Database> reader;          // a second one, for the delivery thread
    std::unique_ptr<store::Maintenance> maintenance;  // null for none
  };
  // Opens the SQLite database at `path` as tandemd does: a writer tuned for
  // group commit with its WAL maintenance (a pass every
  // options.checkpoint_interval, counted in tandem_relay_wal_frames_total
  // of `metrics`), the relay's schema migrated, then the reader.
  static absl::StatusOr<Storage> OpenSqliteStorage(const std::string& path,
                                                   const store::SqliteOptions& sqlite,
                                                   const RelayOptions& options, net::Metrics& metrics,
                                                   const Clock& clock);

  // Migrates the schema, loads the directory and starts the writer and
  // delivery threads. `clock` and `random` must outlive the relay.
  static absl::StatusOr<std::unique_ptr<Relay>> Create(Storage storage,
                                                       std::unique_ptr<verification::CodeSender> code_sender,
                                                       RelayOptions options, net::Metrics& metrics,
                                                       const Clock& clock, Random& random);
  virtual ~Relay() = default;

  // Sets up the data-sharing feed and the privacy center (docs/feed.md):
  // the outbox is written in the transactions that create and delete
  // accounts, and usage summaries are appended every
  // feed.usage_summary_interval_s once started. Call before RegisterRoutes.
  virtual absl::Status EnableFeed(const Config& config) = 0;
  virtual void RegisterRoutes(net::Router& router) = 0;
  virtual void AttachTo(net::Server& server) = 0;
  // Where the attachments that messages carry live: once every copy of a
  // message that names some was acknowledged (or it expired), those its
  // sender uploaded are deleted from `store`. Call before serving.
  virtual void ReleaseAttachmentsTo(std::shared_ptr<BlobStore> store) = 0;
  // Starts the background work: the storage maintenance and, with the
  // feed, the usage summaries. Call once.
  virtual void Start() = 0;
  // Flushes the writer, stops the threads and lets go of every connection.
  // Idempotent. Call after the server stopped, before it is destroyed.
  virtual void Stop() = 0;

  // Appends the usage summaries that are due now instead of at the next
  // feed.usage_summary_interval_s (for usage recorded through an operator
  // path, AccountService::RecordUsage). Returns how many were appended.
  // FailedPrecondition without EnableFeed.
  virtual absl::StatusOr<int> SummarizeUsageNow() = 0;
  // Operator paths (the demo): provisioning accounts, recording usage.
  virtual AccountService& accounts() = 0;
  // Whether `number` (E.164) has a messenger account.
  virtual bool HasAccount(const std::string& number) const = 0;
  // How many accounts the directory holds.
  virtual size_t account_count() const = 0;

  // Test hooks, for tests only: the parts, to drive and inspect them.
  virtual MessageStream& StreamForTesting() = 0;
  virtual EnvelopeWriter& WriterForTesting() = 0;
  virtual Directory& DirectoryForTesting() = 0;
  virtual store::Database& DatabaseForTesting() = 0;
  virtual DeviceLinks& LinksForTesting() = 0;
};

// The relay as tandemd runs it: its own database file under the env's
// data_dir, the code sender of the configuration, the env's clock and
// randomness. Also raises the soft open-file limit to the hard limit (every
// connection is a descriptor).
class RelayModule final : public net::Module {
 public:
  // nullptr (and OK) when relay.enabled is false. Registers the relay's
  // routes on env.router.
  static absl::StatusOr<std::unique_ptr<RelayModule>> Create(const net::ModuleEnv& env);
  ~RelayModule() override;

  void AttachTo(net::Server& server) override;
  absl::Status Start(const std::string& self_address) override;
  void Stop() override;

  Relay& relay() { return *relay_; }

 private:
  RelayModule(std::unique_ptr<Relay> relay, std::shared_ptr<Worker> blob_expiry)
      : relay_(std::move(relay)), blob_expiry_(std::move(blob_expiry)) {}
  std::unique_ptr<Relay> relay_;
  std::shared_ptr<Worker> blob_expiry_;  // stopped with the module (EnableAttachments)
};

}  // namespace tandem::relay
