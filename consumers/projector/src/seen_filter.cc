#include "ledger/projector/seen_filter.h"

#include <algorithm>
#include <cstring>

#include "ledger/storage/keys.h"

namespace ledger {
namespace {
// SplitMix64 finaliser: spreads any 64 bits of the id over the whole word.
uint64_t Mix(uint64_t x) {
  x ^= x >> 30;
  x *= 0xbf58476d1ce4e5b9ULL;
  x ^= x >> 27;
  x *= 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}
}  // namespace

SeenFilter::SeenFilter(uint64_t expected)
    : nbits_(std::max<uint64_t>(1024, expected * 10)) {  // 10 bits per id: ~1% false positives
  bits_.assign((nbits_ + 63) / 64, 0);
}

Result<SeenFilter> SeenFilter::Load(const ProjectionStore& store, int partition) {
  std::vector<UuidBytes> ids;
  Status s = store.Scan(partition, keys::kSeenEventPrefix, [&](std::string_view k, std::string_view) {
    UuidBytes id{};
    if (k.size() == 1 + id.size()) std::memcpy(id.data(), k.data() + 1, id.size());
    ids.push_back(id);
    return true;
  });
  if (!s.ok()) return s;
  SeenFilter filter(std::max<uint64_t>(1 << 20, 2 * ids.size()));
  for (const auto& id : ids) filter.Add(id);
  return filter;
}

void SeenFilter::Hashes(const UuidBytes& id, uint64_t* h1, uint64_t* h2) const {
  uint64_t a, b;
  std::memcpy(&a, id.data(), 8);
  std::memcpy(&b, id.data() + 8, 8);
  *h1 = Mix(a ^ Mix(b));
  *h2 = Mix(b + 0x9e3779b97f4a7c15ULL) | 1;
}

void SeenFilter::Add(const UuidBytes& id) {
  uint64_t h1, h2;
  Hashes(id, &h1, &h2);
  for (int i = 0; i < kProbes; ++i) {
    const uint64_t bit = (h1 + i * h2) % nbits_;
    bits_[bit / 64] |= 1ULL << (bit % 64);
  }
  ++added_;
}

bool SeenFilter::MayContain(const UuidBytes& id) const {
  uint64_t h1, h2;
  Hashes(id, &h1, &h2);
  for (int i = 0; i < kProbes; ++i) {
    const uint64_t bit = (h1 + i * h2) % nbits_;
    if ((bits_[bit / 64] & (1ULL << (bit % 64))) == 0) return false;
  }
  return true;
}

}  // namespace ledger
