// The business-hours clock: 08:00-18:00 local, Monday to Friday, in the region's zone.
#include <gtest/gtest.h>

#include "ledger/rules/reference.h"

namespace ledger {
namespace {

std::string Due(const std::string& start, int minutes, const std::string& zone) {
  auto t = AddBusinessMinutes(*ParseTime(start), minutes, zone);
  return t.ok() ? FormatTime(*t) : "error: " + t.status().message();
}

TEST(BusinessHours, WithinOneWorkingDay) {
  // 09:00 UTC is 10:00 in London in June (BST).
  EXPECT_EQ(Due("2025-06-02T09:00:00Z", 60, "Europe/London"), "2025-06-02T10:00:00Z");
  // Singapore (UTC+8): 10:15 local plus 4 hours.
  EXPECT_EQ(Due("2025-06-03T02:15:00Z", 240, "Asia/Singapore"), "2025-06-03T06:15:00Z");
}

TEST(BusinessHours, EveningsAndWeekendsDoNotCount) {
  // Friday 17:30 London time: 30 minutes on Friday, the rest from Monday 08:00.
  EXPECT_EQ(Due("2025-06-06T16:30:00Z", 480, "Europe/London"), "2025-06-09T14:30:00Z");
  // Opened on a Saturday: the clock starts Monday 08:00 local (07:00 UTC).
  EXPECT_EQ(Due("2025-06-07T12:00:00Z", 60, "Europe/London"), "2025-06-09T08:00:00Z");
  // Before opening time: from 08:00 local (New York, EDT = UTC-4).
  EXPECT_EQ(Due("2025-06-02T10:00:00Z", 30, "America/New_York"), "2025-06-02T12:30:00Z");
  // At closing time exactly: nothing left that day.
  EXPECT_EQ(Due("2025-06-02T17:00:00Z", 10, "Europe/London"), "2025-06-03T07:10:00Z");
}

TEST(BusinessHours, DaylightSavingChangeOverAWeekend) {
  // Friday 28 March 2025 17:00 GMT; clocks go forward on Sunday 30 March. One hour on
  // Friday, one hour from Monday 08:00 BST (07:00 UTC).
  EXPECT_EQ(Due("2025-03-28T17:00:00Z", 120, "Europe/London"), "2025-03-31T08:00:00Z");
}

TEST(BusinessHours, ManyDays) {
  // 25 working hours from Monday 08:00 UTC: Monday, Tuesday, and 5 hours Wednesday.
  EXPECT_EQ(Due("2025-06-02T08:00:00Z", 25 * 60, "UTC"), "2025-06-04T13:00:00Z");
}

TEST(BusinessHours, UnknownZoneIsAClearError) {
  EXPECT_EQ(Due("2025-06-02T08:00:00Z", 60, "Mars/Olympus"), "error: unknown time zone \"Mars/Olympus\"");
}

}  // namespace
}  // namespace ledger
