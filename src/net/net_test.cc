#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <condition_variable>
#include <mutex>
#include <nlohmann/json.hpp>
#include <thread>

#include "net/client.h"
#include "net/http.h"
#include "net/server.h"

namespace tandem::net {
namespace {

using nlohmann::json;

class EchoSocket : public WebSocketHandler {
 public:
  absl::Status OnUpgrade(const Request& req, std::shared_ptr<void>* context) override {
    if (req.QueryParam("token") != "good") return absl::UnauthenticatedError("bad token");
    *context = std::make_shared<std::string>(req.QueryParam("join") == "1" ? "joiner" : "user-1");
    return absl::OkStatus();
  }
  void OnMessage(const std::shared_ptr<WebSocketConnection>& conn, std::string data, bool binary) override {
    if (data == "close-me") {
      conn->Close(4000, "asked to");
      return;
    }
    if (data.rfind("burst ", 0) == 0) {  // "burst N": N messages at once
      int n = std::stoi(data.substr(6));
      for (int i = 0; i < n; ++i) conn->Send("b" + std::to_string(i), binary);
      return;
    }
    auto who = std::static_pointer_cast<std::string>(conn->context());
    conn->Send(*who + ":" + data, binary);
  }
  // Joins up to 8 messages as "J:" + parts separated by '|', for
  // connections that asked with join=1.
  size_t JoinLimit(const WebSocketConnection& conn) override {
    return *static_cast<const std::string*>(conn.context().get()) == "joiner" ? 8 : 0;
  }
  std::string Join(std::span<const std::string> messages) override {
    std::string out = "J:";
    for (size_t i = 0; i < messages.size(); ++i) out += (i ? "|" : "") + messages[i];
    return out;
  }
};

class NetTest : public ::testing::Test {
 protected:
  void SetUp() override {
    Router router;
    router.Get("/v1/items/{id}", [](Request& req) {
      return Response::Json({{"id", req.PathParam("id")}, {"q", req.QueryParam("q")}});
    });
    router.Post("/v1/echo", [](Request& req) {
      auto body = ParseJsonObject(req);
      if (!body.ok()) return Response::Error(body.status());
      return Response::Json(*body, 201);
    });
    router.Get("/v1/limited",
               [](Request&) { return Response::Error(absl::ResourceExhaustedError("slow down")); });
    router.Get("/v1/throws", [](Request&) -> Response { throw std::runtime_error("boom"); });
    ServerOptions options;
    options.listen = "127.0.0.1:0";
    options.threads = 2;
    options.max_body_bytes = 1024;
    options.max_ws_message_bytes = 4096;
    server_ = std::make_unique<Server>(options, std::move(router), metrics_);
    server_->AddWebSocket("/v1/ws", std::make_shared<EchoSocket>());
    ASSERT_TRUE(server_->Start().ok());
    base_ = "127.0.0.1:" + std::to_string(server_->port());
  }
  void TearDown() override { server_->Stop(); }

  std::string RawExchange(const std::string& bytes) {
    int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(server_->port());
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    EXPECT_EQ(::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
    EXPECT_EQ(::write(fd, bytes.data(), bytes.size()), static_cast<ssize_t>(bytes.size()));
    std::string out;
    char buf[4096];
    ssize_t n;
    while ((n = ::read(fd, buf, sizeof buf)) > 0) out.append(buf, n);
    ::close(fd);
    return out;
  }

  Metrics metrics_;
  std::unique_ptr<Server> server_;
  std::string base_;
};

TEST_F(NetTest, HealthzAndRouting) {
  HttpClient client(base_);
  auto health = client.Get("/healthz");
  ASSERT_TRUE(health.ok()) << health.status();
  EXPECT_EQ(health->status, 200);
  EXPECT_EQ(json::parse(health->body)["status"], "ok");

  auto item = client.Get("/v1/items/a%20b?q=x+y", {{"X-Request-Id", "req-123"}});
  ASSERT_TRUE(item.ok());
  EXPECT_EQ(item->status, 200);
  EXPECT_EQ(json::parse(item->body)["id"], "a b");
  EXPECT_EQ(json::parse(item->body)["q"], "x y");
  EXPECT_EQ(item->Header("x-request-id"), "req-123");
  // A generated id when none (or a weird one) is sent.
  auto generated = client.Get("/v1/items/1", {{"X-Request-Id", "bad id with spaces"}});
  EXPECT_EQ(generated->Header("x-request-id").size(), 16u);
}

TEST_F(NetTest, ErrorsAreJsonWithMappedStatus) {
  HttpClient client(base_);
  auto missing = client.Get("/nope");
  EXPECT_EQ(missing->status, 404);
  EXPECT_EQ(json::parse(missing->body)["error"]["code"], "not_found");

  auto wrong_method = client.Request("DELETE", "/v1/echo");
  EXPECT_EQ(wrong_method->status, 405);
  EXPECT_EQ(wrong_method->Header("allow"), "POST");

  auto bad_json = client.Post("/v1/echo", "{not json");
  EXPECT_EQ(bad_json->status, 400);
  EXPECT_EQ(json::parse(bad_json->body)["error"]["code"], "invalid_argument");
  EXPECT_EQ(client.Post("/v1/echo", "[1,2]")->status, 400);

  auto ok = client.Post("/v1/echo", R"({"a":1})");
  EXPECT_EQ(ok->status, 201);
  EXPECT_EQ(json::parse(ok->body)["a"], 1);

  EXPECT_EQ(client.Get("/v1/limited")->status, 429);
  EXPECT_EQ(StatusFromResponse(*client.Get("/v1/limited")).code(), absl::StatusCode::kResourceExhausted);
  auto thrown = client.Get("/v1/throws");
  EXPECT_EQ(thrown->status, 500);
  EXPECT_EQ(json::parse(thrown->body)["error"]["code"], "internal");

  auto big = client.Post("/v1/echo", "{\"a\":\"" + std::string(5000, 'x') + "\"}");
  ASSERT_TRUE(big.ok()) << big.status();
  EXPECT_EQ(big->status, 413);
  EXPECT_EQ(json::parse(big->body)["error"]["code"], "payload_too_large");
}

TEST_F(NetTest, MalformedRequestsGet400AndServerKeepsServing) {
  std::string reply = RawExchange("GARBAGE\x01\x02 nonsense\r\n\r\n");
  EXPECT_NE(reply.find("400"), std::string::npos) << reply;
  EXPECT_NE(reply.find("malformed_request"), std::string::npos) << reply;
  reply = RawExchange("GET / HTTP/1.1\r\nContent-Length: zz\r\n\r\n");
  EXPECT_NE(reply.find("400"), std::string::npos) << reply;
  HttpClient client(base_);
  EXPECT_EQ(client.Get("/healthz")->status, 200);
}

TEST_F(NetTest, MetricsAreInPrometheusFormat) {
  HttpClient client(base_);
  client.Get("/v1/items/7").IgnoreError();
  auto m = client.Get("/metrics");
  ASSERT_EQ(m->status, 200);
  EXPECT_NE(m->Header("content-type").find("text/plain"), std::string::npos);
  EXPECT_NE(m->body.find("# TYPE tandem_http_requests_total counter"), std::string::npos);
  // Routes are labelled by pattern, not by raw path.
  EXPECT_NE(m->body.find("route=\"/v1/items/{id}\",status=\"200\"} 1"), std::string::npos) << m->body;
  EXPECT_NE(m->body.find("tandem_http_request_seconds_bucket"), std::string::npos);
}

TEST_F(NetTest, WebSocketEchoAuthAndLimits) {
  ClientRuntime runtime;
  auto denied = WebSocketClient::Connect(runtime, base_, "/v1/ws?token=bad");
  ASSERT_FALSE(denied.ok());
  EXPECT_EQ(denied.status().code(), absl::StatusCode::kUnauthenticated);
  EXPECT_EQ(denied.status().message(), "bad token");

  auto ws = WebSocketClient::Connect(runtime, base_, "/v1/ws?token=good");
  ASSERT_TRUE(ws.ok()) << ws.status();
  for (int i = 0; i < 100; ++i) (*ws)->Send("m" + std::to_string(i));
  for (int i = 0; i < 100; ++i) {
    auto m = (*ws)->Receive(absl::Seconds(5));
    ASSERT_TRUE(m.ok()) << m.status();
    EXPECT_EQ(m->data, "user-1:m" + std::to_string(i));  // in order
    EXPECT_TRUE(m->binary);
  }
  // Oversized messages close the connection with 1009; others are unaffected.
  auto other = WebSocketClient::Connect(runtime, base_, "/v1/ws?token=good");
  (*ws)->Send(std::string(5000, 'x'));
  EXPECT_EQ((*ws)->Receive(absl::Seconds(5)).status().code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ((*ws)->close_code(), 1009);
  (*other)->Send("still here", false);
  auto m = (*other)->Receive(absl::Seconds(5));
  ASSERT_TRUE(m.ok());
  EXPECT_EQ(m->data, "user-1:still here");
  EXPECT_FALSE(m->binary);
  (*other)->Send("close-me");
  EXPECT_FALSE((*other)->Receive(absl::Seconds(5)).ok());
  EXPECT_EQ((*other)->close_code(), 4000);
}

// Messages sent together are joined for connections whose handler allows
// it (binary only, at most JoinLimit per message, in order); never for
// others.
TEST_F(NetTest, WebSocketJoinsQueuedMessagesWhenTheHandlerAllows) {
  ClientRuntime runtime;
  auto receive_parts = [](WebSocketClient& ws, int want, int* joined_messages, size_t* most_parts) {
    std::vector<std::string> parts;
    while (static_cast<int>(parts.size()) < want) {
      auto m = ws.Receive(absl::Seconds(5));
      if (!m.ok()) break;
      if (m->data.rfind("J:", 0) == 0) {
        EXPECT_TRUE(m->binary);
        ++*joined_messages;
        size_t n = 0;
        for (std::string_view rest = std::string_view(m->data).substr(2);; ++n) {
          size_t bar = rest.find('|');
          parts.emplace_back(rest.substr(0, bar));
          if (bar == std::string_view::npos) break;
          rest.remove_prefix(bar + 1);
        }
        *most_parts = std::max(*most_parts, n + 1);
      } else {
        parts.push_back(m->data);
      }
    }
    return parts;
  };
  std::vector<std::string> expected;
  for (int i = 0; i < 50; ++i) expected.push_back("b" + std::to_string(i));

  auto joiner = WebSocketClient::Connect(runtime, base_, "/v1/ws?token=good&join=1");
  ASSERT_TRUE(joiner.ok()) << joiner.status();
  (*joiner)->Send("burst 50");
  int joined = 0;
  size_t most = 0;
  EXPECT_EQ(receive_parts(**joiner, 50, &joined, &most), expected);
  EXPECT_GT(joined, 0);
  EXPECT_LE(most, 8u);
  // Text messages are never joined.
  (*joiner)->Send("burst 5", false);
  joined = 0;
  EXPECT_EQ(receive_parts(**joiner, 5, &joined, &most),
            std::vector<std::string>(expected.begin(), expected.begin() + 5));
  EXPECT_EQ(joined, 0);

  auto plain = WebSocketClient::Connect(runtime, base_, "/v1/ws?token=good");
  ASSERT_TRUE(plain.ok());
  (*plain)->Send("burst 50");
  joined = 0;
  EXPECT_EQ(receive_parts(**plain, 50, &joined, &most), expected);
  EXPECT_EQ(joined, 0);
}

TEST_F(NetTest, StopClosesWebSocketsWithGoingAway) {
  ClientRuntime runtime;
  auto ws = WebSocketClient::Connect(runtime, base_, "/v1/ws?token=good");
  ASSERT_TRUE(ws.ok());
  HttpClient idle(base_);
  ASSERT_EQ(idle.Get("/healthz")->status, 200);  // leaves an idle keep-alive connection
  auto start = std::chrono::steady_clock::now();
  server_->Stop();
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(2));
  EXPECT_FALSE((*ws)->Receive(absl::Seconds(2)).ok());
  EXPECT_EQ((*ws)->close_code(), 1001);
  EXPECT_FALSE(HttpClient(base_).Get("/healthz").ok());  // no longer listening
}

// A server with its own options and routes, for the limits below.
class LimitsTest : public ::testing::Test {
 protected:
  void Start(ServerOptions options, Router router) {
    options.listen = "127.0.0.1:0";
    server_ = std::make_unique<Server>(options, std::move(router), metrics_);
    ASSERT_TRUE(server_->Start().ok());
    base_ = "127.0.0.1:" + std::to_string(server_->port());
  }
  void TearDown() override {
    if (server_) server_->Stop();
  }
  // A connected socket whose reads give up after 20 s (so a test cannot
  // hang; the assertions are on what was read, not on how long it took).
  int Connect() {
    int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    timeval tv{20, 0};
    ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(server_->port());
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    EXPECT_EQ(::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
    return fd;
  }
  // Everything the server sends until it closes; "TIMEOUT" if it did not.
  static std::string ReadUntilClosed(int fd) {
    std::string out;
    char buf[4096];
    for (;;) {
      ssize_t n = ::read(fd, buf, sizeof buf);
      if (n > 0) {
        out.append(buf, n);
        continue;
      }
      if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) out += "TIMEOUT";
      return out;
    }
  }
  // GET /healthz on a connection of its own; what the server sent.
  std::string HealthOnNewConnection() {
    int fd = Connect();
    const std::string req = "GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
    std::string out =
        ::write(fd, req.data(), req.size()) == static_cast<ssize_t>(req.size()) ? ReadUntilClosed(fd) : "";
    ::close(fd);
    return out;
  }
  int64_t GaugeValue(const std::string& name) {
    auto m = HttpClient(base_).Get("/metrics");
    if (!m.ok()) return -1;
    size_t at = m->body.find("\n" + name + " ");
    if (at == std::string::npos) return -1;
    return std::stoll(m->body.substr(at + name.size() + 2));
  }

  Metrics metrics_;
  std::unique_ptr<Server> server_;
  std::string base_;
};

TEST_F(LimitsTest, InventedMethodsShareOneMetricsSeries) {
  Router router;
  router.Get("/v1/x", [](Request&) { return Response::Json({}); });
  Start({}, std::move(router));
  for (int i = 0; i < 40; ++i) {
    int fd = Connect();
    std::string req =
        "INVENTED" + std::to_string(i) + " /v1/x HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
    ASSERT_EQ(::write(fd, req.data(), req.size()), static_cast<ssize_t>(req.size()));
    EXPECT_NE(ReadUntilClosed(fd).find("405"), std::string::npos);
    ::close(fd);
  }
  auto m = HttpClient(base_).Get("/metrics");
  ASSERT_TRUE(m.ok());
  EXPECT_EQ(m->body.find("INVENTED"), std::string::npos);
  EXPECT_NE(m->body.find(R"(tandem_http_requests_total{method="other",route="unmatched",status="405"} 40)"),
            std::string::npos)
      << m->body;
  EXPECT_EQ(MethodLabel("GET"), "GET");
  EXPECT_EQ(MethodLabel("get"), "other");
}

TEST_F(LimitsTest, JsonOfTheWrongTypeOrRangeIsTheClientsError) {
  Router router;
  router.Post("/v1/typed", [](Request& req) {
    auto body = ParseJsonObject(req);
    if (!body.ok()) return Response::Error(body.status());
    int n = (*body)["n"].get<int>();  // throws for a string
    return Response::Json({{"n", n}});
  });
  Start({}, std::move(router));
  HttpClient client(base_);
  auto expect_400 = [&](const std::string& body, const std::string& words) {
    auto res = client.Post("/v1/typed", body);
    ASSERT_TRUE(res.ok());
    EXPECT_EQ(res->status, 400) << body.substr(0, 40) << ": " << res->body;
    auto j = json::parse(res->body);
    EXPECT_EQ(j["error"]["code"], "invalid_argument");
    EXPECT_NE(j["error"]["message"].get<std::string>().find(words), std::string::npos) << res->body;
  };
  expect_400(R"({"n":1e999999})", "out of range");
  expect_400(R"({"n":"seven"})", "wrong type");
  expect_400(R"({"n":[1]})", "wrong type");
  expect_400(R"({"n":)" + std::string(10000, '[') + std::string(10000, ']') + "}", "deeper");
  expect_400(std::string(100, '{'), "deeper");
  // Nesting within the limit and brackets inside strings are fine.
  std::string nested =
      R"({"a":)" + std::string(30, '[') + std::string(30, ']') + R"(,"s":"[[[[{{{{\"[[[[","n":3})";
  EXPECT_EQ(client.Post("/v1/typed", nested)->status, 200);
}

TEST_F(LimitsTest, SlowHeadersAreCutAndIdleConnectionsKeepTheirTime) {
  ServerOptions options;
  options.header_timeout = absl::Milliseconds(300);
  options.idle_timeout = absl::Seconds(60);
  Router router;
  Start(options, std::move(router));
  int slow = Connect();
  const std::string part = "GET /healthz HTTP/1.1\r\nHost: x\r\n";  // never finished
  ASSERT_EQ(::write(slow, part.data(), part.size()), static_cast<ssize_t>(part.size()));
  EXPECT_EQ(ReadUntilClosed(slow), "");  // closed, with nothing sent
  ::close(slow);
  // A connection that has sent nothing yet waits for the idle timeout, so a
  // request sent after the header timeout is still answered.
  int idle = Connect();
  std::this_thread::sleep_for(std::chrono::milliseconds(600));
  const std::string full = "GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
  ASSERT_EQ(::write(idle, full.data(), full.size()), static_cast<ssize_t>(full.size()));
  EXPECT_NE(ReadUntilClosed(idle).find("200 OK"), std::string::npos);
  ::close(idle);
}

TEST_F(LimitsTest, ConnectionsPerAddressAreBounded) {
  ServerOptions options;
  options.max_connections_per_address = 3;
  Start(options, Router{});
  std::vector<int> held;
  for (int i = 0; i < 3; ++i) held.push_back(Connect());
  // The server counts a connection once it has accepted it; the fourth
  // is refused with a reason.
  std::string refused;
  for (int attempt = 0; attempt < 200 && refused.find("429") == std::string::npos; ++attempt) {
    refused = HealthOnNewConnection();
  }
  EXPECT_NE(refused.find("429"), std::string::npos) << refused;
  EXPECT_NE(refused.find("too_many_connections"), std::string::npos) << refused;
  ::close(held.back());
  held.pop_back();
  // Once one closes, a new connection is served again.
  std::string served;
  for (int attempt = 0; attempt < 200 && served.find("200 OK") == std::string::npos; ++attempt) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
    served = HealthOnNewConnection();
  }
  EXPECT_NE(served.find("200 OK"), std::string::npos) << served;
  for (int fd : held) ::close(fd);
}

TEST_F(LimitsTest, HeavyRoutesRunOnWorkersAndTheirQueueIsBounded) {
  std::mutex mu;
  std::condition_variable cv;
  bool release = false;
  int running = 0;
  Router router;
  router.Post(
      "/v1/heavy",
      [&](Request&) {
        std::unique_lock lock(mu);
        ++running;
        cv.notify_all();
        cv.wait(lock, [&] { return release; });
        return Response::Json({{"done", true}});
      },
      Work::kHeavy);
  ServerOptions options;
  options.threads = 1;  // one I/O thread: a heavy handler on it would stall everything
  options.worker_threads = 1;
  options.max_queued_heavy = 1;
  Start(options, std::move(router));
  std::vector<std::thread> clients;
  std::vector<int> statuses(2, 0);
  for (int i = 0; i < 2; ++i) {
    clients.emplace_back([&, i] {
      auto res = HttpClient(base_).Post("/v1/heavy", "{}");
      statuses[i] = res.ok() ? res->status : -1;
    });
  }
  {
    std::unique_lock lock(mu);
    cv.wait(lock, [&] { return running == 1; });
  }
  // One runs, one waits: the single I/O thread still answers others.
  HttpClient other(base_, absl::Seconds(5));
  auto health = other.Get("/healthz");
  bool io_free = health.ok() && health->status == 200;
  EXPECT_TRUE(io_free) << "the I/O thread is held by a heavy handler";
  for (int i = 0; io_free && i < 2000 && GaugeValue("tandem_http_heavy_requests") < 2; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  if (io_free) {
    auto busy = other.Post("/v1/heavy", "{}");
    ASSERT_TRUE(busy.ok());
    EXPECT_EQ(busy->status, 503);
    EXPECT_EQ(json::parse(busy->body)["error"]["code"], "unavailable");
  }
  {
    std::lock_guard lock(mu);
    release = true;
  }
  cv.notify_all();
  for (auto& t : clients) t.join();
  EXPECT_EQ(statuses, (std::vector<int>{200, 200}));
}

// Long polls that park their wake-up in `wakes` and answer how their wait
// ended; ?now=1 wakes itself before returning, ?at_most_ms sets the wait.
class LongPollTest : public LimitsTest {
 protected:
  Router MakeRouter() {
    Router router;
    router.LongPoll("/v1/wait", [this](Request& req, Wake wake) -> LongPollReply {
      if (req.QueryParam("now") == "1") wake();
      {
        std::lock_guard lock(mu_);
        wakes_.push_back(std::move(wake));
      }
      cv_.notify_all();
      return Wait{absl::Milliseconds(std::stoi(req.QueryParam("at_most_ms", "60000"))), [](WaitEnd end) {
                    const char* names[] = {"woken", "timed_out", "draining"};
                    return Response::Json({{"end", names[static_cast<int>(end)]}});
                  }};
    });
    return router;
  }
  void AwaitWaiters(size_t n) {
    std::unique_lock lock(mu_);
    cv_.wait(lock, [&] { return wakes_.size() >= n; });
    lock.unlock();
    // Registered by the handler; waiting once the gauge says so.
    for (int i = 0; i < 4000 && GaugeValue("tandem_http_waiting_requests") < static_cast<int64_t>(n); ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
  }
  static std::string End(const absl::StatusOr<HttpResponse>& res) {
    if (!res.ok()) return std::string(res.status().message());
    if (res->status != 200) return "HTTP " + std::to_string(res->status);
    return json::parse(res->body)["end"];
  }

  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<Wake> wakes_;
};

TEST_F(LongPollTest, AWaitHoldsNoThreadAndEndsWhenWokenOrWhenItsTimePasses) {
  ServerOptions options;
  options.threads = 1;  // a wait that held the only I/O thread would stall the rest
  Start(options, MakeRouter());
  std::string woken;
  std::thread waiter([&] { woken = End(HttpClient(base_).Get("/v1/wait")); });
  AwaitWaiters(1);
  auto health = HttpClient(base_, absl::Seconds(5)).Get("/healthz");
  EXPECT_TRUE(health.ok() && health->status == 200) << "the I/O thread is held by a waiting request";
  {
    std::lock_guard lock(mu_);
    wakes_[0]();
    wakes_[0]();  // more wakes change nothing
  }
  waiter.join();
  EXPECT_EQ(woken, "woken");
  {
    std::lock_guard lock(mu_);
    wakes_[0]();  // after the answer: nothing to wake
  }

  EXPECT_EQ(End(HttpClient(base_).Get("/v1/wait?at_most_ms=20")), "timed_out");
  EXPECT_EQ(End(HttpClient(base_).Get("/v1/wait?now=1")), "woken") << "a wake before the wait began is kept";
  EXPECT_EQ(GaugeValue("tandem_http_waiting_requests"), 0);
  // Without a socket there is no waiting.
  Request req;
  req.method = "GET";
  req.target = req.path = "/v1/wait";
  EXPECT_EQ(json::parse(server_->Handle(req).body)["end"], "timed_out");
}

TEST_F(LongPollTest, WaitersAreBoundedAndADrainAnswersThemAtOnce) {
  ServerOptions options;
  options.threads = 1;
  options.max_waiting = 2;
  options.drain_timeout = absl::Seconds(30);
  Start(options, MakeRouter());
  std::vector<std::string> ends(2);
  std::vector<std::thread> waiters;
  for (int i = 0; i < 2; ++i) {
    waiters.emplace_back([&, i] { ends[i] = End(HttpClient(base_, absl::Seconds(90)).Get("/v1/wait")); });
  }
  AwaitWaiters(2);
  auto third = HttpClient(base_).Get("/v1/wait");
  ASSERT_TRUE(third.ok());
  EXPECT_EQ(third->status, 503);
  EXPECT_EQ(third->Header("retry-after"), "1");
  EXPECT_EQ(json::parse(third->body)["error"]["code"], "unavailable");
  // Their waits (60 s) and the drain timeout (30 s) are long: only being
  // answered at the drain lets them, and Stop(), finish.
  server_->Stop();
  for (auto& t : waiters) t.join();
  EXPECT_EQ(ends, (std::vector<std::string>{"draining", "draining"}));
}

TEST(ListenAddressTest, Parses) {
  std::string host;
  uint16_t port;
  ASSERT_TRUE(ParseListenAddress("[::1]:8080", &host, &port).ok());
  EXPECT_EQ(host, "::1");
  EXPECT_EQ(port, 8080);
  EXPECT_FALSE(ParseListenAddress("nohost", &host, &port).ok());
  EXPECT_FALSE(ParseListenAddress("h:99999", &host, &port).ok());
}

}  // namespace
}  // namespace tandem::net
