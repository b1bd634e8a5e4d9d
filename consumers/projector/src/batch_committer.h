// The batch committer: events are applied into one staged batch while the previous one
// is written to the store in the background; the batch being applied reads through the
// one being written. A batch's offsets are committed to Kafka only once it is durable.
#pragma once

#include <array>
#include <chrono>
#include <future>
#include <limits>
#include <map>

#include "ledger/base/status.h"
#include "ledger/projector/projector_metrics.h"
#include "ledger/rules/rules.h"
#include "ledger/storage/projection_store.h"

namespace ledger {

class BatchCommitter {
 public:
  // `store` must outlive the committer; `metrics` may be null.
  BatchCommitter(ProjectionStore* store, ProjectorMetrics* metrics)
      : metrics_(metrics), batches_{StagedBatch(store), StagedBatch(store)}, staged_(&batches_[0]) {}

  // The batch events are applied into now.
  StagedBatch& staged() { return *staged_; }
  StagedBatch* staged_ptr() { return staged_; }

  // Notes one event consumed into the staged batch (its record time, ms; 0 if none) and
  // its outcome, counted in the metrics once the batch is durable.
  void NoteEvent(int64_t recorded_at) {
    ++batch_events_;
    if (recorded_at > 0) batch_oldest_ = std::min(batch_oldest_, recorded_at);
  }
  void NoteOutcome(fb::Event type, Outcome outcome) {
    ++outcome_counts_[static_cast<size_t>(type)][static_cast<size_t>(outcome)];
  }

  // Starts writing the staged batch in the background; `next_offsets` (partition -> next
  // offset) are what it makes durable. Another batch is staged meanwhile. Call Finish
  // first: one batch is written at a time.
  void Start(std::map<int, int64_t> next_offsets);

  // Waits for the batch being written, if any. Returns the offsets it made durable
  // (empty if nothing was being written), or the store's error.
  Result<std::map<int, int64_t>> Finish();

 private:
  using Clock = std::chrono::steady_clock;

  ProjectorMetrics* metrics_;
  StagedBatch batches_[2];
  StagedBatch* staged_;            // the batch being applied
  std::future<Status> in_flight_;  // the batch being written, if any
  std::map<int, int64_t> in_flight_offsets_;
  size_t in_flight_events_ = 0;
  Clock::time_point in_flight_started_;
  // Events applied since the metrics were last updated, by event type and outcome.
  std::array<std::array<uint64_t, 4>, static_cast<size_t>(fb::Event::MAX) + 1> outcome_counts_{};
  size_t batch_events_ = 0;
  int64_t batch_oldest_ = std::numeric_limits<int64_t>::max();  // record time, ms
  int64_t in_flight_oldest_ = std::numeric_limits<int64_t>::max();
};

}  // namespace ledger
