// A lean WebSocket client side for the load generator: one thread, one
// epoll set, non-blocking sockets and RFC 6455 framing written out by hand.
//
// The load generator shares the 2 cores with the relay it measures. Each
// simulated device would be a phone of its own; here all of them together
// should take as little of the machine as they can, so a message costs one
// read or one write system call and no allocation beyond its payload. (The
// general client in net/client.h, Boost.Beast over Asio, is what tests and
// the command line use.)
//
// Threading: Connect() may be called from any thread; everything else about
// a connection (Send, the message callback) happens on the loop's thread.
// Post() and Every() hand work to that thread.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "common/status.h"

namespace tandem::bench {

class WsLoop;

class WsConn {
 public:
  using OnMessage = std::function<void(std::string_view payload)>;

  // Connects to host:port, upgrades `target` to a WebSocket (checking the
  // server's Sec-WebSocket-Accept) with the given Authorization header, and
  // hands the connection to `loop`. Blocks for the handshake only.
  static absl::StatusOr<std::unique_ptr<WsConn>> Connect(WsLoop& loop, const std::string& address,
                                                         const std::string& target,
                                                         const std::string& authorization,
                                                         OnMessage on_message);
  ~WsConn();  // closes on the loop's thread and waits for it

  // Sends one binary message (masked, as a client must). Loop thread only.
  void Send(std::string_view payload);

 private:
  friend class WsLoop;
  WsConn(WsLoop& loop, int fd, OnMessage on_message);
  void OnReadable();
  void OnWritable();
  void Parse(std::string_view bytes);
  void Fail();
  void WriteFrame(uint8_t opcode, std::string_view payload);
  void Flush();

  WsLoop& loop_;
  int fd_;
  OnMessage on_message_;
  uint8_t mask_[4];
  std::string partial_;  // bytes of an incomplete frame
  std::string message_;  // fragments of an incomplete message
  std::string out_;      // bytes the socket did not take yet
  std::string frame_;    // scratch for building a frame
  bool want_write_ = false;
};

class WsLoop {
 public:
  WsLoop();
  ~WsLoop();  // stops the thread; connections must be gone first

  void Post(std::function<void()> fn);
  // Returns once everything posted before has run.
  void Sync();
  // Runs `fn` on the loop's thread about every `period` until it returns false.
  void Every(std::chrono::microseconds period, std::function<bool()> fn);
  bool InLoop() const { return std::this_thread::get_id() == thread_.get_id(); }

 private:
  friend class WsConn;
  struct Timer {
    std::chrono::steady_clock::time_point due;
    std::chrono::microseconds period;
    std::function<bool()> fn;
  };
  void Run();
  void Add(WsConn* conn);
  void Remove(WsConn* conn);
  void SetWritable(WsConn* conn, bool want);

  int epoll_fd_;
  int wake_fd_;
  std::atomic<bool> stopping_{false};
  std::mutex mu_;
  std::vector<std::function<void()>> posted_;
  std::vector<Timer> timers_;  // loop thread only
  std::vector<char> read_buffer_;
  std::thread thread_;
};

}  // namespace tandem::bench
