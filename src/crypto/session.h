// Signal Protocol sessions: session setup by PQXDH (version 4, when the
// peer's bundle has a Kyber prekey) or X3DH (version 3), and the Double
// Ratchet with the wire formats of both versions (SignalMessage,
// PreKeySignalMessage), compatible with libsignal (v4) and with other
// Signal Protocol implementations (v3). A v4 session also runs the first
// epoch of the post-quantum ratchet (crypto/internal/spqr.h).
//
// A SessionRecord holds everything one device knows about its sessions with
// one remote device: the current session and up to 40 archived ones (a peer
// may still use an older session for a while). Callers persist records with
// Serialize()/Deserialize() and pass them to the functions below.
//
// Contract shared by every function that takes a `SessionRecord&`: on error
// the record is left exactly as it was (the work happens on a copy and is
// committed on success), so a bad, forged or replayed message never damages
// a session. Errors use these codes:
//   InvalidArgument    malformed or truncated message, unknown/legacy
//                      version or one that is not the session's, bad MAC,
//                      bad padding, bad signature or key
//   PermissionDenied   the sender's identity key is not the expected one
//   AlreadyExists      a message that was already decrypted (replay)
//   ResourceExhausted  a message too far ahead (more than 2000 skipped keys)
//   NotFound           missing signed or one-time prekey
//   FailedPrecondition the record has no session to use
//
// Thread safety: functions are thread-safe; a given SessionRecord must not be
// used from two threads at once (callers serialize per remote device).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <vector>

#include "absl/status/statusor.h"
#include "common/random.h"
#include "crypto/keys.h"

namespace tandem::crypto {

// Values match libsignal's CiphertextMessage types.
enum class MessageType : uint8_t { kSignal = 2, kPreKey = 3 };

struct CiphertextMessage {
  MessageType type = MessageType::kSignal;
  std::vector<uint8_t> bytes;
};

// This device's long-term identity.
struct LocalIdentity {
  IdentityKeyPair key_pair;
  uint32_t registration_id = 0;
};

class SessionRecord;

namespace internal {
// What a record holds (crypto/internal/session_state.h); only the session
// code and its serializer see inside.
struct SessionStates;
SessionStates& StatesOf(SessionRecord& record);
const SessionStates& StatesOf(const SessionRecord& record);
}  // namespace internal

// A value type: copies are deep (the functions below work on a copy and
// commit it on success). A moved-from record is empty. The sessions inside
// are opaque to callers.
class SessionRecord {
 public:
  // Version of the Serialize() format.
  static constexpr uint32_t kSerializationVersion = 1;

  SessionRecord();
  SessionRecord(const SessionRecord& other);
  SessionRecord& operator=(const SessionRecord& other);
  SessionRecord(SessionRecord&& other) noexcept;
  SessionRecord& operator=(SessionRecord&& other) noexcept;
  ~SessionRecord();

  bool has_session() const;
  // Accessors for the current session; require has_session().
  const PublicKey& remote_identity() const;
  const PublicKey& local_identity() const;
  uint32_t remote_registration_id() const;
  // 3 (X3DH) or 4 (PQXDH).
  uint32_t version() const;
  // True while this side initiated and has not yet heard back, i.e. it still
  // sends PreKeySignalMessages.
  bool awaiting_first_reply() const;
  size_t archived_count() const;

  // Moves the current session to the archive (e.g. before a deliberate reset).
  void ArchiveCurrentSession();

  std::vector<uint8_t> Serialize() const;
  // Fails with InvalidArgument on malformed input or an unknown version.
  static absl::StatusOr<SessionRecord> Deserialize(std::span<const uint8_t> bytes);

  friend bool operator==(const SessionRecord& a, const SessionRecord& b);

 private:
  friend internal::SessionStates& internal::StatesOf(SessionRecord& record);
  friend const internal::SessionStates& internal::StatesOf(const SessionRecord& record);

  // Null in a new or moved-from record until something is stored: reads
  // as empty.
  std::unique_ptr<internal::SessionStates> states_;
};

// PQXDH (if the bundle has a Kyber prekey) or X3DH as the initiator:
// verifies the bundle's prekey signatures (InvalidArgument if one does not
// verify under the bundle's identity key), then makes a new session the
// current one in `record`, archiving the old one. Messages sent on it are
// PreKeySignalMessages until the peer replies.
absl::Status InitiateSession(SessionRecord& record, const LocalIdentity& local, const PreKeyBundle& bundle,
                             Random& random);
// Same, into a fresh record.
absl::StatusOr<SessionRecord> InitiateSession(const LocalIdentity& local, const PreKeyBundle& bundle,
                                              Random& random);

// Encrypts with the current session. Needs no randomness: new ratchet keys
// are drawn when messages arrive.
absl::StatusOr<CiphertextMessage> Encrypt(SessionRecord& record, std::span<const uint8_t> plaintext);

// Decrypts a SignalMessage (type kSignal) with the current session or, if
// that fails, an archived one, which then becomes current.
absl::StatusOr<std::vector<uint8_t>> DecryptSignalMessage(SessionRecord& record,
                                                          std::span<const uint8_t> message, Random& random);

// Where the responder finds its private prekeys by id. A lookup returns
// NotFound (or any error) for an unknown id.
struct PreKeyLookup {
  std::function<absl::StatusOr<KeyPair>(uint32_t id)> signed_prekey;
  std::function<absl::StatusOr<KeyPair>(uint32_t id)> one_time_prekey;
  // Kyber prekeys, one-time and last-resort alike (v4 messages).
  std::function<absl::StatusOr<KemSecretKey>(uint32_t id)> kyber_prekey;
};

struct PreKeyDecryptResult {
  std::vector<uint8_t> plaintext;
  // The one-time prekey this message used for a new session; the caller must
  // now delete it. Empty if none was used or the session already existed.
  std::optional<uint32_t> consumed_one_time_prekey;
  // The Kyber prekey a new v4 session used: the caller deletes it if it was
  // a one-time key and keeps it if it was the last-resort key.
  std::optional<uint32_t> used_kyber_prekey;
  bool new_session = false;
  PublicKey remote_identity;
  uint32_t remote_registration_id = 0;
};

// Decrypts a PreKeySignalMessage (type kPreKey). If the record already has
// the session it starts (same base key: a repeated or late prekey message),
// that session decrypts it. Otherwise PQXDH (a v4 message) or X3DH (v3)
// runs as the responder and the new
// session replaces the current one, which is archived. If
// `expected_remote_identity` is given, a message from any other identity key
// fails with PermissionDenied.
absl::StatusOr<PreKeyDecryptResult> DecryptPreKeySignalMessage(
    SessionRecord& record, const LocalIdentity& local, const PreKeyLookup& lookup,
    std::span<const uint8_t> message, Random& random,
    const std::optional<PublicKey>& expected_remote_identity = std::nullopt);

// The unauthenticated header of a PreKeySignalMessage, for callers that
// decide about the sender's identity before decrypting.
struct PreKeyMessageInfo {
  PublicKey identity_key;
  PublicKey base_key;
  uint32_t registration_id = 0;
  uint32_t signed_prekey_id = 0;
  std::optional<uint32_t> one_time_prekey_id;
  uint32_t version = 3;
  std::optional<uint32_t> kyber_prekey_id;  // v4
};
absl::StatusOr<PreKeyMessageInfo> InspectPreKeySignalMessage(std::span<const uint8_t> message);

}  // namespace tandem::crypto
