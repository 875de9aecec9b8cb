// Sender keys; see sender_keys.h.
#include "crypto/sender_keys.h"

#include <algorithm>
#include <cstring>
#include <deque>
#include <optional>
#include <string>

#include "absl/status/status.h"
#include "common/status.h"
#include "crypto/internal/primitives.h"
#include "crypto/internal/wire.h"
#include "crypto/xeddsa.h"

namespace tandem::crypto {
namespace internal {

struct SenderMessageKey {
  uint32_t iteration = 0;
  std::array<uint8_t, 32> seed{};
  friend bool operator==(const SenderMessageKey&, const SenderMessageKey&) = default;
};

struct SenderKeyState {
  DistributionId distribution_id{};
  uint32_t chain_id = 0;
  uint32_t iteration = 0;  // the chain key derives this iteration's message key
  std::array<uint8_t, 32> chain_key{};
  PublicKey signing_key;
  std::optional<PrivateKey> signing_private;  // only in our own sending record
  std::vector<SenderMessageKey> skipped;      // oldest first
  friend bool operator==(const SenderKeyState&, const SenderKeyState&) = default;
};

struct SenderKeyStates {
  std::deque<SenderKeyState> states;  // newest first
  friend bool operator==(const SenderKeyStates&, const SenderKeyStates&) = default;
};

}  // namespace internal

namespace {

using internal::ByteSpan;
using internal::FieldBytes;
using internal::FieldKey32;
using internal::FieldPublicKey;
using internal::FieldUint32;
using internal::SenderKeyState;
using internal::WireField;
using internal::WireReader;
using internal::WireWriter;

constexpr uint8_t kVersion = 3;
constexpr uint8_t kVersionByte = (kVersion << 4) | kVersion;
constexpr char kInfoGroup[] = "WhisperGroup";

std::array<uint8_t, 32> Hmac(const std::array<uint8_t, 32>& key, uint8_t byte) {
  return internal::HmacSha256(key, {ByteSpan(&byte, 1)});
}

absl::Status CheckVersion(std::span<const uint8_t> message, const char* what) {
  if (message.empty()) return absl::InvalidArgumentError(std::string(what) + " is empty");
  uint8_t version = message[0] >> 4;
  if (version != kVersion) {
    return absl::InvalidArgumentError(std::string(what) + " of unsupported version " +
                                      std::to_string(version));
  }
  return absl::OkStatus();
}

absl::StatusOr<DistributionId> DistributionIdField(const WireField& f) {
  ASSIGN_OR_RETURN(auto bytes, FieldBytes(f, "distribution_id"));
  if (bytes.size() != 16) return absl::InvalidArgumentError("distribution_id must be 16 bytes");
  DistributionId id;
  std::memcpy(id.data(), bytes.data(), 16);
  return id;
}

struct ParsedDistribution {
  SenderKeyDistribution header;
  std::array<uint8_t, 32> chain_key{};
};

absl::StatusOr<ParsedDistribution> ParseDistribution(std::span<const uint8_t> message) {
  RETURN_IF_ERROR(CheckVersion(message, "SenderKeyDistributionMessage"));
  ParsedDistribution out;
  uint32_t seen = 0;
  WireReader r(message.subspan(1));
  for (;;) {
    ASSIGN_OR_RETURN(std::optional<WireField> next, r.Next());
    if (!next) break;
    const WireField& f = *next;
    if (f.number < 32) seen |= 1u << f.number;
    switch (f.number) {
      case 1: {
        ASSIGN_OR_RETURN(out.header.distribution_id, DistributionIdField(f));
        break;
      }
      case 2: {
        ASSIGN_OR_RETURN(out.header.chain_id, FieldUint32(f, "chain_id"));
        break;
      }
      case 3: {
        ASSIGN_OR_RETURN(out.header.iteration, FieldUint32(f, "iteration"));
        break;
      }
      case 4: {
        ASSIGN_OR_RETURN(out.chain_key, FieldKey32(f, "chain_key"));
        break;
      }
      case 5: {
        ASSIGN_OR_RETURN(out.header.signing_key, FieldPublicKey(f, "signing_key"));
        break;
      }
      default:
        break;
    }
  }
  constexpr uint32_t kRequired = (1u << 1) | (1u << 2) | (1u << 3) | (1u << 4) | (1u << 5);
  if ((seen & kRequired) != kRequired) {
    return absl::InvalidArgumentError(
        "incomplete SenderKeyDistributionMessage (distribution id, chain id, iteration, chain key and "
        "signing key "
        "are required)");
  }
  return out;
}

struct ParsedMessage {
  SenderKeyMessageInfo header;
  std::span<const uint8_t> ciphertext;
  std::span<const uint8_t> signed_part;
  std::span<const uint8_t> signature;
};

absl::StatusOr<ParsedMessage> ParseMessage(std::span<const uint8_t> message) {
  RETURN_IF_ERROR(CheckVersion(message, "SenderKeyMessage"));
  if (message.size() < 1 + kSignatureSize) return absl::InvalidArgumentError("SenderKeyMessage is too short");
  ParsedMessage out;
  out.signed_part = message.first(message.size() - kSignatureSize);
  out.signature = message.last(kSignatureSize);
  uint32_t seen = 0;
  WireReader r(out.signed_part.subspan(1));
  for (;;) {
    ASSIGN_OR_RETURN(std::optional<WireField> next, r.Next());
    if (!next) break;
    const WireField& f = *next;
    if (f.number < 32) seen |= 1u << f.number;
    switch (f.number) {
      case 1: {
        ASSIGN_OR_RETURN(out.header.distribution_id, DistributionIdField(f));
        break;
      }
      case 2: {
        ASSIGN_OR_RETURN(out.header.chain_id, FieldUint32(f, "chain_id"));
        break;
      }
      case 3: {
        ASSIGN_OR_RETURN(out.header.iteration, FieldUint32(f, "iteration"));
        break;
      }
      case 4: {
        ASSIGN_OR_RETURN(out.ciphertext, FieldBytes(f, "ciphertext"));
        break;
      }
      default:
        break;
    }
  }
  constexpr uint32_t kRequired = (1u << 1) | (1u << 2) | (1u << 3) | (1u << 4);
  if ((seen & kRequired) != kRequired) {
    return absl::InvalidArgumentError(
        "incomplete SenderKeyMessage (distribution id, chain id, iteration and ciphertext are required)");
  }
  return out;
}

// IV (16) || AES key (32) for the message key seed.
struct GroupMessageKeys {
  std::array<uint8_t, 48> okm;
  ByteSpan iv() const { return ByteSpan(okm).first(16); }
  ByteSpan cipher_key() const { return ByteSpan(okm).subspan(16, 32); }
  ~GroupMessageKeys() { internal::Wipe(okm); }
};

void Expand(const std::array<uint8_t, 32>& seed, GroupMessageKeys& keys) {
  internal::Hkdf(seed, {}, ByteSpan(reinterpret_cast<const uint8_t*>(kInfoGroup), sizeof(kInfoGroup) - 1),
                 keys.okm);
}

// The message key seed for `iteration`, advancing `state` (a scratch copy).
absl::StatusOr<std::array<uint8_t, 32>> SeedFor(SenderKeyState& state, uint32_t iteration) {
  if (iteration < state.iteration) {
    auto it = std::find_if(state.skipped.begin(), state.skipped.end(),
                           [&](const internal::SenderMessageKey& k) { return k.iteration == iteration; });
    if (it == state.skipped.end()) {
      return absl::AlreadyExistsError("group message " + std::to_string(iteration) +
                                      " was already received (or its key expired)");
    }
    auto seed = it->seed;
    state.skipped.erase(it);
    return seed;
  }
  if (iteration - state.iteration > kSenderKeyMaxJump) {
    return absl::ResourceExhaustedError("group message is " + std::to_string(iteration - state.iteration) +
                                        " messages ahead; at most " + std::to_string(kSenderKeyMaxJump) +
                                        " may be skipped");
  }
  while (state.iteration < iteration) {
    state.skipped.push_back(internal::SenderMessageKey{state.iteration, Hmac(state.chain_key, 0x01)});
    state.chain_key = Hmac(state.chain_key, 0x02);
    ++state.iteration;
  }
  if (state.skipped.size() > kSenderKeyMaxStoredKeys) {
    state.skipped.erase(
        state.skipped.begin(),
        state.skipped.begin() + static_cast<ptrdiff_t>(state.skipped.size() - kSenderKeyMaxStoredKeys));
  }
  if (state.iteration == UINT32_MAX)
    return absl::InvalidArgumentError("group message iteration out of range");
  auto seed = Hmac(state.chain_key, 0x01);
  state.chain_key = Hmac(state.chain_key, 0x02);
  ++state.iteration;
  return seed;
}

// Adds a state as libsignal does: a state with the same chain id and signing
// key is kept as it is (moved to the front); others with that chain id go.
void AddState(internal::SenderKeyStates& s, SenderKeyState state) {
  std::optional<SenderKeyState> existing;
  for (auto it = s.states.begin(); it != s.states.end();) {
    if (it->chain_id == state.chain_id) {
      if (!existing && it->signing_key == state.signing_key) existing = std::move(*it);
      it = s.states.erase(it);
    } else {
      ++it;
    }
  }
  while (s.states.size() >= kSenderKeyMaxStates) s.states.pop_back();
  s.states.push_front(existing ? std::move(*existing) : std::move(state));
}

std::vector<uint8_t> SerializeState(const SenderKeyState& st) {
  WireWriter w;
  w.Bytes(1, st.distribution_id);
  w.Varint(2, st.chain_id);
  w.Varint(3, st.iteration);
  w.Bytes(4, st.chain_key);
  w.Bytes(5, st.signing_key.Serialize());
  if (st.signing_private) w.Bytes(6, st.signing_private->raw());
  for (const auto& k : st.skipped) {
    WireWriter kw;
    kw.Varint(1, k.iteration);
    kw.Bytes(2, k.seed);
    w.Bytes(7, kw.buffer());
  }
  return w.Take();
}

absl::StatusOr<SenderKeyState> ParseState(std::span<const uint8_t> bytes) {
  SenderKeyState st;
  uint32_t seen = 0;
  WireReader r(bytes);
  for (;;) {
    ASSIGN_OR_RETURN(std::optional<WireField> next, r.Next());
    if (!next) break;
    const WireField& f = *next;
    if (f.number < 32) seen |= 1u << f.number;
    switch (f.number) {
      case 1: {
        ASSIGN_OR_RETURN(st.distribution_id, DistributionIdField(f));
        break;
      }
      case 2: {
        ASSIGN_OR_RETURN(st.chain_id, FieldUint32(f, "chain_id"));
        break;
      }
      case 3: {
        ASSIGN_OR_RETURN(st.iteration, FieldUint32(f, "iteration"));
        break;
      }
      case 4: {
        ASSIGN_OR_RETURN(st.chain_key, FieldKey32(f, "chain_key"));
        break;
      }
      case 5: {
        ASSIGN_OR_RETURN(st.signing_key, FieldPublicKey(f, "signing_key"));
        break;
      }
      case 6: {
        ASSIGN_OR_RETURN(auto raw, FieldKey32(f, "signing_private"));
        st.signing_private = PrivateKey(raw);
        break;
      }
      case 7: {
        if (st.skipped.size() >= kSenderKeyMaxStoredKeys) {
          return absl::InvalidArgumentError("too many stored group message keys");
        }
        ASSIGN_OR_RETURN(auto kb, FieldBytes(f, "skipped"));
        internal::SenderMessageKey key;
        bool has_iteration = false, has_seed = false;
        WireReader kr(kb);
        for (;;) {
          ASSIGN_OR_RETURN(std::optional<WireField> kf, kr.Next());
          if (!kf) break;
          if (kf->number == 1) {
            ASSIGN_OR_RETURN(key.iteration, FieldUint32(*kf, "skipped.iteration"));
            has_iteration = true;
          } else if (kf->number == 2) {
            ASSIGN_OR_RETURN(key.seed, FieldKey32(*kf, "skipped.seed"));
            has_seed = true;
          }
        }
        if (!has_iteration || !has_seed)
          return absl::InvalidArgumentError("incomplete stored group message key");
        st.skipped.push_back(key);
        break;
      }
      default:
        break;
    }
  }
  constexpr uint32_t kRequired = (1u << 1) | (1u << 2) | (1u << 3) | (1u << 4) | (1u << 5);
  if ((seen & kRequired) != kRequired) return absl::InvalidArgumentError("incomplete sender key state");
  return st;
}

}  // namespace

SenderKeyRecord::SenderKeyRecord() = default;
SenderKeyRecord::SenderKeyRecord(const SenderKeyRecord& other)
    : states_(other.states_ ? std::make_unique<internal::SenderKeyStates>(*other.states_) : nullptr) {}
SenderKeyRecord& SenderKeyRecord::operator=(const SenderKeyRecord& other) {
  if (this != &other)
    states_ = other.states_ ? std::make_unique<internal::SenderKeyStates>(*other.states_) : nullptr;
  return *this;
}
SenderKeyRecord::SenderKeyRecord(SenderKeyRecord&&) noexcept = default;
SenderKeyRecord& SenderKeyRecord::operator=(SenderKeyRecord&&) noexcept = default;
SenderKeyRecord::~SenderKeyRecord() = default;

internal::SenderKeyStates& SenderKeyRecord::states() {
  if (!states_) states_ = std::make_unique<internal::SenderKeyStates>();
  return *states_;
}
const internal::SenderKeyStates& SenderKeyRecord::states() const {
  static const internal::SenderKeyStates kEmpty;
  return states_ ? *states_ : kEmpty;
}
bool SenderKeyRecord::empty() const { return states().states.empty(); }
size_t SenderKeyRecord::state_count() const { return states().states.size(); }

bool operator==(const SenderKeyRecord& a, const SenderKeyRecord& b) { return a.states() == b.states(); }

std::vector<uint8_t> SenderKeyRecord::Serialize() const {
  WireWriter w;
  w.Varint(1, 1);  // format version
  for (const auto& st : states().states) w.Bytes(2, SerializeState(st));
  return w.Take();
}

absl::StatusOr<SenderKeyRecord> SenderKeyRecord::Deserialize(std::span<const uint8_t> bytes) {
  SenderKeyRecord record;
  bool has_version = false;
  WireReader r(bytes);
  for (;;) {
    ASSIGN_OR_RETURN(std::optional<WireField> next, r.Next());
    if (!next) break;
    const WireField& f = *next;
    if (f.number == 1) {
      ASSIGN_OR_RETURN(uint32_t version, FieldUint32(f, "version"));
      if (version != 1)
        return absl::InvalidArgumentError("unknown sender key record version " + std::to_string(version));
      has_version = true;
    } else if (f.number == 2) {
      if (record.states().states.size() >= kSenderKeyMaxStates) {
        return absl::InvalidArgumentError("too many sender key states");
      }
      ASSIGN_OR_RETURN(auto sb, FieldBytes(f, "state"));
      ASSIGN_OR_RETURN(auto st, ParseState(sb));
      record.states().states.push_back(std::move(st));
    }
  }
  if (!has_version) return absl::InvalidArgumentError("sender key record has no version");
  return record;
}

absl::StatusOr<SenderKeyDistribution> InspectSenderKeyDistributionMessage(std::span<const uint8_t> message) {
  ASSIGN_OR_RETURN(auto parsed, ParseDistribution(message));
  internal::Wipe(parsed.chain_key);
  return parsed.header;
}

absl::StatusOr<std::vector<uint8_t>> CreateSenderKeyDistributionMessage(SenderKeyRecord& own,
                                                                        const DistributionId& distribution_id,
                                                                        Random& random) {
  auto& states = own.states().states;
  auto it = std::find_if(states.begin(), states.end(), [&](const SenderKeyState& s) {
    return s.distribution_id == distribution_id && s.signing_private.has_value();
  });
  if (it == states.end()) {
    SenderKeyState st;
    st.distribution_id = distribution_id;
    st.chain_id = static_cast<uint32_t>(random.NextU64() >> 33);  // 31 bits, as libsignal draws it
    random.Fill(st.chain_key);
    KeyPair signing = KeyPair::Generate(random);
    st.signing_key = signing.public_key;
    st.signing_private = signing.private_key;
    AddState(own.states(), std::move(st));
    it = states.begin();
  }
  WireWriter w;
  w.buffer().push_back(kVersionByte);
  w.Bytes(1, it->distribution_id);
  w.Varint(2, it->chain_id);
  w.Varint(3, it->iteration);
  w.Bytes(4, it->chain_key);
  w.Bytes(5, it->signing_key.Serialize());
  return w.Take();
}

absl::Status ProcessSenderKeyDistributionMessage(SenderKeyRecord& record, std::span<const uint8_t> message) {
  ASSIGN_OR_RETURN(auto parsed, ParseDistribution(message));
  SenderKeyState st;
  st.distribution_id = parsed.header.distribution_id;
  st.chain_id = parsed.header.chain_id;
  st.iteration = parsed.header.iteration;
  st.chain_key = parsed.chain_key;
  st.signing_key = parsed.header.signing_key;
  internal::Wipe(parsed.chain_key);
  AddState(record.states(), std::move(st));
  return absl::OkStatus();
}

absl::StatusOr<std::vector<uint8_t>> GroupEncrypt(SenderKeyRecord& own, std::span<const uint8_t> plaintext,
                                                  Random& random) {
  auto& states = own.states().states;
  if (states.empty() || !states.front().signing_private) {
    return absl::FailedPreconditionError("no sending chain: create a distribution message first");
  }
  SenderKeyState st = states.front();
  uint32_t iteration = st.iteration;
  ASSIGN_OR_RETURN(auto seed, SeedFor(st, iteration));
  GroupMessageKeys keys;
  Expand(seed, keys);
  internal::Wipe(seed);
  std::vector<uint8_t> ciphertext = internal::Aes256CbcEncrypt(keys.cipher_key(), keys.iv(), plaintext);
  WireWriter w;
  w.buffer().reserve(1 + 18 + 12 + 4 + ciphertext.size() + kSignatureSize);
  w.buffer().push_back(kVersionByte);
  w.Bytes(1, st.distribution_id);
  w.Varint(2, st.chain_id);
  w.Varint(3, iteration);
  w.Bytes(4, ciphertext);
  std::vector<uint8_t> out = w.Take();
  Signature signature = XEdDSASign(*st.signing_private, out, random);
  out.insert(out.end(), signature.begin(), signature.end());
  states.front() = std::move(st);
  return out;
}

absl::StatusOr<SenderKeyMessageInfo> InspectSenderKeyMessage(std::span<const uint8_t> message) {
  ASSIGN_OR_RETURN(auto parsed, ParseMessage(message));
  return parsed.header;
}

absl::StatusOr<std::vector<uint8_t>> GroupDecrypt(SenderKeyRecord& record, std::span<const uint8_t> message) {
  ASSIGN_OR_RETURN(auto parsed, ParseMessage(message));
  auto& states = record.states().states;
  auto it = std::find_if(states.begin(), states.end(),
                         [&](const SenderKeyState& s) { return s.chain_id == parsed.header.chain_id; });
  if (it == states.end()) {
    return absl::NotFoundError("no sender key state for chain " + std::to_string(parsed.header.chain_id) +
                               " (its distribution message has not arrived)");
  }
  if (it->distribution_id != parsed.header.distribution_id) {
    return absl::InvalidArgumentError("group message for another distribution id");
  }
  if (!XEdDSAVerify(it->signing_key, parsed.signed_part, parsed.signature)) {
    return absl::InvalidArgumentError("bad signature: group message not signed by the sender's signing key");
  }
  SenderKeyState st = *it;
  ASSIGN_OR_RETURN(auto seed, SeedFor(st, parsed.header.iteration));
  GroupMessageKeys keys;
  Expand(seed, keys);
  internal::Wipe(seed);
  ASSIGN_OR_RETURN(auto plaintext,
                   internal::Aes256CbcDecrypt(keys.cipher_key(), keys.iv(), parsed.ciphertext));
  *it = std::move(st);
  return plaintext;
}

}  // namespace tandem::crypto
