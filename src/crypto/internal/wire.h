// A small, strict protobuf wire-format reader and writer for the handful of
// messages the Signal Protocol needs (SignalMessage, PreKeySignalMessage and
// our session records). The reader never reads past its input and rejects
// truncated varints and lengths, over-long varints, field number 0, groups
// and reserved wire types; unknown fields of valid types are skipped, as
// protobuf requires.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include "absl/status/statusor.h"
#include "crypto/keys.h"

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
  std::vector<uint8_t> out_;
};

// A bare varint, for formats that embed them outside protobuf fields (the
// post-quantum ratchet's header). ReadVarint advances `pos`; it fails with
// InvalidArgument on truncated, over-long or 64-bit-overflowing input.
void AppendVarint(std::vector<uint8_t>& out, uint64_t value);
absl::StatusOr<uint64_t> ReadVarint(std::span<const uint8_t> in, size_t& pos);

// Field accessors with type checks, for message parsers.
absl::StatusOr<uint32_t> FieldUint32(const WireField& field, const char* name);
absl::StatusOr<std::span<const uint8_t>> FieldBytes(const WireField& field, const char* name);
// A length-delimited field of exactly 32 bytes (a key).
absl::StatusOr<std::array<uint8_t, 32>> FieldKey32(const WireField& field, const char* name);
// A length-delimited field holding a 33-byte serialized public key.
absl::StatusOr<PublicKey> FieldPublicKey(const WireField& field, const char* name);

}  // namespace tandem::crypto::internal
