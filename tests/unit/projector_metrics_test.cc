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
  EXPECT_EQ(before.paused, "");
  // Every series a first event would create exists at 0 from the start, so that
  // increase() and the alerts see that first event.
  const std::string at_start = prometheus::TextSerializer().Serialize(registry.Collect());
  for (const char* series : {R"(ledger_projector_events_total{outcome="applied",type="CaseOpened"} 0)",
                             R"(ledger_projector_events_total{outcome="anomaly",type="AgreementRenewed"} 0)",
                             R"(ledger_projector_events_total{outcome="dead_lettered",type="undecodable"} 0)",
                             R"(ledger_projector_errors_total{kind="dead_letter"} 0)",
                             R"(ledger_projector_paused{reason="dead_letters"} 0)"}) {
    EXPECT_NE(at_start.find(series), std::string::npos) << series;
  }

  metrics.CountEvents("AccountOpened", "applied", 3);
  metrics.CountEvents("CaseOpened", "applied", 2);
  metrics.CountEvents("CaseOpened", "duplicate");
  metrics.CountError("dead_letter");
  metrics.SetPartition(2, 40, 7);
  metrics.SetPartition(0, 10, 0);
  metrics.SetPartition(2, 45, -1);  // lag unknown: the last known stays
  metrics.SetPaused("dead_letters", true, "a dead letter is not acknowledged");

  ProjectorProgress p = metrics.Progress();
  EXPECT_EQ(p.outcomes.at("applied"), 5u);
  EXPECT_EQ(p.outcomes.at("duplicate"), 1u);
  EXPECT_EQ(p.errors.at("dead_letter"), 1u);
  ASSERT_EQ(p.partitions.size(), 2u);
  EXPECT_EQ(p.partitions[0].partition, 0);
  EXPECT_EQ(p.partitions[1].partition, 2);
  EXPECT_EQ(p.partitions[1].next_offset, 45);
  EXPECT_EQ(p.partitions[1].lag, 7);
  EXPECT_EQ(p.paused, "dead_letters");
  EXPECT_EQ(p.paused_why, "a dead letter is not acknowledged");
  EXPECT_DOUBLE_EQ(p.events_per_second, 6.0 / 60);  // the 6 events above, over the last minute

  const std::string scraped = prometheus::TextSerializer().Serialize(registry.Collect());
  EXPECT_NE(scraped.find(R"(ledger_projector_events_total{outcome="applied",type="CaseOpened"} 2)"), std::string::npos)
      << scraped;
  EXPECT_NE(scraped.find(R"(ledger_projector_errors_total{kind="dead_letter"} 1)"), std::string::npos);
  EXPECT_NE(scraped.find(R"(ledger_projector_paused{reason="dead_letters"} 1)"), std::string::npos);
  metrics.SetPaused("dead_letters", false);
  EXPECT_EQ(metrics.Progress().paused, "");
  EXPECT_EQ(metrics.Progress().paused_why, "");
}

}  // namespace
}  // namespace ledger
