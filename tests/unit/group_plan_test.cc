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

// An account whose partition (of 4) is `p`.
std::string AccountIn(int p) {
  for (int i = 0;; ++i) {
    const std::string account = "ACME-" + std::to_string(i);
    if (KafkaPartitionOf(account, 4) == p) return account;
  }
}

TEST(GroupPlan, AloneOrBeforeTheFirstAssignmentEverythingIsAnsweredHere) {
  LocalPartitions none;
  EXPECT_EQ(*RouteAccount(none, {{"b", Other("b", {0, 1, 2, 3})}}, "X"), "");  // partition count unknown
  LocalPartitions all{{0, 1, 2, 3}, {1}, {}, 4};  // a single projector, catching up with 1
  EXPECT_EQ(*RouteAccount(all, {}, AccountIn(1)), "");
  EXPECT_TRUE(PlanList(all, {})->empty());
}

TEST(GroupPlan, AnInstanceThatHearsFromNoOtherAnswersOnlyForWhatItHolds) {
  // It owns half the partitions: the others' announcements are late, not absent.
  LocalPartitions mine{{0, 1}, {}, {3}, 4};
  EXPECT_EQ(*RouteAccount(mine, {}, AccountIn(0)), "");
  EXPECT_EQ(*RouteAccount(mine, {}, AccountIn(3)), "");  // it follows 3
  auto other = RouteAccount(mine, {}, AccountIn(2));
  ASSERT_FALSE(other.ok());
  EXPECT_EQ(other.status().code(), Status::Code::kUnavailable);
  EXPECT_FALSE(PlanList(mine, {}).ok());
}

TEST(GroupPlan, TheCaughtUpOwnerAnswersThenAStandby) {
  const Announcements others{{"b", Other("b", {2, 3}, {0})}, {"c", Other("c", {}, {1, 2})}};
  LocalPartitions mine{{0, 1}, {1}, {3}, 4};  // a owns 0 and 1 (1 still restoring), follows 3
  EXPECT_EQ(*RouteAccount(mine, others, AccountIn(0)), "");
  EXPECT_EQ(*RouteAccount(mine, others, AccountIn(1)), "http://c");  // restoring here: c's standby
  EXPECT_EQ(*RouteAccount(mine, others, AccountIn(2)), "http://b");  // b owns it
  EXPECT_EQ(*RouteAccount(mine, others, AccountIn(3)), "http://b");  // b owns it: not this standby
  // b gone: its partitions go to their standbys, this one first.
  const Announcements without_b{{"c", Other("c", {}, {1, 2})}};
  EXPECT_EQ(*RouteAccount(mine, without_b, AccountIn(2)), "http://c");
  EXPECT_EQ(*RouteAccount(mine, without_b, AccountIn(3)), "");
  // Nobody for a partition: a hand-over, not a guess.
  const Announcements only_owner{{"b", Other("b", {2})}};
  auto none = RouteAccount(LocalPartitions{{0}, {}, {}, 4}, only_owner, AccountIn(3));
  ASSERT_FALSE(none.ok());
  EXPECT_EQ(none.status().code(), Status::Code::kUnavailable);
  EXPECT_NE(none.status().message().find("partition 3"), std::string::npos) << none.status().message();
}

TEST(GroupPlan, AListAsksForEachPartitionOnceOrNotAtAll) {
  const Announcements others{{"b", Other("b", {2, 3}, {0})}, {"c", Other("c", {}, {1})}};
  auto plan = PlanList(LocalPartitions{{0, 1}, {1}, {}, 4}, others);
  ASSERT_TRUE(plan.ok()) << plan.status().message();
  EXPECT_EQ(*plan, (std::map<std::string, std::vector<int>>{{"", {0}}, {"http://b", {2, 3}}, {"http://c", {1}}}));
  auto gap = PlanList(LocalPartitions{{0}, {}, {}, 4}, {{"b", Other("b", {2, 3})}});
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
      LocalPartitions local{mine, {}, {}, 6};
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
  LocalPartitions local{{0, 1}, {}, {4}, 6};
  EXPECT_EQ(StandbyPartitions("a", local, {{"b", Other("b", {2, 3})}}, 1), (std::vector<int>{2, 3, 4}));
}

}  // namespace
}  // namespace ledger
