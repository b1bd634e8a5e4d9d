// The forms of a list answer a user opens elsewhere: CSV goes into spreadsheets.
#include <gtest/gtest.h>

#include "ledger/queries/answer_format.h"

namespace ledger {
namespace {

TEST(Csv, CellsThatStartLikeAFormulaAreNeutralizedAndControlCharactersEscaped) {
  const Json list = {{"items",
                      Json::array({Json{{"name", "=HYPERLINK(\"http://x\",\"y\")"},
                                        {"note", "+1"},
                                        {"who", "@cmd"},
                                        {"dash", "-2+3"},
                                        {"n", -5},
                                        {"text", "line\nbreak\x1b[31m"},
                                        {"plain", "Acme, Inc."}}})}};
  const std::string csv = ListAsCsv(list);
  EXPECT_NE(csv.find(R"x("'=HYPERLINK(""http://x"",""y"")")x"), std::string::npos) << csv;
  EXPECT_NE(csv.find(",'+1,"), std::string::npos) << csv;
  EXPECT_NE(csv.find(",'@cmd,"), std::string::npos) << csv;
  EXPECT_NE(csv.find(",'-2+3,"), std::string::npos) << csv;
  EXPECT_NE(csv.find(",-5,"), std::string::npos) << csv;  // a number stays a number
  EXPECT_NE(csv.find(R"(line\x0abreak\x1b[31m)"), std::string::npos) << csv;
  EXPECT_NE(csv.find(R"("Acme, Inc.")"), std::string::npos) << csv;
  EXPECT_EQ(std::count(csv.begin(), csv.end(), '\n'), 2);  // a header and one row
}

// Values are typed alike in every format: a boolean is true or false as in JSON, a list
// its items.
TEST(Csv, BooleansAndArraysAreWrittenAsJsonSaysThem) {
  const Json list = {{"items", Json::array({Json{{"terminated", true}, {"products", Json::array({"db", "mail"})}},
                                           Json{{"terminated", false}, {"products", Json::array()}}})}};
  EXPECT_EQ(ListAsCsv(list), "terminated,products\ntrue,db; mail\nfalse,\n");
}

}  // namespace
}  // namespace ledger
