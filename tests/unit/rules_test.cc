// The agreement rules and the entitlement rule as pure functions: events applied to an
// in-memory map, answers evaluated from it. No Kafka, no disk.
#include <gtest/gtest.h>

#include <map>

#include "ledger/rules/entitlement.h"
#include "ledger/rules/rules.h"
#include "ledger/schema/event_codec.h"
#include "ledger/storage/keys.h"
#include "ledger/storage/state_generated.h"
#include "memory_state.h"

namespace ledger {
namespace {

class MemoryLedger {
 public:
  MemoryLedger() : codec_(std::move(*EventCodec::Create())) {}

  // Applies one event given as the JSON form; returns its outcome and reason.
  Applied Apply(const std::string& type, const std::string& account, const std::string& data,
                const std::string& occurred_at = "2024-12-01T00:00:00Z", std::string event_id = "") {
    if (event_id.empty()) event_id = NextId();
    const std::string line = R"({"type":")" + type + R"(","account_id":")" + account +
                             R"(","event_id":")" + event_id + R"(","occurred_at":")" +
                             occurred_at + R"(","data":)" + data + "}";
    auto e = codec_->FromJson(line, 0);
    EXPECT_TRUE(e.ok()) << line << ": " << e.status().message();
    auto env = VerifyEnvelope(e->bytes.data(), e->bytes.size());
    EventPosition pos{0, offset_++, 1735689600000 + offset_, 0, e->bytes};
    auto applied = test_support::ApplyToMemory(kv_, **env, pos);
    EXPECT_TRUE(applied.ok());
    return *applied;
  }

  EntitlementAnswer Ask(const std::string& account, const std::string& product, const std::string& at) {
    EntitlementQuestion q{account, product, "", *ParseTime(at)};
    AccountFacts f;
    if (auto it = kv_.find(keys::Account(account)); it != kv_.end()) {
      f.account = flatbuffers::GetRoot<state::AccountState>(it->second.data());
    }
    for (const auto& [k, v] : kv_) {
      if (keys::AccountOf(k) != account || keys::IdOf(k).empty()) continue;
      const char kind = keys::KindOf(k);
      if (kind == keys::kAgreementTag) f.agreements.push_back(flatbuffers::GetRoot<state::AgreementState>(v.data()));
      if (kind == keys::kGrantTag) f.grants.push_back(flatbuffers::GetRoot<state::GrantState>(v.data()));
      if (kind == keys::kConsentTag) f.consents.push_back(flatbuffers::GetRoot<state::ConsentState>(v.data()));
    }
    return EvaluateEntitlement(q, f, nullptr);
  }

  bool Entitled(const std::string& account, const std::string& product, const std::string& at) {
    return Ask(account, product, at).entitled;
  }

  const test_support::MemoryState& kv() const { return kv_; }

 private:
  std::string NextId() {
    char buf[40];
    std::snprintf(buf, sizeof buf, "01930000-0000-7000-8000-%012d", ++ids_);
    return buf;
  }
  std::unique_ptr<EventCodec> codec_;
  test_support::MemoryState kv_;
  int64_t offset_ = 0;
  int ids_ = 0;
};

constexpr const char* kPurchase2025 =
    R"({"agreement_id":"AG-1","offering":"EssentialSupport","starts_at":"2025-01-01","ends_at":"2026-01-01",
        "lines":[{"line_id":"L1","product":"endpoint-protection"}]})";

class AgreementRules : public testing::Test {
 protected:
  void SetUp() override {
    ASSERT_EQ(ledger_.Apply("AccountOpened", "A", R"({"name":"Acme"})", "2024-01-01").outcome,
              Outcome::kApplied);
    ASSERT_EQ(ledger_.Apply("AgreementPurchased", "A", kPurchase2025).outcome, Outcome::kApplied);
  }
  MemoryLedger ledger_;
};

TEST_F(AgreementRules, CurrentFromStartDayInclusiveToEndDayExclusive) {
  EXPECT_FALSE(ledger_.Entitled("A", "endpoint-protection", "2024-12-31T23:59:59Z"));
  EXPECT_TRUE(ledger_.Entitled("A", "endpoint-protection", "2025-01-01T00:00:00Z"));
  EXPECT_TRUE(ledger_.Entitled("A", "endpoint-protection", "2025-12-31T23:59:59.999Z"));
  EXPECT_FALSE(ledger_.Entitled("A", "endpoint-protection", "2026-01-01T00:00:00Z"));
}

TEST_F(AgreementRules, AnswerCarriesBasisUntilAndReasons) {
  auto yes = ledger_.Ask("A", "endpoint-protection", "2025-06-01");
  ASSERT_TRUE(yes.entitled);
  ASSERT_EQ(yes.bases.size(), 1u);
  EXPECT_EQ(yes.bases[0].id, "AG-1");
  EXPECT_EQ(yes.bases[0].offering, "EssentialSupport");
  EXPECT_EQ(*yes.until, *ParseTime("2026-01-01"));

  auto before = ledger_.Ask("A", "endpoint-protection", "2024-06-01");
  EXPECT_EQ(before.reasons.at(0), "agreement AG-1 (EssentialSupport) starts on 2025-01-01T00:00:00Z");
  auto lapsed = ledger_.Ask("A", "endpoint-protection", "2026-03-01");
  EXPECT_EQ(lapsed.reasons.at(0),
            "agreement AG-1 (EssentialSupport) lapsed: it ended on 2026-01-01T00:00:00Z");
  auto other = ledger_.Ask("A", "web-gateway", "2025-06-01");
  EXPECT_FALSE(other.entitled);
  EXPECT_EQ(other.reasons.at(0), "no agreement, extension or grant of account A covers product web-gateway");
  auto unknown = ledger_.Ask("NOPE", "endpoint-protection", "2025-06-01");
  EXPECT_EQ(unknown.account_status, "unknown");
  EXPECT_FALSE(unknown.entitled);
}

TEST_F(AgreementRules, RenewalMovesTheEnd) {
  EXPECT_EQ(ledger_.Apply("AgreementRenewed", "A", R"({"agreement_id":"AG-1","ends_at":"2027-01-01"})").outcome,
            Outcome::kApplied);
  EXPECT_TRUE(ledger_.Entitled("A", "endpoint-protection", "2026-01-01"));
  EXPECT_TRUE(ledger_.Entitled("A", "endpoint-protection", "2026-12-31T23:59:59Z"));
  EXPECT_FALSE(ledger_.Entitled("A", "endpoint-protection", "2027-01-01"));
  // A renewal that does not move the end is a rejected fact, and changes nothing.
  auto back = ledger_.Apply("AgreementRenewed", "A", R"({"agreement_id":"AG-1","ends_at":"2026-06-01"})");
  EXPECT_EQ(back.outcome, Outcome::kAnomaly);
  EXPECT_NE(back.reason.find("does not move its end"), std::string::npos);
  EXPECT_TRUE(ledger_.Entitled("A", "endpoint-protection", "2026-09-01"));
}

TEST_F(AgreementRules, CoTermAlignsTheEndEitherWay) {
  ASSERT_EQ(ledger_.Apply("AgreementCoTermed", "A", R"({"agreement_id":"AG-1","ends_at":"2025-07-01","co_term_with":"AG-9"})").outcome,
            Outcome::kApplied);
  EXPECT_TRUE(ledger_.Entitled("A", "endpoint-protection", "2025-06-30T23:59:59Z"));
  EXPECT_FALSE(ledger_.Entitled("A", "endpoint-protection", "2025-07-01"));
  ASSERT_EQ(ledger_.Apply("AgreementCoTermed", "A", R"({"agreement_id":"AG-1","ends_at":"2026-04-01"})").outcome,
            Outcome::kApplied);
  EXPECT_TRUE(ledger_.Entitled("A", "endpoint-protection", "2026-03-31"));
  EXPECT_EQ(ledger_.Apply("AgreementCoTermed", "A", R"({"agreement_id":"AG-1","ends_at":"2024-04-01"})").outcome,
            Outcome::kAnomaly);
}

TEST_F(AgreementRules, TerminationEndsEarlyAndReinstatementUndoesIt) {
  ASSERT_EQ(ledger_.Apply("AgreementTerminated", "A", R"({"agreement_id":"AG-1","effective_at":"2025-10-01"})").outcome,
            Outcome::kApplied);
  EXPECT_TRUE(ledger_.Entitled("A", "endpoint-protection", "2025-09-30T23:59:59Z"));
  auto after = ledger_.Ask("A", "endpoint-protection", "2025-10-01");
  EXPECT_FALSE(after.entitled);
  EXPECT_EQ(after.reasons.at(0),
            "agreement AG-1 (EssentialSupport) was terminated on 2025-10-01T00:00:00Z");
  EXPECT_EQ(ledger_.Apply("AgreementTerminated", "A", R"({"agreement_id":"AG-1"})").outcome,
            Outcome::kAnomaly);
  EXPECT_EQ(ledger_.Apply("AgreementRenewed", "A", R"({"agreement_id":"AG-1","ends_at":"2027-01-01"})").outcome,
            Outcome::kAnomaly);
  ASSERT_EQ(ledger_.Apply("AgreementReinstated", "A", R"({"agreement_id":"AG-1"})").outcome, Outcome::kApplied);
  EXPECT_TRUE(ledger_.Entitled("A", "endpoint-protection", "2025-11-01"));
  EXPECT_EQ(ledger_.Apply("AgreementReinstated", "A", R"({"agreement_id":"AG-1"})").outcome, Outcome::kAnomaly);
}

TEST_F(AgreementRules, LinesAddedAndRemovedAtTheirEffectiveTimes) {
  ASSERT_EQ(ledger_.Apply("AgreementLineAdded", "A",
                          R"({"agreement_id":"AG-1","effective_at":"2025-04-01","line":{"line_id":"L2","product":"web-gateway"}})")
                .outcome,
            Outcome::kApplied);
  EXPECT_FALSE(ledger_.Entitled("A", "web-gateway", "2025-03-31T23:59:59Z"));
  EXPECT_TRUE(ledger_.Entitled("A", "web-gateway", "2025-04-01"));
  ASSERT_EQ(ledger_.Apply("AgreementLineRemoved", "A", R"({"agreement_id":"AG-1","line_id":"L2","effective_at":"2025-09-01"})").outcome,
            Outcome::kApplied);
  EXPECT_TRUE(ledger_.Entitled("A", "web-gateway", "2025-08-31T23:59:59Z"));
  auto removed = ledger_.Ask("A", "web-gateway", "2025-09-01");
  EXPECT_FALSE(removed.entitled);
  EXPECT_NE(removed.reasons.at(0).find("was removed from agreement AG-1"), std::string::npos);
  EXPECT_EQ(ledger_.Apply("AgreementLineRemoved", "A", R"({"agreement_id":"AG-1","line_id":"L2"})").outcome,
            Outcome::kAnomaly);
}

TEST_F(AgreementRules, SuspendedOrClosedAccountsAreNotEntitled) {
  ASSERT_EQ(ledger_.Apply("AccountSuspended", "A", R"({"reason":"unpaid"})", "2025-05-01").outcome, Outcome::kApplied);
  EXPECT_TRUE(ledger_.Entitled("A", "endpoint-protection", "2025-04-30"));
  auto suspended = ledger_.Ask("A", "endpoint-protection", "2025-05-02");
  EXPECT_FALSE(suspended.entitled);
  EXPECT_EQ(suspended.account_status, "suspended");
  ASSERT_EQ(ledger_.Apply("AccountReactivated", "A", "{}", "2025-06-01").outcome, Outcome::kApplied);
  EXPECT_TRUE(ledger_.Entitled("A", "endpoint-protection", "2025-06-02"));
  ASSERT_EQ(ledger_.Apply("AccountClosed", "A", "{}", "2025-08-01").outcome, Outcome::kApplied);
  EXPECT_FALSE(ledger_.Entitled("A", "endpoint-protection", "2025-08-02"));
  EXPECT_TRUE(ledger_.Entitled("A", "endpoint-protection", "2025-07-31"));  // as of then
}

TEST_F(AgreementRules, RejectedFactsAreAnomaliesThatChangeNoState) {
  const auto before = ledger_.kv().at(keys::Agreement("A", "AG-1"));
  auto unknown = ledger_.Apply("AgreementRenewed", "A", R"({"agreement_id":"AG-404","ends_at":"2027-01-01"})");
  EXPECT_EQ(unknown.outcome, Outcome::kAnomaly);
  EXPECT_EQ(unknown.reason, "agreement AG-404 is unknown (no AgreementPurchased for it)");
  EXPECT_EQ(ledger_.Apply("AgreementPurchased", "A", kPurchase2025).outcome, Outcome::kAnomaly);
  EXPECT_EQ(ledger_.Apply("AgreementPurchased", "NOBODY", kPurchase2025).reason,
            "account NOBODY is unknown (no AccountOpened for it)");
  EXPECT_EQ(ledger_.Apply("AgreementPurchased", "A",
                          R"({"agreement_id":"AG-2","offering":"BasicMaintenance","starts_at":"2025-01-01","ends_at":"2025-01-01"})")
                .outcome,
            Outcome::kAnomaly);
  EXPECT_EQ(ledger_.kv().at(keys::Agreement("A", "AG-1")), before);
  EXPECT_EQ(ledger_.kv().count(keys::Agreement("A", "AG-2")), 0u);
}

TEST_F(AgreementRules, AnEventIdSeenBeforeIsSkipped) {
  const std::string id = "01930000-0000-7000-8000-0000000000ff";
  auto first = ledger_.Apply("AgreementRenewed", "A", R"({"agreement_id":"AG-1","ends_at":"2027-01-01"})", "2025-01-01", id);
  EXPECT_EQ(first.outcome, Outcome::kApplied);
  const auto after_first = ledger_.kv();
  auto again = ledger_.Apply("AgreementRenewed", "A", R"({"agreement_id":"AG-1","ends_at":"2027-01-01"})", "2025-01-01", id);
  EXPECT_EQ(again.outcome, Outcome::kDuplicate);
  EXPECT_TRUE(again.changes.empty());
  EXPECT_EQ(ledger_.kv(), after_first);
}

TEST(Rules, ReplayIsDeterministic) {
  auto run = [] {
    MemoryLedger l;
    l.Apply("AccountOpened", "A", R"({"name":"Acme"})");
    l.Apply("AgreementPurchased", "A", kPurchase2025);
    l.Apply("AgreementRenewed", "A", R"({"agreement_id":"AG-1","ends_at":"2027-01-01"})");
    l.Apply("AgreementRenewed", "A", R"({"agreement_id":"AG-404","ends_at":"2027-01-01"})");
    return l.kv();
  };
  EXPECT_EQ(run(), run());
}

}  // namespace
}  // namespace ledger
