// Relay load generator: starts a real tandemd (durable SQLite storage,
// synchronous=FULL, group commit), registers clients through the HTTP API,
// and drives them over WebSockets from one thread (ws_loop.h):
//
//   1. memory per idle connection: tandemd's RSS before and after opening
//      --idle connections of distinct devices that then stay idle;
//   2. throughput: --clients connected clients send to each other with
//      --window submits in flight each; envelopes delivered end to end per
//      second (each durable before it was acknowledged and pushed);
//   3. latency: the same clients at a fixed lower rate (--rate, default half
//      the measured throughput), open loop; p50/p99/p99.9 from submit to
//      delivery at the recipient;
//   4. group fan-out (--fanout N): one sender, N recipient devices; each
//      group message is one MultiSubmit with one shared body, beside the
//      same N copies sent as 1:1 envelopes: tandemd CPU per recipient device
//      and the time until the last device has the message.
//
// Usage: relay_load --tandemd build/src/app/tandemd [--clients 200]
//        [--idle 10000] [--seconds 10] [--rate 0] [--size 160] [--window 32]
//        [--no-batches] [--throughput-seconds S] [--set key=value]...
// By default clients ask for batched server frames and send the submits
// they have ready at once as one batch frame; --no-batches sends and
// receives one frame per WebSocket message.
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "common/random.h"
#include "crypto/keys.h"
#include "net/client.h"
#include "phone/phone.h"
#include "relay_protocol/protocol.h"
#include "relay_test_support.h"
#include "ws_loop.h"

namespace tandem::relay::load {
namespace {

using Clock = std::chrono::steady_clock;
using testing::Tandemd;

int64_t NowNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now().time_since_epoch()).count();
}

struct Flags {
  std::string tandemd;
  int clients = 200;
  int idle = 10000;
  int seconds = 10;
  int rate = 0;
  int size = 160;
  int window = 32;
  bool batches = true;
  bool timeline = false;              // print the slowest delivery of every 100 ms
  int nice = 0;                       // the load generator's own priority
  std::vector<std::string> settings;  // extra tandemd --set key=value
  int throughput_seconds = -1;        // -1: --seconds
  int fanout = 0;                     // recipient devices of the group phase (0: skip it)
  int fanout_messages = 20;
  std::string work;
};

// CPU time (user + system) of a process in seconds, from /proc/<pid>/stat.
double CpuSeconds(pid_t pid) {
  std::ifstream in(absl::StrCat("/proc/", pid, "/stat"));
  std::string all((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  size_t paren = all.rfind(')');  // the name may hold spaces
  if (paren == std::string::npos) return 0;
  std::istringstream fields(all.substr(paren + 2));
  std::string f;
  uint64_t utime = 0, stime = 0;
  for (int i = 3; fields >> f; ++i) {  // field 3 is the state
    if (i == 14) utime = std::stoull(f);
    if (i == 15) {
      stime = std::stoull(f);
      break;
    }
  }
  return static_cast<double>(utime + stime) / static_cast<double>(sysconf(_SC_CLK_TCK));
}

// Summed over a process's threads: nanoseconds on a CPU and waiting in the
// run queue for one (/proc/<pid>/task/*/schedstat).
std::pair<uint64_t, uint64_t> SchedNs(pid_t pid) {
  uint64_t run = 0, wait = 0;
  std::error_code ec;
  for (const auto& task : std::filesystem::directory_iterator(absl::StrCat("/proc/", pid, "/task"), ec)) {
    std::ifstream in(task.path() / "schedstat");
    uint64_t r = 0, w = 0;
    if (in >> r >> w) {
      run += r;
      wait += w;
    }
  }
  return {run, wait};
}

// The group-commit counters of tandemd's /metrics: commits, operations
// committed and pages written to the WAL.
struct CommitCounters {
  double commits = 0, operations = 0, wal_pages = 0;
};
CommitCounters ReadCommitCounters(const std::string& address) {
  CommitCounters c;
  auto res = net::HttpClient(address).Get("/metrics");
  if (!res.ok() || res->status != 200) return c;
  std::istringstream lines(res->body);
  std::string line;
  while (std::getline(lines, line)) {
    std::istringstream fields(line);
    std::string name;
    double value = 0;
    if (!(fields >> name >> value)) continue;  // comments
    if (name == "tandem_relay_batch_operations_count") c.commits = value;
    if (name == "tandem_relay_batch_operations_sum") c.operations = value;
    if (name == "tandem_relay_wal_frames_total") c.wal_pages = value;
  }
  return c;
}

int64_t RssKiB(pid_t pid) {
  std::ifstream in(absl::StrCat("/proc/", pid, "/status"));
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("VmRSS:", 0) == 0) return std::stoll(line.substr(6));
  }
  return -1;
}

void RaiseFileLimit() {
  rlimit rl{};
  getrlimit(RLIMIT_NOFILE, &rl);
  rl.rlim_cur = rl.rlim_max;
  setrlimit(RLIMIT_NOFILE, &rl);
}

// Distinct valid numbers: NANP area codes x exchanges x line numbers.
std::vector<std::string> MakeNumbers(size_t n) {
  static const char* kAreas[] = {"212", "310", "415", "646", "718", "305", "312", "617", "206", "512"};
  std::vector<std::string> out;
  for (const char* area : kAreas) {
    for (int exchange = 201; exchange <= 989 && out.size() < n; exchange += 7) {
      std::string candidate = absl::StrCat("+1", area, exchange, "0000");
      if (phone::Parse(candidate).reason != phone::Reason::kOk) continue;
      for (int line = 1000; line < 1000 + 500 && out.size() < n; ++line) {
        out.push_back(absl::StrCat("+1", area, exchange, line));
      }
    }
  }
  return out;
}

// Registers every number (codes requested first, the dev sender's file
// read once, then verified) on `threads` HTTP connections.
std::vector<Credentials> RegisterAll(const std::string& address, const std::filesystem::path& data_dir,
                                     const std::vector<std::string>& numbers, int threads) {
  auto parallel = [&](auto fn) {
    std::vector<std::thread> ts;
    for (int t = 0; t < threads; ++t) {
      ts.emplace_back([&, t] {
        net::HttpClient http(address);
        for (size_t i = t; i < numbers.size(); i += threads) fn(http, i);
      });
    }
    for (auto& th : ts) th.join();
  };
  parallel([&](net::HttpClient& http, size_t i) {
    auto res = http.Post("/v1/registration/code", nlohmann::json{{"number", numbers[i]}}.dump());
    if (!res.ok() || res->status != 200) {
      std::fprintf(stderr, "code request for %s failed: %s\n", numbers[i].c_str(),
                   res.ok() ? res->body.c_str() : std::string(res.status().message()).c_str());
      std::exit(1);
    }
  });
  std::unordered_map<std::string, std::string> codes;
  {
    std::ifstream in(data_dir / "verification-codes.log");
    std::string when, number, code;
    while (in >> when >> number >> code) codes[number] = code;
  }
  std::vector<Credentials> creds(numbers.size());
  SecureRandom& random = SecureRandom::Instance();
  std::string identity = testing::ToString(crypto::KeyPair::Generate(random).public_key.Serialize());
  parallel([&](net::HttpClient& http, size_t i) {
    nlohmann::json body = {{"number", numbers[i]},
                           {"code", codes[numbers[i]]},
                           {"identity_key", absl::Base64Escape(identity)},
                           {"registration_id", 1}};
    auto res = http.Post("/v1/registration/verify", body.dump());
    if (!res.ok() || res->status != 200) {
      std::fprintf(stderr, "verify for %s failed\n", numbers[i].c_str());
      std::exit(1);
    }
    auto j = nlohmann::json::parse(res->body);
    creds[i] = Credentials{j["account_id"].get<uint64_t>(), 1, j["password"].get<std::string>()};
  });
  return creds;
}

// Latencies in microseconds, bucketed (1 us resolution below 1 s).
class LatencyRecorder {
 public:
  LatencyRecorder() : buckets_(1000000) {}
  void Record(int64_t ns) {
    int64_t us = std::clamp<int64_t>(ns / 1000, 0, static_cast<int64_t>(buckets_.size()) - 1);
    buckets_[us].fetch_add(1, std::memory_order_relaxed);
  }
  void Reset() {
    for (auto& b : buckets_) b.store(0);
  }
  double Percentile(double p) const {
    uint64_t total = 0;
    for (const auto& b : buckets_) total += b.load();
    if (total == 0) return 0;
    uint64_t want = static_cast<uint64_t>(p * static_cast<double>(total)), seen = 0;
    for (size_t i = 0; i < buckets_.size(); ++i) {
      seen += buckets_[i].load();
      if (seen > want) return static_cast<double>(i) / 1000.0;
    }
    return static_cast<double>(buckets_.size()) / 1000.0;
  }

 private:
  std::vector<std::atomic<uint64_t>> buckets_;
};

struct Stats {
  std::atomic<uint64_t> submitted{0};
  std::atomic<uint64_t> delivered{0};
  std::atomic<uint64_t> errors{0};
  LatencyRecorder latency;         // submit -> delivery at the recipient
  LatencyRecorder result_latency;  // submit -> SubmitResult at the sender
  std::atomic<bool> record_latency{false};
  std::atomic<int64_t> last_delivery_ns{0};  // when the latest Deliver arrived
  // The slowest delivery in each 100 ms of the latency phase, by send time.
  std::atomic<int64_t> phase_start_ns{0};
  std::vector<std::atomic<int64_t>> worst_ns = std::vector<std::atomic<int64_t>>(6000);
  void RecordDelivery(int64_t sent_ns, int64_t now_ns) {
    latency.Record(now_ns - sent_ns);
    size_t slot = static_cast<size_t>(std::max<int64_t>(0, sent_ns - phase_start_ns.load()) / 100000000);
    if (slot >= worst_ns.size()) return;
    int64_t seen = worst_ns[slot].load(std::memory_order_relaxed);
    while (now_ns - sent_ns > seen && !worst_ns[slot].compare_exchange_weak(seen, now_ns - sent_ns)) {
    }
  }
};

// A hand-written decoder for the few frame fields the load generator needs,
// so that its share of the 2 cores goes to sockets rather than to protobuf
// objects (relay_protocol/protocol.h already encodes submits without them). Run()
// checks it against the real codec before measuring.
namespace wire {

struct Reader {
  const uint8_t* p;
  const uint8_t* end;
  bool ok = true;
  explicit Reader(std::string_view s)
      : p(reinterpret_cast<const uint8_t*>(s.data())),
        end(reinterpret_cast<const uint8_t*>(s.data()) + s.size()) {}
  uint64_t Varint() {
    uint64_t v = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      if (p == end) break;
      uint8_t b = *p++;
      v |= static_cast<uint64_t>(b & 0x7f) << shift;
      if (!(b & 0x80)) return v;
    }
    ok = false;
    return 0;
  }
  // The next field's number and wire type; false at the end or on error.
  bool Next(int* field, int* type) {
    if (!ok || p == end) return false;
    uint64_t key = Varint();
    *field = static_cast<int>(key >> 3);
    *type = static_cast<int>(key & 7);
    return ok;
  }
  std::string_view Len() {
    uint64_t n = Varint();
    if (!ok || n > static_cast<uint64_t>(end - p)) {
      ok = false;
      return {};
    }
    std::string_view s(reinterpret_cast<const char*>(p), n);
    p += n;
    return s;
  }
  void Skip(int type) {
    if (type == 0)
      Varint();
    else if (type == 2)
      Len();
    else if (type == 1 && end - p >= 8)
      p += 8;
    else if (type == 5 && end - p >= 4)
      p += 4;
    else
      ok = false;
  }
};

struct Frame {
  enum Kind { kOther, kResult, kError, kDeliver, kQueueEmpty } kind = kOther;
  uint64_t request_id = 0;
  uint64_t server_id = 0;       // of a Deliver
  std::string_view ciphertext;  // of a Deliver
  std::string_view error;       // message of an Error
};

// Calls `fn` for each frame of a ServerFrame message (a batch's frames in
// order). False if the bytes are malformed.
template <typename Fn>
bool ForEachFrame(std::string_view bytes, Fn&& fn, bool in_batch = false) {
  Reader r(bytes);
  Frame f;
  int field, type;
  while (r.Next(&field, &type)) {
    if (field == 1 && type == 0) {
      f.request_id = r.Varint();
    } else if (field == 2 && type == 2) {
      r.Len();
      f.kind = Frame::kResult;
    } else if (field == 3 && type == 2) {
      Reader e(r.Len());
      int ef, et;
      while (e.Next(&ef, &et)) {
        if (ef == 3 && et == 2)
          f.error = e.Len();
        else
          e.Skip(et);
      }
      f.kind = Frame::kError;
    } else if (field == 4 && type == 2) {
      Reader d(r.Len());
      int df, dt;
      while (d.Next(&df, &dt)) {
        if (df != 1 || dt != 2) {
          d.Skip(dt);
          continue;
        }
        Reader env(d.Len());
        int vf, vt;
        while (env.Next(&vf, &vt)) {
          if (vf == 1 && vt == 0)
            f.server_id = env.Varint();
          else if (vf == 7 && vt == 2)
            f.ciphertext = env.Len();
          else
            env.Skip(vt);
        }
        if (!env.ok) return false;
      }
      if (!d.ok) return false;
      f.kind = Frame::kDeliver;
    } else if (field == 5 && type == 2) {
      r.Len();
      f.kind = Frame::kQueueEmpty;
    } else if (field == 6 && type == 2 && !in_batch) {
      Reader b(r.Len());
      int bf, bt;
      while (b.Next(&bf, &bt)) {
        if (bf == 1 && bt == 2) {
          if (!ForEachFrame(b.Len(), fn, true)) return false;
        } else {
          b.Skip(bt);
        }
      }
      if (!b.ok) return false;
    } else {
      r.Skip(type);
    }
  }
  if (!r.ok) return false;
  if (f.kind != Frame::kOther) fn(f);
  return true;
}

}  // namespace wire

// One simulated device. Everything but Connect and Close runs on the
// loop's thread.
class LoadClient {
 public:
  LoadClient(int index, Credentials creds, Stats& stats)
      : index_(index), creds_(std::move(creds)), stats_(stats) {}

  absl::Status Connect(bench::WsLoop& loop, const std::string& address, bool batches) {
    batches_ = batches;
    loop_ = &loop;
    std::string target = std::string(kWebSocketPath) + (batches ? "?frames=batch" : "");
    ASSIGN_OR_RETURN(std::unique_ptr<bench::WsConn> ws,
                     bench::WsConn::Connect(loop, address, target, BasicAuthorization(creds_),
                                            [this](std::string_view m) { OnMessage(m); }));
    // ws_ belongs to the loop's thread, which may already deliver to it
    // (the queue drains at once); acks wait in pending_acks_ until it is set.
    loop.Post([this, raw = ws.release()] { ws_.reset(raw); });
    loop.Sync();
    return absl::OkStatus();
  }
  bool ready() const { return ready_.load(); }
  // On the loop's thread, which may be delivering to this connection.
  void Close() {
    if (loop_ == nullptr) return;
    loop_->Post([this] { ws_.reset(); });
    loop_->Sync();
  }

  // Closed loop: each SubmitResult triggers the next submit while `closed_loop_`.
  void StartClosedLoop(bench::WsLoop& loop, int window, const std::vector<LoadClient*>* peers,
                       const std::string* filler) {
    closed_loop_ = true;
    loop.Post([this, window, peers, filler] {
      peers_ = peers;
      filler_ = filler;
      if (closed_loop_) SubmitMany(window);  // unless already stopped
    });
  }
  void StopClosedLoop() { closed_loop_ = false; }
  void SetPeers(const std::vector<LoadClient*>* peers, const std::string* filler) {
    peers_ = peers;
    filler_ = filler;
  }

  void SubmitOne() { ws_->Send(MakeSubmit()); }
  void SendRaw(std::string_view message) { ws_->Send(message); }
  uint64_t account_id() const { return creds_.account_id; }

  // `n` submits: one batch message per kMaxFramesPerBatch when the
  // connection speaks batches, else one message each.
  void SubmitMany(int n) {
    if (!batches_) {
      for (int i = 0; i < n; ++i) SubmitOne();
      return;
    }
    std::vector<std::string> frames;
    while (n > 0) {
      int k = std::min<int>(n, static_cast<int>(kMaxFramesPerBatch));
      frames.clear();
      for (int i = 0; i < k; ++i) frames.push_back(MakeSubmit());
      ws_->Send(k == 1 ? std::move(frames[0]) : JoinClientFrames(frames));
      n -= k;
    }
  }

  void FlushAcks() {
    if (pending_acks_.empty() || ws_ == nullptr) return;
    ws_->Send(EncodeAck(pending_acks_));
    pending_acks_.clear();
  }

 private:
  std::string MakeSubmit() {
    uint64_t seq = seq_++;
    const LoadClient* to = (*peers_)[(index_ + 1 + seq % (peers_->size() - 1)) % peers_->size()];
    std::string payload = *filler_;
    int64_t now = NowNs();
    std::memcpy(payload.data(), &now, sizeof(now));
    int64_t wall_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                          std::chrono::system_clock::now().time_since_epoch())
                          .count();
    // The request id is the send time: the SubmitResult echoes it.
    return EncodeSubmit(static_cast<uint64_t>(now),
                        MakeClientMessageId(wall_ms, absl::StrCat("c", index_, "-", seq)),
                        RecipientByAccount(to->creds_.account_id), pb::ENVELOPE_TYPE_SIGNAL_MESSAGE, payload);
  }

  void OnMessage(std::string_view message) {
    int answered = 0;
    const bool record = stats_.record_latency.load(std::memory_order_relaxed);
    bool ok = wire::ForEachFrame(message, [&](const wire::Frame& f) {
      switch (f.kind) {
        case wire::Frame::kResult:
          stats_.submitted++;
          if (record) stats_.result_latency.Record(NowNs() - static_cast<int64_t>(f.request_id));
          ++answered;
          break;
        case wire::Frame::kDeliver: {
          if (f.ciphertext.size() >= 8 && record) {
            int64_t sent;
            std::memcpy(&sent, f.ciphertext.data(), sizeof(sent));
            stats_.RecordDelivery(sent, NowNs());
          }
          stats_.delivered++;
          stats_.last_delivery_ns.store(NowNs(), std::memory_order_relaxed);
          pending_acks_.push_back(f.server_id);
          break;
        }
        case wire::Frame::kQueueEmpty:
          ready_ = true;
          break;
        case wire::Frame::kError:
          if (stats_.errors++ < 5)
            std::fprintf(stderr, "error frame: %.*s\n", static_cast<int>(f.error.size()), f.error.data());
          ++answered;
          break;
        default:
          break;
      }
    });
    if (!ok) stats_.errors++;
    if (pending_acks_.size() >= 32) FlushAcks();
    if (closed_loop_ && answered > 0) SubmitMany(answered);
  }

  int index_;
  Credentials creds_;
  Stats& stats_;
  std::unique_ptr<bench::WsConn> ws_;
  std::atomic<bool> ready_{false};
  std::atomic<bool> closed_loop_{false};
  bool batches_ = false;
  bench::WsLoop* loop_ = nullptr;
  uint64_t seq_ = 0;
  const std::vector<LoadClient*>* peers_ = nullptr;
  const std::string* filler_ = nullptr;
  std::vector<uint64_t> pending_acks_;
};

bool WaitFor(const std::function<bool()>& pred, int seconds) {
  for (int i = 0; i < seconds * 100; ++i) {
    if (pred()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return pred();
}

// The hand-written decoder must agree with the real encoders.
bool WireCodecAgrees() {
  std::string ct(160, 'z');
  pb::Envelope env;
  env.set_server_id(77);
  env.set_sender_number("+14155550123");
  env.set_ciphertext(ct);
  env.set_type(pb::ENVELOPE_TYPE_SIGNAL_MESSAGE);
  std::vector<std::string> frames = {EncodeSubmitResult(5, "a", 9, 1, false), EncodeDeliver(env),
                                     EncodeError(6, "b", absl::NotFoundError("gone")), EncodeQueueEmpty()};
  std::vector<wire::Frame> seen;
  if (!wire::ForEachFrame(JoinServerFrames(frames), [&](const wire::Frame& f) { seen.push_back(f); }))
    return false;
  return seen.size() == 4 && seen[0].kind == wire::Frame::kResult && seen[0].request_id == 5 &&
         seen[1].kind == wire::Frame::kDeliver && seen[1].server_id == 77 && seen[1].ciphertext == ct &&
         seen[2].kind == wire::Frame::kError && seen[2].request_id == 6 && seen[2].error == "gone" &&
         seen[3].kind == wire::Frame::kQueueEmpty;
}

int Run(const Flags& flags) {
  if (!WireCodecAgrees()) {
    std::fprintf(stderr,
                 "relay_load: the hand-written frame decoder disagrees with relay_protocol/protocol.h\n");
    return 1;
  }
  RaiseFileLimit();
  std::filesystem::path work =
      flags.work.empty() ? std::filesystem::temp_directory_path() / absl::StrCat("relay_load_", getpid())
                         : std::filesystem::path(flags.work);
  std::filesystem::remove_all(work);
  std::vector<std::string> settings = {"relay.limits.codes_per_address.burst=1000000",
                                       "relay.limits.codes_per_prefix.burst=1000000",
                                       "relay.limits.verifies_per_address.burst=1000000",
                                       "relay.limits.send.burst=1000000", "relay.limits.send.interval_ms=1",
                                       // Every simulated client connects from 127.0.0.1.
                                       "server.max_connections_per_address=0"};
  settings.insert(settings.end(), flags.settings.begin(), flags.settings.end());
  Tandemd server(flags.tandemd, work, settings);
  if (!server.Start()) {
    std::fprintf(stderr, "tandemd did not start (see %s)\n", (work / "tandemd.log").c_str());
    return 1;
  }
  std::printf("tandemd pid %d at %s, data in %s\n", server.pid(), server.address().c_str(), work.c_str());
  // Threads started from here on inherit this (tandemd does not).
  if (flags.nice != 0) setpriority(PRIO_PROCESS, static_cast<id_t>(gettid()), flags.nice);
  const size_t accounts = static_cast<size_t>(flags.clients + std::max(flags.idle, flags.fanout));
  auto numbers = MakeNumbers(accounts);
  if (numbers.size() < accounts) {
    std::fprintf(stderr, "only %zu distinct numbers available\n", numbers.size());
    return 1;
  }
  auto t0 = Clock::now();
  auto creds = RegisterAll(server.address(), server.data_dir(), numbers, 4);
  double reg_s = std::chrono::duration<double>(Clock::now() - t0).count();
  std::printf("registered %zu accounts in %.1f s (%.0f/s)\n", creds.size(), reg_s, creds.size() / reg_s);

  bench::WsLoop loop;
  Stats stats;
  std::string filler(static_cast<size_t>(std::max(flags.size, 16)), '\x5a');

  // ---- 1. memory per idle connection ----
  double kib_per_idle = 0;
  if (flags.idle > 0) {
    std::vector<std::unique_ptr<LoadClient>> idle;
    std::this_thread::sleep_for(std::chrono::seconds(1));
    int64_t before = RssKiB(server.pid());
    for (int i = 0; i < flags.idle; ++i) {
      idle.push_back(std::make_unique<LoadClient>(i, creds[flags.clients + i], stats));
      if (auto st = idle.back()->Connect(loop, server.address(), flags.batches); !st.ok()) {
        std::fprintf(stderr, "idle connection %d failed: %s\n", i, std::string(st.message()).c_str());
        return 1;
      }
    }
    WaitFor([&] { return std::all_of(idle.begin(), idle.end(), [](auto& c) { return c->ready(); }); }, 60);
    std::this_thread::sleep_for(std::chrono::seconds(2));
    int64_t after = RssKiB(server.pid());
    kib_per_idle = static_cast<double>(after - before) / flags.idle;
    std::printf("idle: %d connections, tandemd RSS %lld KiB -> %lld KiB: %.1f KiB per idle connection\n",
                flags.idle, static_cast<long long>(before), static_cast<long long>(after), kib_per_idle);
    for (auto& c : idle) c->Close();
    idle.clear();
    std::this_thread::sleep_for(std::chrono::seconds(1));
  }

  // ---- 2. throughput ----
  std::vector<std::unique_ptr<LoadClient>> clients;
  std::vector<LoadClient*> peers;
  for (int i = 0; i < flags.clients; ++i) {
    clients.push_back(std::make_unique<LoadClient>(i, creds[i], stats));
    if (auto st = clients.back()->Connect(loop, server.address(), flags.batches); !st.ok()) {
      std::fprintf(stderr, "connection %d failed: %s\n", i, std::string(st.message()).c_str());
      return 1;
    }
    peers.push_back(clients.back().get());
  }
  WaitFor([&] { return std::all_of(clients.begin(), clients.end(), [](auto& c) { return c->ready(); }); },
          30);
  std::atomic<bool> flushing{true};
  // Acks go out in 32s as envelopes arrive; what is left is flushed every
  // 100 ms per client, the clients spread over the interval (a flush of
  // every client at once would be a burst no real population makes).
  size_t next_flush = 0;
  loop.Every(std::chrono::microseconds(100000 / std::max<size_t>(1, clients.size())), [&] {
    if (!flushing) return false;
    clients[next_flush]->FlushAcks();
    next_flush = (next_flush + 1) % clients.size();
    return true;
  });
  for (auto& c : clients) c->StartClosedLoop(loop, flags.window, &peers, &filler);
  std::this_thread::sleep_for(std::chrono::milliseconds(flags.throughput_seconds > 0 ? 2000 : 0));  // warm-up
  uint64_t d0 = stats.delivered.load();
  auto m0 = Clock::now();
  std::this_thread::sleep_for(std::chrono::seconds(flags.throughput_seconds));
  uint64_t d1 = stats.delivered.load();
  double secs = std::chrono::duration<double>(Clock::now() - m0).count();
  double throughput = static_cast<double>(d1 - d0) / secs;
  for (auto& c : clients) c->StopClosedLoop();
  std::printf(
      "throughput: %d clients, %d in flight each, %d-byte envelopes: %.0f envelopes/s delivered end to end\n",
      flags.clients, flags.window, flags.size, throughput);
  WaitFor([&] { return stats.delivered.load() >= stats.submitted.load(); }, 30);
  std::this_thread::sleep_for(std::chrono::milliseconds(500));

  // ---- 3. latency at a fixed rate ----
  int rate = flags.rate > 0 ? flags.rate : static_cast<int>(throughput / 2);
  stats.latency.Reset();
  stats.result_latency.Reset();
  stats.phase_start_ns = NowNs();
  stats.record_latency = true;
  std::atomic<uint64_t> sent_count{0};
  std::atomic<bool> driving{true};
  const auto start = Clock::now();
  uint64_t s0 = stats.delivered.load();
  const double server_cpu0 = CpuSeconds(server.pid()), own_cpu0 = CpuSeconds(getpid());
  const auto sched0 = SchedNs(server.pid());
  const CommitCounters commits0 = ReadCommitCounters(server.address());
  // Every 200 us the submits due by then go out, round robin over clients.
  size_t next_client = 0;
  loop.Every(std::chrono::microseconds(200), [&] {
    const double elapsed = std::chrono::duration<double>(Clock::now() - start).count();
    if (!driving || elapsed >= flags.seconds) {
      driving = false;
      return false;
    }
    const auto due = static_cast<uint64_t>(elapsed * rate);
    for (uint64_t sent = sent_count.load(); sent < due; ++sent) {
      clients[next_client]->SubmitOne();
      next_client = (next_client + 1) % clients.size();
      sent_count.store(sent + 1, std::memory_order_relaxed);
    }
    return true;
  });
  WaitFor([&] { return !driving.load(); }, flags.seconds + 30);
  const uint64_t sent = sent_count.load();
  const double server_cpu = CpuSeconds(server.pid()) - server_cpu0, own_cpu = CpuSeconds(getpid()) - own_cpu0;
  const auto sched1 = SchedNs(server.pid());
  const CommitCounters commits1 = ReadCommitCounters(server.address());
  const bool all_delivered = WaitFor([&] { return stats.delivered.load() - s0 >= sent; }, 30);
  stats.record_latency = false;
  std::printf("latency at %d envelopes/s (%llu sent): p50 %.2f ms, p99 %.2f ms, p99.9 %.2f ms\n", rate,
              static_cast<unsigned long long>(sent), stats.latency.Percentile(0.5),
              stats.latency.Percentile(0.99), stats.latency.Percentile(0.999));
  std::printf("  of which submit -> SubmitResult at the sender: p50 %.2f ms, p99 %.2f ms\n",
              stats.result_latency.Percentile(0.5), stats.result_latency.Percentile(0.99));
  if (flags.timeline) {
    std::printf("  slowest delivery per 100 ms of sending (ms):");
    for (int w = 0; w < flags.seconds * 10 && w < static_cast<int>(stats.worst_ns.size()); ++w) {
      std::printf("%s%.0f", w % 10 == 0 ? "\n   " : " ", static_cast<double>(stats.worst_ns[w].load()) / 1e6);
    }
    std::printf("\n");
  }
  {
    const double commits = std::max(1.0, commits1.commits - commits0.commits);
    std::printf("  group commits: %.0f/s, %.1f operations and about %.1f WAL pages each\n",
                commits / flags.seconds, (commits1.operations - commits0.operations) / commits,
                (commits1.wal_pages - commits0.wal_pages) / commits);
  }
  std::printf("  CPU per envelope: tandemd %.1f us, load generator %.1f us (%.0f%% of 2 cores in all)\n",
              server_cpu / static_cast<double>(std::max<uint64_t>(sent, 1)) * 1e6,
              own_cpu / static_cast<double>(std::max<uint64_t>(sent, 1)) * 1e6,
              (server_cpu + own_cpu) / flags.seconds / 2 * 100);
  std::printf("  tandemd's threads waited for a CPU %.0f%% as long as they ran\n",
              100.0 * static_cast<double>(sched1.second - sched0.second) /
                  static_cast<double>(std::max<uint64_t>(1, sched1.first - sched0.first)));
  flushing = false;
  loop.Sync();  // the flush timer has seen it

  // ---- 4. group fan-out ----
  // First with the members offline (what accepting and storing costs the
  // relay per recipient device), then online (with the push to each
  // device's connection and its ack).
  nlohmann::json fanout_result;
  if (flags.fanout > 0) {
    std::vector<std::unique_ptr<LoadClient>> members;
    for (int i = 0; i < flags.fanout; ++i) {
      members.push_back(std::make_unique<LoadClient>(i, creds[flags.clients + i], stats));
    }
    LoadClient& sender = *clients[0];
    // What tandemd spends with no traffic (its upkeep) is not the messages'.
    const double idle_cpu0 = CpuSeconds(server.pid());
    const auto idle_t0 = Clock::now();
    std::this_thread::sleep_for(std::chrono::seconds(2));
    const double idle_cpu_per_s = (CpuSeconds(server.pid()) - idle_cpu0) /
                                  std::chrono::duration<double>(Clock::now() - idle_t0).count();
    std::printf(
        "fan-out to %d devices (%d-byte body, %d messages each way); tandemd idle: %.1f ms of CPU per "
        "second, subtracted:\n",
        flags.fanout, flags.size, flags.fanout_messages, idle_cpu_per_s * 1e3);
    // Sends message(m) for m < fanout_messages, one at a time: online, until
    // every member has it; offline, until the sender has every answer.
    // Returns (mean ms until then, tandemd CPU us per recipient device).
    auto measure = [&](bool online, uint64_t answers,
                       const std::function<std::vector<std::string>(int)>& message) {
      double total_ms = 0;
      const double cpu0 = CpuSeconds(server.pid());
      const auto wall0 = Clock::now();
      for (int m = 0; m < flags.fanout_messages; ++m) {
        std::vector<std::string> parts = message(m);
        const uint64_t want_delivered = stats.delivered.load() + static_cast<uint64_t>(flags.fanout);
        const uint64_t want_answers = stats.submitted.load() + answers;
        const int64_t t0 = NowNs();
        loop.Post([&] {
          for (const std::string& p : parts) sender.SendRaw(p);
        });
        bool done = WaitFor(
            [&] {
              return online ? stats.delivered.load() >= want_delivered
                            : stats.submitted.load() >= want_answers;
            },
            30);
        if (!done) {
          std::fprintf(stderr, "fan-out: message %d was not %s\n", m,
                       online ? "delivered to every device" : "answered");
          stats.errors++;
          break;
        }
        total_ms += static_cast<double>((online ? stats.last_delivery_ns.load() : NowNs()) - t0) / 1e6;
        if (online) {
          loop.Post([&] {
            for (auto& c : members) c->FlushAcks();
          });
          loop.Sync();
          std::this_thread::sleep_for(std::chrono::milliseconds(20));  // the acks are processed
        }
      }
      const double cpu = CpuSeconds(server.pid()) - cpu0 -
                         idle_cpu_per_s * std::chrono::duration<double>(Clock::now() - wall0).count();
      const double copies = static_cast<double>(flags.fanout) * flags.fanout_messages;
      return std::make_pair(total_ms / flags.fanout_messages, cpu / copies * 1e6);
    };
    const std::string& body = filler;
    int round = 0;
    auto group = [&](int m) {
      pb::MultiSubmit multi;
      multi.set_client_message_id(absl::StrCat("group-", round, "-", m));
      multi.set_type(pb::ENVELOPE_TYPE_SENDER_KEY_MESSAGE);
      multi.set_body(body);
      for (auto& c : members) {
        pb::RecipientDevices* r = multi.add_recipients();
        r->set_account_id(c->account_id());
        pb::DeviceCopy* d = r->add_devices();
        d->set_device_id(1);
        d->set_registration_id(1);
      }
      return std::vector<std::string>{EncodeMultiSubmit(1, multi)};
    };
    auto single = [&](int m) {
      std::vector<std::string> frames;
      for (int i = 0; i < flags.fanout; ++i) {
        frames.push_back(EncodeSubmit(2, absl::StrCat("single-", round, "-", m, "-", i),
                                      RecipientByAccount(members[static_cast<size_t>(i)]->account_id()),
                                      pb::ENVELOPE_TYPE_SIGNAL_MESSAGE, body));
      }
      // One batch message per kMaxFramesPerBatch frames, back to back.
      std::vector<std::string> parts;
      for (size_t at = 0; at < frames.size(); at += kMaxFramesPerBatch) {
        parts.push_back(JoinClientFrames(std::span<const std::string>(
            frames.data() + at, std::min(kMaxFramesPerBatch, frames.size() - at))));
      }
      return parts;
    };
    const uint64_t n = static_cast<uint64_t>(flags.fanout);
    auto group_offline = measure(false, 1, group);
    auto single_offline = measure(false, n, single);
    for (auto& c : members) {
      if (auto st = c->Connect(loop, server.address(), flags.batches); !st.ok()) {
        std::fprintf(stderr, "member connection failed: %s\n", std::string(st.message()).c_str());
        return 1;
      }
    }
    // The stored copies drain to the members before the online rounds.
    WaitFor([&] { return std::all_of(members.begin(), members.end(), [](auto& c) { return c->ready(); }); },
            120);
    loop.Post([&] {
      for (auto& c : members) c->FlushAcks();
    });
    loop.Sync();
    std::this_thread::sleep_for(std::chrono::seconds(1));
    round = 1;
    auto group_online = measure(true, 1, group);
    auto single_online = measure(true, n, single);
    auto line = [](const char* what, std::pair<double, double> offline, std::pair<double, double> online) {
      std::printf(
          "  %-22s offline: stored after %6.2f ms, %5.2f us CPU per device; online: last device after "
          "%6.2f ms, %5.2f us CPU per device\n",
          what, offline.first, offline.second, online.first, online.second);
    };
    line("one MultiSubmit:", group_offline, group_online);
    line(absl::StrCat(flags.fanout, " 1:1 envelopes:").c_str(), single_offline, single_online);
    fanout_result = {{"devices", flags.fanout},
                     {"multi_offline_ms", group_offline.first},
                     {"multi_offline_cpu_us", group_offline.second},
                     {"multi_online_last_ms", group_online.first},
                     {"multi_online_cpu_us", group_online.second},
                     {"single_offline_ms", single_offline.first},
                     {"single_offline_cpu_us", single_offline.second},
                     {"single_online_last_ms", single_online.first},
                     {"single_online_cpu_us", single_online.second}};
    for (auto& c : members) c->Close();
  }
  for (auto& c : clients) c->Close();
  std::printf("errors: %llu\n", static_cast<unsigned long long>(stats.errors.load()));
  nlohmann::json result = {{"throughput_per_s", throughput},
                           {"latency_rate", rate},
                           {"p50_ms", stats.latency.Percentile(0.5)},
                           {"p99_ms", stats.latency.Percentile(0.99)},
                           {"kib_per_idle_connection", kib_per_idle},
                           {"clients", flags.clients},
                           {"idle", flags.idle},
                           {"fanout", fanout_result}};
  std::printf("RESULT %s\n", result.dump().c_str());
  server.Kill(SIGTERM);
  if (flags.work.empty()) std::filesystem::remove_all(work);
  if (!all_delivered)
    std::fprintf(stderr, "relay_load: not every envelope sent at the fixed rate was delivered\n");
  return all_delivered && stats.errors.load() == 0 ? 0 : 1;
}

}  // namespace
}  // namespace tandem::relay::load

int main(int argc, char** argv) {
  tandem::relay::load::Flags f;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto next = [&]() -> std::string { return i + 1 < argc ? argv[++i] : ""; };
    if (a == "--tandemd")
      f.tandemd = next();
    else if (a == "--clients")
      f.clients = std::stoi(next());
    else if (a == "--idle")
      f.idle = std::stoi(next());
    else if (a == "--seconds")
      f.seconds = std::stoi(next());
    else if (a == "--rate")
      f.rate = std::stoi(next());
    else if (a == "--size")
      f.size = std::stoi(next());
    else if (a == "--window")
      f.window = std::stoi(next());
    else if (a == "--work")
      f.work = next();
    else if (a == "--no-batches")
      f.batches = false;
    else if (a == "--timeline")
      f.timeline = true;
    else if (a == "--nice")
      f.nice = std::stoi(next());
    else if (a == "--set")
      f.settings.push_back(next());
    else if (a == "--fanout")
      f.fanout = std::stoi(next());
    else if (a == "--fanout-messages")
      f.fanout_messages = std::stoi(next());
    else if (a == "--throughput-seconds")
      f.throughput_seconds = std::stoi(next());
    else {
      std::fprintf(
          stderr,
          "usage: relay_load --tandemd PATH [--clients N] [--idle N] [--seconds S] [--rate R] [--size B] "
          "[--window W] [--work DIR] [--no-batches] [--timeline] [--fanout N] [--fanout-messages M] "
          "[--set key=value]...\n");
      return 2;
    }
  }
  if (f.throughput_seconds < 0) f.throughput_seconds = f.seconds;
  if (f.tandemd.empty() || f.clients < 2) {
    std::fprintf(stderr, "relay_load: --tandemd is required and --clients must be >= 2\n");
    return 2;
  }
  return tandem::relay::load::Run(f);
}
