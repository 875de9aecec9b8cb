// The Signal Protocol v3 wire messages:
//
//   SignalMessage       = version || protobuf{1: ratchet_key, 2: counter,
//                         3: previous_counter, 4: ciphertext} || mac[8]
//   PreKeySignalMessage = version || protobuf{5: registration_id,
//                         1: prekey_id, 6: signed_prekey_id, 2: base_key,
//                         3: identity_key, 4: message (a SignalMessage)}
//
// where version is 0x33 (current 3, minimum 3). Parsing is strict and only
// checks structure; MACs are checked by the session code.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include "absl/status/statusor.h"
#include "crypto/keys.h"

namespace tandem::crypto::internal {

inline constexpr uint8_t kMessageVersion = 3;
inline constexpr uint8_t kVersionByte = (kMessageVersion << 4) | kMessageVersion;
inline constexpr size_t kMacSize = 8;

struct SignalMessageView {
  PublicKey ratchet_key;
  uint32_t counter = 0;
  uint32_t previous_counter = 0;
  std::span<const uint8_t> ciphertext;
  std::span<const uint8_t> authenticated;  // version byte + protobuf, what the MAC covers
  std::span<const uint8_t> mac;            // kMacSize bytes
};

// Parses a SignalMessage; the views point into `bytes`.
absl::StatusOr<SignalMessageView> ParseSignalMessage(std::span<const uint8_t> bytes);

// Serializes version + protobuf (without the MAC, which the caller appends).
std::vector<uint8_t> SerializeSignalMessageBody(const PublicKey& ratchet_key, uint32_t counter,
                                                uint32_t previous_counter,
                                                std::span<const uint8_t> ciphertext);

struct PreKeySignalMessageView {
  uint32_t registration_id = 0;
  std::optional<uint32_t> prekey_id;
  uint32_t signed_prekey_id = 0;
  PublicKey base_key;
  PublicKey identity_key;
  std::span<const uint8_t> message;  // the embedded SignalMessage, unparsed
  SignalMessageView inner;
};

// Parses a PreKeySignalMessage and the SignalMessage inside it.
absl::StatusOr<PreKeySignalMessageView> ParsePreKeySignalMessage(std::span<const uint8_t> bytes);

std::vector<uint8_t> SerializePreKeySignalMessage(uint32_t registration_id, std::optional<uint32_t> prekey_id,
                                                  uint32_t signed_prekey_id, const PublicKey& base_key,
                                                  const PublicKey& identity_key,
                                                  std::span<const uint8_t> message);

}  // namespace tandem::crypto::internal
