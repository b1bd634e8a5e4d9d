#include "ledger/projector/partition_progress.h"

#include <gtest/gtest.h>

#include <map>
#include <thread>

#include "ledger/projector/projector_exchange.h"

namespace ledger {
namespace {

TEST(PartitionProgress, APartitionTakenUpIsRestoringUntilDurableUpToWhereItsLogEnded) {
  PartitionProgress progress;
  std::map<int, int64_t> ends = {{0, 10}, {1, 5}};
  auto end = [&](int p) { return ends.count(p) ? ends[p] : -1; };
  progress.TakeUp(0, 4, 10, SeenFilter(16));
  progress.TakeUp(1, 5, 5, SeenFilter(16));  // already at its end
  EXPECT_EQ(progress.Restoring(end, true), std::vector<int>{0});
  EXPECT_FALSE(progress.ReachedTargets());

  progress.SetNext(0, 10);  // applied, not yet durable: still restoring
  EXPECT_TRUE(progress.ReachedTargets());
  EXPECT_EQ(progress.Restoring(end, true), std::vector<int>{0});
  EXPECT_TRUE(progress.MarkDurable(0, 10));
  EXPECT_TRUE(progress.Restoring(end, true).empty());
}

TEST(PartitionProgress, AnEndUnknownWhenTakenUpIsLearntFromTheLogAsFetchedSince) {
  PartitionProgress progress;
  int64_t fetched_end = -1;
  auto end = [&](int) { return fetched_end; };
  progress.TakeUp(3, 0, -1, SeenFilter(16));
  EXPECT_EQ(progress.Restoring(end, true), std::vector<int>{3});  // not known: restoring
  EXPECT_FALSE(progress.ReachedTargets());
  fetched_end = 7;
  EXPECT_EQ(progress.Restoring(end, true), std::vector<int>{3});  // learnt: 7, durable 0
  EXPECT_EQ(progress.TargetOf(3), 7);
  progress.SetNext(3, 7);
  EXPECT_TRUE(progress.MarkDurable(3, 7));
  fetched_end = 20;  // the target stays where it was learnt
  EXPECT_TRUE(progress.Restoring(end, true).empty());

  PartitionProgress replay;  // a replay with stop offsets learns nothing
  replay.TakeUp(3, 0, -1, SeenFilter(16));
  EXPECT_EQ(replay.Restoring(end, false), std::vector<int>{3});
  EXPECT_EQ(replay.TargetOf(3), -1);
}

TEST(PartitionProgress, APartitionLetGoIsForgottenAndItsLateCommitIgnored) {
  PartitionProgress progress;
  progress.TakeUp(0, 0, 3, SeenFilter(16));
  progress.TakeUp(2, 0, 3, SeenFilter(16));
  ASSERT_NE(progress.SeenFilterOf(2), nullptr);
  progress.LetGo(2);
  EXPECT_FALSE(progress.Holds(2));
  EXPECT_EQ(progress.NextOf(2), -1);
  EXPECT_EQ(progress.SeenFilterOf(2), nullptr);
  EXPECT_FALSE(progress.MarkDurable(2, 3));  // a batch written after the revocation
  EXPECT_EQ(progress.Held(), std::set<int>{0});
  EXPECT_EQ(progress.next(), (std::map<int, int64_t>{{0, 0}}));
}

TEST(PartitionProgress, AtTheLogEndOnlyWhenEveryPartitionIsAndEveryEndIsKnown) {
  PartitionProgress progress;
  std::map<int, int64_t> ends = {{0, 4}, {1, -1}};
  auto end = [&](int p) { return ends[p]; };
  progress.TakeUp(0, 4, 4, SeenFilter(16));
  EXPECT_TRUE(progress.AtLogEnd(end));
  progress.TakeUp(1, 9, 9, SeenFilter(16));
  EXPECT_FALSE(progress.AtLogEnd(end));  // 1's end unknown
  ends[1] = 12;
  EXPECT_FALSE(progress.AtLogEnd(end));
  progress.SetNext(1, 12);
  EXPECT_TRUE(progress.AtLogEnd(end));
}

TEST(ProjectorExchange, AReleaseWaitsForTheProjectorsCommitAndCarriesItsStatus) {
  ProjectorExchange exchange;
  exchange.Follow({1, 2, 3});
  exchange.Exclude({3});
  EXPECT_EQ(exchange.Take().follow, (std::set<int>{1, 2}));

  // Before the projector runs, nothing is applied: a release is answered at once.
  EXPECT_TRUE(exchange.Release({2}, std::chrono::milliseconds(0)).ok());
  EXPECT_EQ(exchange.Take().follow, std::set<int>{1});

  exchange.Started();
  Status released = Status::Unavailable("not answered");
  std::thread group([&] { released = exchange.Release({1}, std::chrono::seconds(10)); });
  ProjectorExchange::Requests requests;
  for (int i = 0; i < 1000 && requests.releases.empty(); ++i) {
    auto taken = exchange.Take();
    if (!taken.releases.empty()) requests = std::move(taken);
    else std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  ASSERT_EQ(requests.releases.size(), 1u);
  EXPECT_TRUE(requests.follow.empty());  // released and excluded
  requests.releases[0].set_value(Status::Unavailable("the store refused the write"));
  group.join();
  EXPECT_FALSE(released.ok());
  EXPECT_NE(released.message().find("refused"), std::string::npos);

  // Not taken in time: the caller is told, not blocked.
  EXPECT_FALSE(exchange.Release({1}, std::chrono::milliseconds(20)).ok());
  exchange.Stopped();  // answers what was left waiting
  EXPECT_TRUE(exchange.Release({1}, std::chrono::milliseconds(0)).ok());
}

TEST(ProjectorExchange, ReportsWhatTheProjectorPublished) {
  ProjectorExchange exchange;
  exchange.ReportFollowing({{4, 99}}, {{4, 2}});
  exchange.ReportRestoring({5});
  EXPECT_EQ(exchange.Following(), (Positions{{4, 99}}));
  EXPECT_EQ(exchange.Behind(), (std::map<int, int64_t>{{4, 2}}));
  EXPECT_EQ(exchange.Restoring(), std::vector<int>{5});
}

}  // namespace
}  // namespace ledger
