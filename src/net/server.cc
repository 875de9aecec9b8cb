// The Beast server: accept loop, HTTP sessions, WebSocket sessions, drain.
// This is the only translation unit that includes Beast (it is slow to
// compile); everything else sees net/server.h.
#include "net/server.h"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket.hpp>
#include <condition_variable>
#include <deque>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <thread>
#include <unordered_map>
#include <variant>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "common/log.h"
#include "common/random.h"

namespace tandem::net {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace websocket = beast::websocket;
using tcp = asio::ip::tcp;  // NOLINT(readability-identifier-naming): Asio's name

absl::Status ParseListenAddress(const std::string& listen, std::string* host, uint16_t* port) {
  size_t colon = listen.rfind(':');
  if (colon == std::string::npos || colon == 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("listen address must look like host:port, got '", listen, "'"));
  }
  std::string h = listen.substr(0, colon);
  if (h.size() >= 2 && h.front() == '[' && h.back() == ']') h = h.substr(1, h.size() - 2);
  int p;
  if (!absl::SimpleAtoi(listen.substr(colon + 1), &p) || p < 0 || p > 65535) {
    return absl::InvalidArgumentError(absl::StrCat("bad port in listen address '", listen, "'"));
  }
  *host = h;
  *port = static_cast<uint16_t>(p);
  return absl::OkStatus();
}

namespace {

class SessionBase {
 public:
  virtual ~SessionBase() = default;
  // Asks the session to finish its current work and close. Any thread.
  virtual void Shutdown() = 0;
};

bool IsHttpParseError(const beast::error_code& ec) {
  static const auto& category = http::make_error_code(http::error::bad_target).category();
  return &ec.category() == &category && ec != http::error::end_of_stream;
}

// A long poll's wait: its timer, and why it ended. Strand-confined but for
// `executor`, which wake-ups post to.
struct PendingWait {
  explicit PendingWait(const asio::any_io_executor& ex) : executor(ex), timer(ex) {}
  void End(WaitEnd why) {
    if (end) return;
    end = why;
    timer.cancel();
  }
  asio::any_io_executor executor;  // the connection's strand
  asio::steady_timer timer;
  std::optional<WaitEnd> end;
};

std::chrono::nanoseconds ToChrono(absl::Duration d) {
  return std::chrono::nanoseconds(absl::ToInt64Nanoseconds(d));
}

bool SaneRequestId(std::string_view id) {
  if (id.empty() || id.size() > 64) return false;
  for (char c : id) {
    bool ok = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '-' ||
              c == '_' || c == '.';
    if (!ok) return false;
  }
  return true;
}

}  // namespace

class Server::Impl {
 public:
  Impl(ServerOptions options, Router router, Metrics& metrics)
      : options_(std::move(options)), router_(std::move(router)), metrics_(metrics) {
    http_connections_ = &metrics_.GetGauge("tandem_http_connections", "Open HTTP connections");
    ws_connections_ = &metrics_.GetGauge("tandem_websocket_connections", "Open WebSocket connections");
    draining_ = &metrics_.GetGauge("tandem_draining", "1 while the server drains for shutdown");
    heavy_gauge_ = &metrics_.GetGauge("tandem_http_heavy_requests",
                                      "Requests for heavy routes running on or waiting for the worker pool");
    waiting_gauge_ =
        &metrics_.GetGauge("tandem_http_waiting_requests", "Long polls waiting for their answer");
  }

  ~Impl() { Stop(); }

  void AddWebSocket(std::string path, std::shared_ptr<WebSocketHandler> handler) {
    ws_handlers_[std::move(path)] = std::move(handler);
  }

  absl::Status Start();
  void Stop();
  int WaitForSignal(const std::function<void()>& before_drain);
  uint16_t port() const { return port_; }
  Metrics& metrics() { return metrics_; }

  // Connections per IP address (ServerOptions::max_connections_per_address).
  bool AcquireAddress(const std::string& ip) {
    if (options_.max_connections_per_address == 0) return true;
    std::lock_guard lock(addresses_mu_);
    size_t& open = connections_by_address_[ip];
    if (open >= options_.max_connections_per_address) {
      if (open == 0) connections_by_address_.erase(ip);
      return false;
    }
    ++open;
    return true;
  }
  void ReleaseAddress(const std::string& ip) {
    if (options_.max_connections_per_address == 0) return;
    std::lock_guard lock(addresses_mu_);
    auto it = connections_by_address_.find(ip);
    if (it != connections_by_address_.end() && --it->second == 0) connections_by_address_.erase(it);
  }

  // Session bookkeeping.
  uint64_t Register(const std::shared_ptr<SessionBase>& s) {
    std::lock_guard lock(sessions_mu_);
    uint64_t id = next_id_++;
    sessions_[id] = s;
    return id;
  }
  void Unregister(uint64_t id) {
    std::lock_guard lock(sessions_mu_);
    sessions_.erase(id);
    if (sessions_.empty()) sessions_cv_.notify_all();
  }

  const ServerOptions& options() const { return options_; }
  bool stopping() const { return stopping_.load(); }
  Gauge& http_connections() { return *http_connections_; }
  Gauge& ws_connections() { return *ws_connections_; }

  std::shared_ptr<WebSocketHandler> WebSocketFor(const std::string& path) const {
    auto it = ws_handlers_.find(path);
    return it == ws_handlers_.end() ? nullptr : it->second;
  }

  Request MakeRequest(const http::request<http::string_body>& req, const std::string& remote) {
    Request r;
    r.method = std::string(req.method_string());
    r.target = std::string(req.target());
    size_t q = r.target.find('?');
    r.path = r.target.substr(0, q);
    if (q != std::string::npos) r.query = r.target.substr(q + 1);
    for (const auto& field : req) {
      std::string name(field.name_string());
      for (char& c : name) {
        if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
      }
      r.headers.emplace_back(std::move(name), std::string(field.value()));
    }
    r.body = req.body();
    std::string_view incoming = r.Header("x-request-id");
    r.request_id = SaneRequestId(incoming) ? std::string(incoming) : SecureRandom::Instance().Hex(8);
    r.remote_address = remote;
    return r;
  }

  // What a request resolved to: a route, or a response already made (the
  // built-in endpoints, 404, 405).
  struct Resolved {
    const Router::Route* route = nullptr;
    Response response;
    std::string name;  // the route label
  };

  // The route a request's header names, for its body limit and header
  // check; null for the built-in endpoints and for no match.
  const Router::Route* RouteForHeader(Request& head) const {
    Response unused;
    std::string name;
    return router_.Match(head, &unused, &name);
  }
  // What a request body may be at most on any route (the parser's limit
  // until the header says which route it is).
  size_t LargestBody() const { return std::max(options_.max_body_bytes, router_.largest_route_body()); }

  Resolved Resolve(Request& req) {
    Resolved r;
    if (req.path == "/healthz" && (req.method == "GET" || req.method == "HEAD")) {
      r.name = "/healthz";
      r.response =
          stopping() ? Response::Json({{"status", "draining"}}, 503) : Response::Json({{"status", "ok"}});
    } else if (req.path == "/metrics" && req.method == "GET") {
      r.name = "/metrics";
      r.response = Response::Text(metrics_.Render(), 200, "text/plain; version=0.0.4; charset=utf-8");
    } else {
      r.route = router_.Match(req, &r.response, &r.name);
    }
    return r;
  }

  // Runs a handler (`fn`). A JSON value of the wrong type or range in the
  // body (the handler's get<>() throws) is the client's error, not ours.
  template <typename Fn>
  Response Guarded(const Request& req, const std::string& route, Fn&& fn) {
    try {
      return fn();
    } catch (const nlohmann::json::exception& e) {
      std::string_view what = e.what();
      if (size_t end = what.find("] "); end != std::string_view::npos) what.remove_prefix(end + 2);
      return Response::Error(
          absl::InvalidArgumentError(absl::StrCat("a field of the request body has the wrong type or value: ",
                                                  absl::string_view(what.data(), what.size()))));
    } catch (const std::exception& e) {
      log::Error("http.handler_exception", {{"id", req.request_id}, {"route", route}, {"what", e.what()}});
      return Response::Error(absl::InternalError("internal error; the request id is " + req.request_id));
    }
  }

  Response Run(Request& req, const Resolved& r) {
    if (r.route == nullptr) return r.response;
    return Guarded(req, r.name, [&] { return r.route->handler(req); });
  }

  // Runs a long poll's handler; a Wait it returns goes to `wait`.
  Response StartLongPoll(Request& req, const Resolved& r, Wake wake, std::optional<Wait>* wait) {
    return Guarded(req, r.name, [&]() -> Response {
      LongPollReply reply = r.route->long_poll(req, std::move(wake));
      if (auto* w = std::get_if<Wait>(&reply)) {
        *wait = std::move(*w);
        return Response{};
      }
      return std::get<Response>(std::move(reply));
    });
  }

  // A long poll on a connection: waits on a timer of the connection's
  // strand; `slot` (the session's) holds the wait meanwhile, so that a
  // drain can end it.
  asio::awaitable<Response> LongPoll(Request& req, const Resolved& r, std::shared_ptr<PendingWait>& slot) {
    auto pending = std::make_shared<PendingWait>(co_await asio::this_coro::executor);
    Wake wake = [weak = std::weak_ptr<PendingWait>(pending)] {
      if (auto p = weak.lock()) asio::post(p->executor, [p] { p->End(WaitEnd::kWoken); });
    };
    std::optional<Wait> wait;
    Response res = StartLongPoll(req, r, std::move(wake), &wait);
    if (!wait) co_return res;
    if (stopping()) {
      pending->End(WaitEnd::kDraining);
    } else if (waiting_.fetch_add(1) >= options_.max_waiting) {
      waiting_.fetch_sub(1);
      log::Warn("http.too_many_waiting", {{"id", req.request_id}, {"route", r.name}});
      res = Response::Error(absl::UnavailableError("too many requests are waiting here; try again shortly"));
      res.headers.emplace_back("Retry-After", "1");
      co_return res;
    } else {
      waiting_gauge_->Add(1);
      slot = pending;
      pending->timer.expires_after(ToChrono(wait->at_most));
      if (!pending->end) {
        beast::error_code ec;
        co_await pending->timer.async_wait(asio::redirect_error(asio::use_awaitable, ec));
      }
      slot.reset();
      waiting_gauge_->Add(-1);
      waiting_.fetch_sub(1);
    }
    pending->End(WaitEnd::kTimedOut);  // unless it ended otherwise; later wakes do nothing
    const WaitEnd end = *pending->end;
    co_return Guarded(req, r.name, [&] { return wait->answer(end); });
  }

  void Record(const Request& req, const Resolved& r, const Response& res,
              std::chrono::steady_clock::time_point start) {
    double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    std::string method(MethodLabel(req.method));
    metrics_
        .GetCounter("tandem_http_requests_total", "HTTP requests by route and status",
                    {{"method", method}, {"route", r.name}, {"status", std::to_string(res.status)}})
        .Inc();
    metrics_.GetHistogram("tandem_http_request_seconds", "HTTP handler latency", {{"route", r.name}})
        .Observe(seconds);
    // A long poll's answers come around once per wait of an idle consumer.
    const bool routine = r.route != nullptr && r.route->long_poll && res.status < 400;
    log::Write(routine ? log::Level::kDebug : log::Level::kInfo, "http.request",
               {{"id", req.request_id},
                {"method", method},
                {"route", r.name},
                {"status", res.status},
                {"bytes", static_cast<int64_t>(res.body.size())},
                {"ms", seconds * 1000},
                {"remote", req.remote_address}});
  }

  Response Dispatch(Request& req) {
    auto start = std::chrono::steady_clock::now();
    Resolved r = Resolve(req);
    Response res;
    if (r.route != nullptr && r.route->long_poll) {
      std::optional<Wait> wait;
      res = StartLongPoll(
          req, r, [] {}, &wait);
      if (wait) res = Guarded(req, r.name, [&] { return wait->answer(WaitEnd::kTimedOut); });
    } else {
      res = Run(req, r);
    }
    Record(req, r, res, start);
    return res;
  }

  // Dispatch for a connection: a Work::kHeavy handler runs on the worker
  // pool while the connection's coroutine waits, then resumes on its strand;
  // a long poll waits in `waiting` (see LongPoll).
  asio::awaitable<Response> DispatchAsync(Request& req, std::shared_ptr<PendingWait>& waiting) {
    auto start = std::chrono::steady_clock::now();
    Resolved r = Resolve(req);
    Response res;
    if (r.route != nullptr && r.route->long_poll) {
      res = co_await LongPoll(req, r, waiting);
    } else if (r.route != nullptr && r.route->work == Work::kHeavy && workers_) {
      size_t limit = options_.max_queued_heavy + worker_count_;
      if (heavy_in_flight_.fetch_add(1) >= limit) {
        heavy_in_flight_.fetch_sub(1);
        log::Warn("http.workers_busy", {{"id", req.request_id}, {"route", r.name}});
        res = Response::Error(
            absl::UnavailableError("the server is busy with other uploads; try again shortly"));
        res.headers.emplace_back("Retry-After", "1");
      } else {
        heavy_gauge_->Add(1);
        res = co_await asio::co_spawn(
            workers_->get_executor(),
            [this, &req, &r]() -> asio::awaitable<Response> { co_return Run(req, r); }, asio::use_awaitable);
        heavy_gauge_->Add(-1);
        heavy_in_flight_.fetch_sub(1);
      }
    } else {
      res = Run(req, r);
    }
    Record(req, r, res, start);
    co_return res;
  }

 private:
  asio::awaitable<void> AcceptLoop();

  ServerOptions options_;
  Router router_;
  Metrics& metrics_;
  std::map<std::string, std::shared_ptr<WebSocketHandler>> ws_handlers_;
  Gauge* http_connections_;
  Gauge* ws_connections_;
  Gauge* draining_;
  Gauge* heavy_gauge_;
  Gauge* waiting_gauge_;

  // Declared before io_context so that sessions destroyed with it can still
  // unregister.
  std::mutex sessions_mu_;
  std::condition_variable sessions_cv_;
  std::unordered_map<uint64_t, std::weak_ptr<SessionBase>> sessions_;
  uint64_t next_id_ = 1;
  std::mutex addresses_mu_;
  std::unordered_map<std::string, size_t> connections_by_address_;  // guarded by addresses_mu_

  std::mutex stop_mu_;
  std::condition_variable stop_cv_;
  bool started_ = false;
  bool stopped_ = false;
  int signal_ = 0;
  std::atomic<bool> stopping_{false};

  asio::io_context ioc_;
  std::optional<asio::executor_work_guard<asio::io_context::executor_type>> work_;
  std::optional<tcp::acceptor> acceptor_;
  std::optional<asio::signal_set> signals_;
  std::vector<std::thread> threads_;
  std::optional<asio::thread_pool> workers_;
  size_t worker_count_ = 0;
  std::atomic<size_t> heavy_in_flight_{0};
  std::atomic<size_t> waiting_{0};
  uint16_t port_ = 0;
};

namespace {

Response ToResponseError(int status, std::string_view code, std::string_view message) {
  Response r = Response::Json({{"error", {{"code", code}, {"message", message}}}}, status);
  return r;
}

http::response<http::string_body> ToBeast(const Response& r, unsigned version, bool keep_alive,
                                          const std::string& request_id) {
  http::response<http::string_body> res{static_cast<http::status>(r.status), version};
  res.set(http::field::server, "tandem");
  res.set(http::field::content_type, r.content_type);
  if (!request_id.empty()) res.set("X-Request-Id", request_id);
  for (const auto& [k, v] : r.headers) res.set(k, v);
  res.body() = r.body;
  res.keep_alive(keep_alive);
  res.prepare_payload();
  return res;
}

// One counted connection of an IP address; released when the session that
// holds the socket (HTTP, then WebSocket after an upgrade) is destroyed.
class AddressSlot {
 public:
  AddressSlot() = default;
  AddressSlot(Server::Impl* server, std::string ip) : server_(server), ip_(std::move(ip)) {}
  AddressSlot(AddressSlot&& o) noexcept : server_(std::exchange(o.server_, nullptr)), ip_(std::move(o.ip_)) {}
  AddressSlot& operator=(AddressSlot&& o) noexcept {
    if (this != &o) {
      Release();
      server_ = std::exchange(o.server_, nullptr);
      ip_ = std::move(o.ip_);
    }
    return *this;
  }
  ~AddressSlot() { Release(); }

 private:
  void Release() {
    if (server_ != nullptr) server_->ReleaseAddress(ip_);
    server_ = nullptr;
  }
  Server::Impl* server_ = nullptr;
  std::string ip_;
};

class WsSession final : public SessionBase,
                        public WebSocketConnection,
                        public std::enable_shared_from_this<WsSession> {
 public:
  WsSession(Server::Impl& server, beast::tcp_stream stream, std::string remote, AddressSlot slot,
            std::shared_ptr<WebSocketHandler> handler, std::shared_ptr<void> context)
      : server_(server),
        ws_(std::move(stream)),
        remote_(std::move(remote)),
        slot_(std::move(slot)),
        handler_(std::move(handler)),
        context_(std::move(context)) {}

  ~WsSession() override {
    if (registered_) {
      server_.Unregister(id_);
      server_.ws_connections().Add(-1);
    }
  }

  asio::awaitable<void> Run(http::request<http::string_body> req) {
    auto self = shared_from_this();  // the caller holds a reference too
    id_ = server_.Register(self);
    registered_ = true;
    server_.ws_connections().Add(1);
    beast::get_lowest_layer(ws_).expires_never();
    websocket::stream_base::timeout timeouts{};
    timeouts.handshake_timeout = std::chrono::seconds(30);
    timeouts.idle_timeout =
        std::chrono::nanoseconds(absl::ToInt64Nanoseconds(server_.options().idle_timeout));
    timeouts.keep_alive_pings = true;
    ws_.set_option(timeouts);
    ws_.read_message_max(server_.options().max_ws_message_bytes);
    beast::error_code ec;
    co_await ws_.async_accept(req, asio::redirect_error(asio::use_awaitable, ec));
    if (ec) co_return;
    // What was queued during the handshake (a Shutdown's close frame, say)
    // goes out now; writing it earlier would have raced the handshake.
    open_ = true;
    if (!writing_) WriteNext();
    if (server_.stopping()) {
      Close(1001, "server shutting down");
    }
    handler_->OnOpen(self);
    beast::flat_buffer buffer;
    for (;;) {
      co_await ws_.async_read(buffer, asio::redirect_error(asio::use_awaitable, ec));
      if (ec) break;
      std::string data = beast::buffers_to_string(buffer.data());
      buffer.consume(buffer.size());
      if (buffer.capacity() > 64 * 1024) buffer.shrink_to_fit();
      handler_->OnMessage(self, std::move(data), ws_.got_binary());
    }
    closed_ = true;
    if (ec == websocket::error::message_too_big) {
      log::Warn("ws.message_too_big", {{"conn", id_}, {"remote", remote_}});
    }
    handler_->OnClose(self);
  }

  // Messages go to an inbox under a mutex; one posted drain moves them all
  // onto the strand, so a burst from another thread costs one hand-off.
  void Send(std::string data, bool binary) override { Post(Outgoing{std::move(data), binary, false, 0}); }

  void Close(int code, std::string reason) override { Post(Outgoing{std::move(reason), false, true, code}); }

  void Shutdown() override { Close(1001, "server shutting down"); }

  uint64_t id() const override { return id_; }
  const std::string& remote_address() const override { return remote_; }
  const std::shared_ptr<void>& context() const override { return context_; }

 private:
  struct Outgoing {
    std::string data;
    bool binary;
    bool close;
    int code;
  };

  void Post(Outgoing out) {
    {
      std::lock_guard lock(inbox_mu_);
      inbox_.push_back(std::move(out));
      if (drain_posted_) return;
      drain_posted_ = true;
    }
    asio::post(ws_.get_executor(), [self = shared_from_this()] { self->DrainInbox(); });
  }

  void DrainInbox() {
    {
      std::lock_guard lock(inbox_mu_);
      drain_taken_.swap(inbox_);
      drain_posted_ = false;
    }
    for (Outgoing& out : drain_taken_) Enqueue(std::move(out));
    drain_taken_.clear();
  }

  void Enqueue(Outgoing out) {
    if (closed_ || close_queued_) return;
    if (out.close) {
      close_queued_ = true;
    } else {
      queued_bytes_ += out.data.size();
      if (queued_bytes_ > server_.options().max_ws_queue_bytes) {
        log::Warn("ws.send_queue_overflow", {{"conn", id_}, {"remote", remote_}});
        queue_.clear();
        queued_bytes_ = 0;
        close_queued_ = true;
        queue_.push_back(Outgoing{"send queue overflow: the client reads too slowly", false, true, 1008});
        if (!writing_) WriteNext();
        return;
      }
    }
    queue_.push_back(std::move(out));
    if (!writing_) WriteNext();
  }

  void WriteNext() {
    if (queue_.empty() || closed_ || !open_) {
      writing_ = false;
      return;
    }
    writing_ = true;
    Outgoing& front = queue_.front();
    auto self = shared_from_this();
    if (front.close) {
      websocket::close_reason reason(static_cast<websocket::close_code>(front.code), front.data);
      ws_.async_close(reason, [self](beast::error_code) {
        self->queue_.clear();
        self->writing_ = false;
        self->closed_ = true;
      });
      return;
    }
    if (front.binary && queue_.size() > 1) JoinFront();
    Outgoing& next = queue_.front();
    ws_.binary(next.binary);
    ws_.async_write(asio::buffer(next.data), [self](beast::error_code ec, size_t) {
      self->queued_bytes_ -= self->queue_.front().data.size();
      self->queue_.pop_front();
      if (ec) {
        self->queue_.clear();
        self->queued_bytes_ = 0;
        self->writing_ = false;
        self->closed_ = true;
        return;
      }
      self->WriteNext();
    });
  }

  // Replaces the leading run of binary messages by the handler's join of
  // as many of them as its limit and max_ws_joined_bytes allow.
  void JoinFront() {
    size_t limit = std::min(queue_.size(), handler_->JoinLimit(*this));
    size_t n = 0, bytes = 0;
    while (n < limit && queue_[n].binary && !queue_[n].close &&
           (n == 0 || bytes + queue_[n].data.size() <= server_.options().max_ws_joined_bytes)) {
      bytes += queue_[n].data.size();
      ++n;
    }
    if (n < 2) return;
    join_scratch_.clear();
    for (size_t i = 0; i < n; ++i) {
      join_scratch_.push_back(std::move(queue_.front().data));
      queue_.pop_front();
    }
    std::string joined = handler_->Join(join_scratch_);
    queued_bytes_ = queued_bytes_ - bytes + joined.size();
    queue_.push_front(Outgoing{std::move(joined), true, false, 0});
    join_scratch_.clear();
  }

  Server::Impl& server_;
  websocket::stream<beast::tcp_stream> ws_;
  std::string remote_;
  AddressSlot slot_;
  std::shared_ptr<WebSocketHandler> handler_;
  std::shared_ptr<void> context_;
  uint64_t id_ = 0;
  bool registered_ = false;
  std::mutex inbox_mu_;
  std::vector<Outgoing> inbox_;  // guarded by inbox_mu_
  bool drain_posted_ = false;    // guarded by inbox_mu_
  // Strand-confined state.
  std::vector<Outgoing> drain_taken_;
  std::vector<std::string> join_scratch_;
  std::deque<Outgoing> queue_;
  size_t queued_bytes_ = 0;
  bool open_ = false;  // the handshake is done: frames may be written
  bool writing_ = false;
  bool close_queued_ = false;
  bool closed_ = false;
};

class HttpSession final : public SessionBase, public std::enable_shared_from_this<HttpSession> {
 public:
  HttpSession(Server::Impl& server, tcp::socket socket)
      : server_(server), executor_(socket.get_executor()), stream_(std::move(socket)) {
    beast::error_code ec;
    auto ep = stream_.socket().remote_endpoint(ec);
    if (!ec) {
      ip_ = ep.address().to_string();
      remote_ = ip_ + ":" + std::to_string(ep.port());
    }
  }

  ~HttpSession() override {
    if (registered_) {
      server_.Unregister(id_);
      server_.http_connections().Add(-1);
    }
  }

  void Shutdown() override {
    asio::post(executor_, [self = shared_from_this()] {
      self->close_after_response_ = true;
      if (self->upgraded_) return;
      if (self->waiting_) self->waiting_->End(WaitEnd::kDraining);
      if (self->idle_) {
        beast::error_code ec;
        self->stream_.socket().cancel(ec);
      }
    });
  }

  // `self` keeps the session alive for the coroutine's lifetime.
  asio::awaitable<void> Run(std::shared_ptr<HttpSession> self) {
    id_ = server_.Register(self);
    registered_ = true;
    server_.http_connections().Add(1);
    const ServerOptions& opts = server_.options();
    beast::flat_buffer buffer;
    beast::error_code ec;
    if (!server_.AcquireAddress(ip_)) {
      stream_.expires_after(std::chrono::seconds(5));
      co_await WriteError(429, "too_many_connections",
                          absl::StrCat("too many open connections from this address (the limit is ",
                                       opts.max_connections_per_address, ")"),
                          11);
      stream_.socket().shutdown(tcp::socket::shutdown_send, ec);
      co_return;
    }
    slot_ = AddressSlot(&server_, ip_);
    auto timeout = [](absl::Duration d) { return std::chrono::nanoseconds(absl::ToInt64Nanoseconds(d)); };
    for (;;) {
      if (close_after_response_ || server_.stopping()) break;
      http::request_parser<http::string_body> parser;
      parser.header_limit(16 * 1024);
      parser.body_limit(server_.LargestBody());
      size_t body_limit = opts.max_body_bytes;
      idle_ = true;
      // Waiting for the next request may take idle_timeout; once it has
      // begun, its header has header_timeout and its body body_timeout.
      // A timeout closes the socket.
      if (buffer.size() == 0) {
        stream_.expires_after(timeout(opts.idle_timeout));
        size_t n = co_await stream_.async_read_some(buffer.prepare(4096),
                                                    asio::redirect_error(asio::use_awaitable, ec));
        if (ec) break;
        buffer.commit(n);
      }
      stream_.expires_after(timeout(opts.header_timeout));
      co_await http::async_read_header(stream_, buffer, parser,
                                       asio::redirect_error(asio::use_awaitable, ec));
      idle_ = false;
      if (ec == beast::error::timeout) {
        log::Info("http.header_timeout", {{"remote", remote_}});
        break;
      }
      if (ec == http::error::body_limit) {
        co_await WriteError(
            413, "payload_too_large",
            absl::StrCat("request body exceeds the limit of ", server_.LargestBody(), " bytes"), 11);
        break;
      }
      if (ec) {
        if (IsHttpParseError(ec)) {
          co_await WriteError(400, "malformed_request", "malformed HTTP request: " + ec.message(), 11);
        }
        break;
      }
      auto& header = parser.get();
      // A route with its own body limit (uploads) says so before the body
      // is read, and may refuse the request on its header alone. Matching
      // needs only the method and path; the whole header is copied only
      // for a route that checks it.
      if (server_.LargestBody() > opts.max_body_bytes) {
        Request head;
        head.method = std::string(header.method_string());
        head.path = std::string(header.target().substr(0, header.target().find('?')));
        if (const Router::Route* route = server_.RouteForHeader(head)) {
          if (route->max_body_bytes > 0) body_limit = route->max_body_bytes;
          if (route->admit) {
            head = server_.MakeRequest(header, remote_);
            if (absl::Status st = route->admit(head); !st.ok()) {
              auto res = ToBeast(Response::Error(st), header.version(), false, head.request_id);
              co_await http::async_write(stream_, res, asio::redirect_error(asio::use_awaitable, ec));
              break;
            }
          }
        }
        parser.body_limit(body_limit);
      }
      if (auto len = parser.content_length(); len && *len > body_limit) {
        co_await WriteError(
            413, "payload_too_large",
            absl::StrCat("request body of ", *len, " bytes exceeds the limit of ", body_limit),
            header.version());
        break;
      }
      if (beast::iequals(header[http::field::expect], "100-continue")) {
        http::response<http::empty_body> cont{http::status::continue_, header.version()};
        co_await http::async_write(stream_, cont, asio::redirect_error(asio::use_awaitable, ec));
        if (ec) break;
      }
      if (!parser.is_done()) {
        // Beast reads at most the buffer's spare capacity at a time, which
        // stays what the header left (a few KiB): a large body would come
        // in thousands of small reads. A body that large gets room for
        // 64 KiB reads, given back once it is read.
        constexpr size_t kLargeRead = 64 << 10;
        const bool large = parser.content_length().value_or(0) > kLargeRead;
        if (large) buffer.reserve(kLargeRead);
        stream_.expires_after(timeout(opts.body_timeout));
        co_await http::async_read(stream_, buffer, parser, asio::redirect_error(asio::use_awaitable, ec));
        if (large) buffer.shrink_to_fit();
        if (ec == beast::error::timeout) {
          log::Info("http.body_timeout", {{"remote", remote_}});
          break;
        }
      }
      if (ec == http::error::body_limit) {
        co_await WriteError(413, "payload_too_large",
                            absl::StrCat("request body exceeds the limit of ", body_limit, " bytes"),
                            header.version());
        break;
      }
      if (ec) {
        if (IsHttpParseError(ec)) {
          co_await WriteError(400, "malformed_request", "malformed HTTP request: " + ec.message(),
                              header.version());
        }
        break;
      }
      http::request<http::string_body> req = parser.release();
      if (websocket::is_upgrade(req)) {
        co_await Upgrade(std::move(req));
        co_return;
      }
      Request request = server_.MakeRequest(req, remote_);
      stream_.expires_never();
      Response response = co_await server_.DispatchAsync(request, waiting_);
      stream_.expires_after(timeout(opts.idle_timeout));
      bool keep_alive = req.keep_alive() && !close_after_response_ && !server_.stopping();
      auto res = ToBeast(response, req.version(), keep_alive, request.request_id);
      if (req.method() == http::verb::head) res.body().clear();
      co_await http::async_write(stream_, res, asio::redirect_error(asio::use_awaitable, ec));
      if (ec || !keep_alive) break;
    }
    stream_.socket().shutdown(tcp::socket::shutdown_send, ec);
  }

 private:
  asio::awaitable<void> WriteError(int status, std::string_view code, std::string message, unsigned version) {
    beast::error_code ec;
    auto res = ToBeast(ToResponseError(status, code, message), version, false, "");
    co_await http::async_write(stream_, res, asio::redirect_error(asio::use_awaitable, ec));
  }

  asio::awaitable<void> Upgrade(http::request<http::string_body> req) {
    Request request = server_.MakeRequest(req, remote_);
    auto handler = server_.WebSocketFor(request.path);
    absl::Status st = handler ? absl::OkStatus()
                              : absl::NotFoundError(absl::StrCat("no WebSocket endpoint at ", request.path));
    std::shared_ptr<void> context;
    if (st.ok() && server_.stopping()) st = absl::UnavailableError("server is shutting down");
    if (st.ok()) st = handler->OnUpgrade(request, &context);
    if (!st.ok()) {
      log::Info("ws.upgrade_rejected", {{"id", request.request_id},
                                        {"path", request.path},
                                        {"status", std::string(absl::StatusCodeToString(st.code()))}});
      beast::error_code ec;
      auto res = ToBeast(Response::Error(st), req.version(), false, request.request_id);
      co_await http::async_write(stream_, res, asio::redirect_error(asio::use_awaitable, ec));
      stream_.socket().shutdown(tcp::socket::shutdown_send, ec);
      co_return;
    }
    // The connection now belongs to the WebSocket session.
    upgraded_ = true;
    server_.Unregister(id_);
    server_.http_connections().Add(-1);
    registered_ = false;
    auto ws = std::make_shared<WsSession>(server_, std::move(stream_), remote_, std::move(slot_),
                                          std::move(handler), std::move(context));
    co_await ws->Run(std::move(req));
  }

  Server::Impl& server_;
  asio::any_io_executor executor_;  // the connection's strand
  beast::tcp_stream stream_;
  std::string ip_;
  std::string remote_;
  AddressSlot slot_;
  uint64_t id_ = 0;
  bool registered_ = false;
  bool upgraded_ = false;
  bool idle_ = false;
  bool close_after_response_ = false;
  std::shared_ptr<PendingWait> waiting_;  // a long poll's wait, while it waits
};

}  // namespace

asio::awaitable<void> Server::Impl::AcceptLoop() {
  for (;;) {
    tcp::socket socket(asio::make_strand(ioc_));
    beast::error_code ec;
    co_await acceptor_->async_accept(socket, asio::redirect_error(asio::use_awaitable, ec));
    if (ec) {
      if (stopping_ || ec == asio::error::operation_aborted || !acceptor_->is_open()) co_return;
      log::Warn("http.accept_failed", {{"error", ec.message()}});
      // Out of descriptors or similar: back off briefly instead of spinning.
      asio::steady_timer timer(ioc_, std::chrono::milliseconds(50));
      co_await timer.async_wait(asio::redirect_error(asio::use_awaitable, ec));
      continue;
    }
    socket.set_option(tcp::no_delay(true), ec);
    auto executor = socket.get_executor();
    auto session = std::make_shared<HttpSession>(*this, std::move(socket));
    asio::co_spawn(executor, session->Run(session), asio::detached);
  }
}

absl::Status Server::Impl::Start() {
  std::string host;
  uint16_t port;
  RETURN_IF_ERROR(ParseListenAddress(options_.listen, &host, &port));
  beast::error_code ec;
  auto address = asio::ip::make_address(host == "localhost" ? "127.0.0.1" : host, ec);
  if (ec) return absl::InvalidArgumentError(absl::StrCat("bad listen host '", host, "': ", ec.message()));
  tcp::endpoint endpoint(address, port);
  acceptor_.emplace(ioc_);
  acceptor_->open(endpoint.protocol(), ec);
  if (!ec) acceptor_->set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) acceptor_->bind(endpoint, ec);
  if (!ec) acceptor_->listen(asio::socket_base::max_listen_connections, ec);
  if (ec) {
    acceptor_.reset();
    return absl::UnavailableError(absl::StrCat("cannot listen on ", options_.listen, ": ", ec.message()));
  }
  port_ = acceptor_->local_endpoint().port();
  work_.emplace(ioc_.get_executor());
  asio::co_spawn(ioc_, AcceptLoop(), asio::detached);
  int n = options_.threads > 0 ? options_.threads
                               : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  for (int i = 0; i < n; ++i) threads_.emplace_back([this] { ioc_.run(); });
  int hw = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  worker_count_ =
      static_cast<size_t>(options_.worker_threads > 0 ? options_.worker_threads : std::max(1, hw / 2));
  workers_.emplace(worker_count_);
  {
    std::lock_guard lock(stop_mu_);
    started_ = true;
  }
  log::Info("server.listening", {{"address", host}, {"port", static_cast<int>(port_)}, {"threads", n}});
  return absl::OkStatus();
}

void Server::Impl::Stop() {
  {
    std::lock_guard lock(stop_mu_);
    if (!started_ || stopped_) return;
    stopped_ = true;
  }
  stopping_ = true;
  draining_->Set(1);
  log::Info("server.draining");
  asio::post(ioc_, [this] {
    beast::error_code ec;
    if (acceptor_) acceptor_->close(ec);
    if (signals_) signals_->cancel(ec);
  });
  std::vector<std::shared_ptr<SessionBase>> live;
  {
    std::lock_guard lock(sessions_mu_);
    for (auto& [id, weak] : sessions_) {
      if (auto s = weak.lock()) live.push_back(std::move(s));
    }
  }
  for (auto& s : live) s->Shutdown();
  live.clear();
  {
    std::unique_lock lock(sessions_mu_);
    sessions_cv_.wait_for(lock, std::chrono::nanoseconds(absl::ToInt64Nanoseconds(options_.drain_timeout)),
                          [this] { return sessions_.empty(); });
  }
  // Heavy handlers still running finish before the I/O threads stop, so
  // none is cut off in the middle of its work.
  if (workers_) workers_->join();
  work_.reset();
  ioc_.stop();
  for (auto& t : threads_) t.join();
  threads_.clear();
  log::Info("server.stopped");
  std::lock_guard lock(stop_mu_);
  stop_cv_.notify_all();
}

int Server::Impl::WaitForSignal(const std::function<void()>& before_drain) {
  {
    std::lock_guard lock(stop_mu_);
    if (!started_ || stopped_) return 0;
    signals_.emplace(ioc_, SIGINT, SIGTERM);
    signals_->async_wait([this](const beast::error_code& ec, int signo) {
      if (ec) return;
      std::lock_guard lock(stop_mu_);
      signal_ = signo;
      stop_cv_.notify_all();
    });
  }
  int signo;
  {
    std::unique_lock lock(stop_mu_);
    stop_cv_.wait(lock, [this] { return signal_ != 0 || stopped_; });
    signo = signal_;
  }
  if (signo) log::Info("server.signal", {{"signal", signo}});
  if (signo && before_drain) before_drain();
  Stop();
  return signo;
}

Server::Server(ServerOptions options, Router router, Metrics& metrics)
    : impl_(std::make_unique<Impl>(std::move(options), std::move(router), metrics)) {}
Server::~Server() = default;
void Server::AddWebSocket(std::string path, std::shared_ptr<WebSocketHandler> handler) {
  impl_->AddWebSocket(std::move(path), std::move(handler));
}
absl::Status Server::Start() { return impl_->Start(); }
uint16_t Server::port() const { return impl_->port(); }
void Server::Stop() { impl_->Stop(); }
int Server::WaitForSignal(const std::function<void()>& before_drain) {
  return impl_->WaitForSignal(before_drain);
}
Metrics& Server::metrics() { return impl_->metrics(); }
Response Server::Handle(Request& request) { return impl_->Dispatch(request); }

}  // namespace tandem::net
