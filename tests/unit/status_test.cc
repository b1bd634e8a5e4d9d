// Status and Result<T>: the contract every library relies on.
#include <gtest/gtest.h>

#include <string>

#include "ledger/base/status.h"

namespace ledger {
namespace {

TEST(ResultTest, HoldsAValue) {
  Result<std::string> r = std::string("acme");
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r.status().ok());
  EXPECT_EQ(*r, "acme");
}

TEST(ResultTest, HoldsAnError) {
  Result<int> r = Status::NotFound("no account 'acme'");
  EXPECT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Status::Code::kNotFound);
  EXPECT_EQ(r.status().message(), "no account 'acme'");
}

// Abseil's guard: a Result made from an OK status has no value, so it must not say ok.
TEST(ResultTest, MadeFromAnOkStatusIsAnError) {
  Result<int> r = Status::Ok();
  EXPECT_FALSE(r.ok());
  EXPECT_FALSE(r.status().ok());
  EXPECT_EQ(r.status().code(), Status::Code::kFatal);
  EXPECT_NE(r.status().message().find("OK status"), std::string::npos) << r.status().message();
}

}  // namespace
}  // namespace ledger
