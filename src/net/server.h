// An HTTP/1.1 and WebSocket server on Boost.Beast.
//
// Concurrency: one io_context run by `threads` threads; every connection
// lives on its own strand, so a connection's handlers never run
// concurrently with each other, while different connections run in
// parallel. HTTP handlers run on the connection's strand and should not
// block for long. WebSocketConnection::Send may be called from any thread.
//
// Built in endpoints: GET /healthz (200 {"status":"ok"} while serving, 503
// while draining) and GET /metrics (Prometheus text format).
//
// Long polls (Router::LongPoll) wait on a timer of their connection's
// strand, not on a thread.
//
// Shutdown: Stop() closes the listener, lets in-flight requests finish,
// answers waiting long polls at once (WaitEnd::kDraining), closes idle
// keep-alive connections and WebSockets (close code 1001), and returns when
// every connection is gone or the drain timeout passed.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>

#include "absl/time/time.h"
#include "common/status.h"
#include "net/http.h"
#include "net/metrics.h"

namespace tandem::net {

class WebSocketConnection {
 public:
  virtual ~WebSocketConnection() = default;
  // Queues a message; thread-safe; never blocks. If the peer does not keep
  // up and the queue passes ServerOptions::max_ws_queue_bytes, the
  // connection is closed with code 1008.
  virtual void Send(std::string data, bool binary = true) = 0;
  // Sends a close frame after the queued messages; thread-safe.
  virtual void Close(int code, std::string reason) = 0;
  virtual uint64_t id() const = 0;
  virtual const std::string& remote_address() const = 0;
  // Whatever OnUpgrade stored (e.g. the authenticated account).
  virtual const std::shared_ptr<void>& context() const = 0;
};

class WebSocketHandler {
 public:
  virtual ~WebSocketHandler() = default;
  // Decides whether to accept the upgrade (e.g. checks credentials). A non-OK
  // status is answered as an HTTP error and the socket is closed. Runs on the
  // connection's strand.
  virtual absl::Status OnUpgrade(const Request& request, std::shared_ptr<void>* context) {
    return absl::OkStatus();
  }
  virtual void OnOpen(const std::shared_ptr<WebSocketConnection>& conn) {}
  // One complete message. Runs on the connection's strand.
  virtual void OnMessage(const std::shared_ptr<WebSocketConnection>& conn, std::string data, bool binary) = 0;
  virtual void OnClose(const std::shared_ptr<WebSocketConnection>& conn) {}

  // Joining. When several binary messages are waiting for a connection
  // (its peer, or the socket, is behind what is sent to it), the server may
  // write up to JoinLimit(conn) of them, at most
  // ServerOptions::max_ws_joined_bytes together, as the one message
  // Join() makes of them in order. A limit below 2 (the default) never
  // joins. Both run on the connection's strand.
  virtual size_t JoinLimit(const WebSocketConnection& conn) { return 0; }
  virtual std::string Join(std::span<const std::string> messages) { return {}; }
};

struct ServerOptions {
  std::string listen = "127.0.0.1:8080";  // host:port; port 0 picks a free one
  int threads = 0;                        // 0: one per core
  // Threads for Work::kHeavy handlers (0: half the cores, at least one), and
  // how many such requests may wait for them before new ones get 503.
  int worker_threads = 0;
  size_t max_queued_heavy = 64;
  // Long polls that may wait at once; more get 503 with Retry-After: 1.
  size_t max_waiting = 64;
  size_t max_body_bytes = 1 << 20;        // larger bodies get 413
  size_t max_ws_message_bytes = 1 << 20;  // larger messages close with 1009
  size_t max_ws_queue_bytes = 16 << 20;
  size_t max_ws_joined_bytes = 1 << 20;  // see WebSocketHandler::JoinLimit
  // An idle keep-alive connection (or a WebSocket) is closed after
  // idle_timeout; once a request's first byte has arrived, its header must
  // be complete within header_timeout and its body within body_timeout,
  // or the connection is answered 408 and closed (slow senders hold no
  // connection for long).
  absl::Duration idle_timeout = absl::Seconds(60);
  absl::Duration header_timeout = absl::Seconds(10);
  absl::Duration body_timeout = absl::Seconds(30);
  absl::Duration drain_timeout = absl::Seconds(5);
  // Open connections (HTTP and WebSocket) from one IP address; more are
  // answered 429 and closed. 0: no limit. Clients behind one carrier NAT
  // share an address, so the default is generous.
  size_t max_connections_per_address = 1024;
};

class Server {
 public:
  Server(ServerOptions options, Router router, Metrics& metrics);
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Registers a WebSocket endpoint; call before Start().
  void AddWebSocket(std::string path, std::shared_ptr<WebSocketHandler> handler);

  // Binds and starts serving on background threads. Unavailable if the
  // address cannot be bound, InvalidArgument if it cannot be parsed.
  absl::Status Start();
  // The bound port (after Start()).
  uint16_t port() const;
  // Drains and stops; idempotent; safe to call from any thread but not
  // from a handler.
  void Stop();
  // Blocks until SIGTERM or SIGINT arrives (or Stop() is called elsewhere),
  // runs `before_drain` (e.g. to stop this process's own clients of the
  // server) after a signal, then stops. Returns the signal number, or 0.
  int WaitForSignal(const std::function<void()>& before_drain = nullptr);

  Metrics& metrics();

  // Answers `request` as a connection would (built-in endpoints, routing,
  // errors, metrics, logs), on the calling thread and without a socket; for
  // tests and fuzzing. Works without Start(). A long poll that would wait
  // is answered at once, as if its wait had passed.
  Response Handle(Request& request);

  class Impl;  // defined in server.cc

 private:
  std::unique_ptr<Impl> impl_;
};

// Splits "host:port" or "[v6]:port". InvalidArgument when malformed.
absl::Status ParseListenAddress(const std::string& listen, std::string* host, uint16_t* port);

}  // namespace tandem::net
