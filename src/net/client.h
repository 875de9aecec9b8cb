// HTTP and WebSocket clients for command-line tools, tests and load
// generators.
//
// A ClientRuntime owns an io_context and its threads; many clients can share
// one (a load generator with thousands of connections uses one runtime).
// HttpClient is synchronous and keeps its connection alive between
// requests; it is not thread-safe, but for Cancel(). WebSocketClient delivers incoming
// messages to a callback (on a runtime thread) or, without one, to a queue
// that Receive() drains; Send() and Close() are thread-safe.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/time/time.h"
#include "common/status.h"

namespace tandem::net {

class ClientRuntime {
 public:
  explicit ClientRuntime(int threads = 1);
  ~ClientRuntime();
  ClientRuntime(const ClientRuntime&) = delete;
  ClientRuntime& operator=(const ClientRuntime&) = delete;

  // Runs `fn` on one of the runtime's threads (e.g. to start many sends
  // with one wake-up instead of one per send).
  void Post(std::function<void()> fn);

  class Impl;
  Impl& impl() { return *impl_; }

 private:
  std::unique_ptr<Impl> impl_;
};

struct HttpResponse {
  int status = 0;
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;  // names lower case
  std::string Header(const std::string& name) const;
};

using Headers = std::vector<std::pair<std::string, std::string>>;

class HttpClient {
 public:
  // `base` is "host:port" or "http://host:port".
  explicit HttpClient(std::string base, absl::Duration timeout = absl::Seconds(30));
  ~HttpClient();

  // Unavailable if the server cannot be reached or the connection breaks;
  // any HTTP status (including 4xx/5xx) is returned as a response.
  absl::StatusOr<HttpResponse> Request(const std::string& method, const std::string& target,
                                       const std::string& body = "", const Headers& headers = {});
  absl::StatusOr<HttpResponse> Get(const std::string& target, const Headers& headers = {}) {
    return Request("GET", target, "", headers);
  }
  absl::StatusOr<HttpResponse> Post(const std::string& target, const std::string& body,
                                    const Headers& headers = {}) {
    return Request("POST", target, body, headers);
  }

  // Ends the request in flight (e.g. a long poll), if any, and fails every
  // later one, with Cancelled. Thread-safe; for stopping a client's thread.
  void Cancel();

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

struct WsMessage {
  std::string data;
  bool binary = true;
};

class WebSocketClient {
 public:
  using OnMessage = std::function<void(WsMessage)>;
  using OnClose = std::function<void(int code, std::string reason)>;

  // Connects and completes the handshake. A refused upgrade is returned as
  // the Status matching its HTTP status, with the server's message.
  static absl::StatusOr<std::unique_ptr<WebSocketClient>> Connect(
      ClientRuntime& runtime, const std::string& base, const std::string& target, const Headers& headers = {},
      OnMessage on_message = nullptr, OnClose on_close = nullptr, absl::Duration timeout = absl::Seconds(10));
  ~WebSocketClient();

  void Send(std::string data, bool binary = true);
  void Close(int code = 1000, std::string reason = "");
  // Next queued message (only without an OnMessage callback). DeadlineExceeded
  // on timeout, Unavailable once the connection closed and the queue is empty.
  absl::StatusOr<WsMessage> Receive(absl::Duration timeout);
  bool closed() const;
  // The close code the server sent (0 if none yet).
  int close_code() const;

  class Impl;

 private:
  explicit WebSocketClient(std::shared_ptr<Impl> impl);
  std::shared_ptr<Impl> impl_;
};

// Maps an HTTP status to the Status code the server's error came from.
absl::StatusCode StatusCodeForHttp(int status);
// Turns a JSON error response into a Status ("code: message").
absl::Status StatusFromResponse(const HttpResponse& response);

}  // namespace tandem::net
