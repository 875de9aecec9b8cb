// Linear probing: at load 0.8 a miss scans about a dozen consecutive keys,
// which is one or two cache lines; the cost that matters is the first
// cache miss, which LookupBatch hides with prefetches.
#include "ads/match_index.h"

#include <cstring>

namespace tandem::ads {

uint64_t MatchIndex::KeyOf(const phone::Digest& digest) {
  uint64_t key;
  std::memcpy(&key, digest.data(), sizeof key);
  return key == 0 ? 1 : key;
}

MatchIndex MatchIndex::Build(std::span<const Entry> entries) {
  MatchIndex index;
  size_t capacity = entries.size() + entries.size() / 4 + 1;  // load <= 0.8
  index.keys_.assign(capacity, 0);
  index.users_.assign(capacity, 0);
  for (const Entry& e : entries) {
    if (e.key == 0 || e.user == 0) continue;
    size_t slot = index.Home(e.key);
    while (index.keys_[slot] != 0 && index.keys_[slot] != e.key) {
      if (++slot == capacity) slot = 0;
    }
    if (index.keys_[slot] == e.key) continue;
    index.keys_[slot] = e.key;
    index.users_[slot] = e.user;
    ++index.size_;
  }
  return index;
}

uint32_t MatchIndex::Lookup(uint64_t key) const {
  if (keys_.empty() || key == 0) return 0;
  size_t slot = Home(key);
  const size_t capacity = keys_.size();
  while (true) {
    uint64_t k = keys_[slot];
    if (k == key) return users_[slot];
    if (k == 0) return 0;
    if (++slot == capacity) slot = 0;
  }
}

void MatchIndex::LookupBatch(std::span<const uint64_t> keys, std::span<uint32_t> out) const {
  constexpr size_t kAhead = 16;
  if (keys_.empty()) {
    for (auto& o : out) o = 0;
    return;
  }
  const size_t n = keys.size();
  for (size_t i = 0; i < n && i < kAhead; ++i) {
    __builtin_prefetch(&keys_[Home(keys[i])]);
    __builtin_prefetch(&users_[Home(keys[i])]);
  }
  for (size_t i = 0; i < n; ++i) {
    if (i + kAhead < n) {
      size_t home = Home(keys[i + kAhead]);
      __builtin_prefetch(&keys_[home]);
      __builtin_prefetch(&users_[home]);
    }
    out[i] = Lookup(keys[i]);
  }
}

}  // namespace tandem::ads
