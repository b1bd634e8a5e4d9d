#include "ledger/projector/seen_filter.h"

#include <gtest/gtest.h>

namespace ledger {
namespace {

TEST(SeenFilter, NeverSaysNewForAnAddedIdAndRarelyForOthers) {
  SeenFilter f(10000);
  for (int i = 0; i < 10000; ++i) f.Add(NewUuidV7(1000 + i));
  // No false negatives: re-derive nothing, so check ids we keep.
  std::vector<UuidBytes> kept;
  for (int i = 0; i < 1000; ++i) {
    kept.push_back(NewUuidV7(5000 + i));
    f.Add(kept.back());
  }
  for (const auto& id : kept) EXPECT_TRUE(f.MayContain(id));
  int false_positives = 0;
  for (int i = 0; i < 10000; ++i) false_positives += f.MayContain(NewUuidV7(99999 + i));
  EXPECT_LT(false_positives, 300);  // ~1% expected at this load, 3% allowed
  EXPECT_EQ(f.size(), 11000u);
}

}  // namespace
}  // namespace ledger
