// The customer-list matching index: the first 8 bytes of the customer-list
// hash (SHA-256 of the E.164 digits, phone/phone.h) -> social user id.
//
// Open addressing over 64-byte buckets (one cache line each) of five
// entries: five 8-byte keys and five 4-byte user ids. The table is sized
// for a load factor of 0.85, so it costs about 15 bytes per user, and a
// lookup almost always touches one cache line. A full bucket overflows into
// the next one (linear probing by bucket). Keys are already uniform (they
// are hash bytes), so the home bucket is the key scaled to the table size,
// with no further mixing. Key 0 marks an empty slot; KeyOf() never returns
// it.
//
// The index only proposes candidates: a hit is confirmed against the full
// digest and against the ads purpose view before it counts (see
// ads_service.cc), so a stale index can miss people but never adds anyone
// who objected.
//
// Thread safety: immutable after Build(); lookups are safe from any thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "phone/phone.h"

namespace tandem::ads {

class MatchIndex {
 public:
  struct Entry {
    uint64_t key = 0;   // KeyOf(digest)
    uint32_t user = 0;  // non-zero
  };

  MatchIndex() = default;
  // Builds an index over `entries`. For duplicate keys the first entry wins.
  static MatchIndex Build(std::span<const Entry> entries);

  static uint64_t KeyOf(const phone::Digest& digest);

  // The user for `key`, or 0.
  uint32_t Lookup(uint64_t key) const;
  // out[i] = Lookup(keys[i]); prefetches ahead so that a batch pays for
  // memory latency once, not once per row. out.size() must equal keys.size().
  void LookupBatch(std::span<const uint64_t> keys, std::span<uint32_t> out) const;

  size_t size() const { return size_; }
  size_t capacity() const { return bucket_count_ * kSlots; }
  size_t memory_bytes() const { return bucket_count_ * sizeof(Bucket); }

 private:
  static constexpr int kSlots = 5;
  struct alignas(64) Bucket {
    uint64_t keys[kSlots];
    uint32_t users[kSlots];
  };
  static_assert(sizeof(Bucket) == 64);

  size_t Home(uint64_t key) const {
    return static_cast<size_t>((static_cast<unsigned __int128>(key) * bucket_count_) >> 64);
  }
  // Zeroed buckets on 2 MB boundaries, backed by huge pages where the
  // kernel allows it: random lookups then miss the TLB far less often.
  void Allocate(size_t buckets);

  struct Free {
    void operator()(Bucket* p) const;
  };
  std::unique_ptr<Bucket[], Free> buckets_;
  size_t bucket_count_ = 0;
  size_t size_ = 0;
};

}  // namespace tandem::ads
