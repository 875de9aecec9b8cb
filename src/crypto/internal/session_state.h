// The state of one Double Ratchet session, as the session code and the
// session-record serializer share it. Not part of the public API: callers
// hold SessionRecord values and use the functions in session.h.
#pragma once

#include <array>
#include <cstdint>
#include <deque>
#include <optional>
#include <vector>

#include "crypto/keys.h"
#include "crypto/session.h"

namespace tandem::crypto::internal {

using Key32 = std::array<uint8_t, 32>;

// A symmetric-key ratchet: `key` derives the message key for `index`.
struct ChainKey {
  uint32_t index = 0;
  Key32 key{};
  friend bool operator==(const ChainKey&, const ChainKey&) = default;
};

// A message key kept for a message that has not arrived yet. `seed` is the
// chain's output for `counter`; the AES/HMAC/IV keys are expanded from it.
struct SkippedKey {
  uint32_t counter = 0;
  Key32 seed{};
  friend bool operator==(const SkippedKey&, const SkippedKey&) = default;
};

struct ReceiverChain {
  PublicKey ratchet_key;
  ChainKey chain;
  std::vector<SkippedKey> skipped;  // oldest first
  friend bool operator==(const ReceiverChain&, const ReceiverChain&) = default;
};

// Set on the initiator until the first reply arrives: every message it sends
// until then is a PreKeySignalMessage carrying these.
struct PendingPreKey {
  std::optional<uint32_t> prekey_id;
  uint32_t signed_prekey_id = 0;
  PublicKey base_key;
  std::optional<uint32_t> kyber_prekey_id;  // v4
  std::vector<uint8_t> kyber_ciphertext;    // v4: type byte || ciphertext
  friend bool operator==(const PendingPreKey&, const PendingPreKey&) = default;
};

// One direction of SPQR's first-epoch symmetric chain (crypto/internal/spqr.h):
// `next` derives the key for `counter + 1`.
struct PqChain {
  Key32 next{};
  uint32_t counter = 0;
  friend bool operator==(const PqChain&, const PqChain&) = default;
};

struct PqSkippedKey {
  uint32_t index = 0;
  Key32 key{};
  friend bool operator==(const PqSkippedKey&, const PqSkippedKey&) = default;
};

// The post-quantum ratchet of a v4 session, as far as tandem runs it: the
// chains of epoch 1, which PQXDH keys (see docs/crypto.md).
struct PqRatchetState {
  PqChain sending;
  PqChain receiving;
  std::vector<PqSkippedKey> skipped;  // receiving keys not used yet, oldest first
  friend bool operator==(const PqRatchetState&, const PqRatchetState&) = default;
};

struct SessionState {
  uint32_t version = 3;  // 3: X3DH; 4: PQXDH with the post-quantum ratchet
  PublicKey local_identity;
  PublicKey remote_identity;
  uint32_t local_registration_id = 0;
  uint32_t remote_registration_id = 0;
  // The initiator's X3DH base key; identifies the session on both sides.
  PublicKey base_key;
  Key32 root_key{};
  uint32_t previous_counter = 0;
  KeyPair sender_ratchet;
  ChainKey sender_chain;
  std::vector<ReceiverChain> receiver_chains;  // oldest first
  std::optional<PendingPreKey> pending_prekey;
  std::optional<PqRatchetState> pq_ratchet;  // set exactly when version == 4

  friend bool operator==(const SessionState&, const SessionState&) = default;
};

// Everything a SessionRecord holds; reached with StatesOf(record).
struct SessionStates {
  std::optional<SessionState> current;
  std::deque<SessionState> archived;  // most recent first

  friend bool operator==(const SessionStates&, const SessionStates&) = default;
};

// Bounds on what a session keeps for out-of-order messages.
inline constexpr uint32_t kMaxSkip = 2000;               // per message, per chain
inline constexpr size_t kMaxSkippedKeysPerChain = 2000;  // stored per chain
inline constexpr size_t kMaxReceiverChains = 5;          // old chains kept
inline constexpr size_t kMaxArchivedStates = 40;         // previous sessions kept

}  // namespace tandem::crypto::internal
