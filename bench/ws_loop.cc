// The load generator's WebSocket loop (see ws_loop.h).
#include "ws_loop.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/sha.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <future>

#include "absl/strings/escaping.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "common/random.h"

namespace tandem::bench {
namespace {

constexpr size_t kReadChunk = 64 * 1024;
constexpr char kAcceptGuid[] = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

absl::Status Errno(std::string_view what) {
  return absl::UnavailableError(absl::StrCat(std::string(what), ": ", std::strerror(errno)));
}

absl::Status WriteAll(int fd, std::string_view bytes) {
  while (!bytes.empty()) {
    ssize_t n = ::send(fd, bytes.data(), bytes.size(), MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return Errno("send");
    bytes.remove_prefix(static_cast<size_t>(n));
  }
  return absl::OkStatus();
}

// The value of header `name` (matched without regard to case) in `head`.
std::string_view HeaderValue(std::string_view head, std::string_view name) {
  size_t pos = 0;
  while ((pos = head.find("\r\n", pos)) != std::string_view::npos) {
    pos += 2;
    std::string_view line = head.substr(pos, head.find("\r\n", pos) - pos);
    if (line.size() > name.size() && line[name.size()] == ':' &&
        std::equal(name.begin(), name.end(), line.begin(),
                   [](char a, char b) { return std::tolower(a) == std::tolower(b); })) {
      std::string_view value = line.substr(name.size() + 1);
      while (!value.empty() && value.front() == ' ') value.remove_prefix(1);
      return value;
    }
  }
  return {};
}

}  // namespace

// ---- WsConn ----

absl::StatusOr<std::unique_ptr<WsConn>> WsConn::Connect(WsLoop& loop, const std::string& address,
                                                        const std::string& target,
                                                        const std::string& authorization,
                                                        OnMessage on_message) {
  size_t colon = address.rfind(':');
  uint32_t port = 0;
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  if (colon == std::string::npos || !absl::SimpleAtoi(address.substr(colon + 1), &port) || port > 65535 ||
      inet_pton(AF_INET, address.substr(0, colon).c_str(), &sa.sin_addr) != 1) {
    return absl::InvalidArgumentError(absl::StrCat("expected IPv4 host:port, got '", address, "'"));
  }
  sa.sin_port = htons(static_cast<uint16_t>(port));
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return Errno("socket");
  auto fail = [fd](absl::Status st) {
    ::close(fd);
    return st;
  };
  if (::connect(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0) return fail(Errno("connect"));
  int one = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);

  uint8_t nonce[16];
  SecureRandom::Instance().Fill(nonce);
  const std::string key = absl::Base64Escape(std::string(reinterpret_cast<char*>(nonce), sizeof nonce));
  std::string request =
      absl::StrCat("GET ", target, " HTTP/1.1\r\nHost: ", address,
                   "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: ", key,
                   "\r\nSec-WebSocket-Version: 13\r\nAuthorization: ", authorization, "\r\n\r\n");
  if (auto st = WriteAll(fd, request); !st.ok()) return fail(st);

  // Read the response head; bytes after it are the first frames.
  std::string in;
  size_t end;
  while ((end = in.find("\r\n\r\n")) == std::string::npos) {
    if (in.size() > 16384) return fail(absl::DataLossError("handshake response head too long"));
    char buf[4096];
    ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return fail(n == 0 ? absl::UnavailableError("closed during the handshake") : Errno("recv"));
    in.append(buf, static_cast<size_t>(n));
  }
  std::string_view head(in.data(), end + 2);
  if (head.substr(0, 12) != "HTTP/1.1 101") {
    return fail(absl::PermissionDeniedError(
        absl::StrCat("upgrade refused: ", std::string(head.substr(0, head.find("\r\n"))))));
  }
  const std::string expected_accept = [&] {
    std::string material = key + kAcceptGuid;
    unsigned char digest[SHA_DIGEST_LENGTH];
    SHA1(reinterpret_cast<const unsigned char*>(material.data()), material.size(), digest);
    return absl::Base64Escape(std::string(reinterpret_cast<char*>(digest), sizeof digest));
  }();
  if (HeaderValue(head, "sec-websocket-accept") != expected_accept) {
    return fail(absl::DataLossError("wrong Sec-WebSocket-Accept in the upgrade response"));
  }
  ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) | O_NONBLOCK);

  std::unique_ptr<WsConn> conn(new WsConn(loop, fd, std::move(on_message)));
  conn->partial_ = in.substr(end + 4);
  WsConn* raw = conn.get();
  loop.Post([&loop, raw] { loop.Add(raw); });
  return conn;
}

WsConn::WsConn(WsLoop& loop, int fd, OnMessage on_message)
    : loop_(loop), fd_(fd), on_message_(std::move(on_message)) {
  SecureRandom::Instance().Fill(mask_);
}

WsConn::~WsConn() {
  if (loop_.InLoop()) {
    loop_.Remove(this);
    return;
  }
  std::promise<void> done;
  loop_.Post([this, &done] {
    loop_.Remove(this);
    done.set_value();
  });
  done.get_future().wait();
}

void WsConn::Fail() { loop_.Remove(this); }

void WsConn::OnReadable() {
  if (fd_ < 0) return;
  std::vector<char>& buf = loop_.read_buffer_;
  ssize_t n = ::recv(fd_, buf.data(), buf.size(), 0);
  if (n < 0 && (errno == EAGAIN || errno == EINTR)) return;
  if (n <= 0) return Fail();
  std::string_view got(buf.data(), static_cast<size_t>(n));
  if (partial_.empty()) return Parse(got);
  std::string joined = std::move(partial_);
  partial_.clear();
  joined.append(got);
  Parse(joined);
}

void WsConn::Parse(std::string_view bytes) {
  auto byte = [&](size_t i) { return static_cast<uint8_t>(bytes[i]); };
  size_t pos = 0;
  while (fd_ >= 0) {
    const size_t left = bytes.size() - pos;
    if (left < 2) break;
    const uint8_t b0 = byte(pos), b1 = byte(pos + 1);
    size_t head = 2;
    uint64_t len = b1 & 0x7f;
    if (len == 126) {
      if (left < 4) break;
      len = (uint64_t{byte(pos + 2)} << 8) | byte(pos + 3);
      head = 4;
    } else if (len == 127) {
      if (left < 10) break;
      len = 0;
      for (int i = 0; i < 8; ++i) len = (len << 8) | byte(pos + 2 + i);
      head = 10;
    }
    if (b1 & 0x80) return Fail();  // a server never masks
    if (len > (64u << 20)) return Fail();
    if (left < head + len) break;
    std::string_view payload = bytes.substr(pos + head, len);
    pos += head + len;
    const bool fin = b0 & 0x80;
    switch (b0 & 0x0f) {
      case 0x0:  // continuation
      case 0x1:
      case 0x2:
        if (!fin) {
          message_.append(payload);
        } else if (message_.empty()) {
          on_message_(payload);
        } else {
          message_.append(payload);
          on_message_(message_);
          message_.clear();
        }
        break;
      case 0x8:  // close
        return Fail();
      case 0x9:  // ping
        WriteFrame(0xA, payload);
        break;
      default:  // pong
        break;
    }
  }
  if (fd_ >= 0) partial_.assign(bytes.substr(pos));
}

void WsConn::Send(std::string_view payload) { WriteFrame(0x2, payload); }

void WsConn::WriteFrame(uint8_t opcode, std::string_view payload) {
  if (fd_ < 0) return;
  frame_.clear();
  frame_.push_back(static_cast<char>(0x80 | opcode));
  const uint64_t n = payload.size();
  if (n < 126) {
    frame_.push_back(static_cast<char>(0x80 | n));
  } else if (n <= 0xffff) {
    frame_.push_back(static_cast<char>(0x80 | 126));
    frame_.push_back(static_cast<char>(n >> 8));
    frame_.push_back(static_cast<char>(n));
  } else {
    frame_.push_back(static_cast<char>(0x80 | 127));
    for (int i = 7; i >= 0; --i) frame_.push_back(static_cast<char>(n >> (8 * i)));
  }
  frame_.append(reinterpret_cast<const char*>(mask_), 4);
  const size_t head = frame_.size();
  frame_.resize(head + n);
  for (size_t i = 0; i < n; ++i)
    frame_[head + i] = static_cast<char>(payload[i] ^ static_cast<char>(mask_[i & 3]));
  if (!out_.empty()) {
    out_.append(frame_);
    return;
  }
  ssize_t sent = ::send(fd_, frame_.data(), frame_.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
  if (sent < 0) {
    if (errno != EAGAIN && errno != EINTR) return Fail();
    sent = 0;
  }
  if (static_cast<size_t>(sent) < frame_.size()) {
    out_.assign(frame_, static_cast<size_t>(sent));
    loop_.SetWritable(this, true);
  }
}

void WsConn::OnWritable() { Flush(); }

void WsConn::Flush() {
  if (fd_ < 0) return;
  while (!out_.empty()) {
    ssize_t sent = ::send(fd_, out_.data(), out_.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
    if (sent < 0) {
      if (errno == EAGAIN) return;
      if (errno == EINTR) continue;
      return Fail();
    }
    out_.erase(0, static_cast<size_t>(sent));
  }
  loop_.SetWritable(this, false);
}

// ---- WsLoop ----

WsLoop::WsLoop()
    : epoll_fd_(::epoll_create1(EPOLL_CLOEXEC)),
      wake_fd_(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)),
      read_buffer_(kReadChunk) {
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.ptr = nullptr;
  ::epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, wake_fd_, &ev);
  thread_ = std::thread([this] { Run(); });
}

WsLoop::~WsLoop() {
  stopping_ = true;
  uint64_t one = 1;
  (void)!::write(wake_fd_, &one, sizeof one);
  thread_.join();
  ::close(wake_fd_);
  ::close(epoll_fd_);
}

void WsLoop::Post(std::function<void()> fn) {
  bool first;
  {
    std::lock_guard lock(mu_);
    first = posted_.empty();
    posted_.push_back(std::move(fn));
  }
  if (first) {
    uint64_t one = 1;
    (void)!::write(wake_fd_, &one, sizeof one);
  }
}

void WsLoop::Sync() {
  std::promise<void> done;
  Post([&done] { done.set_value(); });
  done.get_future().wait();
}

void WsLoop::Every(std::chrono::microseconds period, std::function<bool()> fn) {
  Post([this, period, fn = std::move(fn)]() mutable {
    timers_.push_back({std::chrono::steady_clock::now() + period, period, std::move(fn)});
  });
}

void WsLoop::Add(WsConn* conn) {
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.ptr = conn;
  if (::epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, conn->fd_, &ev) != 0) return conn->Fail();
  if (!conn->partial_.empty()) {
    std::string first = std::move(conn->partial_);
    conn->partial_.clear();
    conn->Parse(first);
  }
}

void WsLoop::Remove(WsConn* conn) {
  if (conn->fd_ < 0) return;
  ::epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, conn->fd_, nullptr);
  ::close(conn->fd_);
  conn->fd_ = -1;
}

void WsLoop::SetWritable(WsConn* conn, bool want) {
  if (conn->want_write_ == want || conn->fd_ < 0) return;
  conn->want_write_ = want;
  epoll_event ev{};
  ev.events = want ? (EPOLLIN | EPOLLOUT) : EPOLLIN;
  ev.data.ptr = conn;
  ::epoll_ctl(epoll_fd_, EPOLL_CTL_MOD, conn->fd_, &ev);
}

void WsLoop::Run() {
  std::vector<epoll_event> events(256);
  std::vector<std::function<void()>> tasks;
  while (!stopping_) {
    auto now = std::chrono::steady_clock::now();
    auto wait = std::chrono::nanoseconds(std::chrono::milliseconds(100));
    for (const Timer& t : timers_) wait = std::min<std::chrono::nanoseconds>(wait, t.due - now);
    wait = std::max<std::chrono::nanoseconds>(wait, std::chrono::nanoseconds(0));
    timespec ts{static_cast<time_t>(wait.count() / 1000000000), static_cast<long>(wait.count() % 1000000000)};
    int n = ::epoll_pwait2(epoll_fd_, events.data(), static_cast<int>(events.size()), &ts, nullptr);
    for (int i = 0; i < n; ++i) {
      auto* conn = static_cast<WsConn*>(events[i].data.ptr);
      if (conn == nullptr) {
        uint64_t v;
        (void)!::read(wake_fd_, &v, sizeof v);
        continue;
      }
      if (events[i].events & EPOLLOUT) conn->OnWritable();
      if (events[i].events & (EPOLLIN | EPOLLHUP | EPOLLERR)) conn->OnReadable();
    }
    {
      std::lock_guard lock(mu_);
      tasks.swap(posted_);
    }
    for (auto& task : tasks) task();
    tasks.clear();
    now = std::chrono::steady_clock::now();
    for (size_t i = 0; i < timers_.size();) {
      Timer& t = timers_[i];
      if (t.due > now) {
        ++i;
        continue;
      }
      if (!t.fn()) {
        timers_.erase(timers_.begin() + static_cast<std::ptrdiff_t>(i));
        continue;
      }
      t.due = now + t.period;
      ++i;
    }
  }
}

}  // namespace tandem::bench
