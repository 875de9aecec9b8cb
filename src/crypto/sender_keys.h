// Sender keys: the group primitive of the Signal Protocol, in libsignal's
// wire format. A group member sends one SenderKeyDistributionMessage to each
// other member over their 1:1 sessions; after that, each group message is
// encrypted once (a SenderKeyMessage) and the server fans the same bytes out
// to everyone.
//
//   SenderKeyDistributionMessage = 0x33 || protobuf{1: distribution id (16),
//       2: chain id, 3: iteration, 4: chain key (32), 5: signing key (33)}
//   SenderKeyMessage = 0x33 || protobuf{1: distribution id, 2: chain id,
//       3: iteration, 4: ciphertext} || XEdDSA signature (64) by the
//       sender's signing key over everything before it
//
// Keys: message seed = HMAC(chain key, 0x01), next chain key =
// HMAC(chain key, 0x02); HKDF(seed, salt 0, "WhisperGroup") -> IV (16) ||
// AES-256 key (32); AES-256-CBC with PKCS#7 padding.
//
// A SenderKeyRecord holds what one device knows about one sender's chains
// for one distribution id: up to five states, newest first (a sender that
// starts over gets a new chain id; messages on the old chain still decrypt
// for a while). The caller stores one record per (sender device,
// distribution id), and its own sending record the same way.
//
// Every function that takes a record leaves it exactly as it was on error.
// Errors: InvalidArgument (malformed, unknown version, bad signature or
// padding), NotFound (no state for the message's chain), AlreadyExists (a
// message already decrypted), ResourceExhausted (more than 25,000 messages
// ahead), FailedPrecondition (no sending state).
//
// Thread safety: functions are thread-safe; a record must not be used from
// two threads at once.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "absl/status/statusor.h"
#include "common/random.h"
#include "crypto/keys.h"

namespace tandem::crypto {

using DistributionId = std::array<uint8_t, 16>;  // a UUID's 16 bytes

inline constexpr uint32_t kSenderKeyMaxJump = 25000;
inline constexpr size_t kSenderKeyMaxStoredKeys = 2000;  // per state
inline constexpr size_t kSenderKeyMaxStates = 5;

namespace internal {
struct SenderKeyStates;
}

class SenderKeyRecord {
 public:
  SenderKeyRecord();
  SenderKeyRecord(const SenderKeyRecord& other);
  SenderKeyRecord& operator=(const SenderKeyRecord& other);
  SenderKeyRecord(SenderKeyRecord&&) noexcept;
  SenderKeyRecord& operator=(SenderKeyRecord&&) noexcept;
  ~SenderKeyRecord();

  bool empty() const;
  size_t state_count() const;

  std::vector<uint8_t> Serialize() const;
  static absl::StatusOr<SenderKeyRecord> Deserialize(std::span<const uint8_t> bytes);

  friend bool operator==(const SenderKeyRecord& a, const SenderKeyRecord& b);

  // For the functions below (crypto/sender_keys.cc).
  internal::SenderKeyStates& states();
  const internal::SenderKeyStates& states() const;

 private:
  std::unique_ptr<internal::SenderKeyStates> states_;
};

// The fields of a distribution message, for callers that must find the
// record (by distribution id) before processing it.
struct SenderKeyDistribution {
  DistributionId distribution_id{};
  uint32_t chain_id = 0;
  uint32_t iteration = 0;
  PublicKey signing_key;
};
absl::StatusOr<SenderKeyDistribution> InspectSenderKeyDistributionMessage(std::span<const uint8_t> message);

// The distribution message for this device's own sending chain for
// `distribution_id`, creating the chain (random chain id, chain key and
// signing key) if `own` has none. It carries the chain's current iteration,
// so members who get it later cannot read earlier messages.
absl::StatusOr<std::vector<uint8_t>> CreateSenderKeyDistributionMessage(SenderKeyRecord& own,
                                                                        const DistributionId& distribution_id,
                                                                        Random& random);

// Adds the sender's chain from a distribution message to `record`. The same
// message again (same chain id and signing key) changes nothing: it cannot
// rewind a chain to replay old messages.
absl::Status ProcessSenderKeyDistributionMessage(SenderKeyRecord& record, std::span<const uint8_t> message);

// Encrypts with the newest sending state of `own`.
absl::StatusOr<std::vector<uint8_t>> GroupEncrypt(SenderKeyRecord& own, std::span<const uint8_t> plaintext,
                                                  Random& random);

struct SenderKeyMessageInfo {
  DistributionId distribution_id{};
  uint32_t chain_id = 0;
  uint32_t iteration = 0;
};
// The unauthenticated header of a SenderKeyMessage.
absl::StatusOr<SenderKeyMessageInfo> InspectSenderKeyMessage(std::span<const uint8_t> message);

// Verifies the signature and decrypts a SenderKeyMessage with the state of
// its chain in `record`.
absl::StatusOr<std::vector<uint8_t>> GroupDecrypt(SenderKeyRecord& record, std::span<const uint8_t> message);

}  // namespace tandem::crypto
