#include "client/in_process_transport.h"

#include <condition_variable>
#include <deque>
#include <mutex>
#include <utility>

#include "absl/base/thread_annotations.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"

namespace tandem::client {
namespace {

// The relay's side of one stream: what the handler sends is queued for the
// client's Receive.
class Connection final : public net::WebSocketConnection {
 public:
  Connection(uint64_t id, const Clock& clock)
      : id_(id), address_(absl::StrCat("127.0.0.1:", id)), clock_(clock) {}

  void Send(std::string data, bool binary) override {
    std::lock_guard lock(mu_);
    if (closed_) return;
    inbox_.push_back(std::move(data));
    cv_.notify_all();
  }
  void Close(int code, std::string reason) override {
    std::lock_guard lock(mu_);
    if (closed_) return;
    closed_ = true;
    close_code_ = code;
    cv_.notify_all();
  }
  uint64_t id() const override { return id_; }
  const std::string& remote_address() const override { return address_; }
  const std::shared_ptr<void>& context() const override { return context_; }

  absl::StatusOr<std::string> Receive(absl::Duration timeout) {
    std::unique_lock lock(mu_);
    clock_.WaitFor(lock, cv_, timeout, [this] { return !inbox_.empty() || closed_; });
    if (!inbox_.empty()) {
      std::string frame = std::move(inbox_.front());
      inbox_.pop_front();
      return frame;
    }
    if (closed_) return absl::UnavailableError(absl::StrCat("connection closed (code ", close_code_, ")"));
    return absl::DeadlineExceededError("no message within the timeout");
  }
  // The client's close: frames not received yet are dropped.
  void CloseFromClient(int code) {
    std::lock_guard lock(mu_);
    inbox_.clear();
    if (closed_) return;
    closed_ = true;
    close_code_ = code;
  }
  bool closed() const {
    std::lock_guard lock(mu_);
    return closed_;
  }
  int close_code() const {
    std::lock_guard lock(mu_);
    return close_code_;
  }

  // Set once by OnUpgrade, before the connection is shared.
  std::shared_ptr<void> context_;

 private:
  const uint64_t id_;
  const std::string address_;
  const Clock& clock_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::string> inbox_ ABSL_GUARDED_BY(mu_);
  bool closed_ ABSL_GUARDED_BY(mu_) = false;
  int close_code_ ABSL_GUARDED_BY(mu_) = 0;
};

class Stream final : public RelayStream {
 public:
  Stream(net::WebSocketHandler& handler, std::shared_ptr<Connection> conn)
      : handler_(handler), conn_(std::move(conn)) {}
  ~Stream() override { Close(1000, ""); }

  void Send(std::string frame) override {
    if (conn_->closed()) return;
    handler_.OnMessage(conn_, std::move(frame), true);
  }
  absl::StatusOr<std::string> Receive(absl::Duration timeout) override { return conn_->Receive(timeout); }
  // The handler hears of the end once, whichever side closed, as a server
  // tells it after the socket is gone.
  void Close(int code, std::string reason) override {
    conn_->CloseFromClient(code);
    if (!told_) {
      told_ = true;
      handler_.OnClose(conn_);
    }
  }
  bool closed() const override { return conn_->closed(); }
  int close_code() const override { return conn_->close_code(); }

 private:
  net::WebSocketHandler& handler_;
  std::shared_ptr<Connection> conn_;
  bool told_ = false;
};

}  // namespace

InProcessTransport::InProcessTransport(const net::Router& router, const Clock& clock)
    : router_(router), clock_(clock) {}

void InProcessTransport::AddWebSocket(std::string path, net::WebSocketHandler& handler) {
  websockets_[std::move(path)] = &handler;
}

net::Request InProcessTransport::MakeRequest(const std::string& method, const std::string& target,
                                             const std::string& body, const net::Headers& headers) {
  net::Request req;
  req.method = method;
  req.target = target;
  const size_t q = target.find('?');
  req.path = target.substr(0, q);
  if (q != std::string::npos) req.query = target.substr(q + 1);
  for (const auto& [name, value] : headers) req.headers.emplace_back(absl::AsciiStrToLower(name), value);
  req.body = body;
  const uint64_t id = next_id_++;
  req.request_id = absl::StrCat("in-process-", id);
  req.remote_address = "127.0.0.1";
  return req;
}

absl::StatusOr<net::HttpResponse> InProcessTransport::Request(const std::string& server,
                                                              const std::string& method,
                                                              const std::string& target,
                                                              const std::string& body,
                                                              const net::Headers& headers) {
  net::Request req = MakeRequest(method, target, body, headers);
  net::Response response;
  std::string route;
  const net::Router::Route* matched = router_.Match(req, &response, &route);
  if (matched && matched->handler) {
    response = matched->handler(req);
  } else if (matched) {
    response = net::Response::Error(absl::UnimplementedError(
        absl::StrCat(route, " is a long poll, which the in-process transport does not serve")));
  }
  net::HttpResponse out;
  out.status = response.status;
  out.body = std::move(response.body);
  out.headers.emplace_back("content-type", response.content_type);
  for (auto& [name, value] : response.headers) out.headers.emplace_back(absl::AsciiStrToLower(name), value);
  return out;
}

absl::StatusOr<std::unique_ptr<RelayStream>> InProcessTransport::OpenStream(const std::string& server,
                                                                            const std::string& target,
                                                                            const net::Headers& headers) {
  net::Request req = MakeRequest("GET", target, "", headers);
  auto it = websockets_.find(req.path);
  if (it == websockets_.end()) return absl::NotFoundError(absl::StrCat("no WebSocket at ", req.path));
  net::WebSocketHandler& handler = *it->second;
  auto conn = std::make_shared<Connection>(next_id_++, clock_);
  RETURN_IF_ERROR(handler.OnUpgrade(req, &conn->context_));
  handler.OnOpen(conn);
  return std::unique_ptr<RelayStream>(new Stream(handler, std::move(conn)));
}

}  // namespace tandem::client
