// The projection store: RocksDB with one column family per Kafka partition of
// ledger.events ("p0", "p1", ...), so a partition's state can be dropped or handed over
// on its own. Each partition's consumed offset lives beside its state and is written in
// the same WriteBatch (see StagedBatch). All column families share one block cache and
// one write-buffer budget, so memory is bounded however many partitions a store holds.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "ledger/base/status.h"

namespace rocksdb {
class DB;
class ColumnFamilyHandle;
}  // namespace rocksdb

namespace ledger {

struct StoreOptions {
  // Shared LRU block cache across all partitions. Default 256 MiB.
  size_t block_cache_bytes = 256u << 20;
  // Memtable budget across all partitions (WriteBufferManager). Default 128 MiB.
  size_t write_buffer_bytes = 128u << 20;
  // How a commit is made durable.
  enum class Durability {
    // RocksDB's write-ahead log, not fsynced: a commit survives a process crash
    // (SIGKILL), not a machine crash. The default.
    kWal,
    // The write-ahead log fsynced on every commit: survives a machine crash too.
    kWalSync,
  };
  Durability durability = Durability::kWal;
  // Who gets the CPU first when it is short (kReadWrite only).
  enum class BackgroundPriority {
    kNormal,
    // Flushes and compactions run niced (RocksDB's background pools, which are per
    // process): for a process that also answers queries, whose latency matters more.
    kBelowQueries,
  };
  BackgroundPriority background_priority = BackgroundPriority::kNormal;
};

class ProjectionStore {
 public:
  enum class Mode {
    kReadWrite,  // the projector: one process at a time (RocksDB's LOCK)
    kReadOnly,   // queries: a secondary instance beside a running projector
  };

  // Opens (kReadWrite: creates if missing) the store in `dir`. kReadOnly fails with
  // NotFound when there is no store yet. A store of another key layout than this
  // release's (keys::kLayout) fails with Corruption saying so.
  //
  // A kReadOnly store keeps a scratch directory under the system's temporary directory,
  // named after its process ("ledger-query-<pid>-..."), removed when the store closes;
  // opening one also removes those of processes that are gone (killed readers').
  static Result<std::unique_ptr<ProjectionStore>> Open(const std::string& dir, Mode mode,
                                                       const StoreOptions& options = {});
  ~ProjectionStore();
  ProjectionStore(const ProjectionStore&) = delete;
  ProjectionStore& operator=(const ProjectionStore&) = delete;

  // The partitions of ledger.events that have state, ascending (reference data, in
  // keys::kReferencePartition, is not listed). Thread-safe.
  std::vector<int> Partitions() const;

  // The next offset to consume in `partition`, or nullopt if it was never consumed.
  Result<std::optional<int64_t>> NextOffset(int partition) const;

  // Point lookup; nullopt when absent (also when the partition has no state).
  Result<std::optional<std::string>> Get(int partition, std::string_view key) const;

  // Point lookups of many keys at once (RocksDB MultiGet: cheaper than one by one):
  // calls `found(i, value)` for each keys[i] that has a value, in ascending i; the view
  // is valid during the call only (copy what you keep). A point lookup reads the newest
  // version of a key at once, wherever it is; compare ScanAccountGroup. Fails on the
  // first read error.
  Status MultiGet(int partition, const std::vector<std::string>& keys,
                  const std::function<void(size_t i, std::string_view value)>& found) const;

  // Calls `visit` for each key starting with `prefix` in key order, until it returns
  // false. Fails if the iterator reports an error.
  Status Scan(int partition, std::string_view prefix,
              const std::function<bool(std::string_view key, std::string_view value)>& visit) const;

  // Calls `visit` for the account's own key, then for each key of its group (keys.h), in
  // key order, until it returns false. One iterator: one consistent view, and cheaper
  // than a point lookup per key; it skips, by prefix bloom filter, the memtables and
  // files without the account. The views are valid during the call only. Fails if the
  // iterator reports an error.
  Status ScanAccountGroup(int partition, std::string_view account,
                          const std::function<bool(std::string_view key, std::string_view value)>& visit) const;

  // Calls `visit` for each entry of the account's journal (keys::Journal), or of one part
  // of it (`part`; '\0': both), in key order (part, business time, offset), until it
  // returns false; only the entries of business time `occurred_from` or later (each part
  // from a seek there). One iterator per part read; bloom filters skip the memtables and
  // files without the journal. The views are valid during the call only. Fails if the
  // iterator reports an error.
  Status ScanJournal(int partition, std::string_view account,
                     const std::function<bool(std::string_view key, std::string_view value)>& visit,
                     char part = '\0', int64_t occurred_from = 0) const;

  // Writes every put (and deletion) of every partition atomically (one WriteBatch),
  // from views the caller keeps alive during the call; each partition's in key order
  // (the memtable inserts sorted keys markedly faster) and unique. kReadWrite only.
  struct KeyValue {
    std::string_view key;
    std::string_view value;
    bool erase = false;  // delete the key (value unused)
  };
  Status Write(const std::map<int, std::vector<KeyValue>>& puts);

  // Writes a consistent copy of the store (state and offsets together: RocksDB
  // Checkpoint, hard links where possible) to `dir`, which must not exist. kReadWrite
  // only. The copy is a store: open it, or run the projector on it to catch up.
  Status Checkpoint(const std::string& dir);

  // kReadOnly: sees what the projector has written since the last call.
  Status CatchUp();

  // A digest (FNV-1a 64 over every column family's keys and values, in order) and the
  // number of keys: two stores with equal digests hold the same state.
  struct Digest {
    std::string hex;
    uint64_t keys = 0;
  };
  Result<Digest> ComputeDigest() const;
  // The digest of one column family (a partition, or keys::kReferencePartition).
  Result<Digest> ComputeDigest(int partition) const;

  // Merges the partition's level-0 files (memtable flushes, which overlap one another, so
  // a lookup probes each) into level 1, in the calling thread; blocks until done. Ok when
  // there are none, or when RocksDB is compacting them already. First flushes the
  // partition's memtable if it holds at least `flush_from_bytes`, so that it joins them.
  // Thread-safe.
  Status CompactLevel0(int partition, uint64_t flush_from_bytes = UINT64_MAX);
  // Level-0 files of a partition now, and the bytes in its active memtable. Thread-safe.
  int Level0Files(int partition) const;
  // About how many bytes the account's journal entries of business time `from` or later
  // take (0: the whole journal), in files and memtables: RocksDB's estimate, cheap (no
  // entry is read). 0 when the partition has no family yet.
  uint64_t ApproximateJournalBytes(int partition, std::string_view account, int64_t from = 0) const;
  uint64_t MemtableBytes(int partition) const;
  // Commits so far (each Write); an IdleCompactor watches it for quiet. Thread-safe.
  uint64_t writes() const { return writes_.load(std::memory_order_relaxed); }

  // A RocksDB integer property summed over every column family (e.g.
  // "rocksdb.num-running-compactions", "rocksdb.cur-size-all-mem-tables"); 0 if unknown.
  uint64_t IntProperty(const std::string& name) const;
  // The same property of one column family (for figures shared by all, e.g. the block
  // cache's "rocksdb.block-cache-usage").
  uint64_t SharedIntProperty(const std::string& name) const;

  const std::string& dir() const { return dir_; }

 private:
  ProjectionStore(std::string dir, Mode mode, StoreOptions options);
  rocksdb::ColumnFamilyHandle* Family(int partition) const;
  Result<Digest> DigestOf(const std::vector<int>& families, bool mix_names) const;
  Result<rocksdb::ColumnFamilyHandle*> FamilyForWrite(int partition);
  // Ok if the store has this release's key layout (keys::kLayout); marks a new store
  // with it; Corruption naming `dir` and the remedy for a store of another layout.
  Status CheckLayout(const std::string& dir);

  std::string dir_;
  Mode mode_;
  StoreOptions options_;
  std::string secondary_dir_;
  struct Rocks;
  std::unique_ptr<Rocks> rocks_;
  std::atomic<uint64_t> writes_{0};
  mutable std::shared_mutex families_mu_;
  std::map<int, rocksdb::ColumnFamilyHandle*> families_;
};

// Stages the writes of one batch of events with read-your-writes, then commits them,
// with the partitions' next offsets, in one atomic write. Not thread-safe.
//
// Keys and values are copied into an arena of the batch's own, released at once by
// Clear: a batch stages tens of thousands of small strings, and freeing them one by one
// used to cost more than applying the rules.
class StagedBatch {
 public:
  explicit StagedBatch(ProjectionStore* store);
  ~StagedBatch();
  StagedBatch(StagedBatch&&) noexcept;
  StagedBatch& operator=(StagedBatch&&) = delete;

  // The staged value if any, else the prefetched one, else the stored one (kept for
  // the Gets that follow). The bytes viewed stay valid until Clear.
  Result<std::optional<std::string_view>> Get(int partition, std::string_view key);
  // Reads `keys` from the store in one MultiGet, for the Gets that follow.
  Status Prefetch(int partition, std::vector<std::string> keys);
  void Put(int partition, std::string_view key, std::string_view value);
  // Stages the key's deletion: Get sees it absent, the commit deletes it.
  void Delete(int partition, std::string_view key);
  // Calls `visit` for every key this batch wrote in `partition` (nullopt: deleted), in no
  // particular order.
  void ForEachWritten(int partition,
                      const std::function<void(std::string_view key, std::optional<std::string_view> value)>& visit) const;
  // The partitions this batch touched.
  std::vector<int> partitions() const;
  // The partition's next offset (keys::kNextOffset), written with the batch; the last
  // call per partition counts. Not seen by Get or ForEachWritten.
  void SetNextOffset(int partition, int64_t next_offset);

  bool empty() const;
  size_t puts() const { return count_; }
  const ProjectionStore* store() const { return store_; }

  // Makes Get consult `previous` (a batch being committed meanwhile) after this batch's
  // own writes. Null to stop.
  void set_previous(const StagedBatch* previous) { previous_ = previous; }

  // One WriteBatch with everything staged; on success the stage is empty again. On
  // failure nothing was written and the stage is kept.
  Status Commit();
  // The same write, leaving the stage as it is: safe to call from another thread while
  // this thread (only) reads the batch through a later batch's Get.
  Status WriteToStore() const;
  void Clear();

 private:
  struct Entry;
  struct Stage;
  // What the previous batch knows of `key`, copied into this one; null if nothing.
  const Entry* TakeFromPrevious(int partition, std::string_view key);
  // Keeps a value read (nullopt: the key has none) for the Gets that follow.
  const Entry* Keep(int partition, std::string_view key, std::optional<std::string_view> value);

  ProjectionStore* store_;
  const StagedBatch* previous_ = nullptr;
  std::unique_ptr<Stage> stage_;
  size_t count_ = 0;
};

// Removes the scratch directories of kReadOnly stores opened by this process: for a
// process ending on a signal, which runs no destructor. Async-signal-unsafe: call it
// from a thread that waits for the signal, not from a handler.
void RemoveReaderScratchOfThisProcess();

}  // namespace ledger
