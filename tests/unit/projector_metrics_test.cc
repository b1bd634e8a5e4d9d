// The projector's metrics: what Prometheus scrapes and what the status page reads come
// from the same counts.
#include <gtest/gtest.h>
#include <prometheus/registry.h>
#include <prometheus/text_serializer.h>

#include "ledger/projector/projector_metrics.h"

namespace ledger {
namespace {

TEST(ProjectorMetrics, ProgressAddsUpWhatWasCounted) {
  prometheus::Registry registry;
  ProjectorMetrics metrics(registry);
  ProjectorProgress before = metrics.Progress();
  EXPECT_TRUE(before.outcomes.empty());
  EXPECT_EQ(before.errors.at("dead_letter"), 0u);  // every kind from the start

  metrics.CountEvents("AccountOpened", "applied", 3);
  metrics.CountEvents("CaseOpened", "applied", 2);
  metrics.CountEvents("CaseOpened", "duplicate");
  metrics.CountError("dead_letter");
  metrics.SetPartition(2, 40, 7);
  metrics.SetPartition(0, 10, 0);
  metrics.SetPartition(2, 45, -1);  // lag unknown: the last known stays

  ProjectorProgress p = metrics.Progress();
  EXPECT_EQ(p.outcomes.at("applied"), 5u);
  EXPECT_EQ(p.outcomes.at("duplicate"), 1u);
  EXPECT_EQ(p.errors.at("dead_letter"), 1u);
  ASSERT_EQ(p.partitions.size(), 2u);
  EXPECT_EQ(p.partitions[0].partition, 0);
  EXPECT_EQ(p.partitions[1].partition, 2);
  EXPECT_EQ(p.partitions[1].next_offset, 45);
  EXPECT_EQ(p.partitions[1].lag, 7);

  const std::string scraped = prometheus::TextSerializer().Serialize(registry.Collect());
  EXPECT_NE(scraped.find(R"(ledger_projector_events_total{outcome="applied",type="CaseOpened"} 2)"), std::string::npos)
      << scraped;
  EXPECT_NE(scraped.find(R"(ledger_projector_errors_total{kind="dead_letter"} 1)"), std::string::npos);
}

}  // namespace
}  // namespace ledger
