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
#include <vector>

#include "common/status.h"
#include "crypto/keys.h"
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
  std::string client_message_id;
  std::string recipient;  // E.164
  uint32_t device_id = 1;
  int type = 0;  // relay envelope type
  std::string ciphertext;
  uint32_t registration_id = 0;  // the recipient's, from the session (0: unknown)
};
// An outbox row of this type holds a serialized relay MultiSubmit (a text
// to every device of the recipient and the sync copies to this account's
// other devices) instead of one envelope.
inline constexpr int kOutboxMultiSubmit = 100;

enum class Direction { kIncoming, kOutgoing };

struct MessageRow {
  int64_t id = 0;
  std::string peer;  // E.164
  Direction direction = Direction::kIncoming;
  std::string message_id;  // the sender's id
  std::string body;
  int64_t sent_at_ms = 0;
  int64_t server_timestamp_ms = 0;
  // Outgoing: "pending", "sent", "delivered", "read". Incoming: "received", "read".
  std::string status;
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

  // Envelopes already processed (exactly-once display across reconnects).
  absl::StatusOr<bool> SeenEnvelope(uint64_t server_id);
  absl::Status MarkEnvelopeSeen(uint64_t server_id);

 private:
  explicit ClientStore(std::unique_ptr<store::Database> db) : db_(std::move(db)) {}
  std::unique_ptr<store::Database> db_;
};

}  // namespace tandem::client
