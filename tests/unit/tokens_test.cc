// The tokens file under concurrent edits and damage: no change is lost, and a file that
// cannot be read accepts no token (it never keeps serving the list it had).
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <thread>

#include "ledger/http/tokens.h"

namespace ledger {
namespace {

class Tokens : public testing::Test {
 protected:
  void SetUp() override {
    path_ = std::filesystem::temp_directory_path() /
            ("ledger-tokens-" + std::to_string(::getpid()) + "-" +
             testing::UnitTest::GetInstance()->current_test_info()->name());
    Clean();
  }
  void TearDown() override { Clean(); }
  void Clean() {
    std::filesystem::remove(path_);
    std::filesystem::remove(path_.string() + ".lock");
  }
  std::filesystem::path path_;
};

TEST_F(Tokens, CreatesAndRevokesAtTheSameTimeLoseNothing) {
  constexpr int kEach = 40;
  {
    TokenFile file(path_);
    for (int i = 0; i < kEach; ++i) ASSERT_TRUE(file.Create("old-" + std::to_string(i), Role::kAnalyst, 1).ok());
  }
  std::thread creating([&] {
    TokenFile file(path_);
    for (int i = 0; i < kEach; ++i) EXPECT_TRUE(file.Create("new-" + std::to_string(i), Role::kAnalyst, 2).ok());
  });
  std::thread revoking([&] {
    TokenFile file(path_);
    for (int i = 0; i < kEach; ++i) EXPECT_TRUE(file.Revoke("old-" + std::to_string(i), 3).ok());
  });
  creating.join();
  revoking.join();
  auto records = TokenFile(path_).Read();
  ASSERT_TRUE(records.ok()) << records.status().message();
  int created = 0, revoked = 0;
  for (const auto& r : *records) {
    if (r.name.rfind("new-", 0) == 0 && r.revoked_at == 0) ++created;
    if (r.name.rfind("old-", 0) == 0 && r.revoked_at == 3) ++revoked;
  }
  EXPECT_EQ(created, kEach);
  EXPECT_EQ(revoked, kEach);  // a revoked token stays revoked
}

TEST_F(Tokens, AMalformedFileAcceptsNoTokenAndSaysWhy) {
  TokenFile file(path_);
  const std::string token = *file.Create("analyst", Role::kAnalyst, 1);
  TokenCheck check(path_);
  EXPECT_TRUE(check.Find(token).has_value());
  std::ofstream(path_, std::ios::app) << "{\"name\":\"x\",\"role\":\"root\",\"sha256\":\"00\"}\n";
  EXPECT_FALSE(check.Find(token).has_value());
  EXPECT_NE(check.last_error().message().find(path_.string() + ":2: not a token record"), std::string::npos)
      << check.last_error().message();
  EXPECT_FALSE(file.Create("another", Role::kAnalyst, 2).ok());  // not written over either
}

}  // namespace
}  // namespace ledger
