// The messenger client's local database: this device's identity and
// prekeys (EC and signed Kyber ones, private halves), its Signal sessions, what it knows of its contacts'
// identity keys, the message history and the outbox of envelopes not yet accepted by the relay. One SQLite
// file per client profile.
//
// Thread safety: as store::Database (calls are serialized).
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "common/status.h"
#include "crypto/keys.h"
#include "crypto/sender_keys.h"
#include "crypto/session.h"
#include "store/store.h"

namespace tandem::client {

struct AccountRow {
  std::string server;
  std::string number;  // E.164
  uint64_t account_id = 0;
  uint32_t device_id = 0;
  std::string password;
  crypto::LocalIdentity identity;
  uint32_t next_prekey_id = 1;
  uint32_t signed_prekey_id = 0;
  // The next id for a Kyber prekey; one-time and last-resort keys share the
  // id space.
  uint32_t next_kyber_prekey_id = 1;
};

struct OutboxRow {
  OutboxRow() = default;
  OutboxRow(std::string client_message_id, std::string recipient, uint32_t device_id, int type,
            std::string ciphertext, uint32_t registration_id = 0, std::string plan = "")
      : client_message_id(std::move(client_message_id)),
        recipient(std::move(recipient)),
        device_id(device_id),
        type(type),
        ciphertext(std::move(ciphertext)),
        registration_id(registration_id),
        plan(std::move(plan)) {}

  std::string client_message_id;
  std::string recipient;  // E.164
  uint32_t device_id = 1;
  int type = 0;  // relay envelope type
  std::string ciphertext;
  uint32_t registration_id = 0;  // the recipient's, from the session (0: unknown)
  // A multi-recipient row: what it takes to encrypt it anew for corrected
  // device lists (a serialized client OutboxPlan); empty otherwise.
  std::string plan;
};
// An outbox row of this type holds a serialized relay MultiSubmit (a text
// to every device of the recipient and the sync copies to this account's
// other devices) instead of one envelope.
inline constexpr int kOutboxMultiSubmit = 100;

enum class Direction { kIncoming, kOutgoing };

struct MessageRow {
  MessageRow() = default;
  MessageRow(int64_t id, std::string peer, Direction direction, std::string message_id, std::string body,
             int64_t sent_at_ms, int64_t server_timestamp_ms, std::string status, std::string group_id = "")
      : id(id),
        peer(std::move(peer)),
        direction(direction),
        message_id(std::move(message_id)),
        body(std::move(body)),
        sent_at_ms(sent_at_ms),
        server_timestamp_ms(server_timestamp_ms),
        status(std::move(status)),
        group_id(std::move(group_id)) {}

  int64_t id = 0;
  std::string peer;  // E.164
  Direction direction = Direction::kIncoming;
  std::string message_id;  // the sender's id
  std::string body;
  int64_t sent_at_ms = 0;
  int64_t server_timestamp_ms = 0;
  // Outgoing: "pending", "sent", "delivered", "read". Incoming: "received", "read".
  std::string status;
  std::string group_id;     // a group message: the group's 32-byte id (peer is the sender)
  std::string attachments;  // a serialized client StoredAttachments; empty: none
};

struct GroupMemberRow {
  std::string number;  // E.164
  bool admin = false;
};

// A group as this device knows it. `distribution_id` names this device's
// current sender key for it (a new one after every removal).
struct GroupRow {
  std::string group_id;  // 32 random bytes
  std::string title;
  uint32_t version = 0;
  std::string distribution_id;  // 16 bytes
  bool active = true;           // false once this account left or was removed
  int64_t updated_ms = 0;
  std::vector<GroupMemberRow> members;  // by number, this account included
};

// A device of a peer (or of this account) that messages go to.
struct PeerDevice {
  uint32_t device_id = 0;
  uint32_t registration_id = 0;  // 0: not known yet
};

struct IdentityRow {
  std::string peer;
  crypto::PublicKey identity_key;
  int64_t first_seen_ms = 0;
  int64_t changed_at_ms = 0;  // 0 if never changed
};

class ClientStore {
 public:
  static absl::StatusOr<std::unique_ptr<ClientStore>> Open(const std::string& path);

  store::Database& db() { return *db_; }

  // Account. NotFound before registration.
  absl::StatusOr<AccountRow> LoadAccount();
  absl::Status SaveAccount(const AccountRow& account);
  absl::Status DeleteEverything();

  // Small settings ("" when unset).
  absl::Status SetSetting(const std::string& key, const std::string& value);
  std::string GetSetting(const std::string& key);

  // Prekeys.
  absl::Status SaveSignedPreKey(const crypto::SignedPreKey& key);
  absl::StatusOr<crypto::KeyPair> LoadSignedPreKey(uint32_t id);
  absl::Status SaveOneTimePreKeys(const std::vector<crypto::OneTimePreKey>& keys);
  absl::StatusOr<crypto::KeyPair> LoadOneTimePreKey(uint32_t id);
  absl::Status DeleteOneTimePreKey(uint32_t id);
  // Kyber prekeys (PQXDH), one-time ones and last-resort ones, by id.
  absl::Status SaveKyberPreKeys(const std::vector<crypto::KyberPreKey>& keys, bool last_resort);
  absl::StatusOr<crypto::KemSecretKey> LoadKyberPreKey(uint32_t id);
  // Deletes a Kyber prekey that a new session used, unless it is a
  // last-resort key: those serve every session started after the one-time
  // keys ran out, and stay.
  absl::Status DeleteUsedKyberPreKey(uint32_t id);
  // Whether a last-resort Kyber prekey is stored (profiles from before
  // Kyber prekeys have none).
  absl::StatusOr<bool> HasKyberLastResort();

  // Sessions per (peer, device). NotFound if none.
  absl::StatusOr<crypto::SessionRecord> LoadSession(const std::string& peer, uint32_t device);
  absl::Status SaveSession(const std::string& peer, uint32_t device, const crypto::SessionRecord& record);
  // Forgets every session with `peer` and its devices.
  absl::Status DeleteSessions(const std::string& peer);
  // Forgets one device of `peer` and its session.
  absl::Status DeleteSession(const std::string& peer, uint32_t device);

  // The devices messages to `peer` go to, by device id.
  absl::Status PutPeerDevice(const std::string& peer, const PeerDevice& device);
  absl::StatusOr<std::vector<PeerDevice>> PeerDevices(const std::string& peer);

  // Identity keys seen per peer. Returns true if `key` differs from the one
  // stored before (a key change), recording the change time.
  absl::StatusOr<bool> SaveIdentity(const std::string& peer, const crypto::PublicKey& key, int64_t now_ms);
  absl::StatusOr<IdentityRow> LoadIdentity(const std::string& peer);

  // Outbox.
  absl::Status AddToOutbox(const OutboxRow& row);
  absl::StatusOr<std::vector<OutboxRow>> Outbox();
  absl::StatusOr<std::optional<OutboxRow>> OutboxEntry(const std::string& client_message_id);
  absl::Status RemoveFromOutbox(const std::string& client_message_id);

  // History.
  absl::StatusOr<int64_t> AddMessage(const MessageRow& row);
  absl::Status SetOutgoingStatus(const std::string& message_id, const std::string& status);
  absl::StatusOr<std::vector<MessageRow>> Messages(const std::string& peer, int limit);
  // The outgoing message with this id, if any.
  absl::StatusOr<std::optional<MessageRow>> OutgoingMessage(const std::string& message_id);
  // Incoming messages not yet marked read, oldest first.
  absl::StatusOr<std::vector<MessageRow>> UnreadFrom(const std::string& peer);
  absl::Status MarkIncomingRead(const std::string& peer);

  // Groups: saved whole (members replaced); by id, or all ("").
  absl::Status SaveGroup(const GroupRow& group);
  absl::StatusOr<std::vector<GroupRow>> Groups(const std::string& group_id = "");
  absl::StatusOr<std::optional<GroupRow>> Group(const std::string& group_id);
  absl::StatusOr<std::vector<MessageRow>> GroupMessages(const std::string& group_id, int limit);

  // Sender keys by (sender, device, distribution id); an empty record if
  // none is stored. This device's own are under its own number and device.
  absl::StatusOr<crypto::SenderKeyRecord> LoadSenderKey(const std::string& sender, uint32_t device,
                                                        const std::string& distribution_id);
  absl::Status SaveSenderKey(const std::string& sender, uint32_t device, const std::string& distribution_id,
                             const crypto::SenderKeyRecord& record);
  // Which devices were sent this device's sender key `distribution_id`.
  absl::StatusOr<bool> SenderKeyShared(const std::string& distribution_id, const std::string& peer,
                                       uint32_t device);
  absl::Status MarkSenderKeyShared(const std::string& distribution_id, const std::string& peer,
                                   uint32_t device);
  // A device that registered again has none of the keys it was sent.
  absl::Status ForgetSenderKeyShared(const std::string& peer, uint32_t device);

  // Envelopes already processed (exactly-once display across reconnects).
  absl::StatusOr<bool> SeenEnvelope(uint64_t server_id);
  absl::Status MarkEnvelopeSeen(uint64_t server_id);

 private:
  explicit ClientStore(std::unique_ptr<store::Database> db) : db_(std::move(db)) {}
  std::unique_ptr<store::Database> db_;
};

}  // namespace tandem::client
