#include "ledger/base/time.h"

#include <gtest/gtest.h>

#include "ledger/base/uuid.h"

namespace ledger {
namespace {

TEST(Time, ParsesDatesAndTimes) {
  EXPECT_EQ(*ParseTime("1971-01-01"), kFirstAcceptedTime);
  EXPECT_EQ(*ParseTime("9999-12-31T23:59:59.999Z"), kLatestTime);
  EXPECT_EQ(*ParseTime("2025-06-01"), 1748736000000);
  EXPECT_EQ(*ParseTime("2025-06-01T00:00:00Z"), 1748736000000);
  EXPECT_EQ(*ParseTime("2025-06-01T02:00:00+02:00"), 1748736000000);
  EXPECT_EQ(*ParseTime("2025-05-31T19:00:00-05:00"), 1748736000000);
  EXPECT_EQ(*ParseTime("2025-06-01T00:00:00.25Z"), 1748736000250);
  EXPECT_EQ(*ParseTime("2024-02-29"), *ParseTime("2024-03-01") - 86400000);
}

TEST(Time, RejectsImpossibleDatesNamingTheProblem) {
  auto feb30 = ParseTime("2025-02-30");
  ASSERT_FALSE(feb30.ok());
  EXPECT_NE(feb30.status().message().find("day 30 does not exist"), std::string::npos);
  EXPECT_FALSE(ParseTime("2025-02-29").ok());  // not a leap year
  EXPECT_FALSE(ParseTime("2025-13-01").ok());
  EXPECT_FALSE(ParseTime("2025-06-01T24:00:00Z").ok());
  EXPECT_FALSE(ParseTime("2025-06-01T10:00:00").ok());  // no zone
  EXPECT_FALSE(ParseTime("01/06/2025").ok());
  EXPECT_FALSE(ParseTime("2025-06-01Tjunk").ok());
  EXPECT_FALSE(ParseTime("").ok());
}

TEST(Time, RejectsTimesOutsideTheAcceptedYearsOnceInUtc) {
  for (const char* text : {"9999-12-31T23:59:59-23:00", "1970-12-31T23:59:59Z", "1971-01-01T00:30:00+01:00",
                           "0000-01-01", "1970-01-01"}) {
    auto t = ParseTime(text);
    ASSERT_FALSE(t.ok()) << text;
    EXPECT_EQ(t.status().message(),
              "'" + std::string(text) + "' is outside the times the ledger accepts: years 1971 to 9999, in UTC");
  }
  EXPECT_TRUE(ParseTime("1971-01-01T01:00:00+01:00").ok());
  EXPECT_TRUE(ParseTime("9999-12-31T23:59:59+00:00").ok());
}

TEST(Time, FormatsBackToRfc3339) {
  EXPECT_EQ(FormatTime(1748736000000), "2025-06-01T00:00:00Z");
  EXPECT_EQ(FormatTime(1748736000250), "2025-06-01T00:00:00.250Z");
  EXPECT_EQ(FormatTime(-1000), "1969-12-31T23:59:59Z");
  EXPECT_EQ(FormatTime(kEarliestTime), "0000-01-01T00:00:00Z");
  EXPECT_EQ(FormatTime(kLatestTime), "9999-12-31T23:59:59.999Z");
  EXPECT_EQ(FormatTime(*ParseTime("2024-02-29T13:07:05.009Z")), "2024-02-29T13:07:05.009Z");
  EXPECT_EQ(FormatTime(kForever), "forever");
  EXPECT_EQ(FormatTime(std::numeric_limits<Millis>::min()), "invalid-time(-9223372036854775808)");
  EXPECT_EQ(FormatTime(kLatestTime), "9999-12-31T23:59:59.999Z");
  EXPECT_EQ(FormatTime(kEarliestTime), "0000-01-01T00:00:00Z");
  EXPECT_EQ(FormatDate(1748736000000 + 3600000), "2025-06-01");
  for (Millis t : {Millis{kFirstAcceptedTime}, Millis{951782400000LL}, Millis{4102444799999LL}}) EXPECT_EQ(*ParseTime(FormatTime(t)), t);
}

TEST(Uuid, ParsesFormatsAndMakesVersion7) {
  const std::string text = "0190c8a2-7b4e-7cc1-8e0a-3b1f2a9d4c5e";
  auto id = ParseUuid(text);
  ASSERT_TRUE(id.ok());
  EXPECT_EQ(FormatUuid(*id), text);
  EXPECT_FALSE(ParseUuid("0190c8a2-7b4e-7cc1-8e0a-3b1f2a9d4c5").ok());
  EXPECT_FALSE(ParseUuid("0190c8a2x7b4e-7cc1-8e0a-3b1f2a9d4c5e").ok());
  auto a = NewUuidV7(1748736000000), b = NewUuidV7(1748736000000);
  EXPECT_NE(a, b);
  EXPECT_EQ(a[6] >> 4, 7);
  EXPECT_EQ(a[8] >> 6, 2);
  EXPECT_LT(FormatUuid(NewUuidV7(1000)), FormatUuid(NewUuidV7(2000)));  // time-ordered
}

}  // namespace
}  // namespace ledger
