// The messenger client: registration, Signal Protocol sessions, sending and
// receiving end-to-end encrypted texts with delivery and read receipts, key
// change detection, contact discovery and account deletion, over the relay's
// HTTP API and WebSocket stream (docs/relay-protocol.md).
//
// Durability: Send() encrypts and stores the envelope in the local outbox in
// the same transaction as the advanced session, so an outgoing message
// survives a restart until the relay acknowledged it; it is resubmitted with
// the same client message id (the relay does not queue it twice). Incoming
// envelopes are processed (decrypted, stored, receipt queued) in one
// transaction before they are acknowledged, and a server id seen before is
// not shown again, so each message reaches the user exactly once.
//
// Devices: a message goes to every device of the recipient and, as a
// transcript, to this account's other devices, in one multi-recipient
// submission; the relay's answer corrects the device lists.
//
// Groups: client-held state (id, title, members with roles, version) sent
// to members as group updates over 1:1 sessions; group texts are
// sender-key messages encrypted once and fanned out by the relay. After a
// removal every member's next message uses a new sender key.
//
// Thread safety: not thread-safe; use one MessengerClient from one thread.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/time/time.h"
#include "client/client_store.h"
#include "client/device_link.h"
#include "client/relay_transport.h"
#include "common/clock.h"
#include "common/random.h"
#include "common/status.h"

namespace tandem::client {

struct Event {
  enum class Kind;
  Event() = default;
  Event(Kind kind, std::string peer, std::string message_id, std::string body, int64_t timestamp_ms,
        std::string detail, std::string group = "")
      : kind(kind),
        peer(std::move(peer)),
        message_id(std::move(message_id)),
        body(std::move(body)),
        timestamp_ms(timestamp_ms),
        detail(std::move(detail)),
        group(std::move(group)) {}

  enum class Kind {
    kMessage,      // a text arrived: peer, message_id, body, timestamp_ms
    kSent,         // the relay accepted our message: peer, message_id, body (our text)
    kDelivered,    // the peer's device received it: peer, message_id, body (our text)
    kRead,         // the peer read it: peer, message_id, body (our text)
    kKeyChanged,   // the peer's identity key changed (re-registration): peer
    kFailed,       // a message could not be sent or an envelope not decrypted: detail
    kGroupUpdate,  // a group changed: group, peer (who changed it), body (title), detail (what changed)
  };
  Kind kind = Kind::kMessage;
  std::string peer;
  std::string message_id;
  std::string body;
  int64_t timestamp_ms = 0;
  std::string detail;
  std::string group;                     // hex id of the group a message or update belongs to ("" for 1:1)
  std::vector<std::string> attachments;  // a message's attachments: "name (N bytes)"
  std::vector<std::string> files;        // where they were saved (SetSaveDir)
};

// A group as this profile knows it.
struct GroupInfo {
  std::string id;  // 64 hex digits
  std::string title;
  uint32_t version = 0;
  bool active = true;                                 // false once this account left or was removed
  std::vector<std::pair<std::string, bool>> members;  // number, admin
};

using EventHandler = std::function<void(const Event&)>;

struct ClientOptions {
  std::string profile_path;      // the client's SQLite file
  std::string server;            // relay host:port for registration ("": 127.0.0.1:8080); then remembered
  const Clock* clock = nullptr;  // required; the process's (app/ chooses the real one)
  Random* random = nullptr;      // required; likewise
  // One-time prekeys of each kind (EC and Kyber) uploaded at registration,
  // with one last-resort Kyber prekey, and topped up to when the relay has
  // fewer than `prekey_refill_below` of a kind left.
  int one_time_prekeys = 100;
  int prekey_refill_below = 20;
  // How the relay is reached; not owned, must outlive the client. Default:
  // the network (net::HttpClient and net::WebSocketClient).
  RelayTransport* transport = nullptr;
};

class MessengerClient {
 public:
  static absl::StatusOr<std::unique_ptr<MessengerClient>> Open(const ClientOptions& options);
  ~MessengerClient();

  // Registration: asks the relay to send a code to `number` (any common
  // format; `region` for national forms), then completes it with the code.
  // Verify generates this device's identity and prekeys (EC and signed
  // Kyber ones, so that peers start version 4 sessions) and uploads them.
  absl::StatusOr<std::string> RequestCode(const std::string& number, const std::string& region);
  absl::Status Verify(const std::string& number, const std::string& region, const std::string& code);
  bool registered() const;
  std::string number() const;

  // Encrypts `text` for `peer` and queues it durably. Returns the message id.
  // The message goes out at the next Sync()/Listen(). Each of `files` is
  // encrypted and uploaded to the relay first (up to 32; the relay's limit
  // per file is 100 MiB), and its pointer travels inside the message.
  absl::StatusOr<std::string> Send(const std::string& peer, const std::string& text,
                                   const std::vector<std::string>& files = {});
  // Where received attachments are saved (downloaded, checked and
  // decrypted as their messages arrive, before they are acknowledged);
  // unset: "<profile>.attachments/".
  void SetSaveDir(const std::string& dir);

  // Connects, submits the outbox, receives everything queued on the relay
  // (until QueueEmpty and every submitted envelope is acknowledged, or
  // `timeout`), and disconnects. Events are reported to `on_event`.
  absl::Status Sync(const EventHandler& on_event, absl::Duration timeout = absl::Seconds(10));

  // Stays connected and reports events until `keep_going` returns false
  // (checked at least every 200 ms) or the connection fails.
  absl::Status Listen(const EventHandler& on_event, const std::function<bool()>& keep_going);

  // Queues read receipts for unread messages from `peer` ("" for all).
  absl::StatusOr<int> MarkRead(const std::string& peer);
  // On: each text is marked read as soon as it has been reported, and its
  // read receipt submitted at once (for a user who is looking).
  void SetAutoRead(bool on);

  // The relay this profile talks to.
  std::string server() const;

  // Which of `numbers` have messenger accounts.
  absl::StatusOr<std::vector<std::string>> Discover(const std::vector<std::string>& numbers,
                                                    int64_t* budget_remaining = nullptr);

  // The 60-digit safety number with `peer`, grouped in 12 blocks of five.
  absl::StatusOr<std::string> SafetyNumber(const std::string& peer);

  absl::StatusOr<std::vector<MessageRow>> History(const std::string& peer, int limit);

  // Privacy center (the messenger shares data with the social network):
  // GET /v1/privacy, PUT /v1/privacy/objections/{purpose},
  // GET /v1/privacy/shared, GET /v1/privacy/export. Results are the
  // relay's JSON documents, as text.
  absl::StatusOr<std::string> PrivacyRequest(const std::string& method, const std::string& path,
                                             const std::string& body = "");

  // Errors that a command must tell apart carry a reason (ReasonOf in
  // common/error_codes.h): "not_registered", "account_deleted" (this
  // profile deleted its account) and "registration_replaced" (the number
  // was registered again elsewhere: the profile is inactive from then on,
  // and what was waiting in its outbox was failed).
  //
  // Deletes the account on the relay, then this profile's data.
  absl::Status DeleteAccount();

  // Linked devices. A new profile becomes a companion of an account: it
  // shows a link code (BeginLink), the account's primary device sends the
  // account over it (AddDevice on the primary's profile), and FinishLink
  // (polling the relay about once a second, up to `timeout`) registers
  // this device with its own id, credentials and prekeys. The primary
  // lists its devices and removes companions; a companion can remove
  // itself.
  absl::StatusOr<std::string> BeginLink();
  absl::Status FinishLink(absl::Duration timeout);
  absl::Status AddDevice(const std::string& code);
  absl::StatusOr<std::vector<LinkedDevice>> Devices();
  absl::Status RemoveDevice(uint32_t device_id);
  uint32_t device_id() const;

  // Groups (by id or an unambiguous prefix of 8+ hex digits). Changes are
  // queued durably like texts and go out at the next Sync()/Listen(); only
  // admins add, remove and rename; at most 1,024 members, titles of 1..128
  // bytes.
  absl::StatusOr<std::string> CreateGroup(const std::string& title, const std::vector<std::string>& members);
  absl::StatusOr<GroupInfo> AddToGroup(const std::string& group, const std::vector<std::string>& numbers);
  absl::StatusOr<GroupInfo> RemoveFromGroup(const std::string& group,
                                            const std::vector<std::string>& numbers);
  absl::StatusOr<GroupInfo> RenameGroup(const std::string& group, const std::string& title);
  absl::StatusOr<GroupInfo> LeaveGroup(const std::string& group);
  absl::StatusOr<std::vector<GroupInfo>> Groups();
  absl::StatusOr<GroupInfo> Group(const std::string& group);
  // Returns the message id.
  absl::StatusOr<std::string> SendToGroup(const std::string& group, const std::string& text,
                                          const std::vector<std::string>& files = {});
  absl::StatusOr<std::vector<MessageRow>> GroupHistory(const std::string& group, int limit);

  class Impl;

 private:
  explicit MessengerClient(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace tandem::client
