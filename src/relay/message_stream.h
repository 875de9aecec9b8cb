// The authenticated WebSocket message stream (GET /v1/websocket).
//
// Per connected device a DeviceSession tracks what was pushed: a cursor (the
// highest server id sent on this connection) and a window of envelopes sent
// but not yet acked (bounded in count and bytes, so a slow reader cannot
// make the relay buffer its whole queue). A session is either live (every
// newly committed envelope is pushed at once by the writer thread) or in
// backlog mode (the database may hold envelopes past the cursor; a delivery
// thread pages them in server id order on its own read connection as the
// window frees). A connection starts in backlog mode; the first time it
// catches up the relay sends QueueEmpty. Pushes never go below the cursor,
// so the two paths cannot reorder or duplicate on one connection.
// Envelopes sent but not acked before a disconnect are sent again on the
// next connection (at-least-once; clients drop repeats by server id).
//
// Concurrency: OnMessage/OnOpen/OnClose run on connection strands, Push on
// the writer thread, fetches on the delivery thread; each session has its
// own mutex and the registry another. Nothing here blocks on storage except
// the delivery thread.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <thread>
#include <unordered_map>

#include "absl/base/thread_annotations.h"
#include "common/clock.h"
#include "common/rate_limiter.h"
#include "net/server.h"
#include "relay/directory.h"
#include "relay/envelope_writer.h"
#include "relay/relay_store.h"
#include "store/store.h"

namespace tandem::relay {

struct DeviceSession;

class MessageStream final : public net::WebSocketHandler {
 public:
  struct Options {
    int64_t max_queue_depth = 10000;  // envelopes waiting per device
    size_t window_envelopes = 256;    // sent but unacked, per connection
    size_t window_bytes = 4 << 20;
  };

  // `reader` is a separate connection to the same database, used only by
  // the delivery thread. `send_limiter` limits submits per sending device;
  // `miss_limiter` limits lookups of unregistered numbers per account (it
  // bounds enumeration through "unknown recipient" errors).
  // The delivery thread waits on `clock`.
  MessageStream(Directory& directory, EnvelopeWriter& writer, store::Database& reader,
                RateLimiter& send_limiter, RateLimiter& miss_limiter, net::Metrics& metrics, Options options,
                const Clock& clock);
  ~MessageStream() override;

  void Start();
  // Stops the delivery thread and lets go of every connection (pushes stop).
  // Connections are closed by the server; call this after the server
  // stopped and before it is destroyed, since no connection may outlive it.
  // Submit answers never keep a connection alive.
  void Stop();

  // Writer callback: a newly committed envelope.
  void Push(const db::EnvelopeRow& envelope);
  // Closes every live connection of the account (code kCloseRevoked).
  void Disconnect(uint64_t account_id, const std::string& reason);
  // Closes the live connection of one device (code kCloseRevoked).
  void DisconnectDevice(uint64_t account_id, uint32_t device_id, const std::string& reason);

  absl::Status OnUpgrade(const net::Request& request, std::shared_ptr<void>* context) override;
  void OnOpen(const std::shared_ptr<net::WebSocketConnection>& conn) override;
  void OnMessage(const std::shared_ptr<net::WebSocketConnection>& conn, std::string data,
                 bool binary) override;
  void OnClose(const std::shared_ptr<net::WebSocketConnection>& conn) override;
  // Joins what queued up for connections that asked for batches.
  size_t JoinLimit(const net::WebSocketConnection& conn) override;
  std::string Join(std::span<const std::string> messages) override;

 private:
  void HandleFrame(const std::shared_ptr<DeviceSession>& session,
                   const std::shared_ptr<net::WebSocketConnection>& conn, pb::ClientFrame& frame);
  void HandleSubmit(const std::shared_ptr<DeviceSession>& session,
                    const std::shared_ptr<net::WebSocketConnection>& conn, uint64_t request_id,
                    pb::SubmitEnvelope& submit);
  void HandleMultiSubmit(const std::shared_ptr<DeviceSession>& session,
                         const std::shared_ptr<net::WebSocketConnection>& conn, uint64_t request_id,
                         pb::MultiSubmit& submit);
  void HandleAck(const std::shared_ptr<DeviceSession>& session, const pb::Ack& ack);
  absl::StatusOr<std::pair<uint64_t, uint32_t>> ResolveRecipient(const DeviceSession& sender,
                                                                 const pb::Recipient& recipient);
  // The account a recipient names by number (E.164, when `number` is set)
  // or by id; NotFound, for a token of the miss limiter, if none.
  absl::StatusOr<uint64_t> ResolveAccount(const DeviceSession& sender, const std::string* number,
                                          uint64_t account_id);
  absl::Status TakeMiss(const DeviceSession& sender);
  // Answers a submit on `conn` once the writer has its outcome.
  EnvelopeWriter::SubmitDone AnswerTo(const std::shared_ptr<net::WebSocketConnection>& conn,
                                      uint64_t request_id, std::string client_message_id);
  void ScheduleFetchLocked(const std::shared_ptr<DeviceSession>& session);
  void Fetch(const std::shared_ptr<DeviceSession>& session);
  void DeliveryLoop();
  std::shared_ptr<DeviceSession> Find(uint64_t account_id, uint32_t device_id) const;

  Directory& directory_;
  EnvelopeWriter& writer_;
  store::Database& reader_;
  RateLimiter& send_limiter_;
  RateLimiter& miss_limiter_;
  const Options options_;
  const Clock& clock_;
  net::Counter& submitted_;
  net::Counter& delivered_;
  net::Counter& rejected_;
  net::Gauge& devices_online_;

  mutable std::mutex registry_mu_;
  std::unordered_map<uint64_t, std::map<uint32_t, std::shared_ptr<DeviceSession>>> registry_
      ABSL_GUARDED_BY(registry_mu_);

  std::mutex fetch_mu_;
  std::condition_variable fetch_cv_;
  std::deque<std::shared_ptr<DeviceSession>> fetch_queue_ ABSL_GUARDED_BY(fetch_mu_);
  bool stopping_ ABSL_GUARDED_BY(fetch_mu_) = false;
  std::thread delivery_thread_;
};

}  // namespace tandem::relay
