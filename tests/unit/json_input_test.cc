#include "ledger/base/json_input.h"

#include <gtest/gtest.h>
#include <sys/resource.h>

#include <string>

#include "ledger/base/text.h"
#include "ledger/schema/event_codec.h"

namespace ledger {
namespace {

std::string Nested(int depth) { return std::string(depth, '[') + std::string(depth, ']'); }

std::string ErrorOf(std::string_view text, const JsonLimits& limits = {}) {
  auto parsed = ParseJsonInput(text, limits);
  return parsed.ok() ? "" : parsed.status().message();
}

long PeakRssKb() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return usage.ru_maxrss;
}

TEST(JsonInput, AcceptsWhatIsWithinTheBounds) {
  auto parsed = ParseJsonInput(R"({"a":[1,2,{"b":"c"}],"d":-5,"e":1.5,"f":null})");
  ASSERT_TRUE(parsed.ok()) << parsed.status().message();
  EXPECT_EQ((*parsed)["a"][2]["b"], "c");
  EXPECT_TRUE(ParseJsonInput(Nested(16)).ok());
}

TEST(JsonInput, RejectsNestingDeeperThanTheBoundNamingWhere) {
  EXPECT_EQ(ErrorOf(Nested(17)), "[0][0][0][0][0][0][0][0][0][0][0][0][0][0][0][0]: nested deeper than 16 levels");
  EXPECT_EQ(ErrorOf(R"({"data":{"x":{"y":[[1]]}}})", {.max_depth = 4}), "data.x.y[0]: nested deeper than 4 levels");
}

TEST(JsonInput, ADeepLineIsRejectedWithoutItsMemory) {
  const long before = PeakRssKb();
  const std::string line = R"({"type":"AccountOpened","account_id":"A","data":)" + std::string(100000, '[') +
                           std::string(100000, ']') + "}";
  EXPECT_EQ(ErrorOf(line), "data[0][0][0][0][0][0][0][0][0][0][0][0][0][0][0]: nested deeper than 16 levels");
  EXPECT_LT(PeakRssKb() - before, 16 * 1024) << "a 200 KB line took more than 16 MB";
}

TEST(JsonInput, RejectsAKeyGivenTwice) {
  EXPECT_EQ(ErrorOf(R"({"account_id":"A","account_id":"B"})"), "the key 'account_id' is given twice");
  EXPECT_EQ(ErrorOf(R"({"data":{"x":1,"x":2}})"), "data: the key 'x' is given twice");
  EXPECT_TRUE(ParseJsonInput(R"({"a":{"x":1},"b":{"x":2}})").ok());  // the same key in two objects
}

TEST(JsonInput, RejectsOversizedStringsArraysAndDocuments) {
  EXPECT_EQ(ErrorOf(R"({"s":"12345"})", {.max_string_bytes = 4}), "s: a string of 5 bytes, more than 4");
  EXPECT_EQ(ErrorOf(R"({"12345":1})", {.max_string_bytes = 4}), "a key of 5 bytes, more than 4");
  EXPECT_EQ(ErrorOf("[1,2,3,4]", {.max_items = 3}), "[3]: an array of more than 3 items");
  EXPECT_EQ(ErrorOf(R"({"a":1,"b":2})", {.max_items = 1}), "b: an object of more than 1 members");
  EXPECT_EQ(ErrorOf("[[1],[2]]", {.max_values = 4}), "[1][0]: more than 4 values in one document");
}

TEST(JsonInput, RejectsNumbersOutOfRange) {
  EXPECT_EQ(ErrorOf(R"({"n":1e999})"), "not valid JSON: number overflow parsing '1e999'");
  EXPECT_EQ(ErrorOf(R"({"n":18446744073709551615})"), "n: the number 18446744073709551615 is beyond a 64-bit integer");
  EXPECT_TRUE(ParseJsonInput(R"({"n":9223372036854775807})").ok());
}

TEST(JsonInput, RejectsWhatIsNotJsonSayingWhere) {
  const std::string e = ErrorOf(R"({"a":})");
  EXPECT_EQ(e.rfind("not valid JSON: parse error at line 1, column 6", 0), 0u) << e;
}

TEST(EventCodecBounds, ADeepOrDoubledLineIsRejectedWithItsReason) {
  auto codec = EventCodec::Create();
  ASSERT_TRUE(codec.ok());
  auto deep = (*codec)->FromJson(
      R"({"type":"AccountOpened","account_id":"A","data":)" + Nested(100000) + "}", 1);
  ASSERT_FALSE(deep.ok());
  EXPECT_NE(deep.status().message().find("nested deeper than 16 levels"), std::string::npos);
  auto twice = (*codec)->FromJson(R"({"type":"AccountOpened","account_id":"A","account_id":"B","data":{}})", 1);
  ASSERT_FALSE(twice.ok());
  EXPECT_EQ(twice.status().message(), "the key 'account_id' is given twice");
  auto late = (*codec)->FromJson(
      R"({"type":"AccountOpened","account_id":"A","occurred_at":"9999-12-31T23:59:59-23:00","data":{"name":"n"}})", 1);
  ASSERT_FALSE(late.ok());
  EXPECT_NE(late.status().message().find("outside the times the ledger accepts"), std::string::npos);
  auto big = (*codec)->FromJson(std::string(kMaxEventLineBytes + 1, ' '), 1);
  ASSERT_FALSE(big.ok());
  EXPECT_EQ(big.status().message(), "the line is 1048577 bytes, more than the 1048576 an event may take");
}

TEST(ReadLine, KeepsAtMostTheBoundOfALine) {
  std::istringstream in("short\n" + std::string(100, 'x') + "\nlast");
  std::string line;
  EXPECT_EQ(ReadLine(in, &line, 10), LineRead::kLine);
  EXPECT_EQ(line, "short");
  EXPECT_EQ(ReadLine(in, &line, 10), LineRead::kTooLong);
  EXPECT_EQ(line, std::string(10, 'x'));
  EXPECT_EQ(ReadLine(in, &line, 10), LineRead::kLine);
  EXPECT_EQ(line, "last");
  EXPECT_EQ(ReadLine(in, &line, 10), LineRead::kEnd);
}

}  // namespace
}  // namespace ledger
