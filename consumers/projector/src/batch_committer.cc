#include "batch_committer.h"

#include "ledger/schema/event_codec.h"

namespace ledger {

void BatchCommitter::Start(std::map<int, int64_t> next_offsets) {
  StagedBatch* writing = staged_;
  staged_ = writing == &batches_[0] ? &batches_[1] : &batches_[0];
  staged_->Clear();
  staged_->set_previous(writing);
  in_flight_offsets_ = std::move(next_offsets);
  in_flight_events_ = batch_events_;
  batch_events_ = 0;
  in_flight_oldest_ = batch_oldest_;
  batch_oldest_ = std::numeric_limits<int64_t>::max();
  in_flight_started_ = Clock::now();
  in_flight_ = std::async(std::launch::async, [writing] { return writing->WriteToStore(); });
}

Result<std::map<int, int64_t>> BatchCommitter::Finish() {
  if (!in_flight_.valid()) return std::map<int, int64_t>();
  Status s = in_flight_.get();
  if (!s.ok()) {
    if (metrics_) metrics_->CountError("store");
    return s;
  }
  if (metrics_) {
    metrics_->ObserveCommit(std::chrono::duration<double>(Clock::now() - in_flight_started_).count(),
                            in_flight_events_);
    // From the oldest event's record time to its answers being readable.
    if (in_flight_oldest_ != std::numeric_limits<int64_t>::max()) {
      const int64_t now = std::chrono::duration_cast<std::chrono::milliseconds>(
                              std::chrono::system_clock::now().time_since_epoch())
                              .count();
      metrics_->ObserveEndToEnd(static_cast<double>(now - in_flight_oldest_) / 1000.0);
    }
    // Counted per batch, not per event: keeps label look-ups off the hot path.
    for (size_t t = 0; t < outcome_counts_.size(); ++t) {
      for (size_t o = 0; o < outcome_counts_[t].size(); ++o) {
        if (outcome_counts_[t][o] == 0) continue;
        metrics_->CountEvents(EventTypeName(static_cast<fb::Event>(t)), OutcomeName(static_cast<Outcome>(o)),
                              outcome_counts_[t][o]);
        outcome_counts_[t][o] = 0;
      }
    }
  }
  return std::move(in_flight_offsets_);
}

}  // namespace ledger
