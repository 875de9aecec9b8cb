// The relay's tunables (relay.* configuration keys).
#pragma once

#include "absl/time/time.h"
#include "common/rate_limiter.h"
#include "relay/accounts.h"
#include "relay/blob_store.h"
#include "relay/device_links.h"
#include "relay/envelope_writer.h"
#include "relay/message_stream.h"
#include "store/maintenance.h"

namespace tandem {
class Config;
}  // namespace tandem

namespace tandem::relay {

struct RelayOptions {
  AccountOptions accounts;
  DeviceLinkOptions links;  // no configuration keys: the defaults
  MessageStream::Options stream;
  EnvelopeWriter::Options writer;
  RateLimit send{500, absl::Milliseconds(10)};
  RateLimit lookup_miss{60, absl::Minutes(1)};
  // How often the storage maintenance copies the WAL into the database
  // while the WAL is under its restart size.
  absl::Duration checkpoint_interval = absl::Milliseconds(100);
  // The WAL is started over once it holds this many pages.
  int64_t wal_restart_pages = store::GroupCommitOptions::kDefaultLogRestartPages;
  // Attachment blobs: sizes, chunks, quota, retention (relay.attachments.*).
  BlobStoreOptions attachments;

  // Reads the relay.* keys of `config`; a key not set has the configuration
  // schema's default, which the defaults above equal (a test checks).
  static RelayOptions FromConfig(const Config& config);
};

}  // namespace tandem::relay
