// The implementation of relay::Relay (relay.h). Only relay.cc and the
// relay's own tests include this.
#pragma once

#include <memory>
#include <mutex>
#include <string>

#include "absl/base/thread_annotations.h"
#include "common/clock.h"
#include "common/config.h"
#include "common/random.h"
#include "common/rate_limiter.h"
#include "common/worker.h"
#include "feed/feed.h"
#include "feed/privacy.h"
#include "net/server.h"
#include "relay/accounts.h"
#include "relay/device_links.h"
#include "relay/directory.h"
#include "relay/envelope_writer.h"
#include "relay/message_stream.h"
#include "relay/relay.h"
#include "store/maintenance.h"
#include "store/store.h"
#include "verification/code_sender.h"

namespace tandem::relay {

class RelayImpl final : public Relay {
 public:
  static absl::StatusOr<std::unique_ptr<RelayImpl>> Create(
      Storage storage, std::unique_ptr<verification::CodeSender> code_sender, RelayOptions options,
      net::Metrics& metrics, const Clock& clock, Random& random);
  ~RelayImpl() override;

  absl::Status EnableFeed(const Config& config) override;
  void RegisterRoutes(net::Router& router) override;
  void AttachTo(net::Server& server) override;
  void ReleaseAttachmentsTo(std::shared_ptr<BlobStore> store) override;
  void Start() override;
  void Stop() override;
  absl::StatusOr<int> SummarizeUsageNow() override;
  AccountService& accounts() override { return *accounts_; }
  bool HasAccount(const std::string& number) const override;
  size_t account_count() const override { return directory_.account_count(); }

  MessageStream& StreamForTesting() override { return *stream_; }
  EnvelopeWriter& WriterForTesting() override { return *writer_; }
  Directory& DirectoryForTesting() override { return directory_; }
  store::Database& DatabaseForTesting() override { return *db_; }
  DeviceLinks& LinksForTesting() override { return *links_; }

 private:
  explicit RelayImpl(const Clock& clock) : clock_(clock) {}
  // One pass of the usage summarizer; returns the delay to the next.
  absl::Duration SummarizePass();

  const Clock& clock_;
  std::unique_ptr<store::Database> db_;
  std::unique_ptr<store::Database> reader_;
  std::unique_ptr<store::Maintenance> maintenance_;
  std::unique_ptr<verification::CodeSender> code_sender_;
  Directory directory_;
  std::unique_ptr<RateLimiter> send_limiter_;
  std::unique_ptr<RateLimiter> miss_limiter_;
  std::unique_ptr<EnvelopeWriter> writer_;
  std::shared_ptr<MessageStream> stream_;
  std::unique_ptr<AccountService> accounts_;
  std::unique_ptr<DeviceLinks> links_;

  // The data-sharing feed (optional).
  std::unique_ptr<feed::Outbox> outbox_;
  class PrivacyAccounts;
  std::unique_ptr<PrivacyAccounts> privacy_accounts_;  // before privacy_, which uses it
  std::unique_ptr<feed::PrivacyService> privacy_;
  std::string feed_token_;
  absl::Duration summary_interval_;
  // One summary pass at a time: two concurrent passes could both append a
  // summary for the same change.
  std::mutex summarize_mu_;
  std::unique_ptr<Worker> summarizer_;  // with the feed
};

}  // namespace tandem::relay
