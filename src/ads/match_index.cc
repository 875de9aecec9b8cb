// Buckets of one cache line: the cost that matters is the one cache miss
// per lookup, which LookupBatch overlaps across rows with prefetches.
#include "ads/match_index.h"

#include <sys/mman.h>

#include <cstdlib>
#include <cstring>
#include <new>

namespace tandem::ads {

uint64_t MatchIndex::KeyOf(const phone::Digest& digest) {
  uint64_t key;
  std::memcpy(&key, digest.data(), sizeof key);
  return key == 0 ? 1 : key;
}

void MatchIndex::Free::operator()(Bucket* p) const { std::free(p); }

void MatchIndex::Allocate(size_t buckets) {
  constexpr size_t kHuge = 2 << 20;
  size_t bytes = (buckets * sizeof(Bucket) + kHuge - 1) / kHuge * kHuge;
  void* p = std::aligned_alloc(kHuge, bytes);
  if (p == nullptr) throw std::bad_alloc();
#ifdef MADV_HUGEPAGE
  (void)madvise(p, bytes, MADV_HUGEPAGE);
#endif
  std::memset(p, 0, bytes);
  buckets_.reset(static_cast<Bucket*>(p));
  bucket_count_ = buckets;
}

MatchIndex MatchIndex::Build(std::span<const Entry> entries) {
  MatchIndex index;
  // Load factor 0.85: 64 / (5 * 0.85) = 15.06 bytes per entry.
  size_t buckets = entries.size() * 20 / (kSlots * 17) + 1;
  index.Allocate(buckets);
  for (const Entry& e : entries) {
    if (e.key == 0 || e.user == 0) continue;
    size_t b = index.Home(e.key);
    while (true) {
      Bucket& bucket = index.buckets_[b];
      int slot = 0;
      while (slot < kSlots && bucket.keys[slot] != 0 && bucket.keys[slot] != e.key) ++slot;
      if (slot < kSlots) {
        if (bucket.keys[slot] == 0) {
          bucket.keys[slot] = e.key;
          bucket.users[slot] = e.user;
          ++index.size_;
        }
        break;
      }
      if (++b == buckets) b = 0;
    }
  }
  return index;
}

uint32_t MatchIndex::Lookup(uint64_t key) const {
  if (bucket_count_ == 0 || key == 0) return 0;
  size_t b = Home(key);
  while (true) {
    const Bucket& bucket = buckets_[b];
    for (int slot = 0; slot < kSlots; ++slot) {
      if (bucket.keys[slot] == key) return bucket.users[slot];
      if (bucket.keys[slot] == 0) return 0;
    }
    if (++b == bucket_count_) b = 0;
  }
}

void MatchIndex::LookupBatch(std::span<const uint64_t> keys, std::span<uint32_t> out) const {
  constexpr size_t kAhead = 32;
  if (bucket_count_ == 0) {
    for (auto& o : out) o = 0;
    return;
  }
  const size_t n = keys.size();
  for (size_t i = 0; i < n && i < kAhead; ++i) __builtin_prefetch(&buckets_[Home(keys[i])]);
  for (size_t i = 0; i < n; ++i) {
    if (i + kAhead < n) __builtin_prefetch(&buckets_[Home(keys[i + kAhead])]);
    out[i] = Lookup(keys[i]);
  }
}

}  // namespace tandem::ads
