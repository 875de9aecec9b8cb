// Strict protobuf wire-format reader and writer; see wire.h.
#include "crypto/internal/wire.h"

#include <algorithm>
#include <string>

#include "absl/status/status.h"

namespace tandem::crypto::internal {

absl::StatusOr<uint64_t> ReadVarint(std::span<const uint8_t> in, size_t& pos) {
  uint64_t value = 0;
  for (int shift = 0; shift < 64; shift += 7) {
    if (pos >= in.size()) return absl::InvalidArgumentError("truncated varint");
    uint8_t byte = in[pos++];
    if (shift == 63 && (byte & 0xFE) != 0) return absl::InvalidArgumentError("varint overflows 64 bits");
    value |= uint64_t{byte & 0x7Fu} << shift;
    if ((byte & 0x80) == 0) return value;
  }
  return absl::InvalidArgumentError("varint longer than 10 bytes");
}

absl::StatusOr<std::optional<WireField>> WireReader::Next() {
  if (pos_ >= in_.size()) return std::nullopt;
  auto tag = ReadVarint(in_, pos_);
  if (!tag.ok()) return tag.status();
  uint64_t number = *tag >> 3;
  if (number == 0 || number > (uint64_t{1} << 29) - 1) {
    return absl::InvalidArgumentError("invalid protobuf field number");
  }
  WireField field;
  field.number = static_cast<uint32_t>(number);
  switch (*tag & 7) {
    case 0: {
      auto v = ReadVarint(in_, pos_);
      if (!v.ok()) return v.status();
      field.type = WireType::kVarint;
      field.varint = *v;
      return field;
    }
    case 1:
      if (in_.size() - pos_ < 8) return absl::InvalidArgumentError("truncated fixed64 field");
      pos_ += 8;
      field.type = WireType::kFixed64;
      return field;
    case 2: {
      auto len = ReadVarint(in_, pos_);
      if (!len.ok()) return len.status();
      if (*len > in_.size() - pos_) return absl::InvalidArgumentError("truncated length-delimited field");
      field.type = WireType::kLengthDelimited;
      field.bytes = in_.subspan(pos_, static_cast<size_t>(*len));
      pos_ += static_cast<size_t>(*len);
      return field;
    }
    case 5:
      if (in_.size() - pos_ < 4) return absl::InvalidArgumentError("truncated fixed32 field");
      pos_ += 4;
      field.type = WireType::kFixed32;
      return field;
    default:
      return absl::InvalidArgumentError("unsupported protobuf wire type");
  }
}

void AppendVarint(std::vector<uint8_t>& out, uint64_t value) {
  while (value >= 0x80) {
    out.push_back(static_cast<uint8_t>(value | 0x80));
    value >>= 7;
  }
  out.push_back(static_cast<uint8_t>(value));
}

void WireWriter::Varint(uint32_t field, uint64_t value) {
  AppendVarint(out_, uint64_t{field} << 3);
  AppendVarint(out_, value);
}

void WireWriter::Bytes(uint32_t field, std::span<const uint8_t> value) {
  AppendVarint(out_, (uint64_t{field} << 3) | 2);
  AppendVarint(out_, value.size());
  out_.insert(out_.end(), value.begin(), value.end());
}

absl::StatusOr<uint32_t> FieldUint32(const WireField& field, const char* name) {
  if (field.type != WireType::kVarint) {
    return absl::InvalidArgumentError(std::string("field ") + name + " must be a varint");
  }
  if (field.varint > 0xFFFFFFFFu) {
    return absl::InvalidArgumentError(std::string("field ") + name + " exceeds 32 bits");
  }
  return static_cast<uint32_t>(field.varint);
}

absl::StatusOr<std::span<const uint8_t>> FieldBytes(const WireField& field, const char* name) {
  if (field.type != WireType::kLengthDelimited) {
    return absl::InvalidArgumentError(std::string("field ") + name + " must be length-delimited");
  }
  return field.bytes;
}

absl::StatusOr<std::array<uint8_t, 32>> FieldKey32(const WireField& field, const char* name) {
  auto bytes = FieldBytes(field, name);
  if (!bytes.ok()) return bytes.status();
  if (bytes->size() != 32)
    return absl::InvalidArgumentError(std::string("field ") + name + " must be 32 bytes");
  std::array<uint8_t, 32> key;
  std::copy(bytes->begin(), bytes->end(), key.begin());
  return key;
}

absl::StatusOr<PublicKey> FieldPublicKey(const WireField& field, const char* name) {
  auto bytes = FieldBytes(field, name);
  if (!bytes.ok()) return bytes.status();
  auto key = PublicKey::Deserialize(*bytes);
  if (!key.ok()) {
    return absl::InvalidArgumentError(std::string("field ") + name + ": " +
                                      std::string(key.status().message()));
  }
  return *key;
}

}  // namespace tandem::crypto::internal
