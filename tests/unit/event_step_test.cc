// The per-event step's checks on a record, as the projector runs them: what a careless
// or hostile producer can send is dead-lettered with a reason that says what to fix.
#include <gtest/gtest.h>

#include "ledger/base/text.h"
#include "ledger/kafka/partitioner.h"
#include "ledger/projector/event_step.h"
#include "ledger/rules/rules.h"
#include "ledger/schema/event_codec.h"
#include "store_ledger.h"

namespace ledger {
namespace {

class EventStep : public testing::Test {
 protected:
  void SetUp() override { codec_ = std::move(*EventCodec::Create()); }

  EncodedEvent Encode(const std::string& account) {
    auto e = codec_->FromJson(R"({"type":"AccountOpened","account_id":")" + account +
                                  R"(","occurred_at":"2025-01-01","data":{"name":"n"}})",
                              *ParseTime("2025-01-02"));
    EXPECT_TRUE(e.ok()) << e.status().message();
    return *e;
  }
  static EventRecord RecordOf(const EncodedEvent& e, const std::string& bytes) {
    EventRecord r;
    r.key = e.key;
    r.payload = bytes;
    r.recorded_at = *ParseTime("2025-01-02");
    return r;
  }
  static std::string Reason(const EventRecord& r) {
    auto v = VerifyRecord(r);
    return v.ok() ? "accepted" : v.status().message();
  }

  std::unique_ptr<EventCodec> codec_;
};

TEST_F(EventStep, AnAccountIdWithAControlCharacterIsRejectedNotStoredUnderAnotherKey) {
  const EncodedEvent e = Encode("ACME-XY");
  std::string bytes = e.bytes;
  const size_t at = bytes.find("ACME-XY");
  ASSERT_NE(at, std::string::npos);
  bytes[at + 4] = '\0';  // "ACME\0XY": its keys would land in account ACME's group
  EventRecord r = RecordOf(e, bytes);
  r.key = std::string_view(bytes).substr(at, 7);
  EXPECT_EQ(Reason(r), "AccountOpened: account_id: contains a control character");
  // Where ids enter as JSON, the same rule.
  auto json = codec_->FromJson(R"({"type":"ContactDesignated","account_id":"A","data":{"contact_id":"C\u0001","name":"n"}})",
                               *ParseTime("2025-01-02"));
  ASSERT_FALSE(json.ok());
  EXPECT_NE(json.status().message().find("contact_id contains a control character"), std::string::npos)
      << json.status().message();
}

TEST_F(EventStep, AnEventOnAnotherPartitionThanItsKeysMurmur2IsRejectedSayingWhatToSet) {
  const EncodedEvent e = Encode("ACME");
  EventRecord r = RecordOf(e, e.bytes);
  r.partition_count = 6;
  r.partition = KafkaPartitionOf("ACME", 6);
  EXPECT_EQ(Reason(r), "accepted");
  r.partition = (r.partition + 1) % 6;
  const std::string why = Reason(r);
  EXPECT_NE(why.find("account ACME belongs on partition " + std::to_string(KafkaPartitionOf("ACME", 6)) + " of 6"),
            std::string::npos)
      << why;
  EXPECT_NE(why.find("partitioner=murmur2_random"), std::string::npos) << why;
}

TEST_F(EventStep, ATypeHeaderThatDisagreesWithTheUnionIsRejected) {
  const EncodedEvent e = Encode("ACME");
  EventRecord r = RecordOf(e, e.bytes);
  r.type_header = "AccountOpened";
  EXPECT_EQ(Reason(r), "accepted");
  r.type_header = "AccountSuspended";
  EXPECT_EQ(Reason(r), "the header ledger.type says 'AccountSuspended' but the envelope holds AccountOpened");
}

TEST_F(EventStep, ABufferWithoutTheFileIdentifierIsNamedAsSuch) {
  const EncodedEvent e = Encode("ACME");
  std::string bytes = e.bytes;
  bytes.replace(4, 4, "XXXX");
  const std::string why = Reason(RecordOf(e, bytes));
  EXPECT_NE(why.find("no file identifier \"LDG1\" at bytes 4-7"), std::string::npos) << why;
}

TEST_F(EventStep, AWrongKeyIsEchoedCappedAndEscaped) {
  const EncodedEvent e = Encode("ACME");
  EventRecord r = RecordOf(e, e.bytes);
  const std::string huge = "\x1b[31m" + std::string(600000, 'k');
  r.key = huge;
  const std::string why = Reason(r);
  EXPECT_LT(why.size(), 400u);
  EXPECT_NE(why.find("\\x1b[31m"), std::string::npos) << why;
  EXPECT_NE(why.find("(600005 bytes)"), std::string::npos) << why;
}

TEST(Idempotence, AnEventIdReusedForOtherContentIsAnAnomalyNotADuplicate) {
  test_support::StoreLedger l("reused-event-ids");
  const std::string id = R"("event_id":"01930000-0000-7000-8000-00000000abcd")";
  auto line = [&](const std::string& name, const std::string& occurred) {
    return R"({"type":"AccountOpened","account_id":"A",)" + id + occurred + R"(,"data":{"name":")" + name + R"("}})";
  };
  EXPECT_EQ(l.ApplyLine(line("Acme", R"(,"occurred_at":"2025-01-01")")).outcome, Outcome::kApplied);
  // The same event sent again: a duplicate, even with occurred_at stamped anew.
  EXPECT_EQ(l.ApplyLine(line("Acme", R"(,"occurred_at":"2025-01-01")")).outcome, Outcome::kDuplicate);
  EXPECT_EQ(l.ApplyLine(line("Acme", "")).outcome, Outcome::kDuplicate);
  // The same id for another event: recorded as the account's anomaly, not applied.
  Applied reused = l.ApplyLine(line("Evil Corp", R"(,"occurred_at":"2025-01-01")"));
  EXPECT_EQ(reused.outcome, Outcome::kAnomaly);
  EXPECT_NE(reused.reason.find("was used before (at offset 0 of this partition) for other content"), std::string::npos)
      << reused.reason;
  auto story = l.AccountEvents("A");
  ASSERT_TRUE(story.ok());
  EXPECT_EQ(story->back()["anomaly"]["reason"], reused.reason);
  EXPECT_EQ(l.Ask("entitlement", {{"account", "A"}, {"product", "p"}, {"at", "2025-06-01"}})["account_status"],
            "active");
}

TEST(Printable, EscapesControlCharactersAndCutsAtACharacter) {
  EXPECT_EQ(Printable("a\nb\\c"), "a\\x0ab\\\\c");
  EXPECT_EQ(Printable("abcdef", 3), "abc … (6 bytes)");
  EXPECT_EQ(Printable("aé", 2), "a … (3 bytes)");  // never half of "é"
}

TEST(PlausibleTimes, SecondsForMillisecondsAndFarFutureTimesAreAnomalies) {
  test_support::StoreLedger l("plausible-times");
  // 1,735,689,600 (2025-01-01 in seconds) read as milliseconds: 1970-01-21.
  // No JSON line may say so (ParseTime accepts years from 1971); another producer can.
  Applied seconds = l.ApplyLine(R"({"type":"AccountOpened","account_id":"A","event_id":")" + FormatUuid(NewUuidV7(1)) +
                                    R"(","occurred_at":"2025-01-01","data":{"name":"n"}})",
                                "2025-01-02", Millis{1735689600});
  EXPECT_EQ(seconds.outcome, Outcome::kAnomaly);
  EXPECT_NE(seconds.reason.find("a time in seconds where milliseconds are expected?"), std::string::npos)
      << seconds.reason;
  Applied ahead = l.Apply("AccountOpened", "B", R"({"name":"n"})", "2031-01-01", "2025-01-02");
  EXPECT_EQ(ahead.outcome, Outcome::kAnomaly);
  EXPECT_EQ(ahead.reason,
            "occurred_at 2031-01-01T00:00:00Z is more than 366 days after the record time 2025-01-02T00:00:00Z");
  EXPECT_EQ(l.Apply("AccountOpened", "C", R"({"name":"n"})", "2025-06-01", "2025-01-02").outcome, Outcome::kApplied);
  EXPECT_EQ(ImplausibleTime(*ParseTime("1971-01-01"), 0), "");
}

TEST(LargeRefolds, AreCountedAndNamedNeverSilent) {
  test_support::StoreLedger l("large-refolds");
  const Millis base = *ParseTime("2025-01-01");
  auto line = [](const std::string& type, Millis at, const std::string& data) {
    return R"({"type":")" + type + R"(","account_id":"LONG","event_id":")" + FormatUuid(NewUuidV7(at)) +
           R"(","occurred_at":")" + FormatTime(at) + R"(","data":)" + data + "}";
  };
  std::vector<std::string> lines = {
      line("AccountOpened", base, R"({"name":"n"})"),
      line("AgreementPurchased", base + 1000,
           R"({"agreement_id":"AG-1","offering":"BasicMaintenance","starts_at":"2025-01-01","ends_at":"2026-01-01"})")};
  for (int i = 0; i < static_cast<int>(kLargeRefoldEntries); ++i) {
    lines.push_back(line("AgreementRenewed", base + 60000 + i * 1000LL, R"({"agreement_id":"AG-1","ends_at":"2027-01-01"})"));
  }
  RefoldCounts in_order = l.ApplyBatch(lines);
  EXPECT_EQ(in_order.large, 0u);
  // A renewal that belongs before all the others: the journal is folded again from it.
  RefoldCounts late = l.ApplyBatch({line("AgreementRenewed", base + 2000, R"({"agreement_id":"AG-1","ends_at":"2026-06-01"})")});
  EXPECT_EQ(late.accounts, 1u);
  EXPECT_GT(late.events, kLargeRefoldEntries);
  EXPECT_EQ(late.large, 1u);
}

// A refold left for later (a long account's, run beside the projection): the store holds
// the account stale, questions are answered from its journal meanwhile, and once folded
// again the store is the one an inline refold gives.
TEST(DeferredRefolds, AStaleAccountIsAnsweredFromItsJournalAndSettlesToTheSameStore) {
  auto line = [](const std::string& type, const std::string& at, const std::string& data) {
    return R"({"type":")" + type + R"(","account_id":"LONG","event_id":")" + FormatUuid(NewUuidV7(*ParseTime(at))) +
           R"(","occurred_at":")" + at + R"(","data":)" + data + "}";
  };
  const std::vector<std::string> in_order = {
      line("AccountOpened", "2025-01-01", R"({"name":"n"})"),
      line("AgreementPurchased", "2025-01-02",
           R"({"agreement_id":"AG-1","offering":"BasicMaintenance","starts_at":"2025-01-01","ends_at":"2025-06-01","lines":[{"line_id":"L1","product":"web-gateway"}]})"),
      line("AgreementRenewed", "2025-03-01", R"({"agreement_id":"AG-1","ends_at":"2025-12-01"})")};
  const std::string late = line("AgreementRenewed", "2025-02-01", R"({"agreement_id":"AG-1","ends_at":"2026-06-01"})");
  test_support::StoreLedger deferred("deferred-refold"), inline_("inline-refold");
  deferred.ApplyBatch(in_order);
  inline_.ApplyBatch(in_order);
  RefoldPolicy later;
  later.defer = [](int, std::string_view, Millis) { return true; };
  RefoldCounts left = deferred.ApplyBatch({late}, later);
  ASSERT_EQ(left.deferred.size(), 1u);
  EXPECT_EQ(left.deferred[0].second, "LONG");
  EXPECT_EQ(left.accounts, 0u);
  EXPECT_EQ(inline_.ApplyBatch({late}).accounts, 1u);
  EXPECT_NE(deferred.store().ComputeDigest()->hex, inline_.store().ComputeDigest()->hex);  // stale in the store

  const std::map<std::string, std::string> asked = {
      {"account", "LONG"}, {"product", "web-gateway"}, {"at", "2025-02-15"}, {"explain", "true"}};
  const Json answer = inline_.Ask("entitlement", asked);
  EXPECT_NE(answer.dump().find("2026-06-01"), std::string::npos) << answer.dump();  // the late renewal counts
  EXPECT_EQ(deferred.Ask("entitlement", asked), answer);
  const std::map<std::string, std::string> lapsing = {
      {"list", "agreements-lapsing"}, {"account", "LONG"}, {"at", "2025-02-15"}, {"within_days", "3650"}};
  const Json listed = inline_.Ask("list", lapsing);
  EXPECT_EQ(listed["items"][0]["ends_at"], "2026-06-01T00:00:00Z") << listed.dump();
  EXPECT_EQ(deferred.Ask("list", lapsing), listed);

  // Folded again later (as the projector stages a refold done beside it): the same store.
  RefoldCounts settled = deferred.ApplyBatch({}, {}, {{left.deferred[0].first, "LONG"}});
  EXPECT_EQ(settled.accounts, 1u);
  EXPECT_EQ(deferred.store().ComputeDigest()->hex, inline_.store().ComputeDigest()->hex);
}

}  // namespace
}  // namespace ledger
