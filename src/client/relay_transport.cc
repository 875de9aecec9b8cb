#include "client/relay_transport.h"

#include <utility>

namespace tandem::client {
namespace {

class NetworkStream final : public RelayStream {
 public:
  NetworkStream(std::unique_ptr<net::ClientRuntime> runtime, std::unique_ptr<net::WebSocketClient> ws)
      : runtime_(std::move(runtime)), ws_(std::move(ws)) {}
  // The socket goes before the runtime that runs it.
  ~NetworkStream() override { ws_.reset(); }

  void Send(std::string frame) override { ws_->Send(std::move(frame), true); }
  absl::StatusOr<std::string> Receive(absl::Duration timeout) override {
    ASSIGN_OR_RETURN(net::WsMessage m, ws_->Receive(timeout));
    return std::move(m.data);
  }
  // The close frame goes after what was queued (a command's last acks):
  // waiting, at most about a second, for the relay's answer to it means a
  // process that exits next has sent them.
  void Close(int code, std::string reason) override {
    ws_->Close(code, std::move(reason));
    for (int i = 0; i < 10 && !ws_->closed(); ++i) {
      auto m = ws_->Receive(absl::Milliseconds(100));
      if (!m.ok() && m.status().code() != absl::StatusCode::kDeadlineExceeded) break;
    }
  }
  bool closed() const override { return ws_->closed(); }
  int close_code() const override { return ws_->close_code(); }

 private:
  std::unique_ptr<net::ClientRuntime> runtime_;
  std::unique_ptr<net::WebSocketClient> ws_;
};

class NetworkTransport final : public RelayTransport {
 public:
  absl::StatusOr<net::HttpResponse> Request(const std::string& server, const std::string& method,
                                            const std::string& target, const std::string& body,
                                            const net::Headers& headers) override {
    if (!http_ || server != http_server_) {
      http_ = std::make_unique<net::HttpClient>(server);
      http_server_ = server;
    }
    return http_->Request(method, target, body, headers);
  }

  absl::StatusOr<std::unique_ptr<RelayStream>> OpenStream(const std::string& server,
                                                          const std::string& target,
                                                          const net::Headers& headers) override {
    auto runtime = std::make_unique<net::ClientRuntime>(1);
    ASSIGN_OR_RETURN(auto ws, net::WebSocketClient::Connect(*runtime, server, target, headers));
    return std::unique_ptr<RelayStream>(new NetworkStream(std::move(runtime), std::move(ws)));
  }

 private:
  std::string http_server_;
  std::unique_ptr<net::HttpClient> http_;
};

}  // namespace

std::unique_ptr<RelayTransport> MakeNetworkTransport() { return std::make_unique<NetworkTransport>(); }

}  // namespace tandem::client
