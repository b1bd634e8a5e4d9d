// The projector: a consumer-group member that folds ledger.events into the projection
// store, and follows ledger.reference in full beside it. Per batch: verify and decode each message, apply the rules, stage the changes,
// then commit state and offsets in one RocksDB write. Kafka's committed offsets are
// updated afterwards, for lag monitoring only: on (re)assignment the projector resumes
// from the offsets in the store, so no event is lost or applied twice.
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <map>
#include <optional>
#include <memory>
#include <string>
#include <vector>

#include "ledger/base/positions.h"
#include "ledger/base/status.h"
#include "ledger/kafka/kafka_config.h"
#include "ledger/projector/projector_metrics.h"
#include "ledger/schema/event_codec.h"
#include "ledger/storage/projection_store.h"

namespace ledger {

struct ProjectorOptions {
  KafkaSettings kafka;
  std::string group_id = "ledger-projector";
  // Static group membership (group.instance.id): a restarted projector with the same id
  // takes its partitions back at once instead of waiting for a rebalance. Must be unique
  // per running instance. Empty: dynamic membership.
  std::string instance_id;
  // Most events staged before a commit. Larger batches amortise the RocksDB write, and
  // an entity changed several times in one batch is written once. At a trickle,
  // max_wait ends a batch first.
  size_t max_batch = 50000;
  // Longest wait for more messages before committing what is staged.
  std::chrono::milliseconds max_wait{50};
  // Stop by itself once every assigned partition is caught up with its high watermark
  // as it stood at start (for benchmarks and one-shot catch-up). Default: run forever.
  bool stop_when_caught_up = false;
  // Replay up to these offsets exactly, then stop (for `ledger verify`): partition of
  // ledger.events -> next offset to reach; a partition not listed is not applied at all.
  // Implies stopping when reached. Empty: no limit.
  std::optional<std::map<int, int64_t>> stop_at;
  // The same for the partitions of ledger.reference (used with stop_at).
  std::map<int, int64_t> reference_stop_at;
  // The data dir as the user gave it. If it is a generation link (store_layout.h), the
  // projector stops, after committing, once the link names another store (a rebuild
  // switched it), so that it can be started again on the new one. Empty: not watched.
  std::string data_dir_link;
  // Free space the store's disk must keep. Below it the projector writes nothing: it
  // pauses consumption (staying in the group), reports it (log, errors_total
  // {kind="disk_full"}), and resumes when space is back. RocksDB's own handling of a
  // write that finds the disk full is an abort in Debian's build. 0: no check.
  uint64_t min_free_disk_bytes = 64ull << 20;
  // A late event's refold of an account whose journal takes more than this on disk runs
  // beside the projection (the account answered from its journal meanwhile), so that the
  // other accounts' events are not held behind it. 0: every refold in its batch. A
  // replay (stop_at, stop_when_caught_up) always folds in its batches.
  uint64_t refold_beside_bytes = 1ull << 20;
  // Called, in the projector's thread, when it has caught up after a backlog: a batch
  // filled to max_batch, then a batch after which every assigned partition stands at
  // its high watermark. Once per backlog, never for a trickle of small batches. The
  // moment to tidy the store for answers (IdleCompactor::WriterCaughtUp). Must be quick.
  std::function<void()> on_caught_up;
  // Called in the projector's thread before it takes assigned partitions over (before it
  // reads their offsets from the store): the moment for a standby in this process to
  // commit and let go of them (Projector::Release), so that one writer applies each.
  std::function<Status(const std::vector<int>& partitions)> before_assign;
  // Called in the projector's thread after each assignment and revocation: the
  // partitions of ledger.events it owns now, and the topic's partition count. Must be
  // quick (an instance announces them: ledger/cluster/instance_directory.h).
  std::function<void(const std::vector<int>& owned, int partition_count)> on_assignment;
  // Fail (rather than go on from where the log now starts) when a partition's log no
  // longer holds the events from the store's offset on: for replays that must reproduce
  // the whole history (rebuild, verify). Otherwise the gap is logged and skipped.
  bool require_whole_log = false;
  // Send undecodable messages to the dead-letter topic (false: only count them, for a
  // replay that must leave no trace).
  bool send_dead_letters = true;
  // Where dead letters go. While one is not acknowledged, nothing after it is committed:
  // the projector pauses consumption (staying in the group), reports it (log,
  // ledger_projector_paused{reason="dead_letters"}, errors_total{kind="dead_letter"},
  // /v1/status), sends again every few seconds, and resumes by itself once written.
  std::string dead_letter_topic = std::string(kDeadLetterTopic);
};

struct ProjectorTotals {
  uint64_t consumed = 0, applied = 0, duplicates = 0, anomalies = 0, late = 0, dead_lettered = 0;
  uint64_t reference = 0;  // reference records stored
  bool store_switched = false;  // stopped because the data dir now names another store
};

class Projector {
 public:
  // Creates the consumer and the dead-letter producer. `store` and `metrics` must
  // outlive the projector; `metrics` may be null.
  static Result<std::unique_ptr<Projector>> Create(const ProjectorOptions& options,
                                                   ProjectionStore* store,
                                                   ProjectorMetrics* metrics);
  ~Projector();

  // Consumes until `stop` becomes true (or caught up, see options), committing as it
  // goes; then commits what is staged and leaves the group. Returns an error, without
  // committing the batch in progress, when the store fails, or when stopped while a
  // dead letter is not written or the disk is full.
  Status Run(const std::atomic<bool>& stop);

  const ProjectorTotals& totals() const;

  // The assigned partitions not yet projected up to where their log ended when they were
  // taken up (restoring: their answers would be behind). Thread-safe.
  std::vector<int> Restoring() const;

 private:
  class Impl;
  explicit Projector(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// A warm standby (ledger project --standbys): follows the partitions given to Follow(),
// read from the store's offsets with assign() instead of the group, and applies them as
// the owner side does, into the same store (never a partition the owner side holds: see
// Exclude and Release). It commits no group offsets, follows no reference data, sends no
// dead letters (the owner does) and reports no metrics. Its consumer's group id is
// GROUP.standby.INSTANCE, never joined.
class StandbyProjector {
 public:
  static Result<std::unique_ptr<StandbyProjector>> Create(const ProjectorOptions& options, ProjectionStore* store);
  ~StandbyProjector();

  // Follows what Follow asks until `stop`; then commits what it applied.
  Status Run(const std::atomic<bool>& stop);

  // The partitions to follow from now on (between batches). Thread-safe.
  void Follow(std::vector<int> partitions);
  // The partitions the owner side of this process holds now: never followed, whatever
  // Follow says (Release adds to them at once). Thread-safe.
  void Exclude(std::vector<int> partitions);
  // Commits what it applied of `partitions` and stops following them until a later
  // Follow names them; returns once done, or Unavailable after `timeout` (stuck: paused
  // on a full disk, say). Thread-safe; not from Run's thread.
  Status Release(const std::vector<int>& partitions, std::chrono::milliseconds timeout);
  // The partitions followed now and the last offset applied in each (-1: none yet).
  // Thread-safe.
  Positions Following() const;
  // The events each followed partition is behind the partition's end, as last fetched
  // (-1: not known yet). Thread-safe.
  std::map<int, int64_t> Behind() const;
  // The followed partitions not yet caught up with where their log ended when they were
  // taken up (nothing is answered from them yet). Thread-safe.
  std::vector<int> Restoring() const;

 private:
  class Impl;
  explicit StandbyProjector(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace ledger
