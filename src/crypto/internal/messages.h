// The Signal Protocol wire messages, versions 3 and 4:
//
//   SignalMessage       = version || protobuf{1: ratchet_key, 2: counter,
//                         3: previous_counter, 4: ciphertext,
//                         5: pq_ratchet (v4), 6: addresses (v4)} || mac[8]
//   PreKeySignalMessage = version || protobuf{5: registration_id,
//                         1: prekey_id, 6: signed_prekey_id, 2: base_key,
//                         3: identity_key, 4: message (a SignalMessage),
//                         7: kyber_prekey_id (v4), 8: kyber_ciphertext (v4)}
//
// where version is (message version << 4) | 4: 0x34 or 0x44 (libsignal
// writes 4 in the low nibble; older v3 implementations wrote 0x33, and
// only the high nibble is read). Parsing is strict and only checks
// structure; MACs are checked by the session code. `addresses` (libsignal's
// sender and recipient service ids) is covered by the MAC but not read:
// tandem names devices differently and libsignal accepts its absence.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include "absl/status/statusor.h"
#include "crypto/keys.h"

namespace tandem::crypto::internal {

inline constexpr uint8_t kMinMessageVersion = 3;
inline constexpr uint8_t kMaxMessageVersion = 4;
// The version byte written for `version`: v3 as v3 peers write it, v4 as
// libsignal does.
inline constexpr uint8_t VersionByte(uint32_t version) {
  return static_cast<uint8_t>((version << 4) | (version == 3 ? 3 : kMaxMessageVersion));
}
inline constexpr size_t kMacSize = 8;

struct SignalMessageView {
  uint32_t version = 3;
  PublicKey ratchet_key;
  uint32_t counter = 0;
  uint32_t previous_counter = 0;
  std::span<const uint8_t> ciphertext;
  std::span<const uint8_t> pq_ratchet;     // v4: the SPQR message (may be empty)
  std::span<const uint8_t> authenticated;  // version byte + protobuf, what the MAC covers
  std::span<const uint8_t> mac;            // kMacSize bytes
};

// Parses a SignalMessage; the views point into `bytes`.
absl::StatusOr<SignalMessageView> ParseSignalMessage(std::span<const uint8_t> bytes);

// Serializes version + protobuf (without the MAC, which the caller appends).
// `pq_ratchet` is written only when not empty (v4).
std::vector<uint8_t> SerializeSignalMessageBody(uint32_t version, const PublicKey& ratchet_key,
                                                uint32_t counter, uint32_t previous_counter,
                                                std::span<const uint8_t> ciphertext,
                                                std::span<const uint8_t> pq_ratchet = {});

struct PreKeySignalMessageView {
  uint32_t version = 3;
  uint32_t registration_id = 0;
  std::optional<uint32_t> prekey_id;
  uint32_t signed_prekey_id = 0;
  PublicKey base_key;
  PublicKey identity_key;
  std::optional<uint32_t> kyber_prekey_id;    // v4: always present
  std::span<const uint8_t> kyber_ciphertext;  // v4: type byte || ciphertext
  std::span<const uint8_t> message;           // the embedded SignalMessage, unparsed
  SignalMessageView inner;
};

// Parses a PreKeySignalMessage and the SignalMessage inside it, which must
// have the same version. A v4 message must carry both Kyber fields, a v3
// one neither.
absl::StatusOr<PreKeySignalMessageView> ParsePreKeySignalMessage(std::span<const uint8_t> bytes);

struct PreKeyFields {
  uint32_t version = 3;
  uint32_t registration_id = 0;
  std::optional<uint32_t> prekey_id;
  uint32_t signed_prekey_id = 0;
  PublicKey base_key;
  PublicKey identity_key;
  std::optional<uint32_t> kyber_prekey_id;    // v4
  std::span<const uint8_t> kyber_ciphertext;  // v4
};
std::vector<uint8_t> SerializePreKeySignalMessage(const PreKeyFields& fields,
                                                  std::span<const uint8_t> message);

}  // namespace tandem::crypto::internal
