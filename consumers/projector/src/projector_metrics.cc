#include "ledger/projector/projector_metrics.h"

#include <chrono>

#include "ledger/rules/rules.h"
#include "ledger/schema/event_codec.h"

namespace ledger {
namespace {

int64_t SecondsNow() {
  return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

}  // namespace

ProjectorMetrics::ProjectorMetrics(prometheus::Registry& registry)
    : events_(prometheus::BuildCounter()
                  .Name("ledger_projector_events_total")
                  .Help("Events consumed by the projector, by event type and outcome")
                  .Register(registry)),
      errors_(prometheus::BuildCounter()
                  .Name("ledger_projector_errors_total")
                  .Help("Errors met by the projector, by kind")
                  .Register(registry)),
      commit_seconds_(prometheus::BuildHistogram()
                          .Name("ledger_projector_commit_seconds")
                          .Help("Time to commit one batch (state and offsets) to RocksDB")
                          .Register(registry)
                          .Add({}, prometheus::Histogram::BucketBoundaries{
                                       0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1,
                                       0.25, 0.5, 1})),
      batch_events_(prometheus::BuildHistogram()
                        .Name("ledger_projector_batch_events")
                        .Help("Events per committed batch")
                        .Register(registry)
                        .Add({}, prometheus::Histogram::BucketBoundaries{1, 10, 100, 1000,
                                                                         5000, 20000})),
      apply_seconds_(prometheus::BuildHistogram()
                         .Name("ledger_projector_apply_seconds")
                         .Help("Time to apply one batch: verify, read state, run the rules")
                         .Register(registry)
                         .Add({}, prometheus::Histogram::BucketBoundaries{0.0005, 0.001, 0.002, 0.005, 0.01, 0.02,
                                                                          0.05, 0.1, 0.25, 0.5, 1})),
      end_to_end_seconds_(prometheus::BuildHistogram()
                              .Name("ledger_projector_end_to_end_seconds")
                              .Help("From the oldest event's Kafka record time in a batch to the batch being "
                                    "queryable")
                              .Register(registry)
                              .Add({}, prometheus::Histogram::BucketBoundaries{0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1,
                                                                               2.5, 5, 10, 30, 60, 300})),
      next_offset_(prometheus::BuildGauge()
                       .Name("ledger_projector_next_offset")
                       .Help("Next offset to project, per partition of ledger.events")
                       .Register(registry)),
      lag_(prometheus::BuildGauge()
               .Name("ledger_projector_lag_events")
               .Help("Events in the partition not yet projected (high watermark - next offset)")
               .Register(registry)),
      paused_(prometheus::BuildGauge()
                  .Name("ledger_projector_paused")
                  .Help("1 while consumption is paused, by reason: disk_full (the store's disk is below "
                        "--min-free-disk-mb), dead_letters (a dead letter is not acknowledged), kafka_auth "
                        "(Kafka refuses the credentials or the TLS connection), kafka_acl (an ACL denies it)")
                  .Register(registry)),
      refolds_(prometheus::BuildCounter()
                   .Name("ledger_projector_refolds_total")
                   .Help("Accounts folded again from their journal after an event arrived out of business order")
                   .Register(registry)
                   .Add({})),
      refolded_events_(prometheus::BuildCounter()
                           .Name("ledger_projector_refolded_events_total")
                           .Help("Journal entries folded again by those refolds")
                           .Register(registry)
                           .Add({})),
      large_refolds_(prometheus::BuildCounter()
                         .Name("ledger_projector_large_refolds_total")
                         .Help("Refolds of one account that read more than 10,000 journal entries (each logged "
                               "with the account)")
                         .Register(registry)
                         .Add({})),
      refolds_beside_(prometheus::BuildGauge()
                          .Name("ledger_projector_refolds_beside")
                          .Help("Accounts whose refold runs beside the projection now (a long account after a "
                                "late event): answered from their journal until it is staged")
                          .Register(registry)
                          .Add({})) {
  // Every kind exists from the start at 0, so that rate() and alerts see the first error.
  // Every series exists from the start at 0, so that increase() and alerts see the
  // first event of each kind.
  for (const char* reason : {"disk_full", "dead_letters", "kafka_auth", "kafka_acl"}) paused_.Add({{"reason", reason}});
  MutexLock lock(mu_);
  for (size_t t = 1; t <= static_cast<size_t>(fb::Event::MAX); ++t) {
    const std::string type = EventTypeName(static_cast<fb::Event>(t));
    if (IsReferenceEvent(static_cast<fb::Event>(t))) continue;  // counted as reference records
    for (Outcome o : {Outcome::kApplied, Outcome::kDuplicate, Outcome::kAnomaly, Outcome::kLate}) {
      event_counters_[{type, OutcomeName(o)}] = &events_.Add({{"type", type}, {"outcome", OutcomeName(o)}});
    }
  }
  event_counters_[{"undecodable", "dead_lettered"}] =
      &events_.Add({{"type", "undecodable"}, {"outcome", "dead_lettered"}});
  for (const char* kind : {"consume", "store", "dead_letter", "disk_full"}) {
    errors_.Add({{"kind", kind}});
    error_counts_[kind] = 0;
  }
}

void ProjectorMetrics::SetRefoldsBeside(size_t accounts) { refolds_beside_.Set(static_cast<double>(accounts)); }

void ProjectorMetrics::CountRefolds(uint64_t accounts, uint64_t events, uint64_t large) {
  refolds_.Increment(static_cast<double>(accounts));
  refolded_events_.Increment(static_cast<double>(events));
  large_refolds_.Increment(static_cast<double>(large));
}

void ProjectorMetrics::CountEvents(const std::string& type, const std::string& outcome, uint64_t n) {
  MutexLock lock(mu_);
  auto& c = event_counters_[{type, outcome}];
  if (c == nullptr) c = &events_.Add({{"type", type}, {"outcome", outcome}});
  c->Increment(static_cast<double>(n));
  outcomes_[outcome] += n;
  const int64_t second = SecondsNow();
  auto& slot = per_second_[static_cast<size_t>(second % 60)];
  if (slot.first != second) slot = {second, 0};
  slot.second += n;
}

void ProjectorMetrics::ObserveCommit(double seconds, size_t events) {
  commit_seconds_.Observe(seconds);
  batch_events_.Observe(static_cast<double>(events));
}

void ProjectorMetrics::ObserveApply(double seconds) { apply_seconds_.Observe(seconds); }
void ProjectorMetrics::ObserveEndToEnd(double seconds) { end_to_end_seconds_.Observe(seconds); }

void ProjectorMetrics::SetPartition(int partition, int64_t next_offset, int64_t lag) {
  const std::string p = std::to_string(partition);
  next_offset_.Add({{"partition", p}}).Set(static_cast<double>(next_offset));
  if (lag >= 0) lag_.Add({{"partition", p}}).Set(static_cast<double>(lag));
  MutexLock lock(mu_);
  auto& progress = partitions_[partition];
  progress.partition = partition;
  progress.next_offset = next_offset;
  if (lag >= 0) progress.lag = lag;
}

void ProjectorMetrics::NoteRecent(std::vector<RecentEvent> events) {
  MutexLock lock(mu_);
  for (auto& e : events) recent_.push_back(std::move(e));
  if (recent_.size() > kRecentEvents) recent_.erase(recent_.begin(), recent_.end() - kRecentEvents);
}

std::vector<RecentEvent> ProjectorMetrics::Recent() const {
  MutexLock lock(mu_);
  return recent_;
}

void ProjectorMetrics::SetPaused(const std::string& reason, bool paused, const std::string& why) {
  paused_.Add({{"reason", reason}}).Set(paused ? 1 : 0);
  MutexLock lock(mu_);
  paused_for_ = paused ? reason : "";
  paused_why_ = paused ? why : "";
}

ProjectorProgress ProjectorMetrics::Progress() const {
  MutexLock lock(mu_);
  ProjectorProgress p;
  p.outcomes = outcomes_;
  p.errors = error_counts_;
  for (const auto& [n, partition] : partitions_) p.partitions.push_back(partition);
  p.recent = recent_;
  p.paused = paused_for_;
  p.paused_why = paused_why_;
  const int64_t now = SecondsNow();
  uint64_t last_minute = 0;
  for (const auto& [second, n] : per_second_) {
    if (second > now - 60 && second <= now) last_minute += n;
  }
  p.events_per_second = static_cast<double>(last_minute) / 60.0;
  return p;
}

void ProjectorMetrics::CountError(const std::string& kind) {
  errors_.Add({{"kind", kind}}).Increment();
  MutexLock lock(mu_);
  ++error_counts_[kind];
}

}  // namespace ledger
