// Signal v3 and v4 message parsing and serialization; see messages.h.
#include "crypto/internal/messages.h"

#include <string>

#include "absl/status/status.h"
#include "common/status.h"
#include "crypto/internal/wire.h"

namespace tandem::crypto::internal {
namespace {

absl::StatusOr<uint32_t> CheckVersion(uint8_t byte) {
  uint32_t version = byte >> 4;
  if (version < kMinMessageVersion) {
    return absl::InvalidArgumentError("legacy message version " + std::to_string(version) +
                                      " is not supported");
  }
  if (version > kMaxMessageVersion) {
    return absl::InvalidArgumentError("unknown message version " + std::to_string(version));
  }
  return version;
}

}  // namespace

absl::StatusOr<SignalMessageView> ParseSignalMessage(std::span<const uint8_t> bytes) {
  if (bytes.size() < 1 + kMacSize) return absl::InvalidArgumentError("SignalMessage is too short");
  SignalMessageView view;
  ASSIGN_OR_RETURN(view.version, CheckVersion(bytes[0]));
  view.authenticated = bytes.first(bytes.size() - kMacSize);
  view.mac = bytes.last(kMacSize);
  bool has_key = false, has_counter = false, has_ciphertext = false;
  WireReader reader(view.authenticated.subspan(1));
  for (;;) {
    ASSIGN_OR_RETURN(std::optional<WireField> next, reader.Next());
    if (!next) break;
    const WireField& field = *next;
    switch (field.number) {
      case 1: {
        ASSIGN_OR_RETURN(view.ratchet_key, FieldPublicKey(field, "ratchet_key"));
        has_key = true;
        break;
      }
      case 2: {
        ASSIGN_OR_RETURN(view.counter, FieldUint32(field, "counter"));
        has_counter = true;
        break;
      }
      case 3: {
        ASSIGN_OR_RETURN(view.previous_counter, FieldUint32(field, "previous_counter"));
        break;
      }
      case 4: {
        ASSIGN_OR_RETURN(view.ciphertext, FieldBytes(field, "ciphertext"));
        has_ciphertext = true;
        break;
      }
      case 5: {
        if (view.version < 4) return absl::InvalidArgumentError("pq_ratchet in a version 3 SignalMessage");
        ASSIGN_OR_RETURN(view.pq_ratchet, FieldBytes(field, "pq_ratchet"));
        break;
      }
      default:
        break;
    }
  }
  if (!has_key || !has_counter || !has_ciphertext) {
    return absl::InvalidArgumentError(
        "incomplete SignalMessage (ratchet key, counter and ciphertext are required)");
  }
  return view;
}

std::vector<uint8_t> SerializeSignalMessageBody(uint32_t version, const PublicKey& ratchet_key,
                                                uint32_t counter, uint32_t previous_counter,
                                                std::span<const uint8_t> ciphertext,
                                                std::span<const uint8_t> pq_ratchet) {
  WireWriter writer;
  writer.buffer().reserve(1 + 2 + 33 + 12 + 3 + ciphertext.size() + 3 + pq_ratchet.size() + kMacSize);
  writer.buffer().push_back(VersionByte(version));
  writer.Bytes(1, ratchet_key.Serialize());
  writer.Varint(2, counter);
  writer.Varint(3, previous_counter);
  writer.Bytes(4, ciphertext);
  if (!pq_ratchet.empty()) writer.Bytes(5, pq_ratchet);
  return writer.Take();
}

absl::StatusOr<PreKeySignalMessageView> ParsePreKeySignalMessage(std::span<const uint8_t> bytes) {
  if (bytes.empty()) return absl::InvalidArgumentError("PreKeySignalMessage is empty");
  PreKeySignalMessageView view;
  ASSIGN_OR_RETURN(view.version, CheckVersion(bytes[0]));
  bool has_kyber_ciphertext = false;
  bool has_signed = false, has_base = false, has_identity = false, has_message = false;
  WireReader reader(bytes.subspan(1));
  for (;;) {
    ASSIGN_OR_RETURN(std::optional<WireField> next, reader.Next());
    if (!next) break;
    const WireField& field = *next;
    switch (field.number) {
      case 1: {
        ASSIGN_OR_RETURN(uint32_t id, FieldUint32(field, "prekey_id"));
        view.prekey_id = id;
        break;
      }
      case 2: {
        ASSIGN_OR_RETURN(view.base_key, FieldPublicKey(field, "base_key"));
        has_base = true;
        break;
      }
      case 3: {
        ASSIGN_OR_RETURN(view.identity_key, FieldPublicKey(field, "identity_key"));
        has_identity = true;
        break;
      }
      case 4: {
        ASSIGN_OR_RETURN(view.message, FieldBytes(field, "message"));
        has_message = true;
        break;
      }
      case 5: {
        ASSIGN_OR_RETURN(view.registration_id, FieldUint32(field, "registration_id"));
        break;
      }
      case 6: {
        ASSIGN_OR_RETURN(view.signed_prekey_id, FieldUint32(field, "signed_prekey_id"));
        has_signed = true;
        break;
      }
      case 7: {
        ASSIGN_OR_RETURN(uint32_t id, FieldUint32(field, "kyber_prekey_id"));
        view.kyber_prekey_id = id;
        break;
      }
      case 8: {
        ASSIGN_OR_RETURN(view.kyber_ciphertext, FieldBytes(field, "kyber_ciphertext"));
        has_kyber_ciphertext = true;
        break;
      }
      default:
        break;
    }
  }
  if (!has_signed || !has_base || !has_identity || !has_message) {
    return absl::InvalidArgumentError(
        "incomplete PreKeySignalMessage (signed prekey id, base key, identity key and message are required)");
  }
  bool has_kyber = view.kyber_prekey_id.has_value() && has_kyber_ciphertext;
  if (view.version >= 4 && !has_kyber) {
    return absl::InvalidArgumentError(
        "version 4 PreKeySignalMessage without its Kyber prekey id and ciphertext");
  }
  if (view.version < 4 && (view.kyber_prekey_id || has_kyber_ciphertext)) {
    return absl::InvalidArgumentError("Kyber fields in a version 3 PreKeySignalMessage");
  }
  ASSIGN_OR_RETURN(view.inner, ParseSignalMessage(view.message));
  if (view.inner.version != view.version) {
    return absl::InvalidArgumentError("PreKeySignalMessage of version " + std::to_string(view.version) +
                                      " carries a SignalMessage of version " +
                                      std::to_string(view.inner.version));
  }
  return view;
}

std::vector<uint8_t> SerializePreKeySignalMessage(const PreKeyFields& f, std::span<const uint8_t> message) {
  WireWriter writer;
  writer.buffer().reserve(1 + 6 + 6 + 6 + 2 * 35 + 3 + message.size() + 6 + 3 + f.kyber_ciphertext.size());
  writer.buffer().push_back(VersionByte(f.version));
  if (f.version < 4) {
    // The field order v3 implementations write.
    writer.Varint(5, f.registration_id);
    if (f.prekey_id) writer.Varint(1, *f.prekey_id);
    writer.Varint(6, f.signed_prekey_id);
    writer.Bytes(2, f.base_key.Serialize());
    writer.Bytes(3, f.identity_key.Serialize());
    writer.Bytes(4, message);
    return writer.Take();
  }
  // libsignal writes fields in number order.
  if (f.prekey_id) writer.Varint(1, *f.prekey_id);
  writer.Bytes(2, f.base_key.Serialize());
  writer.Bytes(3, f.identity_key.Serialize());
  writer.Bytes(4, message);
  writer.Varint(5, f.registration_id);
  writer.Varint(6, f.signed_prekey_id);
  if (f.kyber_prekey_id) writer.Varint(7, *f.kyber_prekey_id);
  if (!f.kyber_ciphertext.empty()) writer.Bytes(8, f.kyber_ciphertext);
  return writer.Take();
}

}  // namespace tandem::crypto::internal
