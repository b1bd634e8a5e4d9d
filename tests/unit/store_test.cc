// The projection store on a real RocksDB in a temporary directory.
#include "ledger/storage/projection_store.h"

#include <fstream>
#include <gtest/gtest.h>

#include <rocksdb/db.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <functional>
#include <thread>
#include <memory>
#include <vector>

#include "ledger/storage/idle_compactor.h"
#include "ledger/storage/keys.h"

namespace ledger {
namespace {

// Opens the store in `dir` with RocksDB alone (as another release would) and runs `edit`.
void WithRawStore(const std::filesystem::path& dir, const std::function<rocksdb::Status(rocksdb::DB&)>& edit) {
  rocksdb::Options o;
  std::vector<std::string> names;
  ASSERT_TRUE(rocksdb::DB::ListColumnFamilies(o, dir.string(), &names).ok());
  std::vector<rocksdb::ColumnFamilyDescriptor> families;
  for (const auto& n : names) families.emplace_back(n, rocksdb::ColumnFamilyOptions());
  std::vector<rocksdb::ColumnFamilyHandle*> handles;
  rocksdb::DB* raw = nullptr;
  ASSERT_TRUE(rocksdb::DB::Open(o, dir.string(), families, &handles, &raw).ok());
  std::unique_ptr<rocksdb::DB> db(raw);
  ASSERT_TRUE(edit(*db).ok());
  for (auto* h : handles) ASSERT_TRUE(db->DestroyColumnFamilyHandle(h).ok());
}

class StoreTest : public testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("ledger-store-test-" + std::to_string(::getpid()) + "-" +
            testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::filesystem::path dir_;
};

TEST_F(StoreTest, StagedBatchReadsItsOwnWritesAndCommitsStateWithOffsets) {
  auto store = ProjectionStore::Open(dir_, ProjectionStore::Mode::kReadWrite);
  ASSERT_TRUE(store.ok()) << store.status().message();
  StagedBatch batch(store->get());
  batch.Put(3, "k1", "v1");
  EXPECT_EQ(**batch.Get(3, "k1"), "v1");
  EXPECT_FALSE((*store)->Get(3, "k1")->has_value());  // not yet committed
  batch.SetNextOffset(3, 42);
  batch.Put(5, "k2", "v2");
  batch.SetNextOffset(5, 7);
  ASSERT_TRUE(batch.Commit().ok());
  EXPECT_TRUE(batch.empty());
  EXPECT_EQ(**(*store)->Get(3, "k1"), "v1");
  EXPECT_EQ(**(*store)->NextOffset(3), 42);
  EXPECT_EQ(**(*store)->NextOffset(5), 7);
  EXPECT_FALSE((*store)->NextOffset(4)->has_value());
  EXPECT_EQ((*store)->Partitions(), (std::vector<int>{3, 5}));
}

TEST_F(StoreTest, SurvivesReopenAndIsReadableBesideTheWriter) {
  {
    auto store = ProjectionStore::Open(dir_, ProjectionStore::Mode::kReadWrite);
    StagedBatch batch(store->get());
    batch.Put(0, keys::Account("A"), "state");
    batch.SetNextOffset(0, 1);
    ASSERT_TRUE(batch.Commit().ok());
  }
  auto writer = ProjectionStore::Open(dir_, ProjectionStore::Mode::kReadWrite);
  ASSERT_TRUE(writer.ok());
  EXPECT_EQ(**(*writer)->Get(0, keys::Account("A")), "state");
  // A second writer is refused; a reader beside the writer is not.
  EXPECT_FALSE(ProjectionStore::Open(dir_, ProjectionStore::Mode::kReadWrite).ok());
  auto reader = ProjectionStore::Open(dir_, ProjectionStore::Mode::kReadOnly);
  ASSERT_TRUE(reader.ok()) << reader.status().message();
  EXPECT_EQ(**(*reader)->Get(0, keys::Account("A")), "state");
  StagedBatch batch(writer->get());
  batch.Put(0, keys::Account("B"), "later");
  ASSERT_TRUE(batch.Commit().ok());
  ASSERT_TRUE((*reader)->CatchUp().ok());
  EXPECT_EQ(**(*reader)->Get(0, keys::Account("B")), "later");
}

TEST(KeysTest, AnAccountsEntitlementFactsSortTogetherRightAfterItsOwnKey) {
  // "ACME" is a prefix of "ACME2": the group must still end before the next account.
  const std::vector<std::string> in_order = {
      keys::Account("ACME"),          keys::Contact("ACME", "C-1"),    keys::Agreement("ACME", "AG-9"),
      keys::EntitlementIndex("ACME", ""), keys::Grant("ACME", "GR-1"), keys::Consent("ACME", "R-1"),
      keys::PortalUser("ACME", "U-1"), keys::Account("ACME2"),         keys::Agreement("ACME2", "AG-1")};
  EXPECT_TRUE(std::is_sorted(in_order.begin(), in_order.end()));
  // [Account, AccountGroupEnd) is the account and its whole group, nothing of ACME2, and
  // all of it has one account-group prefix.
  EXPECT_GT(keys::AccountGroupEnd("ACME"), keys::PortalUser("ACME", "\xff\xff"));
  EXPECT_LE(keys::AccountGroupEnd("ACME"), keys::Account("ACME2"));
  for (const std::string& k : in_order) {
    EXPECT_EQ(keys::AccountGroupOf(k), keys::Account(k.starts_with(keys::Account("ACME2")) ? "ACME2" : "ACME"));
  }
  EXPECT_EQ(keys::AccountGroupOf(keys::Case("ACME", "K-1")), "");
  EXPECT_EQ(keys::JournalOf(keys::Journal("ACME", keys::kFactsPart, 42, 7)), keys::JournalPrefix("ACME"));
  EXPECT_EQ(keys::JournalOf(keys::JournalPrefix("ACME")), keys::JournalPrefix("ACME"));
  EXPECT_EQ(keys::JournalOf(keys::FoldHead("ACME")), "");
  EXPECT_EQ(keys::JournalOf(keys::Agreement("ACME", "AG-1")), "");
  EXPECT_EQ(keys::AccountGroupOf(keys::Journal("ACME", keys::kFactsPart, 42, 7)), "");
  EXPECT_EQ(keys::JournalOf(keys::JournalPrefix("ACME", keys::kOtherPart)), keys::JournalPrefix("ACME"));
  // Each part of a journal sorts by business time, then offset.
  EXPECT_LT(keys::Journal("ACME", keys::kOtherPart, 41, 900), keys::Journal("ACME", keys::kOtherPart, 42, 7));
  EXPECT_LT(keys::Journal("ACME", keys::kOtherPart, 42, 7), keys::Journal("ACME", keys::kOtherPart, 42, 8));
  EXPECT_LT(keys::Journal("ACME", keys::kFactsPart, 99, 9), keys::Journal("ACME", keys::kOtherPart, 1, 1));
  EXPECT_TRUE(keys::Agreement("ACME", "AG-9").starts_with(keys::AgreementPrefix("ACME")));
  EXPECT_FALSE(keys::Agreement("ACME2", "AG-1").starts_with(keys::AgreementPrefix("ACME")));
  // Other kinds keep their own ranges, across accounts.
  EXPECT_GT(keys::Case("ACME", "K-1"), keys::Agreement("ACME2", "AG-1"));
  EXPECT_TRUE(keys::Case("ACME", "K-1").starts_with(keys::KindPrefix(keys::kCaseTag)));
  EXPECT_TRUE(keys::Agreement("ACME", "AG-9").starts_with(keys::KindPrefix(keys::kAgreementTag)));
}

TEST(KeysTest, KindAccountAndIdOfEveryKindOfKey) {
  struct Case {
    std::string key;
    char kind;
    std::string account, id;
  };
  for (const Case& c : std::vector<Case>{{keys::Account("A-1"), keys::kAccountTag, "A-1", ""},
                                         {keys::Agreement("A-1", "AG-1"), keys::kAgreementTag, "A-1", "AG-1"},
                                         {keys::Grant("A-1", "G"), keys::kGrantTag, "A-1", "G"},
                                         {keys::Contact("A-1", "C"), keys::kContactTag, "A-1", "C"},
                                         {keys::PortalUser("A-1", "U"), keys::kPortalUserTag, "A-1", "U"},
                                         {keys::Consent("A-1", "R"), keys::kConsentTag, "A-1", "R"},
                                         {keys::EntitlementIndex("A-1", "p"), keys::kEntitlementIndexTag, "A-1", "p"},
                                         {keys::Case("A-1", "K-1"), keys::kCaseTag, "A-1", "K-1"},
                                         {keys::Session("A-1", "V"), keys::kSessionTag, "A-1", "V"},
                                         {keys::Escalation("A-1", "S"), keys::kEscalationTag, "A-1", "S"}}) {
    EXPECT_EQ(keys::KindOf(c.key), c.kind) << c.key;
    EXPECT_EQ(keys::AccountOf(c.key), c.account) << c.key;
    EXPECT_EQ(keys::IdOf(c.key), c.id) << c.key;
  }
}

TEST_F(StoreTest, AStoreOfAnotherKeyLayoutIsRefusedWithTheRemedy) {
  {
    auto store = ProjectionStore::Open(dir_, ProjectionStore::Mode::kReadWrite);
    ASSERT_TRUE(store.ok()) << store.status().message();
    StagedBatch batch(store->get());
    batch.Put(0, keys::Account("A-1"), "v");
    ASSERT_TRUE(batch.Commit().ok());
  }
  // Reopening our own store works, also beside the writer.
  ASSERT_TRUE(ProjectionStore::Open(dir_, ProjectionStore::Mode::kReadWrite).ok());
  ASSERT_TRUE(ProjectionStore::Open(dir_, ProjectionStore::Mode::kReadOnly).ok());
  // What an older release left: state, but no layout marker.
  WithRawStore(dir_, [](rocksdb::DB& db) { return db.Delete(rocksdb::WriteOptions(), std::string(keys::kLayoutKey)); });
  for (auto mode : {ProjectionStore::Mode::kReadWrite, ProjectionStore::Mode::kReadOnly}) {
    auto old = ProjectionStore::Open(dir_, mode);
    ASSERT_FALSE(old.ok());
    EXPECT_NE(old.status().message().find("has key layout 1; this release reads layout 4"), std::string::npos)
        << old.status().message();
    EXPECT_NE(old.status().message().find("ledger rebuild"), std::string::npos);
  }
  // What a newer release left: a layout this binary does not know yet.
  WithRawStore(dir_, [](rocksdb::DB& db) { return db.Put(rocksdb::WriteOptions(), std::string(keys::kLayoutKey), "99"); });
  auto newer = ProjectionStore::Open(dir_, ProjectionStore::Mode::kReadWrite);
  ASSERT_FALSE(newer.ok());
  EXPECT_NE(newer.status().message().find("has key layout 99, newer than the layout 4 this release reads: this "
                                          "`ledger` binary is older than the store"),
            std::string::npos)
      << newer.status().message();
  EXPECT_EQ(newer.status().message().find("ledger rebuild"), std::string::npos);
}

TEST_F(StoreTest, ADataDirThatIsAFileIsSaidToBeOne) {
  const std::string file = (dir_.parent_path() / (dir_.filename().string() + "-file")).string();
  { std::ofstream(file) << "x"; }
  auto store = ProjectionStore::Open(file, ProjectionStore::Mode::kReadWrite);
  std::filesystem::remove(file);
  ASSERT_FALSE(store.ok());
  EXPECT_EQ(store.status().message(), "the data dir " + file + " is not a directory (pass --data-dir a directory, or "
                                      "a path that does not exist yet)");
}

// Polls `done` for up to 10 s.
bool WaitFor(const std::function<bool()>& done) {
  for (int i = 0; i < 200 && !done(); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(50));
  return done();
}

// Writes a little more than one 32 MiB memtable to partition 0 (accounts A-0 to
// A-33499): one flush, so one level-0 file, which RocksDB leaves there (it merges level 0
// from four files on), and less than kFlushFromBytes left in the memtable.
void LeaveOneLevel0File(ProjectionStore* store, const std::string& value) {
  for (int b = 0; b < 9; ++b) {
    StagedBatch batch(store);
    for (int i = 0; i < (b < 8 ? 4000 : 1500); ++i) {
      batch.Put(0, keys::Account("A-" + std::to_string(b * 4000 + i)), value);
    }
    ASSERT_TRUE(batch.Commit().ok());
  }
  ASSERT_TRUE(WaitFor([&] { return store->Level0Files(0) > 0; }));
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  ASSERT_EQ(store->Level0Files(0), 1);
  ASSERT_LT(store->MemtableBytes(0), IdleCompactor::kFlushFromBytes);
}

TEST_F(StoreTest, IdleCompactorMergesLevel0OnceTheStoreIsQuiet) {
  auto store = ProjectionStore::Open(dir_, ProjectionStore::Mode::kReadWrite);
  ASSERT_TRUE(store.ok()) << store.status().message();
  const std::string value(1024, 'v');
  ASSERT_NO_FATAL_FAILURE(LeaveOneLevel0File(store->get(), value));
  IdleCompactor compactor(store->get(), std::chrono::milliseconds(200));
  ASSERT_TRUE(WaitFor([&] { return compactor.compactions() >= 1; }));
  EXPECT_EQ((*store)->Level0Files(0), 0);
  EXPECT_EQ(**(*store)->Get(0, keys::Account("A-0")), value);
  EXPECT_EQ(**(*store)->Get(0, keys::Account("A-33499")), value);
}

TEST_F(StoreTest, IdleCompactorSettlesAtOnceWhenTheWriterCatchesUp) {
  auto store = ProjectionStore::Open(dir_, ProjectionStore::Mode::kReadWrite);
  ASSERT_TRUE(store.ok()) << store.status().message();
  // Quiet for an hour never comes during the test: only WriterCaughtUp can settle.
  IdleCompactor compactor(store->get(), std::chrono::hours(1));
  const std::string value(1024, 'w');
  ASSERT_NO_FATAL_FAILURE(LeaveOneLevel0File(store->get(), value));
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  ASSERT_EQ(compactor.compactions(), 0u);
  compactor.WriterCaughtUp();
  ASSERT_TRUE(WaitFor([&] { return compactor.compactions() >= 1; }));
  EXPECT_EQ((*store)->Level0Files(0), 0);
  EXPECT_EQ(**(*store)->Get(0, keys::Account("A-33499")), value);
  // Once: nothing more to do until the next backlog.
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  EXPECT_EQ(compactor.compactions(), 1u);
}

TEST_F(StoreTest, ReadOnlyOpenOfAMissingStoreSaysSo) {
  auto r = ProjectionStore::Open(dir_, ProjectionStore::Mode::kReadOnly);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Status::Code::kNotFound);
  EXPECT_NE(r.status().message().find("ledger project"), std::string::npos);
}

TEST_F(StoreTest, ScanVisitsAPrefixInOrderAndDigestTracksContent) {
  auto store = ProjectionStore::Open(dir_, ProjectionStore::Mode::kReadWrite);
  StagedBatch batch(store->get());
  batch.Put(1, keys::Anomaly("A", 10), "ten");
  batch.Put(1, keys::Anomaly("A", 2), "two");
  batch.Put(1, keys::Anomaly("AB", 1), "other account");
  ASSERT_TRUE(batch.Commit().ok());
  std::vector<std::string> seen;
  ASSERT_TRUE((*store)->Scan(1, keys::AnomalyPrefix("A"), [&](std::string_view, std::string_view v) {
                       seen.emplace_back(v);
                       return true;
                     }).ok());
  EXPECT_EQ(seen, (std::vector<std::string>{"two", "ten"}));

  auto d1 = (*store)->ComputeDigest();
  ASSERT_TRUE(d1.ok());
  EXPECT_EQ(d1->keys, 3u);
  batch.Put(1, keys::Anomaly("A", 2), "TWO");
  ASSERT_TRUE(batch.Commit().ok());
  auto d2 = (*store)->ComputeDigest();
  EXPECT_NE(d1->hex, d2->hex);
  EXPECT_EQ(d2->keys, 3u);
  batch.Delete(1, keys::Anomaly("A", 2));
  EXPECT_FALSE(batch.Get(1, keys::Anomaly("A", 2))->has_value());  // staged: absent
  ASSERT_TRUE(batch.Commit().ok());
  auto d3 = (*store)->ComputeDigest();
  EXPECT_EQ(d3->keys, 2u);
  EXPECT_FALSE((*store)->Get(1, keys::Anomaly("A", 2))->has_value());
}

TEST_F(StoreTest, MultiGetPassesEachPresentValueWithItsIndex) {
  auto store = ProjectionStore::Open(dir_, ProjectionStore::Mode::kReadWrite);
  ASSERT_TRUE(store.ok()) << store.status().message();
  StagedBatch batch(store->get());
  batch.Put(1, keys::Account("A"), "a");
  batch.Put(1, keys::Case("A", "K-1"), "case");
  ASSERT_TRUE(batch.Commit().ok());
  const std::vector<std::string> asked = {keys::Case("A", "K-1"), keys::Account("B"), keys::Account("A")};
  auto ask = [&](int partition) {
    std::vector<std::pair<size_t, std::string>> found;
    EXPECT_TRUE((*store)->MultiGet(partition, asked, [&](size_t i, std::string_view v) { found.emplace_back(i, v); }).ok());
    return found;
  };
  EXPECT_EQ(ask(1), (std::vector<std::pair<size_t, std::string>>{{0, "case"}, {2, "a"}}));
  EXPECT_TRUE(ask(4).empty());  // a partition without state
}

// An account's group is read by prefix (bloom filters on 'A' + account skip the files
// without it), while every other scan still sees all keys in order, in every file.
TEST_F(StoreTest, ScanJournalReadsOneAccountsJournalInBusinessOrderAcrossFiles) {
  auto store = ProjectionStore::Open(dir_, ProjectionStore::Mode::kReadWrite);
  ASSERT_TRUE(store.ok()) << store.status().message();
  for (bool in_file : {true, false}) {
    StagedBatch batch(store->get());
    const int64_t base = in_file ? 0 : 1000;
    batch.Put(2, keys::Journal("ACME", keys::kOtherPart, base + 20, base + 1), "late");
    batch.Put(2, keys::Journal("ACME", keys::kOtherPart, base + 10, base + 2), "early");
    batch.Put(2, keys::Journal("ACME", keys::kFactsPart, base + 15, base + 4), "fact");
    batch.Put(2, keys::Journal("ACME2", keys::kFactsPart, base + 5, base + 3), "another account");  // sorts right after
    batch.Put(2, keys::FoldHead("ACME"), "head");
    batch.Put(2, keys::SeenEvent(UuidBytes{}), "");
    ASSERT_TRUE(batch.Commit().ok());
    if (in_file) {
      ASSERT_TRUE((*store)->CompactLevel0(2, 0).ok());
    }
  }
  std::vector<std::string> seen;
  ASSERT_TRUE((*store)->ScanJournal(2, "ACME", [&](std::string_view, std::string_view v) {
                        seen.emplace_back(v);
                        return true;
                      }).ok());
  EXPECT_EQ(seen, (std::vector<std::string>{"fact", "fact", "early", "late", "early", "late"}));
  seen.clear();
  ASSERT_TRUE((*store)->ScanJournal(
                          2, "ACME",
                          [&](std::string_view, std::string_view v) {
                            seen.emplace_back(v);
                            return true;
                          },
                          keys::kOtherPart)
                  .ok());
  EXPECT_EQ(seen, (std::vector<std::string>{"early", "late", "early", "late"}));
  // From a business time on: each part from there, in both parts.
  seen.clear();
  ASSERT_TRUE((*store)->ScanJournal(
                          2, "ACME",
                          [&](std::string_view, std::string_view v) {
                            seen.emplace_back(v);
                            return true;
                          },
                          '\0', 1012)
                  .ok());
  EXPECT_EQ(seen, (std::vector<std::string>{"fact", "late"}));
  seen.clear();
  ASSERT_TRUE((*store)->ScanJournal(
                          2, "ACME",
                          [&](std::string_view, std::string_view v) {
                            seen.emplace_back(v);
                            return false;
                          },
                          '\0', 15)
                  .ok());
  EXPECT_EQ(seen, (std::vector<std::string>{"fact"}));  // a visit that stops ends the scan
  seen.clear();
  ASSERT_TRUE((*store)->ScanJournal(2, "NOBODY", [&](std::string_view, std::string_view v) {
                        seen.emplace_back(v);
                        return true;
                      }).ok());
  EXPECT_TRUE(seen.empty());
}

TEST_F(StoreTest, ScanAccountGroupReadsOneAccountAcrossFilesAndOtherScansSeeEverything) {
  auto store = ProjectionStore::Open(dir_, ProjectionStore::Mode::kReadWrite);
  ASSERT_TRUE(store.ok()) << store.status().message();
  StagedBatch batch(store->get());
  batch.Put(2, keys::Account("ACME"), "account");
  batch.Put(2, keys::Agreement("ACME", "AG-1"), "agreement");
  batch.Put(2, keys::Account("ACME2"), "next account");
  batch.Put(2, keys::Agreement("ACME2", "AG-2"), "next agreement");
  ASSERT_TRUE(batch.Commit().ok());
  ASSERT_TRUE((*store)->CompactLevel0(2, 0).ok());  // into a file
  batch.Put(2, keys::Grant("ACME", "GR-1"), "grant");
  batch.Put(2, keys::Account("B"), "account b");
  ASSERT_TRUE(batch.Commit().ok());  // in the memtable
  ASSERT_EQ((*store)->Level0Files(2), 0);

  std::vector<std::string> seen;
  auto collect = [&](std::string_view, std::string_view v) {
    seen.emplace_back(v);
    return true;
  };
  ASSERT_TRUE((*store)->ScanAccountGroup(2, "ACME", collect).ok());
  EXPECT_EQ(seen, (std::vector<std::string>{"account", "agreement", "grant"}));
  seen.clear();
  ASSERT_TRUE((*store)->ScanAccountGroup(2, "B", collect).ok());
  EXPECT_EQ(seen, (std::vector<std::string>{"account b"}));
  seen.clear();
  ASSERT_TRUE((*store)->ScanAccountGroup(2, "ACM", collect).ok());
  EXPECT_TRUE(seen.empty());
  ASSERT_TRUE((*store)->ScanAccountGroup(5, "ACME", collect).ok());  // a partition without state
  EXPECT_TRUE(seen.empty());
  ASSERT_TRUE((*store)->ScanAccountGroup(2, "ACME", [&](std::string_view k, std::string_view v) {
                         seen.emplace_back(v);
                         return k != keys::Agreement("ACME", "AG-1");
                       }).ok());
  EXPECT_EQ(seen, (std::vector<std::string>{"account", "agreement"}));

  // A scan of a shorter prefix than an account group's sees the file and the memtable.
  seen.clear();
  ASSERT_TRUE((*store)->Scan(2, keys::KindPrefix(keys::kAgreementTag), [&](std::string_view k, std::string_view v) {
                         if (keys::KindOf(k) == keys::kAgreementTag) seen.emplace_back(v);
                         return true;
                       }).ok());
  EXPECT_EQ(seen, (std::vector<std::string>{"agreement", "next agreement"}));
  auto digest = (*store)->ComputeDigest(2);
  ASSERT_TRUE(digest.ok());
  EXPECT_EQ(digest->keys, 6u);
}

// The projector applies one batch while the one before is written: the later batch
// reads through it, and keeps what it read, since the earlier one is cleared and reused
// as soon as it is written.
TEST_F(StoreTest, StagedBatchReadsThroughThePreviousBatchAndKeepsWhatItRead) {
  auto store = ProjectionStore::Open(dir_, ProjectionStore::Mode::kReadWrite);
  ASSERT_TRUE(store.ok()) << store.status().message();
  {
    StagedBatch first(store->get());
    first.Put(0, "stored", "as stored");
    ASSERT_TRUE(first.Commit().ok());
  }
  StagedBatch earlier(store->get()), later(store->get());
  earlier.Put(0, "k", "from the earlier batch");
  earlier.Put(0, "p", "prefetched through it");
  later.set_previous(&earlier);
  ASSERT_TRUE(later.Prefetch(0, {"p", "stored", "absent"}).ok());
  EXPECT_EQ(**later.Get(0, "k"), "from the earlier batch");
  EXPECT_EQ(**later.Get(0, "p"), "prefetched through it");
  EXPECT_EQ(**later.Get(0, "stored"), "as stored");
  EXPECT_FALSE(later.Get(0, "absent")->has_value());
  EXPECT_TRUE(later.empty());  // reads are not writes

  // The earlier batch is written, cleared and reused: the later one still knows.
  ASSERT_TRUE(earlier.Commit().ok());
  earlier.Put(0, "k", "overwriting the earlier batch's memory");
  later.set_previous(nullptr);
  EXPECT_EQ(**later.Get(0, "k"), "from the earlier batch");
  EXPECT_EQ(**later.Get(0, "p"), "prefetched through it");

  // Its own writes win, and only they are committed.
  later.Put(0, "k", "rewritten");
  EXPECT_EQ(**later.Get(0, "k"), "rewritten");
  EXPECT_EQ(later.puts(), 1u);
  ASSERT_TRUE(later.Commit().ok());
  EXPECT_EQ(**(*store)->Get(0, "k"), "rewritten");
  EXPECT_EQ(**(*store)->Get(0, "p"), "prefetched through it");  // written by the earlier batch
  EXPECT_FALSE((*store)->Get(0, "absent")->has_value());
}

}  // namespace
}  // namespace ledger
