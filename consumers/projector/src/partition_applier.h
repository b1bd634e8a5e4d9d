// What the owner side (Projector) and a standby (StandbyProjector) share: the partitions
// of ledger.events held, each taken up from the store's offset by one routine; messages
// consumed, verified and applied in batches, committed in the background (state and
// offsets in one write); long accounts' refolds beside the projection; pausing (the disk
// nearly full, dead letters not acknowledged) while keeping the consumer's session. Who
// assigns the partitions (the group, or Follow) is the caller's business. Not
// thread-safe: the consumer's thread only, except exchange().
#pragma once

#include <librdkafka/rdkafkacpp.h>

#include <atomic>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "batch_committer.h"
#include "dead_letters.h"
#include "disk_guard.h"
#include "ledger/kafka/kafka_refusal.h"
#include "ledger/projector/partition_progress.h"
#include "ledger/projector/projector.h"
#include "ledger/projector/projector_exchange.h"
#include "refolds_beside.h"

namespace ledger {

class PartitionApplier {
 public:
  // `metrics` may be null (a standby reports none).
  PartitionApplier(const ProjectorOptions& options, ProjectionStore* store, ProjectorMetrics* metrics);

  // The consumer the partitions are fetched with (owned by the caller), and where dead
  // letters go (`mode`: sent, or only counted).
  Status Init(RdKafka::KafkaConsumer* consumer, DeadLetterMode mode);

  // Takes partition `p` up: applying goes on from the store's offset, its stale accounts
  // are folded again, and where its log ended now is its target. Logs "`label`
  // ledger.events [p] from offset N" (or "beginning"). Returns the offset to fetch from
  // (RdKafka::Topic::OFFSET_BEGINNING when the store has none). When the log no longer
  // starts there (retention), fails for a replay that needs the whole log, else goes on
  // from where it starts.
  Result<int64_t> TakeUp(int p, const std::string& label);
  // Lets `p` go (what was applied of it must have been committed by the caller).
  void LetGo(int p);

  // Consumes until the batch is full, the wait is over or nothing more is there; then
  // applies what it got (the staged batch grows).
  Status ConsumeBatch(const std::atomic<bool>& stop);
  // Waits for the batch in flight, then starts writing the staged one in the background
  // (dead letters acknowledged and the disk's room checked first).
  Status StartCommit();
  // Makes what is applied durable, synchronously.
  Status CommitBatch();
  // Called with each batch made durable: partition -> next offset (for Kafka's committed
  // offsets). Set by the owner side.
  std::function<void(const std::vector<std::pair<int, int64_t>>& durable)> on_durable;

  // Kafka refused a consumer (kafka_auth: credentials or TLS; kafka_acl: an ACL):
  // consumption is reported paused until messages arrive again.
  void NoteRefusal(RefusalKind kind, const std::string& cause);

  // A dead letter for `m`, acknowledged before the batch is written.
  void DeadLetter(RdKafka::Message& m, const std::string& reason);
  StagedBatch* staged_ptr() { return committer_.staged_ptr(); }

  // A backlog ended (on_caught_up is called once per backlog).
  void NoticeCatchingUp();
  // The end of partition `p`'s log as last fetched; -1 if not known.
  int64_t LogEnd(int p) const;
  // Reports what is restoring (taken up, not yet durable up to its target).
  void PublishRestoring();

  PartitionProgress& progress() { return progress_; }
  ProjectorExchange& exchange() { return exchange_; }
  ProjectorTotals& totals() { return totals_; }
  void set_partition_count(int n) { partition_count_ = n; }
  void set_stop(const std::atomic<bool>* stop) { stop_ = stop; }
  // The first failure (from a callback too) stops the loop.
  const Status& failure() const { return failure_; }
  void Fail(Status s) {
    if (failure_.ok()) failure_ = std::move(s);
  }
  // Why consumption is paused now ("" if it is not).
  const std::string& paused_for() const { return paused_for_; }

 private:
  Status ApplyBatch(const std::vector<std::unique_ptr<RdKafka::Message>>& messages);
  Status HandleMessage(RdKafka::Message& m, const EventRecord& record, const Result<const fb::Envelope*>& verified);
  EventRecord RecordOf(const RdKafka::Message& m) const;
  Status FinishCommit();
  Status TakeUpStale(int p);
  void ReportBeside();
  Status WaitForDiskSpace();
  Status WaitForDeadLetters();
  Status PauseUntil(const std::string& reason, const std::string& why, const std::function<bool()>& ready);

  ProjectorOptions options_;
  ProjectionStore* store_;
  ProjectorMetrics* metrics_;
  RdKafka::KafkaConsumer* consumer_ = nullptr;
  BatchCommitter committer_;
  DiskGuard disk_;
  std::unique_ptr<DeadLetters> dead_letters_;
  // Long accounts' refolds: beside the projection for a live projector; a replay
  // (stop_at, stop_when_caught_up) folds every account in its batches, as before.
  std::unique_ptr<RefoldsBeside> beside_;
  std::vector<std::pair<int, std::string>> settle_;  // stale in the store, to fold in the next batch
  PartitionProgress progress_;
  ProjectorExchange exchange_;
  ProjectorTotals totals_;
  Status failure_;
  const std::atomic<bool>* stop_ = nullptr;  // the caller's, during Run
  std::string paused_for_;                   // PauseUntil's reason while it waits
  std::string refused_;                      // kafka_auth or kafka_acl while Kafka refuses the consumer
  int partition_count_ = 0;                  // of ledger.events, as learnt
  bool last_batch_full_ = false;             // the last ConsumeBatch reached max_batch
  bool behind_ = false;                      // in a backlog (NoticeCatchingUp)
};

}  // namespace ledger
