// How a MessengerClient reaches its relay: HTTP requests for registration,
// keys, the directory and the privacy center, and one message stream (the
// relay's WebSocket, docs/relay-protocol.md) for envelopes. The client is
// written against this seam so that it can run over the network
// (NetworkTransport, the default) or, in tests, over an in-process
// transport that hands requests straight to a relay's handlers.
#pragma once

#include <memory>
#include <string>

#include "absl/time/time.h"
#include "common/status.h"
#include "net/client.h"

namespace tandem::client {

// One open message stream. Used by one thread at a time (the client's).
class RelayStream {
 public:
  virtual ~RelayStream() = default;
  // Queues one binary frame for the relay; never blocks.
  virtual void Send(std::string frame) = 0;
  // The next frame from the relay. DeadlineExceeded when none arrives
  // within `timeout`; Unavailable once the stream is closed (by either
  // side) and every frame that arrived before has been returned.
  virtual absl::StatusOr<std::string> Receive(absl::Duration timeout) = 0;
  // Closes the stream once the frames queued by Send() have gone out;
  // frames not yet received are dropped. Idempotent.
  virtual void Close(int code, std::string reason) = 0;
  virtual bool closed() const = 0;
  // The close code the relay sent (0 if none).
  virtual int close_code() const = 0;
};

// Thread safety: used by one MessengerClient from one thread; an
// implementation need not be thread-safe.
class RelayTransport {
 public:
  virtual ~RelayTransport() = default;
  // Sends one HTTP request to the relay at `server` ("host:port").
  // Unavailable if the relay cannot be reached; any HTTP status (4xx and
  // 5xx too) is returned as a response.
  virtual absl::StatusOr<net::HttpResponse> Request(const std::string& server, const std::string& method,
                                                    const std::string& target, const std::string& body,
                                                    const net::Headers& headers) = 0;
  // Opens the message stream at `target` (path and query). A refused
  // upgrade is returned as the Status the relay answered with.
  virtual absl::StatusOr<std::unique_ptr<RelayStream>> OpenStream(const std::string& server,
                                                                  const std::string& target,
                                                                  const net::Headers& headers) = 0;
};

// The network: one keep-alive net::HttpClient for the current server, and
// each stream a net::WebSocketClient on a runtime of its own.
std::unique_ptr<RelayTransport> MakeNetworkTransport();

}  // namespace tandem::client
