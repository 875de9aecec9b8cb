// A RelayTransport for tests that runs a relay's handlers in the calling
// process: no sockets, no server. HTTP requests go to the matched handler
// of a net::Router; a message stream is a fake net::WebSocketConnection
// driven through the net::WebSocketHandler registered for its path, as
// net::Server would drive it (OnUpgrade, OnOpen, OnMessage, OnClose).
//
// Not supported: long-poll routes (answered 501), and joined WebSocket
// messages (every frame the handler sends is received on its own).
//
// Thread safety: Request and OpenStream may be called from several threads
// (one per client); a stream is used by one thread, while the handler may
// Send and Close from any thread.
#pragma once

#include <atomic>
#include <map>
#include <memory>
#include <string>

#include "client/relay_transport.h"
#include "common/clock.h"
#include "net/http.h"
#include "net/server.h"

namespace tandem::client {

class InProcessTransport final : public RelayTransport {
 public:
  // `router` and every handler given to AddWebSocket must outlive the
  // transport and its streams. Receive timeouts are measured on `clock`
  // (with a FakeClock, a waiting Receive returns once the clock is
  // advanced past its timeout, or a frame arrives).
  InProcessTransport(const net::Router& router, const Clock& clock);

  // Serves the message stream at `path` with `handler` (the counterpart of
  // net::Server::AddWebSocket). Call before the first OpenStream.
  void AddWebSocket(std::string path, net::WebSocketHandler& handler);

  // `server` is ignored: every request reaches this transport's router.
  absl::StatusOr<net::HttpResponse> Request(const std::string& server, const std::string& method,
                                            const std::string& target, const std::string& body,
                                            const net::Headers& headers) override;
  absl::StatusOr<std::unique_ptr<RelayStream>> OpenStream(const std::string& server,
                                                          const std::string& target,
                                                          const net::Headers& headers) override;

 private:
  net::Request MakeRequest(const std::string& method, const std::string& target, const std::string& body,
                           const net::Headers& headers);

  const net::Router& router_;
  const Clock& clock_;
  std::map<std::string, net::WebSocketHandler*> websockets_;
  std::atomic<uint64_t> next_id_{1};
};

}  // namespace tandem::client
