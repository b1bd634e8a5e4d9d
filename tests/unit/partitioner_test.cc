#include "ledger/kafka/partitioner.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>

#include "ledger/kafka/kafka_config.h"

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

namespace ledger {
namespace {

// A mistyped or invalid Kafka property is named with the reason, never with its value
// (it may be a password).
TEST(KafkaConfig, AnInvalidPropertyNeverEchoesItsValue) {
  const std::string path = testing::TempDir() + "/ledger-kafka-" + std::to_string(::getpid()) + ".properties";
  std::ofstream(path) << "security.protocol=S3cret-Hunter2\n";
  KafkaSettings settings;
  settings.properties_file = path;
  auto conf = MakeKafkaConf(settings, {});
  ASSERT_FALSE(conf.ok());
  EXPECT_NE(conf.status().message().find("security.protocol"), std::string::npos) << conf.status().message();
  EXPECT_EQ(conf.status().message().find("Hunter2"), std::string::npos) << conf.status().message();
  std::remove(path.c_str());
}

}  // namespace
}  // namespace ledger
