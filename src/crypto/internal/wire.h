// A small, strict protobuf wire-format reader and writer for the handful of
// messages the Signal Protocol needs (SignalMessage, PreKeySignalMessage and
// our session records). The reader never reads past its input and rejects
// truncated varints and lengths, over-long varints, field number 0, groups
// and reserved wire types; unknown fields of valid types are skipped, as
// protobuf requires.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include "absl/status/statusor.h"

namespace tandem::crypto::internal {

enum class WireType : uint8_t { kVarint = 0, kFixed64 = 1, kLengthDelimited = 2, kFixed32 = 5 };

struct WireField {
  uint32_t number = 0;
  WireType type = WireType::kVarint;
  uint64_t varint = 0;             // for kVarint
  std::span<const uint8_t> bytes;  // for kLengthDelimited (a view into the input)
};

class WireReader {
 public:
  explicit WireReader(std::span<const uint8_t> input) : in_(input) {}

  // The next field; nullopt at the end of the input, InvalidArgument on
  // malformed input.
  absl::StatusOr<std::optional<WireField>> Next();

 private:
  absl::StatusOr<uint64_t> ReadVarint();
  std::span<const uint8_t> in_;
  size_t pos_ = 0;
};

class WireWriter {
 public:
  void Varint(uint32_t field, uint64_t value);
  void Bytes(uint32_t field, std::span<const uint8_t> value);
  std::vector<uint8_t>& buffer() { return out_; }
  std::vector<uint8_t> Take() { return std::move(out_); }

 private:
  void RawVarint(uint64_t value);
  std::vector<uint8_t> out_;
};

// Field accessors with type checks, for message parsers.
absl::StatusOr<uint32_t> FieldUint32(const WireField& field, const char* name);
absl::StatusOr<std::span<const uint8_t>> FieldBytes(const WireField& field, const char* name);

}  // namespace tandem::crypto::internal
