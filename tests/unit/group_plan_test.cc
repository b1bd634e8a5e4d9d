// Who answers for which partition in a projector group, and who follows which as a
// standby (consumers/cluster/group_plan.h), from announcements made up here.
#include "ledger/cluster/group_plan.h"

#include <gtest/gtest.h>

#include <set>

#include "ledger/kafka/partitioner.h"

namespace ledger {
namespace {

InstanceAnnouncement Other(const std::string& id, std::vector<int> owned, std::vector<int> standby = {},
                           std::vector<int> restoring = {}) {
  InstanceAnnouncement a;
  a.instance = id;
  a.url = "http://" + id;
  a.owned = std::move(owned);
  a.standby = std::move(standby);
  a.restoring = std::move(restoring);
  a.partition_count = 4;
  return a;
}

LocalPartitions Local(std::vector<int> owned, std::vector<int> restoring, std::vector<int> following, int count,
                      std::map<int, int64_t> behind = {}) {
  LocalPartitions local;
  local.owned = std::move(owned);
  local.restoring = std::move(restoring);
  local.following = std::move(following);
  local.partition_count = count;
  local.behind = std::move(behind);
  return local;
}

// Where RouteAccount sends the question ("" here), or its error.
std::string Url(const Result<Answerer>& where) { return where.ok() ? where->url : "error: " + where.status().message(); }

// An account whose partition (of 4) is `p`.
std::string AccountIn(int p) {
  for (int i = 0;; ++i) {
    const std::string account = "ACME-" + std::to_string(i);
    if (KafkaPartitionOf(account, 4) == p) return account;
  }
}

TEST(GroupPlan, AloneEverythingIsAnsweredHereButNothingBeforeItKnowsItsGroup) {
  LocalPartitions all = Local({0, 1, 2, 3}, {1}, {}, 4);  // a single projector, catching up with 1
  EXPECT_EQ(Url(RouteAccount(all, {}, AccountIn(1))), "");
  EXPECT_TRUE(PlanList(all, {})->empty());
  // Not assigned yet: the owner the others announce answers, never this store.
  LocalPartitions none;
  EXPECT_EQ(Url(RouteAccount(none, {{"b", Other("b", {0, 1, 2, 3})}}, AccountIn(2))), "http://b");
  auto plan = PlanList(none, {{"b", Other("b", {0, 1, 2, 3})}});
  ASSERT_TRUE(plan.ok()) << plan.status().message();
  EXPECT_EQ(plan->at("http://b"), (std::vector<int>{0, 1, 2, 3}));
  // Nothing heard and nothing assigned: no answer, and why.
  auto unknown = RouteAccount(none, {}, "X");
  ASSERT_FALSE(unknown.ok());
  EXPECT_NE(unknown.status().message().find("not joined its group yet"), std::string::npos);
  EXPECT_FALSE(PlanList(none, {}).ok());
  EXPECT_FALSE(AnswersHere(none, {0}, {}).ok());
  // Assigned every partition but still reading the announcements: not known to be alone.
  LocalPartitions reading = Local({0, 1, 2, 3}, {}, {}, 4);
  reading.heard_group = false;
  EXPECT_EQ(Url(RouteAccount(reading, {}, AccountIn(0))), "");  // owned, caught up
  reading.restoring = {1};
  auto catching_up = RouteAccount(reading, {}, AccountIn(1));
  ASSERT_FALSE(catching_up.ok());
  EXPECT_NE(catching_up.status().message().find("still reading its group's announcements"), std::string::npos);
}

TEST(GroupPlan, AnInstanceThatHearsFromNoOtherAnswersOnlyForWhatItHolds) {
  // It owns half the partitions: the others' announcements are late, not absent.
  LocalPartitions mine = Local({0, 1}, {}, {3}, 4);
  EXPECT_EQ(Url(RouteAccount(mine, {}, AccountIn(0))), "");
  EXPECT_EQ(Url(RouteAccount(mine, {}, AccountIn(3))), "");  // it follows 3
  auto other = RouteAccount(mine, {}, AccountIn(2));
  ASSERT_FALSE(other.ok());
  EXPECT_EQ(other.status().code(), Status::Code::kUnavailable);
  EXPECT_FALSE(PlanList(mine, {}).ok());
}

TEST(GroupPlan, TheCaughtUpOwnerAnswersThenAStandby) {
  const Announcements others{{"b", Other("b", {2, 3}, {0})}, {"c", Other("c", {}, {1, 2})}};
  LocalPartitions mine = Local({0, 1}, {1}, {3}, 4);  // a owns 0 and 1 (1 still restoring), follows 3
  EXPECT_EQ(Url(RouteAccount(mine, others, AccountIn(0))), "");
  EXPECT_EQ(Url(RouteAccount(mine, others, AccountIn(1))), "http://c");  // restoring here: c's standby
  EXPECT_EQ(Url(RouteAccount(mine, others, AccountIn(2))), "http://b");  // b owns it
  EXPECT_EQ(Url(RouteAccount(mine, others, AccountIn(3))), "http://b");  // b owns it: not this standby
  // b gone: its partitions go to their standbys, this one first.
  const Announcements without_b{{"c", Other("c", {}, {1, 2})}};
  EXPECT_EQ(Url(RouteAccount(mine, without_b, AccountIn(2))), "http://c");
  EXPECT_EQ(Url(RouteAccount(mine, without_b, AccountIn(3))), "");
  // Nobody for a partition: a hand-over, not a guess.
  const Announcements only_owner{{"b", Other("b", {2})}};
  auto none = RouteAccount(Local({0}, {}, {}, 4), only_owner, AccountIn(3));
  ASSERT_FALSE(none.ok());
  EXPECT_EQ(none.status().code(), Status::Code::kUnavailable);
  EXPECT_NE(none.status().message().find("partition 3"), std::string::npos) << none.status().message();
}

TEST(GroupPlan, ASilentOwnerIsPassedOverOnlyByQuestionsThatAllowAStandbyWithinTheirLag) {
  // b owns 2 and 3 and is announced, but did not answer just now; a follows 2 (5 events
  // behind) and c follows 3 (announced 2 behind).
  InstanceAnnouncement c = Other("c", {}, {3});
  c.behind = {{3, 2}};
  const Announcements others{{"b", Other("b", {2, 3})}, {"c", c}};
  const LocalPartitions mine = Local({0, 1}, {}, {2}, 4, {{2, 5}});
  ReadBound owner_only;
  owner_only.unreachable = {"http://b"};
  // Without max_lag: the owner only, until its announcement goes stale (the grace).
  auto waits = RouteAccount(mine, others, AccountIn(2), owner_only);
  ASSERT_FALSE(waits.ok());
  EXPECT_EQ(waits.status().code(), Status::Code::kUnavailable);
  EXPECT_EQ(Url(RouteAccount(mine, others, AccountIn(2))), "http://b");  // b not known to be silent
  // With max_lag: a standby at once, if within the bound.
  ReadBound within = owner_only;
  within.max_lag = 5;
  auto here = RouteAccount(mine, others, AccountIn(2), within);
  ASSERT_TRUE(here.ok()) << here.status().message();
  EXPECT_EQ(here->url, "");
  EXPECT_TRUE(here->standby);
  EXPECT_EQ(here->behind, 5);
  EXPECT_EQ(Url(RouteAccount(mine, others, AccountIn(3), within)), "http://c");  // c checks its own lag
  ReadBound tight = owner_only;
  tight.max_lag = 4;
  auto behind = RouteAccount(mine, others, AccountIn(2), tight);
  ASSERT_FALSE(behind.ok());
  EXPECT_NE(behind.status().message().find("5 events behind, more than max_lag=4"), std::string::npos)
      << behind.status().message();
  // Another instance's standby is chosen by the lag it announces: beyond the bound, not.
  ReadBound two = owner_only;
  two.max_lag = 1;
  EXPECT_FALSE(RouteAccount(mine, others, AccountIn(3), two).ok());
  // The owner gone from the announcements: a standby answers, bounded only if asked.
  const Announcements without_b{{"c", Other("c", {}, {3})}};
  EXPECT_EQ(Url(RouteAccount(mine, without_b, AccountIn(2))), "");
  EXPECT_FALSE(RouteAccount(mine, without_b, AccountIn(2), tight).ok());
  // A lag not known yet is within no bound.
  EXPECT_FALSE(RouteAccount(Local({0, 1}, {}, {2}, 4), without_b, AccountIn(2), within).ok());
  // The plan of a list follows the same rules.
  auto plan = PlanList(mine, others, within);
  ASSERT_TRUE(plan.ok()) << plan.status().message();
  EXPECT_EQ(*plan, (std::map<std::string, std::vector<int>>{{"", {0, 1, 2}}, {"http://c", {3}}}));
  EXPECT_FALSE(PlanList(mine, others, owner_only).ok());
}

TEST(GroupPlan, AnAnnouncementReadsBackAsWrittenAndAMalformedOneIsRefused) {
  InstanceAnnouncement a = Other("b", {0, 3}, {1}, {2});
  a.positions = {{0, 41}, {3, 7}};
  a.behind = {{1, 5}};
  auto back = DecodeAnnouncement(EncodeAnnouncement(a));
  ASSERT_TRUE(back.ok()) << back.status().message();
  EXPECT_EQ(back->instance, "b");
  EXPECT_EQ(back->url, "http://b");
  EXPECT_EQ(back->owned, a.owned);
  EXPECT_EQ(back->standby, a.standby);
  EXPECT_EQ(back->restoring, a.restoring);
  EXPECT_EQ(back->partition_count, 4);
  EXPECT_EQ(back->positions, a.positions);
  EXPECT_EQ(back->behind, a.behind);
  for (const char* bad : {"", "[]", R"({"url":"http://x"})", R"({"instance":"x","owned":"all"})",
                          R"({"instance":"","owned":[]})"}) {
    EXPECT_FALSE(DecodeAnnouncement(bad).ok()) << bad;
  }
}

TEST(GroupPlan, OfOtherInstancesStandbysTheLeastBehindAnswers) {
  InstanceAnnouncement c = Other("c", {}, {2}), d = Other("d", {}, {2}), e = Other("e", {}, {2});
  c.behind = {{2, 40}};
  d.behind = {{2, 3}};  // e announces no lag for 2
  const Announcements others{{"c", c}, {"d", d}, {"e", e}};
  const LocalPartitions mine = Local({0, 1}, {}, {}, 4);
  auto where = RouteAccount(mine, others, AccountIn(2));
  ASSERT_TRUE(where.ok()) << where.status().message();
  EXPECT_EQ(where->url, "http://d");
  EXPECT_TRUE(where->standby);
  EXPECT_EQ(where->behind, 3);
  ReadBound bound;
  bound.max_lag = 2;  // none within it (e's lag is not known)
  EXPECT_FALSE(RouteAccount(mine, others, AccountIn(2), bound).ok());
}

TEST(GroupPlan, AForwardedQuestionIsAnsweredFromWhatThisInstanceHoldsOrNotAtAll) {
  const Announcements others{{"b", Other("b", {2, 3})}};
  const LocalPartitions mine = Local({0, 1}, {1}, {2}, 4, {{2, 7}});
  ReadBound forwarded;
  forwarded.forwarded = true;
  auto owner = RouteAccount(mine, others, AccountIn(0), forwarded);
  ASSERT_TRUE(owner.ok());
  EXPECT_EQ(owner->url, "");
  EXPECT_FALSE(owner->standby);
  // Not to be passed on again: a partition it follows is answered here (the asking
  // instance chose its standby), one it is catching up with or does not hold is not.
  auto standby = RouteAccount(mine, others, AccountIn(2), forwarded);
  ASSERT_TRUE(standby.ok());
  EXPECT_TRUE(standby->standby);
  EXPECT_EQ(standby->behind, 7);
  EXPECT_NE(Url(RouteAccount(mine, others, AccountIn(1), forwarded)).find("catching up"), std::string::npos);
  EXPECT_NE(Url(RouteAccount(mine, others, AccountIn(3), forwarded)).find("no longer held"), std::string::npos);
  forwarded.max_lag = 6;
  EXPECT_FALSE(RouteAccount(mine, others, AccountIn(2), forwarded).ok());
  EXPECT_TRUE(AnswersHere(mine, {0}, forwarded).ok());
  EXPECT_FALSE(AnswersHere(mine, {0, 2}, forwarded).ok());
  forwarded.max_lag = 7;
  EXPECT_TRUE(AnswersHere(mine, {0, 2}, forwarded).ok());
  EXPECT_FALSE(AnswersHere(mine, {1}, forwarded).ok());
}

TEST(GroupPlan, AStandbyStillCatchingUpWithAPartitionAnswersNothingOfIt) {
  // a has just been given 2 to follow (its store may not hold 2's accounts yet); c
  // follows it and has caught up.
  LocalPartitions mine = Local({0, 1}, {}, {2}, 4, {{2, 0}});
  mine.following_restoring = {2};
  const Announcements others{{"c", Other("c", {}, {2})}};
  EXPECT_EQ(Url(RouteAccount(mine, others, AccountIn(2))), "http://c");
  EXPECT_FALSE(RouteAccount(mine, {{"b", Other("b", {3})}}, AccountIn(2)).ok());
  ReadBound forwarded;
  forwarded.forwarded = true;
  EXPECT_NE(Url(RouteAccount(mine, others, AccountIn(2), forwarded)).find("catching up"), std::string::npos);
  EXPECT_FALSE(AnswersHere(mine, {2}, forwarded).ok());
  mine.following_restoring.clear();  // caught up
  EXPECT_EQ(Url(RouteAccount(mine, others, AccountIn(2))), "");
}

TEST(GroupPlan, AnInstanceAnnouncesAnAddressTheOthersCanReach) {
  EXPECT_EQ(*AnnouncedUrl("http://127.0.0.1:8080", "", "node7"), "http://127.0.0.1:8080");
  EXPECT_EQ(*AnnouncedUrl("http://0.0.0.0:8080", "", "node7"), "http://node7:8080");
  EXPECT_EQ(*AnnouncedUrl("https://[::]:8443", "", "node7"), "https://node7:8443");
  EXPECT_EQ(*AnnouncedUrl("http://0.0.0.0:8080", "http://ledger-2.internal:80/", "node7"),
            "http://ledger-2.internal:80");
  for (const char* bad : {"ledger-2:8080", "ftp://x:1", "http://", "http://:8080", "http://x:1/v1"}) {
    auto url = AnnouncedUrl("http://0.0.0.0:8080", bad, "node7");
    ASSERT_FALSE(url.ok()) << bad;
    EXPECT_EQ(url.status().message().rfind("--http-advertise: ", 0), 0u) << url.status().message();
  }
}

TEST(GroupPlan, AListAsksForEachPartitionOnceOrNotAtAll) {
  const Announcements others{{"b", Other("b", {2, 3}, {0})}, {"c", Other("c", {}, {1})}};
  auto plan = PlanList(Local({0, 1}, {1}, {}, 4), others);
  ASSERT_TRUE(plan.ok()) << plan.status().message();
  EXPECT_EQ(*plan, (std::map<std::string, std::vector<int>>{{"", {0}}, {"http://b", {2, 3}}, {"http://c", {1}}}));
  auto gap = PlanList(Local({0}, {}, {}, 4), {{"b", Other("b", {2, 3})}});
  ASSERT_FALSE(gap.ok());
  EXPECT_NE(gap.status().message().find("partition 1"), std::string::npos) << gap.status().message();
}

TEST(GroupPlan, EachPartitionIsFollowedByTheStandbysAfterItsOwnerInTheRing) {
  // Three instances owning two partitions each (of 6).
  std::map<std::string, std::vector<int>> owned{{"a", {0, 1}}, {"b", {2, 3}}, {"c", {4, 5}}};
  for (int standbys : {1, 2}) {
    std::map<int, std::set<std::string>> followers;
    for (const auto& [self, mine] : owned) {
      Announcements others;
      for (const auto& [id, theirs] : owned) {
        if (id != self) others[id] = Other(id, theirs);
      }
      LocalPartitions local = Local(mine, {}, {}, 6);
      for (int p : StandbyPartitions(self, local, others, standbys)) {
        EXPECT_FALSE(Holds(mine, p)) << self << " follows its own partition " << p;
        followers[p].insert(self);
      }
    }
    for (int p = 0; p < 6; ++p) EXPECT_EQ(followers[p].size(), static_cast<size_t>(standbys)) << "partition " << p;
    if (standbys == 1) {
      EXPECT_EQ(followers[0], (std::set<std::string>{"b"}));  // the next after a
      EXPECT_EQ(followers[4], (std::set<std::string>{"a"}));  // the ring wraps around
    }
  }
  // c gone: a follows b's partitions (it comes after b in the ring of a and b), and c's
  // partition 4, which it followed, stays followed (warm); 5, which it did not, is not.
  LocalPartitions local = Local({0, 1}, {}, {4}, 6);
  EXPECT_EQ(StandbyPartitions("a", local, {{"b", Other("b", {2, 3})}}, 1), (std::vector<int>{2, 3, 4}));
}

}  // namespace
}  // namespace ledger
