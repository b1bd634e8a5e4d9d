// The whole domain (DESIGN.md rules 1-9), one rule at a time: events applied by the real
// rules into a real store on disk, questions asked through LedgerView. No Kafka.
#include <gtest/gtest.h>

#include "ledger/base/text.h"

#include "ledger/storage/keys.h"
#include "store_ledger.h"

namespace ledger {
namespace {

using test_support::StoreLedger;
using Params = std::map<std::string, std::string>;

bool HasReason(const Json& answer, const std::string& part, const char* field = "reasons") {
  for (const auto& r : answer.value(field, Json::array())) {
    if (r.get<std::string>().find(part) != std::string::npos) return true;
  }
  return false;
}

class Domain : public testing::Test {
 protected:
  void SetUp() override {
    l_ = std::make_unique<StoreLedger>(testing::UnitTest::GetInstance()->current_test_info()->name());
    ASSERT_EQ(Apply("AccountOpened", R"({"name":"Acme","region":"EMEA"})", "2024-01-01"), Outcome::kApplied);
    ASSERT_EQ(Apply("ContactDesignated", R"({"contact_id":"C1","name":"Ada"})", "2024-01-02"), Outcome::kApplied);
    ASSERT_EQ(Apply("AgreementPurchased",
                    R"({"agreement_id":"AG-1","offering":"EssentialSupport","starts_at":"2025-01-01","ends_at":"2026-01-01",
                        "lines":[{"line_id":"L1","product":"db"}]})",
                    "2024-12-01"),
              Outcome::kApplied);
    l_->Reference("ServiceLevelDefined",
                  R"({"offering":"EssentialSupport","severity":1,"coverage":"TwentyFourSeven","response_minutes":60,"effective_at":"2024-01-01"})");
    l_->Reference("ServiceLevelDefined",
                  R"({"offering":"EssentialSupport","severity":3,"coverage":"BusinessHours","response_minutes":240,"effective_at":"2024-01-01"})");
    l_->Reference("LanguageSupportDefined",
                  R"({"region":"EMEA","languages":["en","de"],"time_zone":"Europe/Berlin","effective_at":"2024-01-01"})");
  }
  Outcome Apply(const std::string& type, const std::string& data, const std::string& at,
                const std::string& recorded_at = "") {
    last_ = l_->Apply(type, "A", data, at, recorded_at);
    return last_.outcome;
  }
  Json Entitlement(const std::string& at, Params extra = {}) {
    extra["account"] = "A";
    extra["at"] = at;
    if (!extra.count("product")) extra["product"] = "db";
    return l_->Ask("entitlement", extra);
  }
  Json Case(const std::string& id, const std::string& at, Params extra = {}) {
    extra["account"] = "A";
    extra["case"] = id;
    extra["at"] = at;
    return l_->Ask("case", extra);
  }
  Json List(const std::string& name, const std::string& at, Params extra = {}) {
    extra["list"] = name;
    extra["at"] = at;
    return l_->Ask("list", extra);
  }
  std::unique_ptr<StoreLedger> l_;
  Applied last_;
};

// ---- rule 1: grants and extensions ------------------------------------------------------

TEST_F(Domain, CourtesyAndTemporaryGrantsEntitleWithinTheirWindow) {
  ASSERT_EQ(Apply("CourtesyGranted", R"({"grant_id":"CG-1","product":"mail","starts_at":"2025-03-01","ends_at":"2025-04-01"})",
                  "2025-02-20"),
            Outcome::kApplied);
  EXPECT_FALSE(Entitlement("2025-02-28T23:59:59Z", {{"product", "mail"}})["entitled"]);
  auto yes = Entitlement("2025-03-01", {{"product", "mail"}});
  EXPECT_TRUE(yes["entitled"]);
  EXPECT_EQ(yes["basis"][0]["kind"], "courtesy");
  EXPECT_EQ(yes["basis"][0]["id"], "CG-1");
  EXPECT_FALSE(Entitlement("2025-04-01", {{"product", "mail"}})["entitled"]);
  EXPECT_TRUE(HasReason(Entitlement("2025-04-01", {{"product", "mail"}}), "courtesy grant CG-1 ended on 2025-04-01"));

  // A temporary grant bridges a lapse while a renewal is processed.
  ASSERT_EQ(Apply("TemporaryEntitlementGranted",
                  R"({"grant_id":"TE-1","product":"db","starts_at":"2026-01-01","ends_at":"2026-02-01","order_id":"SO-1"})",
                  "2025-12-30"),
            Outcome::kApplied);
  auto bridged = Entitlement("2026-01-15");
  EXPECT_TRUE(bridged["entitled"]);
  EXPECT_EQ(bridged["basis"][0]["kind"], "temporary");
  EXPECT_EQ(bridged["offering"], "EssentialSupport");  // the offering it bridges
  EXPECT_TRUE(HasReason(bridged, "lapsed: it ended on 2026-01-01"));  // and why the agreement does not
}

// "A" is a prefix of "A2": their keys neighbour each other in the store, and an answer
// about A reads A's group of facts only.
TEST_F(Domain, AnAnswerReadsOnlyItsOwnAccountsFacts) {
  ASSERT_EQ(l_->Apply("AccountOpened", "A2", R"({"name":"Acme Two","region":"EMEA"})", "2024-01-01").outcome,
            Outcome::kApplied);
  ASSERT_EQ(l_->Apply("AgreementPurchased", "A2",
                      R"({"agreement_id":"AG-2","offering":"EssentialSupport","starts_at":"2025-01-01","ends_at":"2026-01-01",
                          "lines":[{"line_id":"L1","product":"mail"}]})",
                      "2024-12-01")
                .outcome,
            Outcome::kApplied);
  EXPECT_TRUE(l_->Ask("entitlement", {{"account", "A2"}, {"product", "mail"}, {"at", "2025-06-01"}})["entitled"]);
  const Json a = Entitlement("2025-06-01", {{"product", "mail"}});
  EXPECT_FALSE(a["entitled"]);
  EXPECT_TRUE(HasReason(a, "no agreement")) << a.dump();
  EXPECT_TRUE(Entitlement("2025-06-01")["entitled"]);
  EXPECT_FALSE(l_->Ask("entitlement", {{"account", "A2"}, {"product", "db"}, {"at", "2025-06-01"}})["entitled"]);
}

TEST_F(Domain, RevokedGrantStopsAtItsRevocation) {
  ASSERT_EQ(Apply("CourtesyGranted", R"({"grant_id":"CG-2","product":"mail","starts_at":"2025-03-01","ends_at":"2025-09-01"})",
                  "2025-02-20"),
            Outcome::kApplied);
  ASSERT_EQ(Apply("GrantRevoked", R"({"grant_id":"CG-2","effective_at":"2025-05-01","reason":"abuse"})", "2025-04-20"),
            Outcome::kApplied);
  EXPECT_TRUE(Entitlement("2025-04-30T23:59:59Z", {{"product", "mail"}})["entitled"]);
  auto revoked = Entitlement("2025-05-01", {{"product", "mail"}});
  EXPECT_FALSE(revoked["entitled"]);
  EXPECT_TRUE(HasReason(revoked, "courtesy grant CG-2 was revoked on 2025-05-01T00:00:00Z (abuse)"));
  EXPECT_EQ(Apply("GrantRevoked", R"({"grant_id":"CG-2"})", "2025-06-01"), Outcome::kAnomaly);
  EXPECT_EQ(Apply("GrantRevoked", R"({"grant_id":"NOPE"})", "2025-06-01"), Outcome::kAnomaly);
  EXPECT_EQ(last_.reason, "grant NOPE is unknown (never granted)");
}

// ---- rule 3: version phases and extensions ----------------------------------------------

TEST_F(Domain, VersionPhaseFullPartialNoneAndExtension) {
  l_->Reference("ProductVersionLifecycle",
                R"({"product":"db","version":"9","released_at":"2020-01-01","end_of_standard_support_at":"2025-06-01",
                    "end_of_support_life_at":"2025-09-01","effective_at":"2020-01-01"})");
  auto full = Entitlement("2025-05-31", {{"version", "9"}});
  EXPECT_TRUE(full["entitled"]);
  EXPECT_EQ(full["version_phase"], "full");
  EXPECT_EQ(full["phase_until"], "2025-06-01T00:00:00Z");
  auto partial = Entitlement("2025-06-01", {{"version", "9"}});
  EXPECT_TRUE(partial["entitled"]);
  EXPECT_EQ(partial["version_phase"], "partial");
  // "until" is when this answer stops being true: the version's End of Support Life,
  // before the agreement's end (2026-01-01).
  EXPECT_EQ(full["until"], "2025-09-01T00:00:00Z");
  EXPECT_EQ(partial["until"], "2025-09-01T00:00:00Z");
  EXPECT_EQ(Entitlement("2025-06-01")["until"], "2026-01-01T00:00:00Z");  // no version asked
  auto none = Entitlement("2025-09-01", {{"version", "9"}});
  EXPECT_FALSE(none["entitled"]);
  EXPECT_EQ(none["version_phase"], "none");
  EXPECT_TRUE(HasReason(none, "version 9 is past End of Support Life since 2025-09-01"));
  // Another version of the product is still fine.
  EXPECT_TRUE(Entitlement("2025-09-01", {{"version", "10"}})["entitled"]);
  // A version without a lifecycle is not checked, and a typo of a known one is named.
  l_->Reference("ProductVersionLifecycle",
                R"({"product":"db","version":"12.0","released_at":"2024-01-01","end_of_standard_support_at":"2027-06-01",
                    "end_of_support_life_at":"2028-09-01","effective_at":"2024-01-01"})");
  auto typo = Entitlement("2025-06-01", {{"version", "12.1"}});
  EXPECT_EQ(typo["version_phase"], "unknown");
  EXPECT_TRUE(HasReason(typo, "no lifecycle is defined for db 12.1; the version was not checked; did you mean 12.0? "
                              "(versions of db with a lifecycle: 12.0, 9)"))
      << typo.dump();

  // A support extension covers that version (only), within the programme.
  l_->Reference("ExtensionProgrammeDefined",
                R"({"product":"db","version":"9","available_until_at":"2025-12-01","effective_at":"2025-01-01"})");
  ASSERT_EQ(Apply("SupportExtensionPurchased",
                  R"({"extension_id":"EX-1","product":"db","version":"9","starts_at":"2025-09-01","ends_at":"2026-09-01"})",
                  "2025-08-01"),
            Outcome::kApplied);
  auto extended = Entitlement("2025-10-01", {{"version", "9"}});
  EXPECT_TRUE(extended["entitled"]);
  EXPECT_EQ(extended["version_phase"], "extended");
  EXPECT_EQ(extended["basis"][0]["kind"], "extension");
  EXPECT_TRUE(HasReason(Entitlement("2025-10-01", {{"version", "8"}, {"product", "db"}}), "covers version 9, not 8"));
  // Bought after the programme closed: it does not count.
  ASSERT_EQ(Apply("SupportExtensionPurchased",
                  R"({"extension_id":"EX-2","product":"db","version":"9","starts_at":"2025-12-15","ends_at":"2026-12-15"})",
                  "2025-12-10"),
            Outcome::kApplied);
  auto late = Entitlement("2026-10-01", {{"version", "9"}});
  EXPECT_FALSE(late["entitled"]);
  EXPECT_TRUE(HasReason(late, "support extension EX-2 starts after the extension programme for db 9 closed"));
}

TEST_F(Domain, ReferenceChangesTakeEffectFromTheirEffectiveTime) {
  l_->Reference("ProductVersionLifecycle",
                R"({"product":"db","version":"9","end_of_standard_support_at":"2025-03-01","end_of_support_life_at":"2025-06-01","effective_at":"2020-01-01"})");
  // End of life moved out, effective from 2025-05-01: before then the old dates hold.
  l_->Reference("ProductVersionLifecycle",
                R"({"product":"db","version":"9","end_of_standard_support_at":"2025-03-01","end_of_support_life_at":"2025-12-01","effective_at":"2025-05-01"})");
  EXPECT_EQ(Entitlement("2025-04-01", {{"version", "9"}})["phase_until"], "2025-06-01T00:00:00Z");
  EXPECT_EQ(Entitlement("2025-07-01", {{"version", "9"}})["version_phase"], "partial");
  EXPECT_EQ(Entitlement("2025-07-01", {{"version", "9"}})["phase_until"], "2025-12-01T00:00:00Z");
}

TEST_F(Domain, AViewSeesNewReferenceDataWhenRefreshed) {
  auto view = std::move(*LedgerView::Create(&l_->store()));
  const Query q{"entitlement", {{"account", "A"}, {"product", "db"}, {"version", "9"}, {"at", "2025-07-01"}}};
  EXPECT_EQ((*view->Ask(q))["version_phase"], "unknown");
  l_->Reference("ProductVersionLifecycle",
                R"({"product":"db","version":"9","end_of_standard_support_at":"2025-03-01","end_of_support_life_at":"2025-06-01","effective_at":"2020-01-01"})");
  EXPECT_EQ((*view->Ask(q))["version_phase"], "unknown");  // not before a refresh
  ASSERT_TRUE(view->RefreshReference().ok());
  EXPECT_EQ((*view->Ask(q))["version_phase"], "none");
  ASSERT_TRUE(view->RefreshReference().ok());  // nothing new: the data stays
  EXPECT_EQ((*view->Ask(q))["version_phase"], "none");
}

// ---- rule 2: grace period by policy -----------------------------------------------------

TEST_F(Domain, GracePeriodOnlyWhileAPolicySetsIt) {
  EXPECT_FALSE(Entitlement("2026-01-10")["entitled"]);
  l_->Reference("PolicySet", R"({"name":"agreement.grace_period_days","value":"30","effective_at":"2026-01-05"})");
  auto grace = Entitlement("2026-01-10");
  EXPECT_TRUE(grace["entitled"]);
  EXPECT_EQ(grace["basis"][0]["until"], "2026-01-31T00:00:00Z");
  EXPECT_TRUE(HasReason(grace, "in its grace period until 2026-01-31"));
  EXPECT_FALSE(Entitlement("2026-01-31")["entitled"]);
  EXPECT_FALSE(Entitlement("2026-01-04")["entitled"]);  // the policy is not in effect yet
  // A terminated agreement gets no grace.
  ASSERT_EQ(Apply("AgreementTerminated", R"({"agreement_id":"AG-1","effective_at":"2025-12-01"})", "2025-11-20"),
            Outcome::kApplied);
  EXPECT_FALSE(Entitlement("2026-01-10")["entitled"]);
}

// ---- rule 4: service levels -------------------------------------------------------------

TEST_F(Domain, CoverageAndResponseTargetFromTheServiceLevelTable) {
  auto sev1 = Entitlement("2025-06-01", {{"severity", "1"}});
  EXPECT_EQ(sev1["coverage"], "24x7");
  EXPECT_EQ(sev1["response_minutes"], 60);
  auto sev3 = Entitlement("2025-06-01", {{"severity", "3"}});
  EXPECT_EQ(sev3["coverage"], "business hours");
  EXPECT_EQ(sev3["languages"], Json::array({"en", "de"}));
  EXPECT_EQ(sev3["time_zone"], "Europe/Berlin");
  EXPECT_TRUE(HasReason(Entitlement("2025-06-01", {{"severity", "2"}}), "no service level is defined for EssentialSupport severity 2"));
  EXPECT_EQ(l_->AskStatus("entitlement", {{"account", "A"}, {"product", "db"}, {"severity", "7"}}).code(),
            Status::Code::kInvalidInput);
}

// ---- rule 5: cases ----------------------------------------------------------------------

TEST_F(Domain, OnlyADesignatedContactMayOpenACase) {
  EXPECT_EQ(Apply("CaseOpened", R"({"case_id":"K1","contact_id":"STRANGER","product":"db","severity":3})", "2025-06-02"),
            Outcome::kAnomaly);
  EXPECT_EQ(last_.reason, "case K1 cannot be opened: STRANGER is not a designated contact of account A");
  ASSERT_EQ(Apply("ContactRemoved", R"({"contact_id":"C1","reason":"left"})", "2025-06-03"), Outcome::kApplied);
  EXPECT_EQ(Apply("CaseOpened", R"({"case_id":"K1","contact_id":"C1","product":"db","severity":3})", "2025-06-04"),
            Outcome::kAnomaly);
  auto intake = l_->Ask("intake", {{"account", "A"}, {"contact", "C1"}, {"product", "db"}, {"at", "2025-06-04"}});
  EXPECT_FALSE(intake["may_open_case"]);
  EXPECT_TRUE(HasReason(intake, "C1 was removed as a designated contact on 2025-06-03T00:00:00Z (left)"));
  auto earlier = l_->Ask("intake", {{"account", "A"}, {"contact", "C1"}, {"product", "db"}, {"at", "2025-06-02"}});
  EXPECT_TRUE(earlier["may_open_case"]);
}

TEST_F(Domain, AnAccountsStoryListsItsEventsAndAnomaliesInOrder) {
  ASSERT_EQ(Apply("CaseOpened", R"({"case_id":"K1","contact_id":"STRANGER","product":"db","severity":3})", "2025-06-02"),
            Outcome::kAnomaly);
  ASSERT_EQ(Apply("ContactRemoved", R"({"contact_id":"C1","reason":"left"})", "2025-06-03"), Outcome::kApplied);
  auto story = l_->AccountEvents("A");
  ASSERT_TRUE(story.ok()) << story.status().message();
  ASSERT_GE(story->size(), 3u);
  const Json& anomaly = story->at(story->size() - 2);
  EXPECT_EQ(anomaly["anomaly"]["type"], "CaseOpened");
  EXPECT_EQ(anomaly["anomaly"]["reason"], "case K1 cannot be opened: STRANGER is not a designated contact of account A");
  const Json& last = story->back();
  EXPECT_EQ(last["event"]["type"], "ContactRemoved") << last.dump();
  EXPECT_EQ(last["event"]["data"]["reason"], "left");
  for (size_t i = 1; i < story->size(); ++i) EXPECT_LT((*story)[i - 1]["offset"], (*story)[i]["offset"]);
  EXPECT_EQ(l_->AccountEvents("NOBODY").status().code(), Status::Code::kNotFound);
}

TEST_F(Domain, ASeverityRaisedBeforeTheResponseTightensTheTargetFromTheOpening) {
  // Opened at severity 3 (business hours, 240 minutes): Monday 10:00 Berlin.
  ASSERT_EQ(Apply("CaseOpened", R"({"case_id":"K1","contact_id":"C1","product":"db","severity":3})", "2025-06-02T08:00:00Z"),
            Outcome::kApplied);
  EXPECT_EQ(Case("K1", "2025-06-02T08:30:00Z")["response"]["due_at"], "2025-06-02T12:00:00Z");
  // Raised to 1 (24x7, 60 minutes) at 08:30: the target is severity 1's, from the opening.
  ASSERT_EQ(Apply("CaseSeverityChanged", R"({"case_id":"K1","severity":1,"reason":"outage"})", "2025-06-02T08:30:00Z"),
            Outcome::kApplied);
  auto raised = Case("K1", "2025-06-02T08:45:00Z");
  EXPECT_EQ(raised["response"]["severity"], 1);
  EXPECT_EQ(raised["response"]["due_at"], "2025-06-02T09:00:00Z");
  EXPECT_EQ(raised["response"]["status"], "pending");
  EXPECT_TRUE(HasReason(raised["response"], "the target is for severity 1 (changed from 3), counted from the opening"));
  EXPECT_EQ(Case("K1", "2025-06-02T09:00:00Z")["response"]["status"], "breached");
  // As of before the change, the target was severity 3's.
  EXPECT_EQ(Case("K1", "2025-06-02T08:15:00Z")["response"]["due_at"], "2025-06-02T12:00:00Z");
  // Answered at 09:10, then lowered: the response was judged at severity 1.
  ASSERT_EQ(Apply("CaseAcknowledged", R"({"case_id":"K1","engineer":"e1"})", "2025-06-02T09:10:00Z"), Outcome::kApplied);
  ASSERT_EQ(Apply("CaseSeverityChanged", R"({"case_id":"K1","severity":3})", "2025-06-02T10:00:00Z"), Outcome::kApplied);
  auto later = Case("K1", "2025-06-03");
  EXPECT_EQ(later["response"]["severity"], 1);
  EXPECT_EQ(later["response"]["status"], "breached");
}

TEST_F(Domain, ACaseRecordsItsVerdictAndItsResponseTarget) {
  // Severity 1, 24x7: 60 minutes.
  ASSERT_EQ(Apply("CaseOpened", R"({"case_id":"K1","contact_id":"C1","product":"db","severity":1})", "2025-06-02T10:00:00Z"),
            Outcome::kApplied);
  auto pending = Case("K1", "2025-06-02T10:59:59Z");
  EXPECT_TRUE(pending["entitled"]);
  EXPECT_EQ(pending["basis"]["id"], "AG-1");
  EXPECT_EQ(pending["response"]["due_at"], "2025-06-02T11:00:00Z");
  EXPECT_EQ(pending["response"]["status"], "pending");
  EXPECT_EQ(Case("K1", "2025-06-02T11:00:00Z")["response"]["status"], "breached");  // the minute it passes
  ASSERT_EQ(Apply("CaseAcknowledged", R"({"case_id":"K1","engineer":"e1"})", "2025-06-02T10:45:00Z"), Outcome::kApplied);
  EXPECT_EQ(Case("K1", "2025-06-02T12:00:00Z")["response"]["status"], "met");
  EXPECT_EQ(Case("K1", "2025-06-02T10:30:00Z")["response"]["status"], "pending");  // as of before the ack

  // Severity 3, business hours in Berlin: opened Friday 17:00 local, due Monday 11:00 local.
  ASSERT_EQ(Apply("CaseOpened", R"({"case_id":"K3","contact_id":"C1","product":"db","severity":3})", "2025-06-06T15:00:00Z"),
            Outcome::kApplied);
  EXPECT_EQ(Case("K3", "2025-06-07")["response"]["due_at"], "2025-06-09T09:00:00Z");
  ASSERT_EQ(Apply("CaseAcknowledged", R"({"case_id":"K3"})", "2025-06-09T09:01:00Z"), Outcome::kApplied);
  EXPECT_EQ(Case("K3", "2025-06-10")["response"]["status"], "breached");
  auto breached = List("breached-cases", "2025-06-10");
  ASSERT_EQ(breached["total"], 1);
  EXPECT_EQ(breached["items"][0]["case"], "K3");

  // Not entitled (no agreement for the product): recorded, with the reasons, no target.
  // (Behind the events above in business time: journaled, and the account folded again.)
  ASSERT_EQ(Apply("CaseOpened", R"({"case_id":"K4","contact_id":"C1","product":"mail","severity":2})", "2025-06-02"),
            Outcome::kLate);
  auto k4 = Case("K4", "2025-06-03");
  EXPECT_FALSE(k4["entitled"]);
  EXPECT_TRUE(HasReason(k4, "covers product mail", "verdict_reasons"));
  EXPECT_EQ(k4["response"]["status"], "none");
}

TEST_F(Domain, CaseLifecycleRejectsWhatCannotHappen) {
  ASSERT_EQ(Apply("CaseOpened", R"({"case_id":"K1","contact_id":"C1","product":"db","severity":3})", "2025-06-02"),
            Outcome::kApplied);
  EXPECT_EQ(Apply("CaseOpened", R"({"case_id":"K1","contact_id":"C1","product":"db","severity":3})", "2025-06-02"),
            Outcome::kAnomaly);
  EXPECT_EQ(Apply("CaseOpened", R"({"case_id":"K2","contact_id":"C1","product":"db","severity":9})", "2025-06-02"),
            Outcome::kAnomaly);
  EXPECT_EQ(Apply("ContinuousEffortsRequested", R"({"case_id":"K1"})", "2025-06-02"), Outcome::kAnomaly);
  ASSERT_EQ(Apply("CaseResolved", R"({"case_id":"K1"})", "2025-06-03"), Outcome::kApplied);
  EXPECT_EQ(Apply("CaseResolved", R"({"case_id":"K1"})", "2025-06-03"), Outcome::kAnomaly);
  ASSERT_EQ(Apply("CaseReopened", R"({"case_id":"K1"})", "2025-06-04"), Outcome::kApplied);
  ASSERT_EQ(Apply("CaseClosed", R"({"case_id":"K1"})", "2025-06-05"), Outcome::kApplied);
  EXPECT_EQ(Case("K1", "2025-06-03T12:00:00Z")["status"], "resolved");
  EXPECT_EQ(Case("K1", "2025-06-04T12:00:00Z")["status"], "open");
  EXPECT_EQ(Case("K1", "2025-06-06")["status"], "closed");
  EXPECT_EQ(List("open-cases", "2025-06-04T12:00:00Z")["total"], 1);
  EXPECT_EQ(List("open-cases", "2025-06-06")["total"], 0);
  EXPECT_EQ(l_->AskStatus("case", {{"account", "A"}, {"case", "NOPE"}}).code(), Status::Code::kNotFound);
}

// ---- rule 6: escalation -----------------------------------------------------------------

TEST_F(Domain, EscalationClimbsTheLadderOneLevelAtATime) {
  ASSERT_EQ(Apply("CaseOpened", R"({"case_id":"K1","contact_id":"C1","product":"db","severity":2})", "2025-06-02"),
            Outcome::kApplied);
  EXPECT_EQ(Case("K1", "2025-06-02T01:00:00Z")["next_levels"], Json::array({"DutyManager", "VirtualTeam"}));
  EXPECT_EQ(Apply("EscalationRequested", R"({"escalation_id":"X1","case_id":"K1","level":"BackLine"})", "2025-06-02T02:00:00Z"),
            Outcome::kAnomaly);
  ASSERT_EQ(Apply("EscalationRequested", R"({"escalation_id":"X1","case_id":"K1","level":"DutyManager"})", "2025-06-02T02:00:00Z"),
            Outcome::kApplied);
  EXPECT_EQ(Apply("EscalationRequested", R"({"escalation_id":"X2","case_id":"K1"})", "2025-06-02T02:30:00Z"),
            Outcome::kAnomaly);  // already escalated
  EXPECT_EQ(Apply("EscalationLevelRaised", R"({"escalation_id":"X1","level":"BackLine"})", "2025-06-02T03:00:00Z"),
            Outcome::kAnomaly);
  EXPECT_EQ(last_.reason, "escalation X1 cannot go from DutyManager to BackLine");
  ASSERT_EQ(Apply("EscalationLevelRaised", R"({"escalation_id":"X1","level":"AdvancedLine"})", "2025-06-02T03:00:00Z"),
            Outcome::kApplied);
  auto k1 = Case("K1", "2025-06-02T04:00:00Z");
  EXPECT_EQ(k1["escalations"][0]["level"], "AdvancedLine");
  EXPECT_EQ(k1["next_levels"], Json::array({"BackLine", "VirtualTeam"}));
  auto open = List("open-escalations", "2025-06-02T04:00:00Z");
  EXPECT_EQ(open["counts"]["AdvancedLine, severity 2"], 1);
  EXPECT_EQ(List("open-escalations", "2025-06-02T02:30:00Z")["items"][0]["level"], "DutyManager");  // as of then
  ASSERT_EQ(Apply("EscalationClosed", R"({"escalation_id":"X1","outcome":"fixed"})", "2025-06-03"), Outcome::kApplied);
  EXPECT_EQ(Apply("EscalationLevelRaised", R"({"escalation_id":"X1","level":"BackLine"})", "2025-06-04"), Outcome::kAnomaly);
  EXPECT_EQ(List("open-escalations", "2025-06-04")["total"], 0);
}

TEST_F(Domain, OnlyAnEntitledOpenCaseMayBeEscalated) {
  ASSERT_EQ(Apply("CaseOpened", R"({"case_id":"K4","contact_id":"C1","product":"mail","severity":1})", "2025-06-02"),
            Outcome::kApplied);
  EXPECT_EQ(Apply("EscalationRequested", R"({"escalation_id":"X1","case_id":"K4"})", "2025-06-02T01:00:00Z"),
            Outcome::kAnomaly);
  EXPECT_EQ(last_.reason, "escalation X1: case K4 was not entitled when opened, so it cannot be escalated");
  EXPECT_FALSE(Case("K4", "2025-06-03")["may_escalate"]);
  ASSERT_EQ(Apply("CaseOpened", R"({"case_id":"K5","contact_id":"C1","product":"db","severity":4})", "2025-06-02"),
            Outcome::kLate);  // behind the escalation request above, in business time
  ASSERT_EQ(Apply("CaseClosed", R"({"case_id":"K5"})", "2025-06-03"), Outcome::kApplied);
  EXPECT_EQ(Apply("EscalationRequested", R"({"escalation_id":"X5","case_id":"K5"})", "2025-06-04"), Outcome::kAnomaly);
  EXPECT_EQ(last_.reason, "escalation X5: case K5 is not open");
  // Severity 4 never goes to a virtual team.
  ASSERT_EQ(Apply("CaseOpened", R"({"case_id":"K6","contact_id":"C1","product":"db","severity":4})", "2025-06-02"),
            Outcome::kLate);
  EXPECT_EQ(Apply("EscalationRequested", R"({"escalation_id":"X6","case_id":"K6","level":"VirtualTeam"})", "2025-06-04"),
            Outcome::kAnomaly);
}

// ---- rule 7: remote access --------------------------------------------------------------

TEST_F(Domain, RemoteSessionsNeedActiveConsentToTheTermsInEffect) {
  l_->Reference("PolicySet", R"({"name":"remote_access.terms_version","value":"v2","effective_at":"2025-01-01"})");
  EXPECT_EQ(Apply("RemoteAccessConsentGiven", R"({"consent_id":"RC0","contact_id":"NOBODY","terms_version":"v2"})", "2025-02-01"),
            Outcome::kAnomaly);
  ASSERT_EQ(Apply("RemoteAccessConsentGiven",
                  R"({"consent_id":"RC1","contact_id":"C1","terms_version":"v2","expires_at":"2025-07-01"})", "2025-02-01"),
            Outcome::kApplied);
  auto active = Entitlement("2025-03-01");
  EXPECT_TRUE(active["remote_access"]["consent_active"]);
  EXPECT_EQ(active["remote_access"]["consent_id"], "RC1");
  auto expired = Entitlement("2025-07-01");
  EXPECT_FALSE(expired["remote_access"]["consent_active"]);
  EXPECT_TRUE(HasReason(expired["remote_access"], "consent RC1 expired on 2025-07-01"));

  ASSERT_EQ(Apply("RemoteSessionStarted", R"({"session_id":"S1","consent_id":"RC1"})", "2025-06-30T23:00:00Z"),
            Outcome::kApplied);
  ASSERT_EQ(Apply("RemoteSessionStarted", R"({"session_id":"S2","consent_id":"RC1"})", "2025-07-01T00:00:00Z"),
            Outcome::kApplied);
  ASSERT_EQ(Apply("RemoteSessionStarted", R"({"session_id":"S3"})", "2025-07-02"), Outcome::kApplied);
  EXPECT_EQ(Apply("RemoteSessionStarted", R"({"session_id":"S3"})", "2025-07-02"), Outcome::kAnomaly);
  auto violations = List("sessions-without-consent", "2025-08-01");
  ASSERT_EQ(violations["total"], 2);
  EXPECT_EQ(violations["items"][0]["session"], "S2");
  EXPECT_EQ(violations["items"][0]["violation"], "consent RC1 expired on 2025-07-01T00:00:00Z");
  EXPECT_EQ(violations["items"][1]["violation"], "no consent named for the session");

  // Consent to older terms does not cover a session once newer terms are in effect.
  ASSERT_EQ(Apply("RemoteAccessConsentGiven", R"({"consent_id":"RC2","contact_id":"C1","terms_version":"v1"})", "2025-08-01"),
            Outcome::kApplied);
  ASSERT_EQ(Apply("RemoteSessionStarted", R"({"session_id":"S4","consent_id":"RC2"})", "2025-08-02"), Outcome::kApplied);
  EXPECT_EQ(List("sessions-without-consent", "2025-08-03")["total"], 3);
  ASSERT_EQ(Apply("RemoteAccessConsentRevoked", R"({"consent_id":"RC2"})", "2025-08-04"), Outcome::kApplied);
  EXPECT_TRUE(HasReason(Entitlement("2025-08-05")["remote_access"], "consent RC2 was revoked on 2025-08-04"));
}

// ---- rule 8: portal ---------------------------------------------------------------------

TEST_F(Domain, PortalHandbooksForActivatedUnlockedUsersOfActiveAccounts) {
  auto portal = [&](const std::string& at) {
    return l_->Ask("portal", {{"account", "A"}, {"user", "u1"}, {"handbook", "Essential Support and Basic Maintenance Handbook"}, {"at", at}});
  };
  ASSERT_EQ(Apply("PortalUserCreated", R"({"user_id":"u1","email":"u1@a.example"})", "2025-01-01"), Outcome::kApplied);
  EXPECT_FALSE(portal("2025-01-02")["allowed"]);
  EXPECT_TRUE(HasReason(portal("2025-01-02"), "portal user u1 is not activated"));
  ASSERT_EQ(Apply("PortalUserActivated", R"({"user_id":"u1"})", "2025-01-03"), Outcome::kApplied);
  EXPECT_TRUE(portal("2025-01-03")["allowed"]);
  ASSERT_EQ(Apply("PortalUserLocked", R"({"user_id":"u1","reason":"5 bad passwords"})", "2025-02-01"), Outcome::kApplied);
  EXPECT_EQ(Apply("PortalUserLocked", R"({"user_id":"u1"})", "2025-02-01"), Outcome::kAnomaly);
  EXPECT_FALSE(portal("2025-02-02")["allowed"]);
  ASSERT_EQ(Apply("PortalPasswordReset", R"({"user_id":"u1"})", "2025-02-03"), Outcome::kApplied);
  ASSERT_EQ(Apply("PortalUserUnlocked", R"({"user_id":"u1"})", "2025-02-04"), Outcome::kApplied);
  EXPECT_TRUE(portal("2025-02-05")["allowed"]);
  ASSERT_EQ(Apply("AccountSuspended", R"({"reason":"unpaid"})", "2025-03-01"), Outcome::kApplied);
  EXPECT_FALSE(portal("2025-03-02")["allowed"]);
  EXPECT_TRUE(portal("2025-02-05")["allowed"]);  // as of before
  EXPECT_EQ(Apply("PortalUserActivated", R"({"user_id":"ghost"})", "2025-03-03"), Outcome::kAnomaly);
}

TEST_F(Domain, EachHandbookIsForTheOfferingsItBelongsTo) {
  ASSERT_EQ(Apply("PortalUserCreated", R"({"user_id":"u1","email":"u1@a.example"})", "2024-12-01"), Outcome::kApplied);
  ASSERT_EQ(Apply("PortalUserActivated", R"({"user_id":"u1"})", "2024-12-02"), Outcome::kApplied);
  auto portal = [&](const std::string& handbook, const std::string& at) {
    return l_->Ask("portal", {{"account", "A"}, {"user", "u1"}, {"handbook", handbook}, {"at", at}});
  };
  // Account A has Essential Support (AG-1, 2025) and no Business Critical Services.
  EXPECT_TRUE(portal("Essential Support and Basic Maintenance Handbook", "2025-06-01")["allowed"]);
  auto critical = portal("Business Critical Services Handbook", "2025-06-01");
  EXPECT_FALSE(critical["allowed"]);
  EXPECT_TRUE(HasReason(critical, "the Business Critical Services Handbook is for accounts with a current Business "
                                  "Critical Services agreement; account A has none at the time asked"));
  EXPECT_FALSE(portal("Essential Support and Basic Maintenance Handbook", "2026-02-01")["allowed"]);  // lapsed
  EXPECT_TRUE(l_->Ask("portal", {{"account", "A"}, {"user", "u1"}, {"at", "2026-02-01"}})["allowed"]);  // the portal itself
  ASSERT_EQ(Apply("AgreementPurchased",
                  R"({"agreement_id":"AG-2","offering":"BusinessCriticalServices","starts_at":"2025-05-01",
                      "ends_at":"2026-05-01","lines":[{"line_id":"L1","product":"db"}]})",
                  "2025-04-01"),
            Outcome::kApplied);
  EXPECT_TRUE(portal("Business Critical Services Handbook", "2025-06-01")["allowed"]);
  EXPECT_EQ(l_->AskStatus("portal", {{"account", "A"}, {"user", "u1"}, {"handbook", "Gold"}}).code(),
            Status::Code::kInvalidInput);
}

// ---- rule 9: as known at, and explain ---------------------------------------------------

TEST_F(Domain, ALateEventChangesAnswersFromItsArrivalOnly) {
  // Recorded on 2026-03-01: a line for "mail" on AG-1, effective since 2025-02-01.
  const Millis before = l_->last_recorded_at();
  ASSERT_EQ(Apply("AgreementLineAdded",
                  R"({"agreement_id":"AG-1","line":{"line_id":"L2","product":"mail"},"effective_at":"2025-02-01"})",
                  "2025-02-01", "2026-03-01"),
            Outcome::kApplied);
  EXPECT_TRUE(Entitlement("2025-06-01", {{"product", "mail"}})["entitled"]);
  auto then = Entitlement("2025-06-01", {{"product", "mail"}, {"known_at", FormatTime(before)}});
  EXPECT_FALSE(then["entitled"]);
  EXPECT_EQ(then["known_at"], FormatTime(before));
  EXPECT_TRUE(Entitlement("2025-06-01", {{"product", "mail"}, {"known_at", "2026-03-01"}})["entitled"]);
  EXPECT_FALSE(Entitlement("2025-06-01", {{"product", "mail"}, {"known_at", "2026-02-28T23:59:59.999Z"}})["entitled"]);
  // The product line of db was there all along.
  EXPECT_TRUE(Entitlement("2025-06-01", {{"known_at", FormatTime(before)}})["entitled"]);
  // Before the agreement was recorded at all, nothing.
  auto nothing = Entitlement("2025-06-01", {{"known_at", "2026-01-01T00:00:00Z"}});
  EXPECT_EQ(nothing["account_status"], "unknown");
}

TEST_F(Domain, AsKnownAtFollowsEveryVersionOfAnEntity) {
  ASSERT_EQ(Apply("AgreementRenewed", R"({"agreement_id":"AG-1","ends_at":"2027-01-01"})", "2025-12-01", "2026-02-01"),
            Outcome::kApplied);
  ASSERT_EQ(Apply("AgreementTerminated", R"({"agreement_id":"AG-1","effective_at":"2026-06-01"})", "2026-05-01", "2026-05-01"),
            Outcome::kApplied);
  auto at = [&](const std::string& known) {
    return Entitlement("2026-03-01", {{"known_at", known}})["entitled"].get<bool>();
  };
  EXPECT_FALSE(at("2026-01-31"));  // before the renewal was recorded: lapsed
  EXPECT_TRUE(at("2026-02-01"));
  EXPECT_TRUE(at("2026-06-01"));   // the termination came later and takes effect later
  EXPECT_FALSE(Entitlement("2026-07-01")["entitled"]);
  EXPECT_TRUE(Entitlement("2026-07-01", {{"known_at", "2026-04-30"}})["entitled"]);
  auto lapsing = List("agreements-lapsing", "2026-03-01", {{"within_days", "120"}});
  EXPECT_EQ(lapsing["items"][0]["ends_at"], "2026-06-01T00:00:00Z");
  EXPECT_EQ(List("agreements-lapsing", "2026-03-01", {{"within_days", "120"}, {"known_at", "2026-04-30"}})["total"], 0);
}

// As known at R, an agreement recorded after R does not count, while one renewed before
// R counts as renewed: the fold of the journal entries recorded by R.
TEST_F(Domain, AsKnownAtAnEntityRecordedLaterDoesNotCountAndOneChangedEarlierDoes) {
  ASSERT_EQ(Apply("AgreementRenewed", R"({"agreement_id":"AG-1","ends_at":"2027-01-01"})", "2025-12-01", "2026-02-01"),
            Outcome::kApplied);
  ASSERT_EQ(Apply("AgreementPurchased",
                  R"({"agreement_id":"AG-with-the-longest-id-of-all","offering":"BasicMaintenance",
                      "starts_at":"2025-01-01","ends_at":"2027-01-01","lines":[{"line_id":"L9","product":"mail"}]})",
                  "2026-03-01", "2026-03-01"),
            Outcome::kApplied);
  EXPECT_TRUE(Entitlement("2026-06-01", {{"product", "mail"}})["entitled"]);
  auto before = Entitlement("2026-06-01", {{"product", "mail"}, {"known_at", "2026-02-15"}});
  EXPECT_FALSE(before["entitled"]);
  EXPECT_EQ(before["known_at"], "2026-02-15T00:00:00Z");
  EXPECT_TRUE(Entitlement("2026-06-01", {{"known_at", "2026-02-15"}})["entitled"]);  // AG-1, renewed by then
}

TEST_F(Domain, ExplainListsTheEventsBehindTheAnswerInLogOrder) {
  ASSERT_EQ(Apply("AgreementRenewed", R"({"agreement_id":"AG-1","ends_at":"2027-01-01"})", "2025-12-01"), Outcome::kApplied);
  auto a = Entitlement("2026-03-01", {{"explain", "true"}, {"severity", "1"}});
  std::vector<std::string> types;
  int64_t last_offset = -1;
  for (const auto& e : a["events"]) {
    if (e["topic"] == "ledger.events") {
      types.push_back(e["type"]);
      EXPECT_GT(e["offset"].get<int64_t>(), last_offset);
      last_offset = e["offset"];
      EXPECT_TRUE(e.contains("recorded_at") && e.contains("occurred_at") && e.contains("partition"));
    }
  }
  EXPECT_EQ(types, (std::vector<std::string>{"AccountOpened", "AgreementPurchased", "AgreementRenewed"}));
  EXPECT_EQ(a["events"].back()["key"], "ServiceLevelDefined/EssentialSupport/1@2024-01-01T00:00:00Z");
}

TEST_F(Domain, ExplainKeepsEventsRecordedInTheSameMillisecond) {
  // Published together, recorded at one millisecond: the first version never had a record
  // time of its own, and its event still explains the answer.
  ASSERT_EQ(Apply("AgreementPurchased",
                  R"({"agreement_id":"AG-2","offering":"BasicMaintenance","starts_at":"2025-01-01","ends_at":"2026-01-01",
                      "lines":[{"line_id":"L1","product":"mail"}]})",
                  "2024-12-01", "2026-05-01T00:00:00Z"),
            Outcome::kApplied);
  ASSERT_EQ(Apply("AgreementRenewed", R"({"agreement_id":"AG-2","ends_at":"2027-01-01"})", "2025-12-01",
                  "2026-05-01T00:00:00Z"),
            Outcome::kApplied);
  auto a = Entitlement("2026-06-01", {{"product", "mail"}, {"explain", "true"}});
  EXPECT_TRUE(a["entitled"]);
  std::vector<std::string> types;
  for (const auto& e : a["events"]) {
    if (e["topic"] == "ledger.events") types.push_back(e["type"]);
  }
  EXPECT_EQ(types, (std::vector<std::string>{"AccountOpened", "AgreementPurchased", "AgreementRenewed"}));
}

// ---- rejected events and lists ----------------------------------------------------------

TEST_F(Domain, AnomaliesAreListedWithReasonsAndChangeNothing) {
  const auto before = l_->store().ComputeDigest();
  EXPECT_EQ(Apply("AgreementRenewed", R"({"agreement_id":"AG-404","ends_at":"2027-01-01"})", "2025-06-01"), Outcome::kAnomaly);
  const auto after = l_->store().ComputeDigest();
  EXPECT_NE(before->hex, after->hex);  // the anomaly itself is stored...
  EXPECT_EQ(Entitlement("2026-06-01")["entitled"], false);  // ...and the agreement was not renewed
  auto anomalies = List("anomalies", "2030-01-01");
  ASSERT_EQ(anomalies["total"], 1);
  EXPECT_EQ(anomalies["items"][0]["reason"], "agreement AG-404 is unknown (no AgreementPurchased for it)");
  EXPECT_EQ(anomalies["items"][0]["type"], "AgreementRenewed");
  EXPECT_EQ(List("anomalies", "2030-01-01", {{"known_at", "2025-01-01"}})["total"], 0);
}

TEST_F(Domain, ListsPageAndRejectBadParameters) {
  for (int i = 0; i < 5; ++i) {
    ASSERT_EQ(Apply("CourtesyGranted",
                    R"({"grant_id":"G)" + std::to_string(i) + R"(","product":"p","starts_at":"2025-01-01","ends_at":"2025-02-0)" +
                        std::to_string(i + 1) + R"("})",
                    "2024-12-01"),
              Outcome::kApplied);
  }
  auto page = List("grants-expiring", "2025-01-15", {{"within_days", "30"}, {"limit", "2"}, {"offset", "1"}});
  EXPECT_EQ(page["total"], 5);
  ASSERT_EQ(page["items"].size(), 2u);
  EXPECT_EQ(page["items"][0]["grant"], "G1");
  // Within 18 days of 2025-01-15 is before 2025-02-02: only G0 (ends 2025-02-01).
  EXPECT_EQ(List("grants-expiring", "2025-01-15", {{"within_days", "18"}})["total"], 1);
  EXPECT_EQ(l_->AskStatus("list", {{"list", "everything"}}).code(), Status::Code::kNotFound);
  EXPECT_EQ(l_->AskStatus("list", {{"list", "open-cases"}, {"limit", "-1"}}).code(), Status::Code::kInvalidInput);
  EXPECT_EQ(l_->AskStatus("entitlement", {{"account", "A"}, {"product", "db"}, {"at", "2025-02-30"}}).code(),
            Status::Code::kInvalidInput);
  EXPECT_EQ(l_->AskStatus("entitlement", {{"account", "A"}}).code(), Status::Code::kInvalidInput);
  EXPECT_EQ(l_->AskStatus("entitlement", {{"account", "A"}, {"product", "db"}, {"colour", "red"}}).code(),
            Status::Code::kInvalidInput);
  EXPECT_EQ(l_->AskStatus("weather", {}).code(), Status::Code::kNotFound);
}

TEST_F(Domain, AListPastItsBoundIsRefusedSayingHowToNarrowIt) {
  for (int i = 0; i < 5; ++i) {
    ASSERT_EQ(Apply("CourtesyGranted",
                    R"({"grant_id":"G)" + std::to_string(i) + R"(","product":"p","starts_at":"2025-01-01","ends_at":"2025-02-01"})",
                    "2024-12-01"),
              Outcome::kApplied);
  }
  auto view = LedgerView::Create(&l_->store());
  ASSERT_TRUE(view.ok());
  (*view)->set_list_bounds({.most_entries = 4, .deadline = std::chrono::seconds(60)});
  for (const auto& extra : std::vector<std::map<std::string, std::string>>{{}, {{"account", "A"}}, {{"known_at", "2030-01-01"}}}) {
    std::map<std::string, std::string> params = {{"list", "grants-expiring"}, {"at", "2025-01-15"}, {"limit", "1"}};
    params.insert(extra.begin(), extra.end());
    auto refused = (*view)->Ask({"list", params});
    ASSERT_FALSE(refused.ok()) << (extra.empty() ? "" : extra.begin()->first);
    EXPECT_EQ(refused.status().code(), Status::Code::kTooLarge);
    EXPECT_EQ(refused.status().message().rfind("grants-expiring: more than 4 entries to read; narrow it", 0), 0u)
        << refused.status().message();
  }
  (*view)->set_list_bounds({.most_entries = 5, .deadline = std::chrono::seconds(60)});
  auto answered = (*view)->Ask({"list", {{"list", "grants-expiring"}, {"at", "2025-01-15"}, {"limit", "1"}}});
  ASSERT_TRUE(answered.ok()) << answered.status().message();
  EXPECT_EQ((*answered)["total"], 5);
}

// "Which open cases breached their response target last month, and why?": a window on
// the due time, a status filter, and the reason beside each.
TEST_F(Domain, BreachedCasesByWindowAndStatusSayWhy) {
  // K1: severity 1 due 11:00, acknowledged 11:30; K2: due 13:00 in July, never acknowledged;
  // K3: due 11:00 in June, never acknowledged, closed later.
  ASSERT_EQ(Apply("CaseOpened", R"({"case_id":"K1","contact_id":"C1","product":"db","severity":1})", "2025-06-02T10:00:00Z"),
            Outcome::kApplied);
  ASSERT_EQ(Apply("CaseAcknowledged", R"({"case_id":"K1","engineer":"e1"})", "2025-06-02T11:30:00Z"), Outcome::kApplied);
  ASSERT_EQ(Apply("CaseOpened", R"({"case_id":"K3","contact_id":"C1","product":"db","severity":1})", "2025-06-03T10:00:00Z"),
            Outcome::kApplied);
  ASSERT_EQ(Apply("CaseClosed", R"({"case_id":"K3"})", "2025-06-20T10:00:00Z"), Outcome::kApplied);
  ASSERT_EQ(Apply("CaseOpened", R"({"case_id":"K2","contact_id":"C1","product":"db","severity":1})", "2025-07-01T12:00:00Z"),
            Outcome::kApplied);

  auto june = List("breached-cases", "2025-07-15", {{"from", "2025-06-01"}, {"to", "2025-07-01"}});
  ASSERT_EQ(june["total"], 2) << june.dump();
  EXPECT_EQ(june["items"][0]["case"], "K1");
  EXPECT_EQ(june["items"][0]["account_name"], "Acme");
  EXPECT_EQ(june["items"][0]["why"], "acknowledged 30 min late at 2025-06-02T11:30:00Z; due 2025-06-02T11:00:00Z (60 min, 24x7)");
  EXPECT_EQ(june["items"][1]["case"], "K3");
  EXPECT_EQ(june["items"][1]["why"], "not acknowledged; due 2025-06-03T11:00:00Z (60 min, 24x7)");

  auto open = List("breached-cases", "2025-07-15", {{"status", "open"}});
  ASSERT_EQ(open["total"], 2) << open.dump();  // K1 (acknowledged, still open) and K2
  for (const auto& item : open["items"]) EXPECT_NE(item["case"], "K3");
  auto closed = List("breached-cases", "2025-07-15", {{"status", "closed"}});
  ASSERT_EQ(closed["total"], 1);
  EXPECT_EQ(closed["items"][0]["case"], "K3");
  auto view = LedgerView::Create(&l_->store());
  ASSERT_TRUE(view.ok());
  EXPECT_FALSE((*view)->Ask({"list", {{"list", "open-cases"}, {"status", "open"}}}).ok());
}

// An account whose every event was rejected is the one to look at: its story and its
// anomalies answer; an id close to a known one is named.
TEST_F(Domain, AnUnknownAccountIsExplained) {
  ASSERT_EQ(l_->Apply("AccountOpened", "ACME-001", R"({"name":"Acme Corp","region":"EMEA"})", "2024-01-01").outcome,
            Outcome::kApplied);
  ASSERT_EQ(l_->Apply("CaseOpened", "NEVER-OPENED", R"({"case_id":"K1","contact_id":"C1","product":"db","severity":3})",
                      "2025-06-02")
                .outcome,
            Outcome::kAnomaly);
  auto view = LedgerView::Create(&l_->store());
  ASSERT_TRUE(view.ok());
  auto story = (*view)->AccountEvents("NEVER-OPENED");
  ASSERT_TRUE(story.ok()) << story.status().message();
  ASSERT_EQ(story->size(), 1u);
  EXPECT_EQ((*story)[0]["anomaly"]["type"], "CaseOpened");
  auto anomalies = List("anomalies", "2025-07-01", {{"account", "NEVER-OPENED"}});
  EXPECT_EQ(anomalies["total"], 1) << anomalies.dump();

  // Advice for the person asking (the CLI's stderr, the API's X-Ledger-Hint).
  EXPECT_EQ((*view)->UnknownAccountHint("ACME-01"), "did you mean ACME-001?");
  EXPECT_EQ((*view)->UnknownAccountHint("NEVER-OPENED").rfind("its 1 event(s) were rejected", 0), 0u);
  EXPECT_EQ((*view)->UnknownAccountHint("ZZZZZZZZZZ"), "");
  auto none = (*view)->AccountEvents("ZZZZZZZZZZ");
  ASSERT_FALSE(none.ok());
  EXPECT_EQ(none.status().code(), Status::Code::kNotFound);
}

// Lists to look ids up: the accounts, and the products their agreements cover.
TEST_F(Domain, AccountsAndProductsAreListed) {
  ASSERT_EQ(l_->Apply("AccountOpened", "B", R"({"name":"Beta","region":"APJ"})", "2025-03-01").outcome, Outcome::kApplied);
  auto accounts = List("accounts", "2025-02-01");
  ASSERT_EQ(accounts["total"], 2) << accounts.dump();
  EXPECT_EQ(accounts["items"][0]["account"], "A");
  EXPECT_EQ(accounts["items"][0]["account_name"], "Acme");
  EXPECT_EQ(accounts["items"][0]["status"], "active");
  EXPECT_EQ(accounts["items"][1]["account"], "B");
  EXPECT_EQ(accounts["items"][1]["status"], "not yet open");
  auto products = List("products", "2025-06-01");
  ASSERT_EQ(products["total"], 1) << products.dump();
  EXPECT_EQ(products["items"][0]["product"], "db");
  EXPECT_EQ(products["items"][0]["account"], "A");
  EXPECT_EQ(products["items"][0]["agreement"], "AG-1");
  EXPECT_EQ(products["counts"]["db"], 1);
  EXPECT_EQ(List("products", "2026-06-01")["total"], 0);  // the agreement ended
}

// What help says is what is checked; what does not apply is refused, not ignored; a
// mistyped list is named with the closest one.
TEST_F(Domain, QuestionsRefuseWhatHelpDoesNotAllow) {
  auto view = LedgerView::Create(&l_->store());
  ASSERT_TRUE(view.ok());
  auto severity0 = (*view)->Ask({"entitlement", {{"account", "A"}, {"product", "p"}, {"severity", "0"}}});
  ASSERT_FALSE(severity0.ok());
  EXPECT_EQ(severity0.status().code(), Status::Code::kInvalidInput);
  EXPECT_NE(severity0.status().message().find("from 1 to 4"), std::string::npos) << severity0.status().message();
  EXPECT_TRUE((*view)->Ask({"entitlement", {{"account", "A"}, {"product", "p"}, {"severity", "4"}}}).ok());

  auto within = (*view)->Ask({"list", {{"list", "open-cases"}, {"within_days", "30"}}});
  ASSERT_FALSE(within.ok());
  EXPECT_EQ(within.status().code(), Status::Code::kInvalidInput);
  EXPECT_NE(within.status().message().find("within_days does not apply"), std::string::npos) << within.status().message();
  EXPECT_TRUE((*view)->Ask({"list", {{"list", "grants-expiring"}, {"within_days", "30"}}}).ok());

  auto typo = (*view)->Ask({"list", {{"list", "open-case"}}});
  ASSERT_FALSE(typo.ok());
  EXPECT_NE(typo.status().message().find("did you mean \"open-cases\"?"), std::string::npos) << typo.status().message();
}

TEST(ClosestName, NamesATypoAndNothingFarther) {
  const std::vector<std::string> names = {"entitlement", "intake", "case", "portal", "list"};
  EXPECT_EQ(ClosestName("entitlment", names), "entitlement");
  EXPECT_EQ(ClosestName("entitlemnet", names), "entitlement");  // letters swapped
  EXPECT_EQ(ClosestName("cases", names), "case");
  EXPECT_EQ(ClosestName("refund", names), "");
  EXPECT_EQ(ClosestName("x", names), "");
  EXPECT_EQ(EditDistance("--acount", "--account"), 1u);
}

}  // namespace
}  // namespace ledger
