// Positions in ledger.events as text (read your writes), and the bounded wait's option.
#include "ledger/base/positions.h"

#include <gtest/gtest.h>

namespace ledger {
namespace {

TEST(Positions, ReadBackWhatIsPrinted) {
  const Positions p{{0, 41}, {3, 7}, {11, 0}};
  EXPECT_EQ(FormatPositions(p), "0:41,3:7,11:0");
  auto parsed = ParsePositions(FormatPositions(p));
  ASSERT_TRUE(parsed.ok()) << parsed.status().message();
  EXPECT_EQ(*parsed, p);
  EXPECT_EQ(FormatPositions({}), "");
  EXPECT_TRUE(ParsePositions("")->empty());
  // A partition given twice: the later position of the two is the one to wait for.
  EXPECT_EQ(*ParsePositions("2:5,2:9,2:1"), (Positions{{2, 9}}));
}

TEST(Positions, NameWhatIsNotPartitionColonOffset) {
  for (const char* bad : {"3", "3:", ":4", "a:1", "1:b", "-1:4", "1:-4", "1:4,", "1:4,,2:3", "1:4 ", "1:2:3",
                          "99999999999:1"}) {
    auto p = ParsePositions(bad);
    ASSERT_FALSE(p.ok()) << bad;
    EXPECT_EQ(p.status().code(), Status::Code::kInvalidInput);
    EXPECT_NE(p.status().message().find("is not partition:offset"), std::string::npos) << p.status().message();
  }
}

TEST(Positions, MaxWaitHasADefaultAndABound) {
  EXPECT_EQ(*ParseMaxWait("", "max_wait_ms"), kDefaultMaxWait);
  EXPECT_EQ(*ParseMaxWait("0", "max_wait_ms"), std::chrono::milliseconds(0));
  EXPECT_EQ(*ParseMaxWait("10000", "max_wait_ms"), kMostMaxWait);
  for (const char* bad : {"10001", "-1", "1s", "x"}) {
    auto w = ParseMaxWait(bad, "--max-wait-ms");
    ASSERT_FALSE(w.ok()) << bad;
    EXPECT_EQ(w.status().message().rfind("--max-wait-ms: ", 0), 0u) << w.status().message();
  }
}

TEST(Positions, MaxLagIsANumberOfEvents) {
  EXPECT_EQ(*ParseMaxLag("0", "max_lag"), 0);
  EXPECT_EQ(*ParseMaxLag("250", "max_lag"), 250);
  EXPECT_EQ(*ParseMaxLag(std::to_string(kMostMaxLag), "max_lag"), kMostMaxLag);
  for (const char* bad : {"", "-1", "1000000000001", "10 events", "x"}) {
    auto lag = ParseMaxLag(bad, "max_lag");
    ASSERT_FALSE(lag.ok()) << bad;
    EXPECT_EQ(lag.status().message().rfind("max_lag: ", 0), 0u) << lag.status().message();
  }
}

}  // namespace
}  // namespace ledger
