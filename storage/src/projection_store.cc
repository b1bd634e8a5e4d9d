#include "ledger/storage/projection_store.h"

#include <absl/container/flat_hash_map.h>
#include <rocksdb/cache.h>
#include <rocksdb/db.h>
#include <rocksdb/filter_policy.h>
#include <rocksdb/slice_transform.h>
#include <rocksdb/table.h>
#include <rocksdb/utilities/checkpoint.h>
#include <rocksdb/write_buffer_manager.h>

#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <thread>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <charconv>
#include <filesystem>
#include <memory_resource>

#include "ledger/storage/keys.h"

namespace ledger {
namespace {

constexpr std::string_view kPartitionPrefix = "p";

constexpr std::string_view kReferenceFamily = "reference";

std::string FamilyName(int partition) {
  if (partition == keys::kReferencePartition) return std::string(kReferenceFamily);
  return std::string(kPartitionPrefix) + std::to_string(partition);
}

std::optional<int> PartitionOf(const std::string& family) {
  if (family == kReferenceFamily) return keys::kReferencePartition;
  if (family.size() < 2 || family.rfind(kPartitionPrefix, 0) != 0) return std::nullopt;
  for (size_t i = 1; i < family.size(); ++i) {
    if (family[i] < '0' || family[i] > '9') return std::nullopt;
  }
  return std::atoi(family.c_str() + 1);
}

// The prefix of the store's bloom filters: an account group's ('A' + account, for the
// account's key and its group of facts) or an account's journal ('J', account, '\0';
// keys.h). Other keys are outside its domain and filtered by whole key only.
class GroupPrefix : public rocksdb::SliceTransform {
 public:
  const char* Name() const override { return "ledger.AccountGroupAndJournal.1"; }
  // RocksDB's iterators also ask for the prefix of keys outside the domain (the key a
  // group's seek ends on, under prefix_same_as_start) and compare it: an empty prefix
  // there, but never a null one (Debian's build asserts on comparing that).
  rocksdb::Slice Transform(const rocksdb::Slice& key) const override {
    const std::string_view g = Group(key);
    return g.empty() ? rocksdb::Slice(key.data(), 0) : rocksdb::Slice(g.data(), g.size());
  }
  bool InDomain(const rocksdb::Slice& key) const override { return !Group(key).empty(); }

 private:
  static std::string_view Group(const rocksdb::Slice& key) {
    const std::string_view k(key.data(), key.size());
    const std::string_view account = keys::AccountGroupOf(k);
    return account.empty() ? keys::JournalOf(k) : account;
  }
};

constexpr std::string_view kReaderScratchPrefix = "ledger-query-";

// Removes the readers' scratch directories whose process `gone` says is gone.
void RemoveReaderScratch(const std::function<bool(pid_t)>& gone) {
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(std::filesystem::temp_directory_path(ec), ec)) {
    const std::string name = entry.path().filename().string();
    if (name.rfind(kReaderScratchPrefix, 0) != 0) continue;
    const char* from = name.data() + kReaderScratchPrefix.size();
    pid_t pid = 0;
    auto [end, parsed] = std::from_chars(from, name.data() + name.size(), pid);
    if (parsed != std::errc() || end == from || *end != '-' || !gone(pid)) continue;
    std::error_code removed;
    std::filesystem::remove_all(entry.path(), removed);
  }
}

Status FromRocks(const rocksdb::Status& s, const std::string& what) {
  if (s.ok()) return Status::Ok();
  if (s.IsCorruption()) return Status::Corruption(what + ": " + s.ToString());
  return Status::IoError(what + ": " + s.ToString());
}

}  // namespace

struct ProjectionStore::Rocks {
  rocksdb::Options options;
  rocksdb::ColumnFamilyOptions family_options;
  std::unique_ptr<rocksdb::DB> db;
  std::vector<rocksdb::ColumnFamilyHandle*> handles;  // owned; destroyed before db
};

ProjectionStore::ProjectionStore(std::string dir, Mode mode, StoreOptions options)
    : dir_(std::move(dir)), mode_(mode), options_(options), rocks_(std::make_unique<Rocks>()) {}

ProjectionStore::~ProjectionStore() {
  if (rocks_->db) {
    for (auto* h : rocks_->handles) rocks_->db->DestroyColumnFamilyHandle(h).PermitUncheckedError();
    rocks_->db->Close().PermitUncheckedError();
    rocks_->db.reset();
  }
  if (!secondary_dir_.empty()) {
    std::error_code ec;
    std::filesystem::remove_all(secondary_dir_, ec);
  }
}

Result<std::unique_ptr<ProjectionStore>> ProjectionStore::Open(const std::string& dir, Mode mode,
                                                               const StoreOptions& options) {
  // The generation the data dir names now (store_layout.h): a later switch of the link
  // does not move an open store.
  std::error_code resolve_error;
  const std::string resolved = std::filesystem::exists(dir, resolve_error)
                                   ? std::filesystem::canonical(dir, resolve_error).string()
                                   : dir;
  if (std::filesystem::exists(resolved, resolve_error) && !std::filesystem::is_directory(resolved, resolve_error)) {
    return Status::InvalidInput("the data dir " + dir + " is not a directory (pass --data-dir a directory, or a path "
                                "that does not exist yet)");
  }
  std::unique_ptr<ProjectionStore> store(new ProjectionStore(resolved, mode, options));
  Rocks& r = *store->rocks_;

  rocksdb::BlockBasedTableOptions table;
  table.block_cache = rocksdb::NewLRUCache(options.block_cache_bytes);
  table.filter_policy.reset(rocksdb::NewBloomFilterPolicy(10));
  table.cache_index_and_filter_blocks = true;
  table.pin_l0_filter_and_index_blocks_in_cache = true;
  r.family_options.table_factory.reset(rocksdb::NewBlockBasedTableFactory(table));
  // Recent data is read back all the time (the account and agreement being changed):
  // keep the upper levels uncompressed, compress only the bottom ones.
  r.family_options.compression_per_level = {rocksdb::kNoCompression, rocksdb::kNoCompression,
                                            rocksdb::kLZ4Compression, rocksdb::kLZ4Compression,
                                            rocksdb::kLZ4Compression, rocksdb::kLZ4Compression,
                                            rocksdb::kLZ4Compression};
  r.family_options.write_buffer_size = 32u << 20;
  // Most point lookups miss (is this event id new? is there state yet?): a memtable
  // bloom filter answers those without walking the skip list.
  r.family_options.memtable_prefix_bloom_size_ratio = 0.1;
  // Account groups and journals are read by prefix (ScanAccountGroup, ScanJournal): a
  // memtable or file without the group is skipped by its prefix bloom filter. Every
  // other iterator seeks in total order. Files written before this extractor (or with
  // another) are read without it.
  r.family_options.prefix_extractor = std::make_shared<GroupPrefix>();
  r.family_options.memtable_whole_key_filtering = true;

  r.options = rocksdb::Options(rocksdb::DBOptions(), r.family_options);
  r.options.create_if_missing = mode == Mode::kReadWrite;
  r.options.create_missing_column_families = true;
  r.options.write_buffer_manager =
      std::make_shared<rocksdb::WriteBufferManager>(options.write_buffer_bytes);
  r.options.max_background_jobs = 2;
  if (mode == Mode::kReadWrite && options.background_priority == StoreOptions::BackgroundPriority::kBelowQueries) {
    r.options.env->LowerThreadPoolCPUPriority(rocksdb::Env::Priority::LOW);
    r.options.env->LowerThreadPoolCPUPriority(rocksdb::Env::Priority::HIGH);
  }
  r.options.max_open_files = mode == Mode::kReadOnly ? -1 : 512;

  std::vector<std::string> names;
  rocksdb::Status listed = rocksdb::DB::ListColumnFamilies(r.options, resolved, &names);
  // A reader beside a writer that is changing its column families (a partition's first
  // write creates one) can read the descriptor mid-record: it tries again briefly.
  const bool exists = std::filesystem::exists(std::filesystem::path(resolved) / "CURRENT", resolve_error);
  for (int attempt = 0; !listed.ok() && exists && mode == Mode::kReadOnly && attempt < 20; ++attempt) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    names.clear();
    listed = rocksdb::DB::ListColumnFamilies(r.options, resolved, &names);
  }
  if (!listed.ok()) {
    if (mode == Mode::kReadOnly) {
      if (exists) return FromRocks(listed, "reading the column families of the projection store at " + dir);
      return Status::NotFound("no projection store at " + dir +
                              " (run `ledger project` first, or pass --data-dir)");
    }
    names = {rocksdb::kDefaultColumnFamilyName};
  }
  std::vector<rocksdb::ColumnFamilyDescriptor> descriptors;
  for (const auto& n : names) descriptors.emplace_back(n, r.family_options);

  rocksdb::DB* raw = nullptr;
  rocksdb::Status s;
  if (mode == Mode::kReadWrite) {
    std::error_code ec;
    std::filesystem::create_directories(resolved, ec);
    s = rocksdb::DB::Open(r.options, resolved, descriptors, &r.handles, &raw);
  } else {
    RemoveReaderScratch([](pid_t pid) { return pid != getpid() && kill(pid, 0) != 0 && errno == ESRCH; });
    std::string tmpl = (std::filesystem::temp_directory_path() /
                        (std::string(kReaderScratchPrefix) + std::to_string(getpid()) + "-XXXXXX"))
                           .string();
    if (mkdtemp(tmpl.data()) == nullptr) return Status::IoError("cannot create a temporary directory");
    store->secondary_dir_ = tmpl;
    s = rocksdb::DB::OpenAsSecondary(r.options, resolved, tmpl, descriptors, &r.handles, &raw);
  }
  if (!s.ok()) {
    std::string hint = s.IsIOError() && mode == Mode::kReadWrite
                           ? " (is another `ledger project` using this data dir?)"
                           : "";
    return FromRocks(s, "opening the projection store at " + dir + hint);
  }
  r.db.reset(raw);
  for (auto* h : r.handles) {
    if (auto p = PartitionOf(h->GetName())) store->families_[*p] = h;
  }
  if (Status layout = store->CheckLayout(dir); !layout.ok()) return layout;
  return store;
}

Status ProjectionStore::CheckLayout(const std::string& dir) {
  Rocks& r = *rocks_;
  const rocksdb::Slice key(keys::kLayoutKey.data(), keys::kLayoutKey.size());
  std::string layout;
  rocksdb::Status s = r.db->Get(rocksdb::ReadOptions(), r.db->DefaultColumnFamily(), key, &layout);
  if (s.ok() && layout == keys::kLayout) return Status::Ok();
  if (!s.ok() && !s.IsNotFound()) return FromRocks(s, "reading the key layout of the projection store at " + dir);
  if (s.IsNotFound() && families_.empty()) {  // a new store: ours
    if (mode_ == Mode::kReadOnly) return Status::Ok();
    return FromRocks(r.db->Put(rocksdb::WriteOptions(), r.db->DefaultColumnFamily(), key,
                               rocksdb::Slice(keys::kLayout.data(), keys::kLayout.size())),
                     "writing the key layout of the projection store at " + dir);
  }
  const std::string found = s.ok() ? layout : "1";
  int found_number = 0, ours = 0;
  std::from_chars(found.data(), found.data() + found.size(), found_number);
  std::from_chars(keys::kLayout.data(), keys::kLayout.data() + keys::kLayout.size(), ours);
  if (found_number > ours) {
    return Status::Corruption("the projection store at " + dir + " has key layout " + found +
                              ", newer than the layout " + std::string(keys::kLayout) +
                              " this release reads: this `ledger` binary is older than the store; run the release "
                              "that wrote it (storage/README.md)");
  }
  return Status::Corruption("the projection store at " + dir + " has key layout " + found +
                            "; this release reads layout " + std::string(keys::kLayout) +
                            " (storage/README.md). `ledger rebuild` replays the log into a store of this layout");
}

std::vector<int> ProjectionStore::Partitions() const {
  std::shared_lock lock(families_mu_);
  std::vector<int> out;
  for (const auto& [p, h] : families_) {
    if (p >= 0) out.push_back(p);
  }
  return out;
}

uint64_t ProjectionStore::IntProperty(const std::string& name) const {
  std::shared_lock lock(families_mu_);
  uint64_t total = 0;
  for (const auto& [p, h] : families_) {
    uint64_t v = 0;
    if (rocks_->db->GetIntProperty(h, name, &v)) total += v;
  }
  return total;
}

uint64_t ProjectionStore::SharedIntProperty(const std::string& name) const {
  std::shared_lock lock(families_mu_);
  uint64_t v = 0;
  if (!families_.empty()) rocks_->db->GetIntProperty(families_.begin()->second, name, &v);
  return v;
}

rocksdb::ColumnFamilyHandle* ProjectionStore::Family(int partition) const {
  std::shared_lock lock(families_mu_);
  auto it = families_.find(partition);
  return it == families_.end() ? nullptr : it->second;
}

Result<rocksdb::ColumnFamilyHandle*> ProjectionStore::FamilyForWrite(int partition) {
  if (auto* h = Family(partition)) return h;
  std::unique_lock lock(families_mu_);
  if (auto it = families_.find(partition); it != families_.end()) return it->second;  // created meanwhile
  rocksdb::ColumnFamilyHandle* h = nullptr;
  auto s = rocks_->db->CreateColumnFamily(rocks_->family_options, FamilyName(partition), &h);
  if (!s.ok()) return FromRocks(s, "creating column family " + FamilyName(partition));
  rocks_->handles.push_back(h);
  families_[partition] = h;
  return h;
}

Result<std::optional<int64_t>> ProjectionStore::NextOffset(int partition) const {
  auto v = Get(partition, keys::kNextOffset);
  if (!v.ok()) return v.status();
  if (!v->has_value()) return std::optional<int64_t>();
  return std::optional<int64_t>(keys::DecodeOffset(**v));
}

Result<std::optional<std::string>> ProjectionStore::Get(int partition, std::string_view key) const {
  auto* h = Family(partition);
  if (h == nullptr) return std::optional<std::string>();
  std::string value;
  auto s = rocks_->db->Get(rocksdb::ReadOptions(), h, rocksdb::Slice(key.data(), key.size()), &value);
  if (s.IsNotFound()) return std::optional<std::string>();
  if (!s.ok()) return FromRocks(s, "reading partition " + std::to_string(partition));
  return std::optional<std::string>(std::move(value));
}

Status ProjectionStore::MultiGet(int partition, const std::vector<std::string>& keys,
                                 const std::function<void(size_t, std::string_view)>& found) const {
  auto* h = Family(partition);
  if (h == nullptr || keys.empty()) return Status::Ok();
  std::vector<rocksdb::Slice> slices(keys.begin(), keys.end());
  std::vector<rocksdb::PinnableSlice> values(keys.size());
  std::vector<rocksdb::Status> statuses(keys.size());
  rocks_->db->MultiGet(rocksdb::ReadOptions(), h, keys.size(), slices.data(), values.data(),
                       statuses.data(), /*sorted_input=*/false);
  for (size_t i = 0; i < keys.size(); ++i) {
    if (statuses[i].ok()) {
      found(i, std::string_view(values[i].data(), values[i].size()));
    } else if (!statuses[i].IsNotFound()) {
      return FromRocks(statuses[i], "reading partition " + std::to_string(partition));
    }
  }
  return Status::Ok();
}

Status ProjectionStore::Scan(
    int partition, std::string_view prefix,
    const std::function<bool(std::string_view, std::string_view)>& visit) const {
  auto* h = Family(partition);
  if (h == nullptr) return Status::Ok();
  rocksdb::ReadOptions ro;
  ro.total_order_seek = true;  // any prefix, not only an account group's (the prefix extractor's)
  std::unique_ptr<rocksdb::Iterator> it(rocks_->db->NewIterator(ro, h));
  const rocksdb::Slice p(prefix.data(), prefix.size());
  for (it->Seek(p); it->Valid() && it->key().starts_with(p); it->Next()) {
    if (!visit(std::string_view(it->key().data(), it->key().size()),
               std::string_view(it->value().data(), it->value().size()))) {
      break;
    }
  }
  if (it->status().ok()) return Status::Ok();  // the message only when needed: answers scan
  return FromRocks(it->status(), "scanning partition " + std::to_string(partition));
}

Status ProjectionStore::ScanAccountGroup(
    int partition, std::string_view account,
    const std::function<bool(std::string_view, std::string_view)>& visit) const {
  auto* h = Family(partition);
  if (h == nullptr) return Status::Ok();
  const std::string from = keys::Account(account), to = keys::AccountGroupEnd(account);
  const rocksdb::Slice upper(to);
  rocksdb::ReadOptions ro;
  ro.iterate_upper_bound = &upper;
  ro.prefix_same_as_start = true;  // the group's prefix: bloom filters skip what lacks it
  std::unique_ptr<rocksdb::Iterator> it(rocks_->db->NewIterator(ro, h));
  for (it->Seek(from); it->Valid(); it->Next()) {
    if (!visit(std::string_view(it->key().data(), it->key().size()),
               std::string_view(it->value().data(), it->value().size()))) {
      break;
    }
  }
  if (it->status().ok()) return Status::Ok();  // the message only when needed: every answer comes here
  return FromRocks(it->status(), "reading account " + std::string(account) + " in partition " +
                                     std::to_string(partition));
}

Status ProjectionStore::ScanJournal(int partition, std::string_view account,
                                    const std::function<bool(std::string_view, std::string_view)>& visit,
                                    char part, int64_t occurred_from) const {
  auto* h = Family(partition);
  if (h == nullptr) return Status::Ok();
  if (part == '\0' && occurred_from > 0) {
    // Each part from its own seek; a visit that stops the first stops both.
    bool more = true;
    for (const char p : {keys::kFactsPart, keys::kOtherPart}) {
      Status s = ScanJournal(partition, account, [&](std::string_view k, std::string_view v) {
        return more = visit(k, v);
      }, p, occurred_from);
      if (!s.ok() || !more) return s;
    }
    return Status::Ok();
  }
  const std::string prefix = part == '\0' ? keys::JournalPrefix(account) : keys::JournalPrefix(account, part);
  std::string to = prefix;
  ++to.back();  // the prefix's last byte is '\0' or a part, never 0xff
  const std::string from = occurred_from > 0 ? prefix + keys::EncodeOffset(occurred_from) : prefix;
  const rocksdb::Slice upper(to);
  rocksdb::ReadOptions ro;
  ro.iterate_upper_bound = &upper;
  ro.prefix_same_as_start = true;  // the journal's prefix: bloom filters skip what lacks it
  std::unique_ptr<rocksdb::Iterator> it(rocks_->db->NewIterator(ro, h));
  for (it->Seek(from); it->Valid(); it->Next()) {
    if (!visit(std::string_view(it->key().data(), it->key().size()),
               std::string_view(it->value().data(), it->value().size()))) {
      break;
    }
  }
  if (it->status().ok()) return Status::Ok();
  return FromRocks(it->status(), "reading the journal of account " + std::string(account) + " in partition " +
                                     std::to_string(partition));
}

Status ProjectionStore::Write(const std::map<int, std::vector<KeyValue>>& puts) {
  if (mode_ != Mode::kReadWrite) return Status::InvalidInput("the store is open read-only");
  // Reserved whole: a batch grown by doubling copies its bytes several times over.
  size_t bytes = 0;
  for (const auto& [partition, kv] : puts) {
    for (const auto& [key, value, erase] : kv) bytes += key.size() + value.size() + 16;
  }
  rocksdb::WriteBatch batch(bytes + 64);
  for (const auto& [partition, kv] : puts) {
    auto h = FamilyForWrite(partition);
    if (!h.ok()) return h.status();
    for (const auto& [key, value, erase] : kv) {
      auto s = erase ? batch.Delete(*h, rocksdb::Slice(key.data(), key.size()))
                     : batch.Put(*h, rocksdb::Slice(key.data(), key.size()), rocksdb::Slice(value.data(), value.size()));
      if (!s.ok()) return FromRocks(s, "staging a write");
    }
  }
  rocksdb::WriteOptions wo;
  wo.sync = options_.durability == StoreOptions::Durability::kWalSync;
  writes_.fetch_add(1, std::memory_order_relaxed);
  return FromRocks(rocks_->db->Write(wo, &batch), "committing a batch to " + dir_);
}

int ProjectionStore::Level0Files(int partition) const {
  auto* h = Family(partition);
  if (h == nullptr) return 0;
  rocksdb::ColumnFamilyMetaData meta;
  rocks_->db->GetColumnFamilyMetaData(h, &meta);
  return meta.levels.empty() ? 0 : static_cast<int>(meta.levels.front().files.size());
}

uint64_t ProjectionStore::ApproximateJournalBytes(int partition, std::string_view account, int64_t from) const {
  auto* h = Family(partition);
  if (h == nullptr) return 0;
  std::vector<std::string> bounds;  // from, to of each part of the journal
  for (const char part : {keys::kFactsPart, keys::kOtherPart}) {
    const std::string prefix = keys::JournalPrefix(account, part);
    std::string to = prefix;
    ++to.back();  // a part's byte, never 0xff
    bounds.push_back(from > 0 ? prefix + keys::EncodeOffset(from) : prefix);
    bounds.push_back(std::move(to));
  }
  const rocksdb::Range ranges[] = {{bounds[0], bounds[1]}, {bounds[2], bounds[3]}};
  rocksdb::SizeApproximationOptions options;
  options.include_memtables = true;
  options.include_files = true;
  uint64_t bytes[2] = {0, 0};
  rocks_->db->GetApproximateSizes(options, h, ranges, 2, bytes).PermitUncheckedError();
  return bytes[0] + bytes[1];
}

uint64_t ProjectionStore::MemtableBytes(int partition) const {
  auto* h = Family(partition);
  uint64_t v = 0;
  if (h != nullptr) rocks_->db->GetIntProperty(h, "rocksdb.cur-size-active-mem-table", &v);
  return v;
}

Status ProjectionStore::CompactLevel0(int partition, uint64_t flush_from_bytes) {
  if (mode_ != Mode::kReadWrite) return Status::InvalidInput("the store is open read-only");
  auto* h = Family(partition);
  if (h == nullptr) return Status::Ok();
  if (MemtableBytes(partition) >= flush_from_bytes) {
    rocksdb::FlushOptions fo;
    fo.wait = true;
    if (Status s = FromRocks(rocks_->db->Flush(fo, h), "flushing partition " + std::to_string(partition)); !s.ok()) {
      return s;
    }
  }
  rocksdb::ColumnFamilyMetaData meta;
  rocks_->db->GetColumnFamilyMetaData(h, &meta);
  if (meta.levels.size() < 2 || meta.levels.front().files.empty()) return Status::Ok();
  std::vector<std::string> files;
  for (const auto& f : meta.levels.front().files) {
    if (f.being_compacted) return Status::Ok();  // RocksDB is on it
    files.push_back(f.name);
  }
  rocksdb::CompactionOptions co;
  co.compression = rocksdb::kDisableCompressionOption;  // the family's per-level choice
  co.output_file_size_limit = rocks_->family_options.target_file_size_base;
  rocksdb::Status s = rocks_->db->CompactFiles(co, h, files, /*output_level=*/1);
  if (s.IsAborted()) return Status::Ok();  // overlapped a compaction RocksDB started meanwhile
  return FromRocks(s, "compacting level 0 of partition " + std::to_string(partition));
}

Status ProjectionStore::Checkpoint(const std::string& dir) {
  if (mode_ != Mode::kReadWrite) return Status::InvalidInput("a checkpoint needs the store open for writing");
  rocksdb::Checkpoint* raw = nullptr;
  auto s = rocksdb::Checkpoint::Create(rocks_->db.get(), &raw);
  if (!s.ok()) return FromRocks(s, "preparing a checkpoint");
  std::unique_ptr<rocksdb::Checkpoint> checkpoint(raw);
  // Flushes the memtables first, so the copy needs no WAL replay.
  return FromRocks(checkpoint->CreateCheckpoint(dir, /*log_size_for_flush=*/0),
                   "writing a checkpoint to " + dir);
}

Status ProjectionStore::CatchUp() {
  if (mode_ != Mode::kReadOnly) return Status::Ok();
  Status s = FromRocks(rocks_->db->TryCatchUpWithPrimary(), "catching up with the projector");
  // A partition the projector created after we opened is not visible until reopened.
  return s;
}

namespace {

// FNV-1a 64 over length-prefixed byte strings.
class Fnv {
 public:
  void Mix(std::string_view bytes) {
    const uint64_t n = bytes.size();
    for (int i = 0; i < 8; ++i) Byte(static_cast<unsigned char>(n >> (8 * i)));
    for (unsigned char c : bytes) Byte(c);
  }
  std::string Hex() const {
    char buf[17];
    std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(h_));
    return buf;
  }

 private:
  void Byte(unsigned char c) {
    h_ ^= c;
    h_ *= 1099511628211ULL;
  }
  uint64_t h_ = 1469598103934665603ULL;
};

}  // namespace

Result<ProjectionStore::Digest> ProjectionStore::ComputeDigest() const {
  std::vector<int> families = Partitions();
  if (Family(keys::kReferencePartition) != nullptr) families.push_back(keys::kReferencePartition);
  return DigestOf(families, /*mix_names=*/true);
}

Result<ProjectionStore::Digest> ProjectionStore::ComputeDigest(int partition) const {
  return DigestOf({partition}, /*mix_names=*/false);
}

Result<ProjectionStore::Digest> ProjectionStore::DigestOf(const std::vector<int>& families,
                                                          bool mix_names) const {
  Fnv fnv;
  Digest d;
  for (int p : families) {
    if (mix_names) fnv.Mix(FamilyName(p));
    Status s = Scan(p, "", [&](std::string_view k, std::string_view v) {
      fnv.Mix(k);
      fnv.Mix(v);
      ++d.keys;
      return true;
    });
    if (!s.ok()) return s;
  }
  d.hex = fnv.Hex();
  return d;
}

// The arena starts with a buffer of its own that Clear keeps: a batch of the default
// size fits, so steady-state batches allocate nothing. Larger ones spill over into the
// heap until the next Clear. Untouched pages of the buffer cost no memory.
constexpr size_t kArenaBytes = 64u << 20;

// What a batch knows of a key it touched: written by this batch, or read and unchanged.
struct StagedBatch::Entry {
  std::string_view value;
  bool present = false;  // false: the key has no value
  bool written = false;  // Put by this batch (else: as read)
};

// One table of entries per partition: one probe answers a Get.
struct StagedBatch::Stage {
  using Entries = absl::flat_hash_map<std::string_view, Entry, absl::Hash<std::string_view>, std::equal_to<>,
                                      std::pmr::polymorphic_allocator<std::pair<const std::string_view, Entry>>>;

  Stage() : buffer(new std::byte[kArenaBytes]), arena(buffer.get(), kArenaBytes) {}

  std::string_view Copy(std::string_view bytes) {
    if (bytes.empty()) return {};
    auto* p = static_cast<char*>(arena.allocate(bytes.size(), 1));
    std::memcpy(p, bytes.data(), bytes.size());
    return {p, bytes.size()};
  }
  Entries& Of(int partition) {
    auto it = partitions.find(partition);
    if (it == partitions.end()) {
      it = partitions.try_emplace(partition, Entries::allocator_type(&arena)).first;
      // A batch touches thousands of keys per partition, about as many as the last one.
      auto hint = size_hints.find(partition);
      it->second.reserve(std::max<size_t>(1u << 14, hint == size_hints.end() ? 0 : hint->second));
    }
    return it->second;
  }
  const Entry* Find(int partition, std::string_view key) const {
    auto p = partitions.find(partition);
    if (p == partitions.end()) return nullptr;
    auto it = p->second.find(key);
    return it == p->second.end() ? nullptr : &it->second;
  }

  std::unique_ptr<std::byte[]> buffer;
  std::pmr::monotonic_buffer_resource arena;
  std::map<int, Entries> partitions;  // in the arena: destroyed before it is released
  // Each partition's next offset, set once per event: written as keys::kNextOffset.
  std::map<int, int64_t> next_offsets;
  std::map<int, size_t> size_hints;  // each partition's entries in the last batch
};

StagedBatch::StagedBatch(ProjectionStore* store) : store_(store), stage_(std::make_unique<Stage>()) {}
StagedBatch::~StagedBatch() = default;
StagedBatch::StagedBatch(StagedBatch&&) noexcept = default;

bool StagedBatch::empty() const { return count_ == 0; }

const StagedBatch::Entry* StagedBatch::TakeFromPrevious(int partition, std::string_view key) {
  // The batch before this one (being written meanwhile) knows the store's value as of
  // its own writes, which nothing else has changed since. Its bytes live only until this
  // batch is written: copied.
  const Entry* e = previous_ ? previous_->stage_->Find(partition, key) : nullptr;
  if (e == nullptr) return nullptr;
  return Keep(partition, key, e->present ? std::optional<std::string_view>(e->value) : std::nullopt);
}

const StagedBatch::Entry* StagedBatch::Keep(int partition, std::string_view key,
                                                   std::optional<std::string_view> value) {
  Entry entry{value ? stage_->Copy(*value) : std::string_view(), value.has_value(), false};
  return &stage_->Of(partition).try_emplace(stage_->Copy(key), entry).first->second;
}

Result<std::optional<std::string_view>> StagedBatch::Get(int partition, std::string_view key) {
  const Entry* e = stage_->Find(partition, key);
  if (e == nullptr) e = TakeFromPrevious(partition, key);
  if (e == nullptr) {
    auto stored = store_->Get(partition, key);
    if (!stored.ok()) return stored.status();
    e = Keep(partition, key, *stored);
  }
  return e->present ? std::optional<std::string_view>(e->value) : std::nullopt;
}

Status StagedBatch::Prefetch(int partition, std::vector<std::string> keys) {
  std::vector<std::string> missing;
  for (auto& k : keys) {
    if (stage_->Find(partition, k) == nullptr && TakeFromPrevious(partition, k) == nullptr) {
      missing.push_back(std::move(k));
    }
  }
  std::sort(missing.begin(), missing.end());
  missing.erase(std::unique(missing.begin(), missing.end()), missing.end());
  std::vector<bool> present(missing.size());
  Status s = store_->MultiGet(partition, missing, [&](size_t i, std::string_view value) {
    Keep(partition, missing[i], value);
    present[i] = true;
  });
  if (!s.ok()) return s;
  for (size_t i = 0; i < missing.size(); ++i) {
    if (!present[i]) Keep(partition, missing[i], std::nullopt);
  }
  return Status::Ok();
}

void StagedBatch::Put(int partition, std::string_view key, std::string_view value) {
  auto& entries = stage_->Of(partition);
  auto it = entries.find(key);
  if (it == entries.end()) it = entries.try_emplace(stage_->Copy(key)).first;
  it->second.value = stage_->Copy(value);
  it->second.present = true;
  if (!it->second.written) ++count_;
  it->second.written = true;
}

void StagedBatch::Delete(int partition, std::string_view key) {
  auto& entries = stage_->Of(partition);
  auto it = entries.find(key);
  if (it == entries.end()) it = entries.try_emplace(stage_->Copy(key)).first;
  it->second.value = {};
  it->second.present = false;
  if (!it->second.written) ++count_;
  it->second.written = true;
}

void StagedBatch::ForEachWritten(
    int partition, const std::function<void(std::string_view key, std::optional<std::string_view> value)>& visit) const {
  auto p = stage_->partitions.find(partition);
  if (p == stage_->partitions.end()) return;
  for (const auto& [k, e] : p->second) {
    if (e.written) visit(k, e.present ? std::optional<std::string_view>(e.value) : std::nullopt);
  }
}

std::vector<int> StagedBatch::partitions() const {
  std::vector<int> out;
  for (const auto& entry : stage_->partitions) out.push_back(entry.first);
  for (const auto& entry : stage_->next_offsets) {
    if (!stage_->partitions.contains(entry.first)) out.push_back(entry.first);
  }
  std::sort(out.begin(), out.end());
  return out;
}

void StagedBatch::SetNextOffset(int partition, int64_t next_offset) {
  auto [it, added] = stage_->next_offsets.try_emplace(partition, next_offset);
  it->second = next_offset;
  if (added) ++count_;
}

Status StagedBatch::WriteToStore() const {
  if (empty()) return Status::Ok();
  std::map<int, std::vector<ProjectionStore::KeyValue>> sorted;
  std::map<int, std::string> next_offsets;  // encoded, alive until written
  for (const auto& [partition, next] : stage_->next_offsets) next_offsets[partition] = keys::EncodeOffset(next);
  for (const int partition : partitions()) {
    std::vector<ProjectionStore::KeyValue> v;
    if (auto p = stage_->partitions.find(partition); p != stage_->partitions.end()) {
      v.reserve(p->second.size() + 1);
      for (const auto& [k, e] : p->second) {
        if (e.written && !(k == keys::kNextOffset && next_offsets.contains(partition))) {
          v.push_back({k, e.value, !e.present});
        }
      }
    }
    if (auto n = next_offsets.find(partition); n != next_offsets.end()) v.push_back({keys::kNextOffset, n->second, false});
    if (v.empty()) continue;
    std::sort(v.begin(), v.end(), [](const auto& x, const auto& y) { return x.key < y.key; });
    sorted.emplace(partition, std::move(v));
  }
  return store_->Write(sorted);
}

Status StagedBatch::Commit() {
  Status s = WriteToStore();
  if (s.ok()) Clear();
  return s;
}

void StagedBatch::Clear() {
  for (const auto& [partition, entries] : stage_->partitions) stage_->size_hints[partition] = entries.size();
  stage_->partitions.clear();
  stage_->next_offsets.clear();
  stage_->arena.release();
  count_ = 0;
}

void RemoveReaderScratchOfThisProcess() {
  RemoveReaderScratch([](pid_t pid) { return pid == getpid(); });
}

}  // namespace ledger
