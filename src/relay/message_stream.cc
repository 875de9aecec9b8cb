// Message stream: frame handling, the connection registry and delivery.
#include "relay/message_stream.h"

#include <algorithm>
#include <optional>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "common/log.h"
#include "phone/phone.h"
#include "relay_protocol/protocol.h"

namespace tandem::relay {

// One authenticated device connection. Created by OnUpgrade and kept as the
// connection's context; `mu` guards everything below it.
struct DeviceSession {
  uint64_t account_id = 0;
  uint32_t device_id = 0;
  std::string number;
  bool batches = false;  // the client reads ServerFrameBatch (frames=batch)

  std::mutex mu;
  std::shared_ptr<net::WebSocketConnection> conn;  // reset on close (breaks the cycle)
  bool closed = false;
  uint64_t cursor = 0;                  // highest server id sent on this connection
  std::map<uint64_t, size_t> inflight;  // sent, not acked: server id -> bytes
  size_t inflight_bytes = 0;
  bool backlog = true;  // the database may hold envelopes past the cursor
  bool dirty = false;   // a push was skipped while a fetch ran
  bool fetch_scheduled = false;
  bool queue_empty_sent = false;
};

namespace {

std::shared_ptr<DeviceSession> SessionOf(const std::shared_ptr<net::WebSocketConnection>& conn) {
  return std::static_pointer_cast<DeviceSession>(conn->context());
}

bool HasRoom(const DeviceSession& s, const MessageStream::Options& o) {
  return s.inflight.size() < o.window_envelopes && (s.inflight.empty() || s.inflight_bytes < o.window_bytes);
}

std::string DeliverFrame(const db::EnvelopeRow& e) {
  return EncodeDeliver(EnvelopeFields{e.server_id, e.sender_account, e.sender_device, e.sender_number,
                                      e.server_ts_ms, e.type, e.Ciphertext(), e.recipient_device});
}

// Sends one envelope on a session whose mutex the caller holds.
void SendLocked(DeviceSession& s, const db::EnvelopeRow& e) {
  s.conn->Send(DeliverFrame(e));
  s.cursor = e.server_id;
  s.inflight.emplace(e.server_id, e.Ciphertext().size());
  s.inflight_bytes += e.Ciphertext().size();
}

}  // namespace

MessageStream::MessageStream(Directory& directory, EnvelopeWriter& writer, store::Database& reader,
                             RateLimiter& send_limiter, RateLimiter& miss_limiter, net::Metrics& metrics,
                             Options options, const Clock& clock)
    : directory_(directory),
      writer_(writer),
      reader_(reader),
      send_limiter_(send_limiter),
      miss_limiter_(miss_limiter),
      options_(options),
      clock_(clock),
      submitted_(metrics.GetCounter("tandem_relay_envelopes_accepted_total",
                                    "Envelopes stored durably and acknowledged to the sender")),
      delivered_(metrics.GetCounter("tandem_relay_envelopes_pushed_total", "Deliver frames sent")),
      rejected_(
          metrics.GetCounter("tandem_relay_frames_rejected_total", "Client frames answered with an error")),
      devices_online_(
          metrics.GetGauge("tandem_relay_devices_online", "Devices with an open message stream")) {}

MessageStream::~MessageStream() { Stop(); }

void MessageStream::Start() {
  std::lock_guard lock(fetch_mu_);
  stopping_ = false;
  if (!delivery_thread_.joinable()) delivery_thread_ = std::thread([this] { DeliveryLoop(); });
}

void MessageStream::Stop() {
  {
    std::lock_guard lock(fetch_mu_);
    stopping_ = true;
  }
  fetch_cv_.notify_all();
  if (delivery_thread_.joinable()) delivery_thread_.join();
  // Let go of every connection still registered. A connection the server
  // did not see close (its drain timed out) gets no OnClose, and it must not
  // outlive the server through its session here.
  std::unordered_map<uint64_t, std::map<uint32_t, std::shared_ptr<DeviceSession>>> registry;
  {
    std::lock_guard lock(registry_mu_);
    registry.swap(registry_);
  }
  for (auto& [account, devices] : registry) {
    for (auto& [device, session] : devices) {
      std::lock_guard lock(session->mu);
      session->closed = true;
      session->conn.reset();
      session->inflight.clear();
      devices_online_.Add(-1);
    }
  }
}

std::shared_ptr<DeviceSession> MessageStream::Find(uint64_t account_id, uint32_t device_id) const {
  std::lock_guard lock(registry_mu_);
  auto it = registry_.find(account_id);
  if (it == registry_.end()) return nullptr;
  auto d = it->second.find(device_id);
  return d == it->second.end() ? nullptr : d->second;
}

absl::Status MessageStream::OnUpgrade(const net::Request& request, std::shared_ptr<void>* context) {
  absl::StatusOr<Credentials> creds = absl::UnauthenticatedError("");
  std::string login = request.QueryParam("login");
  if (!login.empty()) {
    creds = ParseLogin(login, request.QueryParam("password"));
  } else {
    creds = ParseBasicAuthorization(request.Header("authorization"));
  }
  RETURN_IF_ERROR(creds.status());
  RETURN_IF_ERROR(directory_.Authenticate(*creds));
  auto session = std::make_shared<DeviceSession>();
  session->account_id = creds->account_id;
  session->device_id = creds->device_id;
  session->number = directory_.NumberOf(creds->account_id).value_or("");
  session->batches = request.QueryParam("frames") == "batch";
  *context = session;
  return absl::OkStatus();
}

void MessageStream::OnOpen(const std::shared_ptr<net::WebSocketConnection>& conn) {
  auto session = SessionOf(conn);
  std::shared_ptr<DeviceSession> replaced;
  {
    std::lock_guard lock(session->mu);
    session->conn = conn;
  }
  {
    std::lock_guard lock(registry_mu_);
    auto& slot = registry_[session->account_id][session->device_id];
    replaced = std::move(slot);
    slot = session;
  }
  if (replaced) {
    std::lock_guard lock(replaced->mu);
    if (replaced->conn) replaced->conn->Close(kCloseReplaced, "another connection of this device took over");
  } else {
    devices_online_.Add(1);
  }
  writer_.CountSession(session->account_id);
  std::lock_guard lock(session->mu);
  ScheduleFetchLocked(session);
}

void MessageStream::OnClose(const std::shared_ptr<net::WebSocketConnection>& conn) {
  auto session = SessionOf(conn);
  {
    std::lock_guard lock(session->mu);
    session->closed = true;
    session->conn.reset();
    session->inflight.clear();
  }
  std::lock_guard lock(registry_mu_);
  auto it = registry_.find(session->account_id);
  if (it == registry_.end()) return;
  auto d = it->second.find(session->device_id);
  if (d != it->second.end() && d->second == session) {
    it->second.erase(d);
    if (it->second.empty()) registry_.erase(it);
    devices_online_.Add(-1);
  }
}

void MessageStream::Disconnect(uint64_t account_id, const std::string& reason) {
  std::vector<std::shared_ptr<DeviceSession>> sessions;
  {
    std::lock_guard lock(registry_mu_);
    auto it = registry_.find(account_id);
    if (it == registry_.end()) return;
    for (auto& [device, s] : it->second) sessions.push_back(s);
  }
  for (auto& s : sessions) {
    std::lock_guard lock(s->mu);
    if (s->conn) s->conn->Close(kCloseRevoked, reason);
  }
}

void MessageStream::DisconnectDevice(uint64_t account_id, uint32_t device_id, const std::string& reason) {
  std::shared_ptr<DeviceSession> session;
  {
    std::lock_guard lock(registry_mu_);
    auto it = registry_.find(account_id);
    if (it == registry_.end()) return;
    auto d = it->second.find(device_id);
    if (d == it->second.end()) return;
    session = d->second;
  }
  std::lock_guard lock(session->mu);
  if (session->conn) session->conn->Close(kCloseRevoked, reason);
}

void MessageStream::OnMessage(const std::shared_ptr<net::WebSocketConnection>& conn, std::string data,
                              bool binary) {
  auto session = SessionOf(conn);
  if (!binary) {
    rejected_.Inc();
    conn->Send(EncodeError(0, "", absl::InvalidArgumentError("frames must be binary protobuf ClientFrames")));
    conn->Close(1003, "text frames are not supported");
    return;
  }
  absl::StatusOr<pb::ClientFrame> frame = DecodeClientFrame(data);
  if (!frame.ok()) {
    rejected_.Inc();
    conn->Send(EncodeError(0, "", frame.status()));
    if (frame.status().code() == absl::StatusCode::kDataLoss) conn->Close(1007, "malformed frame");
    return;
  }
  if (frame->has_batch()) {
    for (pb::ClientFrame& inner : *frame->mutable_batch()->mutable_frames())
      HandleFrame(session, conn, inner);
  } else {
    HandleFrame(session, conn, *frame);
  }
}

size_t MessageStream::JoinLimit(const net::WebSocketConnection& conn) {
  return static_cast<const DeviceSession*>(conn.context().get())->batches ? kMaxFramesPerBatch : 0;
}

std::string MessageStream::Join(std::span<const std::string> messages) { return JoinServerFrames(messages); }

void MessageStream::HandleFrame(const std::shared_ptr<DeviceSession>& session,
                                const std::shared_ptr<net::WebSocketConnection>& conn,
                                pb::ClientFrame& frame) {
  switch (frame.body_case()) {
    case pb::ClientFrame::kSubmit:
      HandleSubmit(session, conn, frame.request_id(), *frame.mutable_submit());
      return;
    case pb::ClientFrame::kMultiSubmit:
      HandleMultiSubmit(session, conn, frame.request_id(), *frame.mutable_multi_submit());
      return;
    case pb::ClientFrame::kAck:
      if (absl::Status st = ValidateAck(frame.ack()); !st.ok()) {
        rejected_.Inc();
        conn->Send(EncodeError(frame.request_id(), "", st));
        return;
      }
      HandleAck(session, frame.ack());
      return;
    default:  // no body (only possible inside a batch; nesting is refused by the decoder)
      rejected_.Inc();
      conn->Send(
          EncodeError(frame.request_id(), "",
                      absl::InvalidArgumentError("frame in batch has no body: expected submit or ack")));
      return;
  }
}

absl::StatusOr<uint64_t> MessageStream::ResolveAccount(const DeviceSession& sender, const std::string* number,
                                                       uint64_t account_id) {
  std::optional<uint64_t> account;
  if (number != nullptr) {
    if (!phone::LooksLikeE164(*number)) {
      return absl::InvalidArgumentError("recipient number must be in E.164 form, e.g. +14155550123");
    }
    account = directory_.AccountForNumber(*number);
  } else if (directory_.NumberOf(account_id)) {
    account = account_id;
  }
  if (!account) {
    RETURN_IF_ERROR(TakeMiss(sender));
    return absl::NotFoundError("no account is registered for this recipient");
  }
  return *account;
}

// Each miss costs a token, so probing for registered numbers through these
// errors is as slow as contact discovery allows.
absl::Status MessageStream::TakeMiss(const DeviceSession& sender) {
  return miss_limiter_.Take(absl::StrCat("miss:", sender.account_id));
}

absl::StatusOr<std::pair<uint64_t, uint32_t>> MessageStream::ResolveRecipient(
    const DeviceSession& sender, const pb::Recipient& recipient) {
  uint32_t device = recipient.device_id() == 0 ? kPrimaryDeviceId : recipient.device_id();
  ASSIGN_OR_RETURN(
      uint64_t account,
      ResolveAccount(sender, recipient.has_number() ? &recipient.number() : nullptr, recipient.account_id()));
  if (!directory_.HasDevice(account, device)) {
    RETURN_IF_ERROR(TakeMiss(sender));
    return absl::NotFoundError("the recipient has no such device");
  }
  return std::make_pair(account, device);
}

EnvelopeWriter::SubmitDone MessageStream::AnswerTo(const std::shared_ptr<net::WebSocketConnection>& conn,
                                                   uint64_t request_id, std::string client_message_id) {
  // The answer does not keep the connection alive: the server owns it, and
  // a client that went away resubmits on its next connection.
  std::weak_ptr<net::WebSocketConnection> weak = conn;
  return [this, weak, request_id,
          client_message_id = std::move(client_message_id)](absl::StatusOr<SubmitOutcome> outcome) {
    (outcome.ok() ? submitted_ : rejected_).Inc();
    std::shared_ptr<net::WebSocketConnection> conn = weak.lock();
    if (!conn) return;
    conn->Send(outcome.ok() ? EncodeSubmitResult(request_id, client_message_id, outcome->server_id,
                                                 outcome->server_ts_ms, outcome->duplicate)
                            : EncodeError(request_id, client_message_id, outcome.status()));
  };
}

void MessageStream::HandleSubmit(const std::shared_ptr<DeviceSession>& session,
                                 const std::shared_ptr<net::WebSocketConnection>& conn, uint64_t request_id,
                                 pb::SubmitEnvelope& submit) {
  auto reject = [&](const absl::Status& st) {
    rejected_.Inc();
    std::string id =
        submit.client_message_id().size() <= kMaxClientMessageIdBytes ? submit.client_message_id() : "";
    conn->Send(EncodeError(request_id, id, st));
  };
  if (absl::Status st = ValidateSubmit(submit); !st.ok()) return reject(st);
  if (absl::Status st =
          send_limiter_.Take(absl::StrCat("send:", session->account_id, ".", session->device_id));
      !st.ok()) {
    return reject(st);
  }
  auto recipient = ResolveRecipient(*session, submit.recipient());
  if (!recipient.ok()) return reject(recipient.status());
  if (submit.destination_registration_id() != 0 &&
      directory_.RegistrationIdOf(recipient->first, recipient->second) !=
          submit.destination_registration_id()) {
    return reject(
        absl::FailedPreconditionError("stale session: the recipient registered again since this was "
                                      "encrypted; fetch its keys and encrypt anew"));
  }
  if (!directory_.ReserveQueueSlot(recipient->first, recipient->second, options_.max_queue_depth)) {
    return reject(
        absl::ResourceExhaustedError(absl::StrCat("the recipient's queue is full (", options_.max_queue_depth,
                                                  " envelopes wait for delivery); retry later")));
  }
  db::EnvelopeRow e;
  e.recipient_account = recipient->first;
  e.recipient_device = recipient->second;
  e.sender_account = session->account_id;
  e.sender_device = session->device_id;
  e.sender_number = session->number;
  e.type = submit.type();
  e.ciphertext = std::move(*submit.mutable_ciphertext());
  std::string client_message_id = submit.client_message_id();
  writer_.Submit(std::move(e), client_message_id, AnswerTo(conn, request_id, client_message_id));
}

namespace {

void SetAccount(const pb::RecipientDevices& from, pb::DeviceMismatch& to) {
  if (from.has_number()) {
    to.set_number(from.number());
  } else {
    to.set_account_id(from.account_id());
  }
}

}  // namespace

void MessageStream::HandleMultiSubmit(const std::shared_ptr<DeviceSession>& session,
                                      const std::shared_ptr<net::WebSocketConnection>& conn,
                                      uint64_t request_id, pb::MultiSubmit& submit) {
  const std::string client_message_id =
      submit.client_message_id().size() <= kMaxClientMessageIdBytes ? submit.client_message_id() : "";
  auto reject = [&](const absl::Status& st) {
    rejected_.Inc();
    conn->Send(EncodeError(request_id, client_message_id, st));
  };
  if (absl::Status st = ValidateMultiSubmit(submit); !st.ok()) return reject(st);
  if (absl::Status st =
          send_limiter_.Take(absl::StrCat("send:", session->account_id, ".", session->device_id));
      !st.ok()) {
    return reject(st);
  }
  // Resolve every recipient and compare its device list with the account's
  // devices (the sender's own account without the sending device), all
  // under one lock of the directory; errors are answered after it.
  const auto& recipients = submit.recipients();
  std::vector<uint64_t> accounts;
  accounts.reserve(static_cast<size_t>(recipients.size()));
  absl::flat_hash_set<uint64_t> named;
  named.reserve(static_cast<size_t>(recipients.size()));
  std::vector<pb::DeviceMismatch> mismatches;
  std::optional<absl::Status> error;
  bool miss = false;
  {
    Directory::Batch dir(directory_);
    std::vector<Directory::DeviceInfo> current;
    for (int i = 0; i < recipients.size() && !error; ++i) {
      const pb::RecipientDevices& r = recipients[i];
      std::optional<uint64_t> account;
      if (r.has_number()) {
        if (!phone::LooksLikeE164(r.number())) {
          error = absl::InvalidArgumentError(
              absl::StrCat("recipient ", i, ": recipient number must be in E.164 form, e.g. +14155550123"));
          break;
        }
        account = dir.AccountForNumber(r.number());
      } else if (dir.HasAccount(r.account_id())) {
        account = r.account_id();
      }
      if (!account) {
        miss = true;
        error = absl::NotFoundError(
            absl::StrCat("recipient ", i, ": no account is registered for this recipient"));
        break;
      }
      if (!named.insert(*account).second) {
        error = absl::InvalidArgumentError(absl::StrCat("recipient ", i, " names an account named before"));
        break;
      }
      accounts.push_back(*account);
      dir.DevicesOf(*account, current);
      if (*account == session->account_id) {
        std::erase_if(current,
                      [&](const Directory::DeviceInfo& d) { return d.device_id == session->device_id; });
      }
      pb::DeviceMismatch m;
      for (const Directory::DeviceInfo& d : current) {
        auto listed = std::find_if(r.devices().begin(), r.devices().end(),
                                   [&](const pb::DeviceCopy& c) { return c.device_id() == d.device_id; });
        if (listed == r.devices().end()) {
          m.add_missing(d.device_id);
        } else if (listed->registration_id() != 0 && listed->registration_id() != d.registration_id) {
          m.add_stale(d.device_id);
        }
      }
      for (const pb::DeviceCopy& c : r.devices()) {
        if (std::none_of(current.begin(), current.end(),
                         [&](const Directory::DeviceInfo& d) { return d.device_id == c.device_id(); })) {
          m.add_extra(c.device_id());
        }
      }
      if (m.missing_size() + m.extra_size() + m.stale_size() > 0) {
        std::sort(m.mutable_extra()->begin(), m.mutable_extra()->end());
        SetAccount(r, m);
        mismatches.push_back(std::move(m));
      }
    }
  }
  if (miss) {
    // Each miss costs a token, as a 1:1 submission's does.
    if (absl::Status st = TakeMiss(*session); !st.ok()) return reject(st);
  }
  if (error) return reject(*error);
  if (!mismatches.empty()) {
    rejected_.Inc();
    conn->Send(EncodeDeviceMismatch(
        request_id, client_message_id,
        absl::StrCat("the device lists of ", mismatches.size(),
                     " recipient(s) do not match their current devices: add the missing ones, drop the "
                     "extra ones and start new sessions with the stale ones, then resubmit"),
        mismatches));
    return;
  }
  // A queue slot per copy, all or none.
  std::vector<db::EnvelopeRow> copies;
  auto body = submit.body().empty() ? nullptr
                                    : std::make_shared<const std::string>(std::move(*submit.mutable_body()));
  size_t total = 0;
  for (const pb::RecipientDevices& r : recipients) total += static_cast<size_t>(r.devices_size());
  copies.reserve(total);
  {
    Directory::Batch dir(directory_);
    for (int i = 0; i < recipients.size() && !error; ++i) {
      for (pb::DeviceCopy& c : *submit.mutable_recipients(i)->mutable_devices()) {
        if (!dir.ReserveQueueSlot(accounts[static_cast<size_t>(i)], c.device_id(),
                                  options_.max_queue_depth)) {
          for (const db::EnvelopeRow& e : copies)
            dir.ReleaseQueueSlot(e.recipient_account, e.recipient_device);
          error = absl::ResourceExhaustedError(absl::StrCat("recipient ", i, " device ", c.device_id(),
                                                            ": the queue is full (", options_.max_queue_depth,
                                                            " envelopes wait for delivery); retry later"));
          break;
        }
        db::EnvelopeRow& e = copies.emplace_back();
        e.recipient_account = accounts[static_cast<size_t>(i)];
        e.recipient_device = c.device_id();
        e.sender_account = session->account_id;
        e.sender_device = session->device_id;
        e.sender_number = session->number;
        if (c.ciphertext().empty()) {
          e.type = submit.type();
          e.body = body;
        } else {
          e.type = c.type();
          e.ciphertext = std::move(*c.mutable_ciphertext());
        }
      }
    }
  }
  if (error) return reject(*error);
  std::vector<std::string> attachments(submit.attachment_ids().begin(), submit.attachment_ids().end());
  writer_.SubmitMulti(std::move(copies), std::move(body), client_message_id,
                      AnswerTo(conn, request_id, client_message_id), std::move(attachments));
}

void MessageStream::HandleAck(const std::shared_ptr<DeviceSession>& session, const pb::Ack& ack) {
  std::vector<uint64_t> ids(ack.server_ids().begin(), ack.server_ids().end());
  {
    std::lock_guard lock(session->mu);
    for (uint64_t id : ids) {
      auto it = session->inflight.find(id);
      if (it == session->inflight.end()) continue;
      session->inflight_bytes -= it->second;
      session->inflight.erase(it);
    }
    if (session->backlog && HasRoom(*session, options_)) ScheduleFetchLocked(session);
  }
  std::vector<uint64_t> taken = directory_.TakeQueued(session->account_id, session->device_id, ids);
  if (!taken.empty()) writer_.Ack(session->account_id, std::move(taken));
}

void MessageStream::Push(const db::EnvelopeRow& e) {
  auto session = Find(e.recipient_account, e.recipient_device);
  if (!session) return;
  std::lock_guard lock(session->mu);
  if (session->closed || e.server_id <= session->cursor) return;
  if (!session->backlog && HasRoom(*session, options_)) {
    SendLocked(*session, e);
    delivered_.Inc();
    return;
  }
  session->backlog = true;
  session->dirty = true;
  if (HasRoom(*session, options_)) ScheduleFetchLocked(session);
}

void MessageStream::ScheduleFetchLocked(const std::shared_ptr<DeviceSession>& session) {
  if (session->fetch_scheduled || session->closed) return;
  session->fetch_scheduled = true;
  {
    std::lock_guard lock(fetch_mu_);
    fetch_queue_.push_back(session);
  }
  fetch_cv_.notify_one();
}

void MessageStream::DeliveryLoop() {
  for (;;) {
    std::shared_ptr<DeviceSession> session;
    {
      std::unique_lock lock(fetch_mu_);
      clock_.WaitUntil(lock, fetch_cv_, absl::InfiniteDuration(), [this]() ABSL_NO_THREAD_SAFETY_ANALYSIS {
        return stopping_ || !fetch_queue_.empty();
      });
      if (stopping_) {
        fetch_queue_.clear();
        return;
      }
      session = std::move(fetch_queue_.front());
      fetch_queue_.pop_front();
    }
    Fetch(session);
  }
}

void MessageStream::Fetch(const std::shared_ptr<DeviceSession>& session) {
  uint64_t after;
  size_t room;
  {
    std::lock_guard lock(session->mu);
    if (session->closed) {
      session->fetch_scheduled = false;
      return;
    }
    after = session->cursor;
    room = options_.window_envelopes - std::min(options_.window_envelopes, session->inflight.size());
    session->dirty = false;
  }
  const size_t limit = std::max<size_t>(1, room);
  std::vector<uint64_t> ids = directory_.QueuedAfter(session->account_id, session->device_id, after, limit);
  auto rows = db::FetchEnvelopes(reader_, session->account_id, session->device_id, ids);
  std::lock_guard lock(session->mu);
  session->fetch_scheduled = false;
  if (session->closed) return;
  if (!rows.ok()) {
    // The next push or ack retries.
    log::Error("relay.fetch_failed", {{"error", std::string(rows.status().message())}});
    return;
  }
  bool window_full = false;
  for (const db::EnvelopeRow& e : *rows) {
    if (e.server_id <= session->cursor) continue;
    if (!HasRoom(*session, options_)) {
      window_full = true;
      break;
    }
    SendLocked(*session, e);
    delivered_.Inc();
  }
  if (window_full) return;  // acks reschedule
  if (ids.size() >= limit || session->dirty) {
    if (HasRoom(*session, options_)) ScheduleFetchLocked(session);
    return;
  }
  session->backlog = false;
  if (!session->queue_empty_sent) {
    session->queue_empty_sent = true;
    session->conn->Send(EncodeQueueEmpty());
  }
}

}  // namespace tandem::relay
