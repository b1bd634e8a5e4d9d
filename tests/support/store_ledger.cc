#include "store_ledger.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include "ledger/kafka/partitioner.h"
#include "ledger/projector/event_step.h"
#include "ledger/rules/reference.h"
#include "ledger/storage/keys.h"

namespace ledger::test_support {
namespace {
// One partition's puts, in one write.
Status WriteAll(ProjectionStore& store, int partition, const std::map<std::string, std::string>& puts) {
  std::vector<ProjectionStore::KeyValue> kv;
  for (const auto& [k, v] : puts) kv.push_back({k, v});
  return store.Write({{partition, std::move(kv)}});
}
}  // namespace

StoreLedger::StoreLedger(const std::string& name)
    : dir_(std::filesystem::temp_directory_path() /
           ("ledger-unit-" + name + "-" + std::to_string(::getpid()))),
      codec_(std::move(*EventCodec::Create())),
      recorded_at_(*ParseTime("2026-01-01")) {
  std::filesystem::remove_all(dir_);
  auto store = ProjectionStore::Open(dir_.string(), ProjectionStore::Mode::kReadWrite);
  EXPECT_TRUE(store.ok()) << store.status().message();
  store_ = std::move(*store);
}

StoreLedger::~StoreLedger() {
  store_.reset();
  std::filesystem::remove_all(dir_);
}

Millis StoreLedger::NextRecordTime(const std::string& recorded_at) {
  recorded_at_ = recorded_at.empty() ? recorded_at_ + 1000 : *ParseTime(recorded_at);
  return recorded_at_;
}

std::string StoreLedger::NextId() {
  char buf[40];
  std::snprintf(buf, sizeof buf, "01930000-0000-7000-8000-%012d", ++ids_);
  return buf;
}

Applied StoreLedger::Apply(const std::string& type, const std::string& account, const std::string& data,
                           const std::string& occurred_at, const std::string& recorded_at) {
  return ApplyLine(R"({"type":")" + type + R"(","account_id":")" + account + R"(","event_id":")" + NextId() +
                       R"(","occurred_at":")" + occurred_at + R"(","data":)" + data + "}",
                   recorded_at);
}

Applied StoreLedger::ApplyLine(const std::string& line, const std::string& recorded_at,
                               std::optional<Millis> occurred_at) {
  auto e = codec_->FromJson(line, NowMillis());
  EXPECT_TRUE(e.ok()) << line << ": " << e.status().message();
  if (!e.ok()) return {};
  if (occurred_at) {
    auto* envelope = reinterpret_cast<flatbuffers::Table*>(const_cast<fb::Envelope*>(fb::GetEnvelope(e->bytes.data())));
    EXPECT_TRUE(envelope->SetField<int64_t>(fb::Envelope::VT_OCCURRED_AT, *occurred_at, 0));
  }
  const int partition = KafkaPartitionOf(e->key, 4);
  // The projector's own step, on the record Kafka would deliver, into a batch of its own.
  EventRecord record;
  record.partition = partition;
  record.offset = offset_++;
  record.recorded_at = NextRecordTime(recorded_at);
  record.key = e->key;
  record.payload = e->bytes;
  auto env = VerifyRecord(record);
  EXPECT_TRUE(env.ok()) << line << ": " << env.status().message();
  if (!env.ok()) return {};
  StagedBatch batch(store_.get());
  auto applied = FoldRecord(record, **env, batch, nullptr);
  EXPECT_TRUE(applied.ok()) << applied.status().message();
  if (!applied.ok()) return {};
  auto refolded = RefoldStale(batch);
  EXPECT_TRUE(refolded.ok()) << refolded.status().message();
  Status committed = batch.Commit();
  EXPECT_TRUE(committed.ok()) << committed.message();
  return *applied;
}

RefoldCounts StoreLedger::ApplyBatch(const std::vector<std::string>& lines, const RefoldPolicy& policy,
                                     const std::vector<std::pair<int, std::string>>& also) {
  RefoldCounts counts;
  ApplyBatchInto(lines, policy, also, &counts);
  return counts;
}

void StoreLedger::ApplyBatchInto(const std::vector<std::string>& lines, const RefoldPolicy& policy,
                                 const std::vector<std::pair<int, std::string>>& also, RefoldCounts* counts) {
  StagedBatch batch(store_.get());
  std::vector<EncodedEvent> events;  // the records view them until the batch is written
  events.reserve(lines.size());
  for (const auto& line : lines) {
    auto e = codec_->FromJson(line, NowMillis());
    ASSERT_TRUE(e.ok()) << line << ": " << e.status().message();
    events.push_back(std::move(*e));
    const EncodedEvent& encoded = events.back();
    EventRecord record;
    record.partition = KafkaPartitionOf(encoded.key, 4);
    record.offset = offset_++;
    record.recorded_at = NextRecordTime("");
    record.key = encoded.key;
    record.payload = encoded.bytes;
    auto env = VerifyRecord(record);
    ASSERT_TRUE(env.ok()) << line << ": " << env.status().message();
    auto applied = FoldRecord(record, **env, batch, nullptr);
    ASSERT_TRUE(applied.ok()) << applied.status().message();
  }
  auto refolded = RefoldStale(batch, policy, also);
  ASSERT_TRUE(refolded.ok()) << refolded.status().message();
  *counts = *refolded;
  ASSERT_TRUE(batch.Commit().ok());
}

void StoreLedger::Reference(const std::string& type, const std::string& data, const std::string& recorded_at) {
  const std::string line = R"({"type":")" + type + R"(","event_id":")" + NextId() +
                           R"(","occurred_at":"2020-01-01","data":)" + data + "}";
  auto e = codec_->FromJson(line, 0);
  ASSERT_TRUE(e.ok()) << line << ": " << e.status().message();
  auto env = VerifyEnvelope(e->bytes.data(), e->bytes.size());
  ASSERT_TRUE(env.ok()) << env.status().message();
  std::map<std::string, std::string> puts;
  puts[ReferenceKey(**env)] = EncodeReferenceValue(NextRecordTime(recorded_at), 0, reference_offset_++, e->bytes);
  // As the reference follower does: the next offset of ledger.reference, in the same write.
  puts[keys::ReferenceNextOffset(0)] = keys::EncodeOffset(reference_offset_);
  ASSERT_TRUE(WriteAll(*store_, keys::kReferencePartition, puts).ok());
}

Status StoreLedger::AskStatus(const std::string& name, const std::map<std::string, std::string>& params) {
  auto view = LedgerView::Create(store_.get());
  if (!view.ok()) return view.status();
  auto answer = (*view)->Ask({name, params});
  return answer.ok() ? Status::Ok() : answer.status();
}

Result<Json> StoreLedger::TryAsk(const std::string& name, const std::map<std::string, std::string>& params) {
  auto view = LedgerView::Create(store_.get());
  if (!view.ok()) return view.status();
  return (*view)->Ask({name, params});
}

Result<std::vector<Json>> StoreLedger::AccountEvents(const std::string& account) {
  auto view = LedgerView::Create(store_.get());
  if (!view.ok()) return view.status();
  return (*view)->AccountEvents(account);
}

Json StoreLedger::Ask(const std::string& name, const std::map<std::string, std::string>& params,
                      bool expect_error) {
  auto view = LedgerView::Create(store_.get());
  EXPECT_TRUE(view.ok()) << view.status().message();
  auto answer = (*view)->Ask({name, params});
  if (!answer.ok()) {
    EXPECT_TRUE(expect_error) << name << ": " << answer.status().message();
    return Json{{"error", answer.status().message()}};
  }
  EXPECT_FALSE(expect_error) << name << " answered " << answer->dump();
  return *answer;
}

}  // namespace ledger::test_support
