// Beast-based HTTP and WebSocket clients (the second and last Beast unit).
#include "net/client.h"

#include <atomic>
#include <boost/asio/connect.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket.hpp>
#include <condition_variable>
#include <deque>
#include <future>
#include <mutex>
#include <nlohmann/json.hpp>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "common/error_codes.h"

namespace tandem::net {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace websocket = beast::websocket;
using tcp = asio::ip::tcp;  // NOLINT(readability-identifier-naming): Asio's name

namespace {

std::chrono::steady_clock::duration ToChrono(absl::Duration d) {
  return std::chrono::nanoseconds(absl::ToInt64Nanoseconds(d));
}

absl::Status SplitBase(std::string base, std::string* host, std::string* port) {
  if (base.rfind("http://", 0) == 0) base = base.substr(7);
  if (base.rfind("ws://", 0) == 0) base = base.substr(5);
  while (!base.empty() && base.back() == '/') base.pop_back();
  size_t colon = base.rfind(':');
  if (colon == std::string::npos || colon == 0 || colon + 1 == base.size()) {
    return absl::InvalidArgumentError(absl::StrCat("server address must be host:port, got '", base, "'"));
  }
  *host = base.substr(0, colon);
  *port = base.substr(colon + 1);
  return absl::OkStatus();
}

std::string Lower(std::string s) {
  for (char& c : s) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return s;
}

}  // namespace

absl::StatusCode StatusCodeForHttp(int status) {
  switch (status) {
    case 400:
      return absl::StatusCode::kInvalidArgument;
    case 401:
      return absl::StatusCode::kUnauthenticated;
    case 403:
      return absl::StatusCode::kPermissionDenied;
    case 404:
      return absl::StatusCode::kNotFound;
    case 405:
      return absl::StatusCode::kInvalidArgument;
    case 409:
      return absl::StatusCode::kFailedPrecondition;
    case 413:
      return absl::StatusCode::kOutOfRange;
    case 429:
      return absl::StatusCode::kResourceExhausted;
    case 501:
      return absl::StatusCode::kUnimplemented;
    case 503:
      return absl::StatusCode::kUnavailable;
    case 504:
      return absl::StatusCode::kDeadlineExceeded;
    default:
      return status < 400 ? absl::StatusCode::kOk : absl::StatusCode::kInternal;
  }
}

absl::Status StatusFromResponse(const HttpResponse& response) {
  absl::StatusCode code = StatusCodeForHttp(response.status);
  if (code == absl::StatusCode::kOk) return absl::OkStatus();
  std::string message = absl::StrCat("HTTP ", response.status);
  auto j = nlohmann::json::parse(response.body, nullptr, false);
  if (j.is_object() && j.contains("error") && j["error"].is_object()) {
    const auto& e = j["error"];
    if (e.contains("code") && e["code"].is_string() && e["code"] == "already_exists") {
      code = absl::StatusCode::kAlreadyExists;
    }
    if (e.contains("message") && e["message"].is_string()) message = e["message"].get<std::string>();
    if (e.contains("reason") && e["reason"].is_string()) {
      return WithReason(absl::Status(code, message), e["reason"].get<std::string>());
    }
  } else if (!response.body.empty()) {
    message = response.body.substr(0, 200);
  }
  return absl::Status(code, message);
}

std::string HttpResponse::Header(const std::string& name) const {
  std::string want = Lower(name);
  for (const auto& [k, v] : headers) {
    if (k == want) return v;
  }
  return "";
}

class ClientRuntime::Impl {
 public:
  explicit Impl(int threads) : work_(ioc_.get_executor()) {
    for (int i = 0; i < std::max(1, threads); ++i) threads_.emplace_back([this] { ioc_.run(); });
  }
  ~Impl() {
    work_.reset();
    ioc_.stop();
    for (auto& t : threads_) t.join();
  }
  asio::io_context& ioc() { return ioc_; }

 private:
  asio::io_context ioc_;
  asio::executor_work_guard<asio::io_context::executor_type> work_;
  std::vector<std::thread> threads_;
};

ClientRuntime::ClientRuntime(int threads) : impl_(std::make_unique<Impl>(threads)) {}
ClientRuntime::~ClientRuntime() = default;
void ClientRuntime::Post(std::function<void()> fn) { asio::post(impl_->ioc(), std::move(fn)); }

// ---- HTTP ----

class HttpClient::Impl {
 public:
  Impl(std::string base, absl::Duration timeout) : base_(std::move(base)), timeout_(timeout) {}

  absl::StatusOr<HttpResponse> Request(const std::string& method, const std::string& target,
                                       const std::string& body, const Headers& headers) {
    if (cancelled_) return Cancelled(method, target);
    bool reused = stream_.has_value();
    auto result = Attempt(method, target, body, headers);
    if (!result.ok() && cancelled_) return Cancelled(method, target);
    if (!result.ok() && reused && result.status().code() == absl::StatusCode::kUnavailable) {
      // The server may have closed an idle keep-alive connection; retry once.
      stream_.reset();
      result = Attempt(method, target, body, headers);
      if (!result.ok() && cancelled_) return Cancelled(method, target);
    }
    return result;
  }

  void Cancel() {
    cancelled_ = true;
    // Runs on the thread in Request (inside ioc_.run()), or at the start of
    // the next one, which then fails at once.
    asio::post(ioc_, [this] {
      beast::error_code ec;
      if (stream_) stream_->socket().close(ec);
    });
  }

 private:
  absl::Status Connect() {
    std::string host, port;
    RETURN_IF_ERROR(SplitBase(base_, &host, &port));
    host_ = host;
    beast::error_code ec;
    tcp::resolver resolver(ioc_);
    auto endpoints = resolver.resolve(host, port, ec);
    if (ec) return absl::UnavailableError(absl::StrCat("cannot resolve ", host, ": ", ec.message()));
    stream_.emplace(ioc_);
    stream_->expires_after(ToChrono(timeout_));
    stream_->async_connect(endpoints, [&](beast::error_code e, const tcp::endpoint&) { ec = e; });
    ioc_.restart();
    ioc_.run();
    if (ec) {
      stream_.reset();
      return absl::UnavailableError(absl::StrCat("cannot connect to ", base_, ": ", ec.message()));
    }
    stream_->socket().set_option(tcp::no_delay(true), ec);
    return absl::OkStatus();
  }

  absl::StatusOr<HttpResponse> Attempt(const std::string& method, const std::string& target,
                                       const std::string& body, const Headers& headers) {
    if (!stream_) RETURN_IF_ERROR(Connect());
    http::request<http::string_body> req{http::string_to_verb(method), target, 11};
    if (req.method() == http::verb::unknown) req.method_string(method);
    req.set(http::field::host, host_);
    req.set(http::field::user_agent, "tandem");
    if (!body.empty()) req.set(http::field::content_type, "application/json");
    for (const auto& [k, v] : headers) req.set(k, v);
    req.body() = body;
    req.keep_alive(true);
    req.prepare_payload();

    beast::error_code ec;
    beast::flat_buffer buffer;
    // Beast reads only into the buffer's spare room: without room to spare
    // a large response comes in a few hundred bytes per read.
    buffer.reserve(64 << 10);
    http::response_parser<http::string_body> parser;
    parser.body_limit(256 << 20);
    stream_->expires_after(ToChrono(timeout_));
    http::async_write(*stream_, req, [&](beast::error_code e, size_t) {
      ec = e;
      if (ec) return;
      http::async_read(*stream_, buffer, parser, [&](beast::error_code e2, size_t) { ec = e2; });
    });
    ioc_.restart();
    ioc_.run();
    if (ec) {
      stream_.reset();
      return absl::UnavailableError(absl::StrCat(method, " ", target, " failed: ", ec.message()));
    }
    auto res = parser.release();
    HttpResponse out;
    out.status = static_cast<int>(res.result_int());
    out.body = std::move(res.body());
    for (const auto& f : res)
      out.headers.emplace_back(Lower(std::string(f.name_string())), std::string(f.value()));
    if (!res.keep_alive()) stream_.reset();
    return out;
  }

  static absl::Status Cancelled(const std::string& method, const std::string& target) {
    return absl::CancelledError(absl::StrCat(method, " ", target, ": cancelled"));
  }

  std::string base_;
  std::string host_;
  absl::Duration timeout_;
  asio::io_context ioc_;
  std::optional<beast::tcp_stream> stream_;
  std::atomic<bool> cancelled_{false};
};

HttpClient::HttpClient(std::string base, absl::Duration timeout)
    : impl_(std::make_unique<Impl>(std::move(base), timeout)) {}
HttpClient::~HttpClient() = default;
absl::StatusOr<HttpResponse> HttpClient::Request(const std::string& method, const std::string& target,
                                                 const std::string& body, const Headers& headers) {
  return impl_->Request(method, target, body, headers);
}
void HttpClient::Cancel() { impl_->Cancel(); }

// ---- WebSocket ----

class WebSocketClient::Impl : public std::enable_shared_from_this<WebSocketClient::Impl> {
 public:
  Impl(asio::io_context& ioc, OnMessage on_message, OnClose on_close)
      : ws_(asio::make_strand(ioc)), on_message_(std::move(on_message)), on_close_(std::move(on_close)) {}

  absl::Status Connect(const std::string& base, const std::string& target, const Headers& headers,
                       absl::Duration timeout) {
    std::string host, port;
    RETURN_IF_ERROR(SplitBase(base, &host, &port));
    beast::error_code ec;
    tcp::resolver resolver(ws_.get_executor());
    auto endpoints = resolver.resolve(host, port, ec);
    if (ec) return absl::UnavailableError(absl::StrCat("cannot resolve ", host, ": ", ec.message()));
    std::promise<absl::Status> done;
    auto future = done.get_future();
    auto self = shared_from_this();
    auto& lowest = beast::get_lowest_layer(ws_);
    lowest.expires_after(ToChrono(timeout));
    ws_.set_option(websocket::stream_base::decorator([headers](websocket::request_type& req) {
      req.set(http::field::user_agent, "tandem");
      for (const auto& [k, v] : headers) req.set(k, v);
    }));
    lowest.async_connect(endpoints, [self, &done, host, target](beast::error_code e, const tcp::endpoint&) {
      if (e) {
        done.set_value(absl::UnavailableError("cannot connect: " + e.message()));
        return;
      }
      beast::get_lowest_layer(self->ws_).socket().set_option(tcp::no_delay(true), e);
      self->ws_.async_handshake(self->handshake_response_, host, target, [self, &done](beast::error_code e2) {
        if (e2) {
          const auto& res = self->handshake_response_;
          if (e2 == websocket::error::upgrade_declined && res.result_int() >= 400) {
            HttpResponse r;
            r.status = static_cast<int>(res.result_int());
            r.body = res.body();
            done.set_value(StatusFromResponse(r));
          } else {
            done.set_value(absl::UnavailableError("WebSocket handshake failed: " + e2.message()));
          }
          return;
        }
        beast::get_lowest_layer(self->ws_).expires_never();
        websocket::stream_base::timeout t =
            websocket::stream_base::timeout::suggested(beast::role_type::client);
        self->ws_.set_option(t);
        self->ws_.read_message_max(64 << 20);
        done.set_value(absl::OkStatus());
        self->ReadNext();
      });
    });
    return future.get();
  }

  void Send(std::string data, bool binary) {
    asio::post(ws_.get_executor(), [self = shared_from_this(), data = std::move(data), binary]() mutable {
      if (self->closed_ || self->close_queued_) return;
      self->queue_.push_back({std::move(data), binary, false, 0});
      if (!self->writing_) self->WriteNext();
    });
  }

  void Close(int code, std::string reason) {
    asio::post(ws_.get_executor(), [self = shared_from_this(), code, reason = std::move(reason)]() mutable {
      if (self->closed_ || self->close_queued_) return;
      self->close_queued_ = true;
      self->queue_.push_back({std::move(reason), false, true, code});
      if (!self->writing_) self->WriteNext();
    });
  }

  absl::StatusOr<WsMessage> Receive(absl::Duration timeout) {
    std::unique_lock lock(mu_);
    cv_.wait_for(lock, ToChrono(timeout), [this] { return !inbox_.empty() || finished_; });
    if (!inbox_.empty()) {
      WsMessage m = std::move(inbox_.front());
      inbox_.pop_front();
      return m;
    }
    if (finished_) return absl::UnavailableError(absl::StrCat("connection closed (code ", close_code_, ")"));
    return absl::DeadlineExceededError("no message within the timeout");
  }

  bool finished() const {
    std::lock_guard lock(mu_);
    return finished_;
  }
  int close_code() const {
    std::lock_guard lock(mu_);
    return close_code_;
  }

 private:
  struct Outgoing {
    std::string data;
    bool binary;
    bool close;
    int code;
  };

  void ReadNext() {
    ws_.async_read(buffer_, [self = shared_from_this()](beast::error_code ec, size_t) {
      if (ec) {
        self->Finish(ec);
        return;
      }
      WsMessage m{beast::buffers_to_string(self->buffer_.data()), self->ws_.got_binary()};
      self->buffer_.consume(self->buffer_.size());
      if (self->on_message_) {
        self->on_message_(std::move(m));
      } else {
        std::lock_guard lock(self->mu_);
        self->inbox_.push_back(std::move(m));
        self->cv_.notify_all();
      }
      self->ReadNext();
    });
  }

  void Finish(beast::error_code) {
    int code = static_cast<int>(ws_.reason().code);
    std::string reason(ws_.reason().reason.c_str());
    {
      std::lock_guard lock(mu_);
      finished_ = true;
      close_code_ = code;
      cv_.notify_all();
    }
    closed_ = true;
    if (on_close_) on_close_(code, reason);
  }

  void WriteNext() {
    if (queue_.empty() || closed_) {
      writing_ = false;
      return;
    }
    writing_ = true;
    auto self = shared_from_this();
    Outgoing& front = queue_.front();
    if (front.close) {
      websocket::close_reason reason(static_cast<websocket::close_code>(front.code), front.data);
      ws_.async_close(reason, [self](beast::error_code) {
        self->queue_.clear();
        self->writing_ = false;
      });
      return;
    }
    ws_.binary(front.binary);
    ws_.async_write(asio::buffer(front.data), [self](beast::error_code ec, size_t) {
      self->queue_.pop_front();
      if (ec) {
        self->queue_.clear();
        self->writing_ = false;
        return;
      }
      self->WriteNext();
    });
  }

  websocket::stream<beast::tcp_stream> ws_;
  OnMessage on_message_;
  OnClose on_close_;
  http::response<http::string_body> handshake_response_;
  beast::flat_buffer buffer_;
  // Strand-confined.
  std::deque<Outgoing> queue_;
  bool writing_ = false;
  bool close_queued_ = false;
  bool closed_ = false;
  // Shared with Receive() callers.
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<WsMessage> inbox_ ABSL_GUARDED_BY(mu_);
  bool finished_ ABSL_GUARDED_BY(mu_) = false;
  int close_code_ ABSL_GUARDED_BY(mu_) = 0;
};

absl::StatusOr<std::unique_ptr<WebSocketClient>> WebSocketClient::Connect(
    ClientRuntime& runtime, const std::string& base, const std::string& target, const Headers& headers,
    OnMessage on_message, OnClose on_close, absl::Duration timeout) {
  auto impl = std::make_shared<Impl>(runtime.impl().ioc(), std::move(on_message), std::move(on_close));
  RETURN_IF_ERROR(impl->Connect(base, target, headers, timeout));
  return std::unique_ptr<WebSocketClient>(new WebSocketClient(std::move(impl)));
}

WebSocketClient::WebSocketClient(std::shared_ptr<Impl> impl) : impl_(std::move(impl)) {}
WebSocketClient::~WebSocketClient() {
  if (!impl_->finished()) impl_->Close(1000, "");
}
void WebSocketClient::Send(std::string data, bool binary) { impl_->Send(std::move(data), binary); }
void WebSocketClient::Close(int code, std::string reason) { impl_->Close(code, std::move(reason)); }
absl::StatusOr<WsMessage> WebSocketClient::Receive(absl::Duration timeout) { return impl_->Receive(timeout); }
bool WebSocketClient::closed() const { return impl_->finished(); }
int WebSocketClient::close_code() const { return impl_->close_code(); }

}  // namespace tandem::net
