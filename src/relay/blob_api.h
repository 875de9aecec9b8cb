// The relay's attachment routes (docs/relay-protocol.md, "Attachments"),
// mapped onto a BlobStore, for callers authenticated with their device
// credentials like every other authenticated relay route:
//
//   POST   /v1/attachments                {"length": N} -> the upload
//   PUT    /v1/attachments/{id}?offset=K  raw chunk     -> the upload
//   GET    /v1/attachments/{id}/upload                  -> the upload
//   GET    /v1/attachments/{id}           the blob (Range: bytes=a-b for part)
//   DELETE /v1/attachments/{id}           the uploader withdraws it
//
// An upload is {"id", "length", "offset", "complete", "max_chunk"}. The PUT
// route takes bodies up to BlobStoreOptions::max_chunk, and checks the
// caller's credentials on the header, before any of the body is read.
#pragma once

#include <memory>
#include <string>

#include "net/http.h"
#include "net/module.h"
#include "relay/accounts.h"
#include "relay/blob_store.h"

namespace tandem {
class Worker;
}  // namespace tandem

namespace tandem::relay {

// Adds the routes. `accounts` must outlive the router's server; the routes
// share `blobs`.
void AddBlobRoutes(net::Router& router, AccountService& accounts, std::shared_ptr<BlobStore> blobs,
                   const BlobStoreOptions& options);

// The attachments as tandemd runs them: a LocalBlobStore under
// <data_dir>/attachments, its metadata in the relay database at
// `database_path` (on a connection of its own, so that uploads never wait
// for the envelope writer), its expiry run every options.upkeep_interval on
// a worker thread, and its routes on env.router, which own all of it.
// Returns the store too, for the relay to Delete() the blobs of messages
// every recipient acknowledged, and the expiry worker, which the module
// stops when it stops: the worker waits on env.clock, and the routes that
// own it may outlive that clock.
struct EnabledAttachments {
  std::shared_ptr<BlobStore> store;
  std::shared_ptr<Worker> expiry;
};
absl::StatusOr<EnabledAttachments> EnableAttachments(const net::ModuleEnv& env, AccountService& accounts,
                                                     const std::string& database_path,
                                                     const BlobStoreOptions& options);

}  // namespace tandem::relay
