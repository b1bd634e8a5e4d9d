// The projector's Prometheus metrics. Labels are low-cardinality: event type, outcome,
// partition; never an account or case id.
#pragma once

#include <array>

#include <prometheus/counter.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "ledger/base/mutex.h"

namespace ledger {

// One of the latest events the projector handled (for the status page).
struct RecentEvent {
  std::string type;
  std::string account;
  std::string outcome;  // applied, duplicate, anomaly, late, dead_lettered
  int partition = 0;
  int64_t offset = 0;
  int64_t recorded_at = 0;  // ms
};

// What the status page shows of the projector's progress, read from the figures the
// metrics hold (not from the registry by name).
struct ProjectorProgress {
  struct Partition {
    int partition = 0;
    int64_t next_offset = 0;
    int64_t lag = 0;  // the last known
  };
  std::map<std::string, uint64_t> outcomes;  // events by outcome, every type together
  std::map<std::string, uint64_t> errors;    // by kind
  std::vector<Partition> partitions;         // by partition number
  std::vector<RecentEvent> recent;           // newest last
  std::string paused;                        // why consumption is paused; empty: it is not
  std::string paused_why;                    // the cause in words (no secret), when known
  double events_per_second = 0;              // consumed, over the last minute
};

class ProjectorMetrics {
 public:
  explicit ProjectorMetrics(prometheus::Registry& registry);

  // `n` events of a type with an outcome: applied, duplicate, anomaly, late or
  // dead_lettered.
  void CountEvents(const std::string& type, const std::string& outcome, uint64_t n = 1);
  // Accounts folded again from their journal, and the journal entries that took.
  void CountRefolds(uint64_t accounts, uint64_t events, uint64_t large);
  // Accounts whose refold runs beside the projection now (stale in the store meanwhile).
  void SetRefoldsBeside(size_t accounts);
  void ObserveCommit(double seconds, size_t events);
  // Applying one batch (verify, read, rules), before its commit.
  void ObserveApply(double seconds);
  // From a committed batch's oldest record time (Kafka timestamp) to the commit.
  void ObserveEndToEnd(double seconds);
  void SetPartition(int partition, int64_t next_offset, int64_t lag);
  void CountError(const std::string& kind);
  // Consumption paused (or resumed) for a reason: disk_full, dead_letters, kafka_auth or
  // kafka_acl; `why` says the cause in words for the status (never a secret).
  void SetPaused(const std::string& reason, bool paused, const std::string& why = "");

  // The latest events handled, newest last (at most kRecentEvents). Thread-safe.
  static constexpr size_t kRecentEvents = 20;
  void NoteRecent(std::vector<RecentEvent> events);
  std::vector<RecentEvent> Recent() const;

  // The figures above, as the status page shows them. Thread-safe.
  ProjectorProgress Progress() const;

 private:
  prometheus::Family<prometheus::Counter>& events_;
  prometheus::Family<prometheus::Counter>& errors_;
  prometheus::Histogram& commit_seconds_;
  prometheus::Histogram& batch_events_;
  prometheus::Histogram& apply_seconds_;
  prometheus::Histogram& end_to_end_seconds_;
  prometheus::Family<prometheus::Gauge>& next_offset_;
  prometheus::Family<prometheus::Gauge>& lag_;
  prometheus::Family<prometheus::Gauge>& paused_;
  prometheus::Counter& refolds_;
  prometheus::Counter& refolded_events_;
  prometheus::Counter& large_refolds_;
  prometheus::Gauge& refolds_beside_;
  mutable Mutex mu_;
  std::vector<RecentEvent> recent_ LEDGER_GUARDED_BY(mu_);
  std::map<std::pair<std::string, std::string>, prometheus::Counter*> event_counters_ LEDGER_GUARDED_BY(mu_);
  std::map<std::string, uint64_t> outcomes_ LEDGER_GUARDED_BY(mu_);
  std::map<std::string, uint64_t> error_counts_ LEDGER_GUARDED_BY(mu_);
  std::map<int, ProjectorProgress::Partition> partitions_ LEDGER_GUARDED_BY(mu_);
  std::string paused_for_ LEDGER_GUARDED_BY(mu_);
  std::string paused_why_ LEDGER_GUARDED_BY(mu_);
  // Events consumed per second of the last minute: [second % 60] = {second, events}.
  std::array<std::pair<int64_t, uint64_t>, 60> per_second_ LEDGER_GUARDED_BY(mu_){};
};

}  // namespace ledger
