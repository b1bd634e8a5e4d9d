#include "ledger/kafka/partitioner.h"

#include <gtest/gtest.h>

namespace ledger {
namespace {

// The Java client's own test vectors (UtilsTest.testMurmur2).
TEST(Partitioner, Murmur2MatchesTheJavaClient) {
  EXPECT_EQ(Murmur2("21"), -973932308);
  EXPECT_EQ(Murmur2("foobar"), -790332482);
  EXPECT_EQ(Murmur2("a-little-bit-long-string"), -985981536);
  EXPECT_EQ(Murmur2("a-little-bit-longer-string"), -1486304829);
  EXPECT_EQ(Murmur2("lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8"), -58897971);
  EXPECT_EQ(Murmur2("abc"), 479470107);
}

TEST(Partitioner, PartitionIsThePositiveHashModuloTheCount) {
  EXPECT_EQ(KafkaPartitionOf("foobar", 1), 0);
  EXPECT_EQ(KafkaPartitionOf("foobar", 6), ((-790332482) & 0x7fffffff) % 6);
}

}  // namespace
}  // namespace ledger
