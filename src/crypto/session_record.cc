// Session record serialization. The format is protobuf wire format of our
// own schema, so it can grow compatibly:
//
//   SessionRecord { 1: format version (=1), 2: current SessionState,
//                   3: repeated archived SessionState (most recent first) }
//   SessionState  { 1: protocol version, 2: local identity, 3: remote
//                   identity, 4: local registration id, 5: remote
//                   registration id, 6: base key, 7: root key,
//                   8: previous counter, 9: sender ratchet public,
//                   10: sender ratchet private, 11: sender chain index,
//                   12: sender chain key, 13: repeated ReceiverChain,
//                   14: PendingPreKey, 15: PqRatchet (version 4 only) }
//   ReceiverChain { 1: ratchet key, 2: index, 3: chain key,
//                   4: repeated SkippedKey { 1: counter, 2: seed } }
//   PendingPreKey { 1: one-time prekey id, 2: signed prekey id, 3: base key,
//                   4: Kyber prekey id, 5: Kyber ciphertext }
//   PqRatchet     { 1: sending next key, 2: sending counter, 3: receiving
//                   next key, 4: receiving counter,
//                   5: repeated SkippedKey { 1: index, 2: key } }
//
// Records written before version 4 sessions existed have no fields 15 and
// PendingPreKey 4-5 and load as the v3 sessions they are.
//
// Parsing is strict: every required field must be present with the right
// size, and the bounds a live session keeps are enforced on input too.
#include <cstring>
#include <string>

#include "absl/status/status.h"
#include "common/status.h"
#include "crypto/internal/session_state.h"
#include "crypto/internal/spqr.h"
#include "crypto/internal/wire.h"
#include "crypto/session.h"

namespace tandem::crypto {
namespace {

using internal::FieldBytes;
using internal::FieldKey32;
using internal::FieldPublicKey;
using internal::FieldUint32;
using internal::Key32;
using internal::SessionState;
using internal::WireField;
using internal::WireReader;
using internal::WireWriter;

std::vector<uint8_t> SerializeState(const SessionState& s) {
  WireWriter w;
  w.Varint(1, s.version);
  w.Bytes(2, s.local_identity.Serialize());
  w.Bytes(3, s.remote_identity.Serialize());
  w.Varint(4, s.local_registration_id);
  w.Varint(5, s.remote_registration_id);
  w.Bytes(6, s.base_key.Serialize());
  w.Bytes(7, s.root_key);
  w.Varint(8, s.previous_counter);
  w.Bytes(9, s.sender_ratchet.public_key.Serialize());
  w.Bytes(10, s.sender_ratchet.private_key.raw());
  w.Varint(11, s.sender_chain.index);
  w.Bytes(12, s.sender_chain.key);
  for (const auto& chain : s.receiver_chains) {
    WireWriter c;
    c.Bytes(1, chain.ratchet_key.Serialize());
    c.Varint(2, chain.chain.index);
    c.Bytes(3, chain.chain.key);
    for (const auto& skipped : chain.skipped) {
      WireWriter k;
      k.Varint(1, skipped.counter);
      k.Bytes(2, skipped.seed);
      c.Bytes(4, k.buffer());
    }
    w.Bytes(13, c.buffer());
  }
  if (s.pending_prekey) {
    WireWriter p;
    if (s.pending_prekey->prekey_id) p.Varint(1, *s.pending_prekey->prekey_id);
    p.Varint(2, s.pending_prekey->signed_prekey_id);
    p.Bytes(3, s.pending_prekey->base_key.Serialize());
    if (s.pending_prekey->kyber_prekey_id) p.Varint(4, *s.pending_prekey->kyber_prekey_id);
    if (!s.pending_prekey->kyber_ciphertext.empty()) p.Bytes(5, s.pending_prekey->kyber_ciphertext);
    w.Bytes(14, p.buffer());
  }
  if (s.pq_ratchet) {
    WireWriter q;
    q.Bytes(1, s.pq_ratchet->sending.next);
    q.Varint(2, s.pq_ratchet->sending.counter);
    q.Bytes(3, s.pq_ratchet->receiving.next);
    q.Varint(4, s.pq_ratchet->receiving.counter);
    for (const auto& skipped : s.pq_ratchet->skipped) {
      WireWriter k;
      k.Varint(1, skipped.index);
      k.Bytes(2, skipped.key);
      q.Bytes(5, k.buffer());
    }
    w.Bytes(15, q.buffer());
  }
  return w.Take();
}

absl::StatusOr<internal::SkippedKey> ParseSkipped(std::span<const uint8_t> bytes) {
  internal::SkippedKey key;
  bool has_counter = false, has_seed = false;
  WireReader r(bytes);
  for (;;) {
    ASSIGN_OR_RETURN(std::optional<WireField> next, r.Next());
    if (!next) break;
    const WireField& f = *next;
    if (f.number == 1) {
      ASSIGN_OR_RETURN(key.counter, FieldUint32(f, "skipped.counter"));
      has_counter = true;
    } else if (f.number == 2) {
      ASSIGN_OR_RETURN(key.seed, FieldKey32(f, "skipped.seed"));
      has_seed = true;
    }
  }
  if (!has_counter || !has_seed) return absl::InvalidArgumentError("incomplete skipped message key");
  return key;
}

absl::StatusOr<internal::ReceiverChain> ParseChain(std::span<const uint8_t> bytes) {
  internal::ReceiverChain chain;
  bool has_key = false, has_index = false, has_chain_key = false;
  WireReader r(bytes);
  for (;;) {
    ASSIGN_OR_RETURN(std::optional<WireField> next, r.Next());
    if (!next) break;
    const WireField& f = *next;
    switch (f.number) {
      case 1: {
        ASSIGN_OR_RETURN(chain.ratchet_key, FieldPublicKey(f, "chain.ratchet_key"));
        has_key = true;
        break;
      }
      case 2: {
        ASSIGN_OR_RETURN(chain.chain.index, FieldUint32(f, "chain.index"));
        has_index = true;
        break;
      }
      case 3: {
        ASSIGN_OR_RETURN(chain.chain.key, FieldKey32(f, "chain.key"));
        has_chain_key = true;
        break;
      }
      case 4: {
        if (chain.skipped.size() >= internal::kMaxSkippedKeysPerChain) {
          return absl::InvalidArgumentError("too many skipped message keys in a chain");
        }
        ASSIGN_OR_RETURN(auto skipped_bytes, FieldBytes(f, "chain.skipped"));
        ASSIGN_OR_RETURN(auto skipped, ParseSkipped(skipped_bytes));
        chain.skipped.push_back(skipped);
        break;
      }
      default:
        break;
    }
  }
  if (!has_key || !has_index || !has_chain_key)
    return absl::InvalidArgumentError("incomplete receiver chain");
  return chain;
}

absl::StatusOr<internal::PendingPreKey> ParsePending(std::span<const uint8_t> bytes) {
  internal::PendingPreKey pending;
  bool has_signed = false, has_base = false;
  WireReader r(bytes);
  for (;;) {
    ASSIGN_OR_RETURN(std::optional<WireField> next, r.Next());
    if (!next) break;
    const WireField& f = *next;
    switch (f.number) {
      case 1: {
        ASSIGN_OR_RETURN(uint32_t id, FieldUint32(f, "pending.prekey_id"));
        pending.prekey_id = id;
        break;
      }
      case 2: {
        ASSIGN_OR_RETURN(pending.signed_prekey_id, FieldUint32(f, "pending.signed_prekey_id"));
        has_signed = true;
        break;
      }
      case 3: {
        ASSIGN_OR_RETURN(pending.base_key, FieldPublicKey(f, "pending.base_key"));
        has_base = true;
        break;
      }
      case 4: {
        ASSIGN_OR_RETURN(uint32_t id, FieldUint32(f, "pending.kyber_prekey_id"));
        pending.kyber_prekey_id = id;
        break;
      }
      case 5: {
        ASSIGN_OR_RETURN(auto ciphertext, FieldBytes(f, "pending.kyber_ciphertext"));
        pending.kyber_ciphertext.assign(ciphertext.begin(), ciphertext.end());
        break;
      }
      default:
        break;
    }
  }
  if (!has_signed || !has_base) return absl::InvalidArgumentError("incomplete pending prekey");
  if (pending.kyber_prekey_id.has_value() != !pending.kyber_ciphertext.empty()) {
    return absl::InvalidArgumentError("pending prekey has only one of its Kyber fields");
  }
  return pending;
}

absl::StatusOr<internal::PqRatchetState> ParsePqRatchet(std::span<const uint8_t> bytes) {
  internal::PqRatchetState pq;
  uint32_t seen = 0;
  WireReader r(bytes);
  for (;;) {
    ASSIGN_OR_RETURN(std::optional<WireField> next, r.Next());
    if (!next) break;
    const WireField& f = *next;
    if (f.number < 32) seen |= 1u << f.number;
    switch (f.number) {
      case 1: {
        ASSIGN_OR_RETURN(pq.sending.next, FieldKey32(f, "pq.sending.next"));
        break;
      }
      case 2: {
        ASSIGN_OR_RETURN(pq.sending.counter, FieldUint32(f, "pq.sending.counter"));
        break;
      }
      case 3: {
        ASSIGN_OR_RETURN(pq.receiving.next, FieldKey32(f, "pq.receiving.next"));
        break;
      }
      case 4: {
        ASSIGN_OR_RETURN(pq.receiving.counter, FieldUint32(f, "pq.receiving.counter"));
        break;
      }
      case 5: {
        if (pq.skipped.size() >= internal::kPqMaxSkippedKeys) {
          return absl::InvalidArgumentError("too many skipped post-quantum ratchet keys");
        }
        ASSIGN_OR_RETURN(auto skipped_bytes, FieldBytes(f, "pq.skipped"));
        internal::PqSkippedKey key;
        bool has_index = false, has_key = false;
        WireReader k(skipped_bytes);
        for (;;) {
          ASSIGN_OR_RETURN(std::optional<WireField> field, k.Next());
          if (!field) break;
          if (field->number == 1) {
            ASSIGN_OR_RETURN(key.index, FieldUint32(*field, "pq.skipped.index"));
            has_index = true;
          } else if (field->number == 2) {
            ASSIGN_OR_RETURN(key.key, FieldKey32(*field, "pq.skipped.key"));
            has_key = true;
          }
        }
        if (!has_index || !has_key) return absl::InvalidArgumentError("incomplete skipped post-quantum key");
        pq.skipped.push_back(key);
        break;
      }
      default:
        break;
    }
  }
  constexpr uint32_t kRequired = (1u << 1) | (1u << 3);
  if ((seen & kRequired) != kRequired) return absl::InvalidArgumentError("incomplete post-quantum ratchet");
  return pq;
}

absl::StatusOr<SessionState> ParseState(std::span<const uint8_t> bytes) {
  SessionState s;
  // Fields 1-3, 6, 7, 9-12 are required.
  constexpr uint32_t kRequired = (1u << 1) | (1u << 2) | (1u << 3) | (1u << 6) | (1u << 7) | (1u << 9) |
                                 (1u << 10) | (1u << 11) | (1u << 12);
  uint32_t seen = 0;
  std::optional<PublicKey> ratchet_public;
  WireReader r(bytes);
  for (;;) {
    ASSIGN_OR_RETURN(std::optional<WireField> next, r.Next());
    if (!next) break;
    const WireField& f = *next;
    if (f.number < 32) seen |= 1u << f.number;
    switch (f.number) {
      case 1: {
        ASSIGN_OR_RETURN(s.version, FieldUint32(f, "version"));
        if (s.version != 3 && s.version != 4)
          return absl::InvalidArgumentError("unsupported session version " + std::to_string(s.version));
        break;
      }
      case 2: {
        ASSIGN_OR_RETURN(s.local_identity, FieldPublicKey(f, "local_identity"));
        break;
      }
      case 3: {
        ASSIGN_OR_RETURN(s.remote_identity, FieldPublicKey(f, "remote_identity"));
        break;
      }
      case 4: {
        ASSIGN_OR_RETURN(s.local_registration_id, FieldUint32(f, "local_registration_id"));
        break;
      }
      case 5: {
        ASSIGN_OR_RETURN(s.remote_registration_id, FieldUint32(f, "remote_registration_id"));
        break;
      }
      case 6: {
        ASSIGN_OR_RETURN(s.base_key, FieldPublicKey(f, "base_key"));
        break;
      }
      case 7: {
        ASSIGN_OR_RETURN(s.root_key, FieldKey32(f, "root_key"));
        break;
      }
      case 8: {
        ASSIGN_OR_RETURN(s.previous_counter, FieldUint32(f, "previous_counter"));
        break;
      }
      case 9: {
        ASSIGN_OR_RETURN(ratchet_public, FieldPublicKey(f, "sender_ratchet_public"));
        break;
      }
      case 10: {
        ASSIGN_OR_RETURN(auto raw, FieldKey32(f, "sender_ratchet_private"));
        s.sender_ratchet.private_key = PrivateKey(raw);
        break;
      }
      case 11: {
        ASSIGN_OR_RETURN(s.sender_chain.index, FieldUint32(f, "sender_chain_index"));
        break;
      }
      case 12: {
        ASSIGN_OR_RETURN(s.sender_chain.key, FieldKey32(f, "sender_chain_key"));
        break;
      }
      case 13: {
        if (s.receiver_chains.size() >= internal::kMaxReceiverChains) {
          return absl::InvalidArgumentError("too many receiver chains");
        }
        ASSIGN_OR_RETURN(auto chain_bytes, FieldBytes(f, "receiver_chain"));
        ASSIGN_OR_RETURN(auto chain, ParseChain(chain_bytes));
        s.receiver_chains.push_back(std::move(chain));
        break;
      }
      case 14: {
        ASSIGN_OR_RETURN(auto pending_bytes, FieldBytes(f, "pending_prekey"));
        ASSIGN_OR_RETURN(s.pending_prekey, ParsePending(pending_bytes));
        break;
      }
      case 15: {
        ASSIGN_OR_RETURN(auto pq_bytes, FieldBytes(f, "pq_ratchet"));
        ASSIGN_OR_RETURN(s.pq_ratchet, ParsePqRatchet(pq_bytes));
        break;
      }
      default:
        break;
    }
  }
  if ((seen & kRequired) != kRequired) return absl::InvalidArgumentError("incomplete session state");
  if ((s.version == 4) != s.pq_ratchet.has_value()) {
    return absl::InvalidArgumentError("a version " + std::to_string(s.version) + " session " +
                                      (s.pq_ratchet ? "with" : "without") + " a post-quantum ratchet");
  }
  if (s.pending_prekey && (s.version == 4) != s.pending_prekey->kyber_prekey_id.has_value()) {
    return absl::InvalidArgumentError("pending prekey does not match the session version");
  }
  s.sender_ratchet.public_key = *ratchet_public;
  return s;
}

}  // namespace

// A record without states (moved from) is empty; it gets states of its own
// when first changed.
namespace internal {
SessionStates& StatesOf(SessionRecord& record) {
  if (!record.states_) record.states_ = std::make_unique<SessionStates>();
  return *record.states_;
}
const SessionStates& StatesOf(const SessionRecord& record) {
  static const SessionStates kEmpty;
  return record.states_ ? *record.states_ : kEmpty;
}
}  // namespace internal

SessionRecord::SessionRecord() = default;
SessionRecord::SessionRecord(const SessionRecord& other)
    : states_(other.states_ ? std::make_unique<internal::SessionStates>(*other.states_) : nullptr) {}
SessionRecord& SessionRecord::operator=(const SessionRecord& other) {
  if (this != &other) {
    states_ = other.states_ ? std::make_unique<internal::SessionStates>(*other.states_) : nullptr;
  }
  return *this;
}
SessionRecord::SessionRecord(SessionRecord&& other) noexcept = default;
SessionRecord& SessionRecord::operator=(SessionRecord&& other) noexcept = default;
SessionRecord::~SessionRecord() = default;

bool SessionRecord::has_session() const { return internal::StatesOf(*this).current.has_value(); }
const PublicKey& SessionRecord::remote_identity() const {
  return internal::StatesOf(*this).current->remote_identity;
}
const PublicKey& SessionRecord::local_identity() const {
  return internal::StatesOf(*this).current->local_identity;
}
uint32_t SessionRecord::remote_registration_id() const {
  return internal::StatesOf(*this).current->remote_registration_id;
}
uint32_t SessionRecord::version() const { return internal::StatesOf(*this).current->version; }
bool SessionRecord::awaiting_first_reply() const {
  return internal::StatesOf(*this).current->pending_prekey.has_value();
}
size_t SessionRecord::archived_count() const { return internal::StatesOf(*this).archived.size(); }

bool operator==(const SessionRecord& a, const SessionRecord& b) {
  return internal::StatesOf(a) == internal::StatesOf(b);
}

std::vector<uint8_t> SessionRecord::Serialize() const {
  WireWriter w;
  w.Varint(1, kSerializationVersion);
  const auto& [current, archived] = internal::StatesOf(*this);
  if (current) w.Bytes(2, SerializeState(*current));
  for (const auto& state : archived) w.Bytes(3, SerializeState(state));
  return w.Take();
}

absl::StatusOr<SessionRecord> SessionRecord::Deserialize(std::span<const uint8_t> bytes) {
  SessionRecord record;
  bool has_version = false;
  WireReader r(bytes);
  for (;;) {
    ASSIGN_OR_RETURN(std::optional<WireField> next, r.Next());
    if (!next) break;
    const WireField& f = *next;
    switch (f.number) {
      case 1: {
        ASSIGN_OR_RETURN(uint32_t version, FieldUint32(f, "record version"));
        if (version != kSerializationVersion) {
          return absl::InvalidArgumentError("unknown session record version " + std::to_string(version));
        }
        has_version = true;
        break;
      }
      case 2: {
        if (internal::StatesOf(record).current)
          return absl::InvalidArgumentError("session record has two current sessions");
        ASSIGN_OR_RETURN(auto state_bytes, FieldBytes(f, "current session"));
        ASSIGN_OR_RETURN(internal::StatesOf(record).current, ParseState(state_bytes));
        break;
      }
      case 3: {
        if (internal::StatesOf(record).archived.size() >= internal::kMaxArchivedStates) {
          return absl::InvalidArgumentError("too many archived sessions");
        }
        ASSIGN_OR_RETURN(auto state_bytes, FieldBytes(f, "archived session"));
        ASSIGN_OR_RETURN(auto state, ParseState(state_bytes));
        internal::StatesOf(record).archived.push_back(std::move(state));
        break;
      }
      default:
        break;
    }
  }
  if (!has_version) return absl::InvalidArgumentError("session record has no version");
  return record;
}

}  // namespace tandem::crypto
