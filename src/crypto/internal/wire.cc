// Strict protobuf wire-format reader and writer; see wire.h.
#include "crypto/internal/wire.h"

#include <string>

#include "absl/status/status.h"

namespace tandem::crypto::internal {

absl::StatusOr<uint64_t> WireReader::ReadVarint() {
  uint64_t value = 0;
  for (int shift = 0; shift < 64; shift += 7) {
    if (pos_ >= in_.size()) return absl::InvalidArgumentError("truncated varint");
    uint8_t byte = in_[pos_++];
    if (shift == 63 && (byte & 0xFE) != 0) return absl::InvalidArgumentError("varint overflows 64 bits");
    value |= uint64_t{byte & 0x7Fu} << shift;
    if ((byte & 0x80) == 0) return value;
  }
  return absl::InvalidArgumentError("varint longer than 10 bytes");
}

absl::StatusOr<std::optional<WireField>> WireReader::Next() {
  if (pos_ >= in_.size()) return std::nullopt;
  auto tag = ReadVarint();
  if (!tag.ok()) return tag.status();
  uint64_t number = *tag >> 3;
  if (number == 0 || number > (uint64_t{1} << 29) - 1) {
    return absl::InvalidArgumentError("invalid protobuf field number");
  }
  WireField field;
  field.number = static_cast<uint32_t>(number);
  switch (*tag & 7) {
    case 0: {
      auto v = ReadVarint();
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
      auto len = ReadVarint();
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

void WireWriter::RawVarint(uint64_t value) {
  while (value >= 0x80) {
    out_.push_back(static_cast<uint8_t>(value | 0x80));
    value >>= 7;
  }
  out_.push_back(static_cast<uint8_t>(value));
}

void WireWriter::Varint(uint32_t field, uint64_t value) {
  RawVarint(uint64_t{field} << 3);
  RawVarint(value);
}

void WireWriter::Bytes(uint32_t field, std::span<const uint8_t> value) {
  RawVarint((uint64_t{field} << 3) | 2);
  RawVarint(value.size());
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

}  // namespace tandem::crypto::internal
