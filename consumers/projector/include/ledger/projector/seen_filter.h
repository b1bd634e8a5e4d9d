// A Bloom filter over the event ids a partition has stored: "definitely new" lets the
// projector skip the store lookup that idempotence otherwise needs for every event. It
// never gives a false "new" (no false negatives); a "maybe" is settled by the store, so
// answers never depend on it, only speed does.
#pragma once

#include <cstdint>
#include <vector>

#include "ledger/base/status.h"
#include "ledger/base/uuid.h"
#include "ledger/storage/projection_store.h"

namespace ledger {

class SeenFilter {
 public:
  // Sized for `expected` ids at about 1% false positives; more ids only raise that rate.
  explicit SeenFilter(uint64_t expected);

  // A filter holding every event id the store holds for `partition`.
  static Result<SeenFilter> Load(const ProjectionStore& store, int partition);

  void Add(const UuidBytes& id);
  bool MayContain(const UuidBytes& id) const;
  uint64_t size() const { return added_; }

 private:
  static constexpr int kProbes = 7;
  void Hashes(const UuidBytes& id, uint64_t* h1, uint64_t* h2) const;
  std::vector<uint64_t> bits_;
  uint64_t nbits_;
  uint64_t added_ = 0;
};

}  // namespace ledger
