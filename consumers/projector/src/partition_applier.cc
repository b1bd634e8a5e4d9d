#include "partition_applier.h"

#include <librdkafka/rdkafka.h>
#include <spdlog/spdlog.h>

#include "ledger/kafka/kafka_refusal.h"
#include "ledger/projector/event_step.h"
#include "ledger/projector/seen_filter.h"
#include "ledger/rules/rules.h"
#include "ledger/schema/event_codec.h"

namespace ledger {
namespace {

using Clock = std::chrono::steady_clock;

// How often unacknowledged dead letters are sent again.
constexpr auto kDeadLetterRetry = std::chrono::seconds(3);

}  // namespace

PartitionApplier::PartitionApplier(const ProjectorOptions& options, ProjectionStore* store,
                                   ProjectorMetrics* metrics)
    : options_(options),
      store_(store),
      metrics_(metrics),
      committer_(store, metrics),
      disk_(store->dir(), options.min_free_disk_bytes, metrics) {
  if (!options_.stop_at && !options_.stop_when_caught_up && options_.refold_beside_bytes > 0) {
    beside_ = std::make_unique<RefoldsBeside>(store, options_.refold_beside_bytes);
  }
}

Status PartitionApplier::Init(RdKafka::KafkaConsumer* consumer, DeadLetterMode mode) {
  consumer_ = consumer;
  auto dlq = DeadLetters::Create(options_.kafka, options_.dead_letter_topic, mode, metrics_);
  if (!dlq.ok()) return dlq.status();
  dead_letters_ = std::move(*dlq);
  return Status::Ok();
}

Result<int64_t> PartitionApplier::TakeUp(int p, const std::string& label) {
  auto next = store_->NextOffset(p);
  if (!next.ok()) return next.status();
  auto seen = SeenFilter::Load(*store_, p);
  if (!seen.ok()) return seen.status();
  int64_t low = 0, high = 0;
  const bool marks = consumer_->query_watermark_offsets(std::string(kEventsTopic), p, &low, &high, 5000) ==
                     RdKafka::ERR_NO_ERROR;
  int64_t target = marks ? high : -1;  // unknown: never "caught up"
  if (options_.stop_at) {
    auto limit = options_.stop_at->find(p);
    target = limit == options_.stop_at->end() ? 0 : limit->second;
  }
  progress_.TakeUp(p, next->value_or(0), target, std::move(*seen));
  if (Status stale = TakeUpStale(p); !stale.ok()) return stale;
  int64_t from = next->value_or(RdKafka::Topic::OFFSET_BEGINNING);
  // The log no longer starts where the store ends (retention or deleted records): the
  // events between are gone. Waiting for them would never end.
  if (marks && progress_.NextOf(p) < low) {
    if (options_.require_whole_log) {
      return Status::Unavailable(std::string(kEventsTopic) + " [" + std::to_string(p) + "] now starts at offset " +
                                 std::to_string(low) + ": the events before it were deleted (retention or deleted "
                                 "records), so the log cannot be replayed from " +
                                 std::to_string(progress_.NextOf(p)));
    }
    spdlog::warn("{} [{}] now starts at offset {}: the events from {} to it were deleted before they were "
                 "projected; going on from {}", kEventsTopic, p, low, progress_.NextOf(p), low);
    progress_.SetNext(p, low);
    committer_.staged().SetNextOffset(p, low);  // durable with the next batch: said once
    from = low;
  }
  spdlog::info("{} {} [{}] from offset {}", label, kEventsTopic, p,
               next->has_value() ? std::to_string(**next) : "beginning");
  return from;
}

Status PartitionApplier::ConsumeBatch(const std::atomic<bool>& stop) {
  std::vector<std::unique_ptr<RdKafka::Message>> messages;
  const auto deadline = Clock::now() + options_.max_wait;
  while (messages.size() < options_.max_batch && !stop.load() && failure_.ok()) {
    int timeout_ms = 0;
    if (messages.empty()) {
      timeout_ms = 100;
    } else {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
      if (left.count() <= 0) break;
      timeout_ms = static_cast<int>(left.count());
    }
    std::unique_ptr<RdKafka::Message> m(consumer_->consume(timeout_ms));
    const RdKafka::ErrorCode err = m->err();
    if (err == RdKafka::ERR_NO_ERROR) {
      messages.push_back(std::move(m));
      continue;
    }
    if (err == RdKafka::ERR__TIMED_OUT) break;
    if (err == RdKafka::ERR__FATAL) return Status::Fatal("the consumer failed: " + m->errstr());
    if (const RefusalKind kind = RefusalOf(err, m->errstr()); kind != RefusalKind::kNone) {
      // Nothing can be fetched until the credentials, certificates or ACLs are put
      // right: say so (paused), keep the session, and go on by itself once they are.
      NoteRefusal(kind, m->errstr());
      break;
    }
    // Transient (broker down, rebalance in progress): librdkafka retries.
    if (metrics_) metrics_->CountError("consume");
    spdlog::warn("consume: {}", m->errstr());
    break;
  }
  if (!failure_.ok()) return failure_;
  if (!messages.empty() && !refused_.empty()) {
    spdlog::info("Kafka accepts {} again: consumption resumed", DescribeClient(options_.kafka));
    if (metrics_) metrics_->SetPaused(refused_, false);
    refused_.clear();
  }
  last_batch_full_ = messages.size() >= options_.max_batch;
  const auto apply_start = Clock::now();
  Status applied = ApplyBatch(messages);
  if (metrics_ && !messages.empty()) {
    metrics_->ObserveApply(std::chrono::duration<double>(Clock::now() - apply_start).count());
  }
  return applied;
}

// Verifies every message, reads what the rules will read in one MultiGet per
// partition, then applies the messages in order.
Status PartitionApplier::ApplyBatch(const std::vector<std::unique_ptr<RdKafka::Message>>& messages) {
  std::vector<EventRecord> records;
  records.reserve(messages.size());
  std::vector<Result<const fb::Envelope*>> verified;
  verified.reserve(messages.size());
  std::map<int, std::vector<std::string>> reads;
  for (const auto& m : messages) {
    records.push_back(RecordOf(*m));
    verified.push_back(VerifyRecord(records.back()));
    if (verified.back().ok()) {
      const fb::Envelope& e = *verified.back().value();
      auto keys = KeysRead(e, SeenIn(progress_.SeenFilterOf(m->partition()), e));
      auto& r = reads[m->partition()];
      r.insert(r.end(), std::make_move_iterator(keys.begin()), std::make_move_iterator(keys.end()));
    }
  }
  for (auto& [p, keys] : reads) {
    if (Status s = committer_.staged().Prefetch(p, std::move(keys)); !s.ok()) return s;
  }
  const size_t recent_from = messages.size() > ProjectorMetrics::kRecentEvents
                                 ? messages.size() - ProjectorMetrics::kRecentEvents
                                 : 0;
  std::vector<RecentEvent> recent;
  for (size_t i = 0; i < messages.size(); ++i) {
    const uint64_t dead_before = totals_.dead_lettered, applied_before = totals_.applied,
                   anomalies_before = totals_.anomalies, late_before = totals_.late,
                   consumed_before = totals_.consumed;
    if (Status s = HandleMessage(*messages[i], records[i], verified[i]); !s.ok()) return s;
    if (metrics_ && i >= recent_from && totals_.consumed > consumed_before) {
      const auto& m = *messages[i];
      RecentEvent r;
      r.partition = m.partition();
      r.offset = m.offset();
      r.recorded_at = m.timestamp().timestamp;
      if (verified[i].ok()) {
        const fb::Envelope& e = *verified[i].value();
        r.type = EventTypeName(e.event_type());
        r.account = e.account_id() ? e.account_id()->str() : "";
      }
      r.outcome = totals_.dead_lettered > dead_before ? "dead_lettered"
                  : totals_.applied > applied_before   ? "applied"
                  : totals_.anomalies > anomalies_before ? "anomaly"
                  : totals_.late > late_before           ? "late"
                                                        : "duplicate";
      recent.push_back(std::move(r));
    }
  }
  if (metrics_ && !recent.empty()) metrics_->NoteRecent(std::move(recent));
  return Status::Ok();
}

Status PartitionApplier::HandleMessage(RdKafka::Message& m, const EventRecord& record, const Result<const fb::Envelope*>& verified) {
  const int p = m.partition();
  const int64_t offset = m.offset();
  const int64_t next = progress_.NextOf(p);
  if (next < 0 || offset < next) return Status::Ok();  // stale delivery, or not held
  if (options_.stop_at && offset >= progress_.TargetOf(p)) return Status::Ok();  // beyond the replay
  ++totals_.consumed;
  committer_.NoteEvent(record.recorded_at);
  if (!verified.ok()) {
    DeadLetter(m, verified.status().message());
    PassRecord(record, committer_.staged());
  } else {
    const fb::Envelope& e = *verified.value();
    auto applied = FoldRecord(record, e, committer_.staged(), progress_.SeenFilterOf(p));
    if (!applied.ok()) return applied.status();
    if (beside_ && !beside_->empty() && applied->outcome == Outcome::kLate && e.account_id() != nullptr) {
      beside_->NoteJournaled(p, e.account_id()->string_view());
    }
    switch (applied->outcome) {
      case Outcome::kApplied: ++totals_.applied; break;
      case Outcome::kDuplicate: ++totals_.duplicates; break;
      case Outcome::kAnomaly: ++totals_.anomalies; break;
      case Outcome::kLate: ++totals_.late; break;
    }
    committer_.NoteOutcome(e.event_type(), applied->outcome);
  }
  progress_.SetNext(p, offset + 1);
  return Status::Ok();
}

// The message as the per-event step takes it: views into the message's own buffers.
EventRecord PartitionApplier::RecordOf(const RdKafka::Message& m) const {
  EventRecord r;
  r.partition = m.partition();
  r.offset = m.offset();
  r.recorded_at = m.timestamp().timestamp;
  r.key = std::string_view(static_cast<const char*>(m.key_pointer()), m.key_pointer() ? m.key_len() : 0);
  r.payload = std::string_view(static_cast<const char*>(m.payload()), m.payload() ? m.len() : 0);
  r.partition_count = partition_count_;
  // Through the C API: no copy of the headers.
  rd_kafka_headers_t* headers = nullptr;
  const void* value = nullptr;
  size_t size = 0;
  if (rd_kafka_message_headers(const_cast<RdKafka::Message&>(m).c_ptr(), &headers) == RD_KAFKA_RESP_ERR_NO_ERROR &&
      rd_kafka_header_get_last(headers, kHeaderType, &value, &size) == RD_KAFKA_RESP_ERR_NO_ERROR && value) {
    r.type_header = std::string_view(static_cast<const char*>(value), size);
  }
  return r;
}

void PartitionApplier::NoteRefusal(RefusalKind kind, const std::string& cause) {
  const std::string reason = kind == RefusalKind::kAuthorization ? "kafka_acl" : "kafka_auth";
  if (refused_ == reason) return;
  if (metrics_ && !refused_.empty()) metrics_->SetPaused(refused_, false);
  refused_ = reason;
  const std::string why = RefusalMessage(options_.kafka, kind, cause);
  if (metrics_) {
    metrics_->SetPaused(reason, true, why);
    metrics_->CountError(reason);
  }
  spdlog::error("{}: consumption paused until it is put right", why);
}

// The end of partition `p`'s log as last fetched; -1 if not known.
int64_t PartitionApplier::LogEnd(int p) const {
  int64_t low = 0, high = -1;
  consumer_->get_watermark_offsets(std::string(kEventsTopic), p, &low, &high);
  return high;
}

// Not acknowledged yet: the batch is written only once it is (StartCommit).
void PartitionApplier::DeadLetter(RdKafka::Message& m, const std::string& reason) {
  dead_letters_->Send(m, reason);
  ++totals_.dead_lettered;
}

// Makes the batch durable, synchronously.
Status PartitionApplier::CommitBatch() {
  Status s = StartCommit();
  return s.ok() ? FinishCommit() : s;
}

// ---- long accounts' refolds ------------------------------------------------------

// A partition taken up: its accounts left stale in the store (a refold beside the
// projection that a stop or a crash cut short) are folded again: beside the projection
// by a live projector, in the next batch by a replay.
Status PartitionApplier::TakeUpStale(int p) {
  if (beside_) return beside_->TakeUp(p);
  auto stale = StaleAccounts(*store_, p);
  if (!stale.ok()) return stale.status();
  for (auto& account : *stale) settle_.emplace_back(p, std::move(account));
  return Status::Ok();
}

void PartitionApplier::LetGo(int p) {
  progress_.LetGo(p);
  std::erase_if(settle_, [&](const auto& a) { return a.first == p; });
  if (beside_) beside_->LetGo(p);
}

void PartitionApplier::ReportBeside() {
  if (metrics_) metrics_->SetRefoldsBeside(beside_ ? beside_->size() : 0);
}

// Waits for the batch in flight, then starts writing the staged one in the background
// (dead letters acknowledged first), so that the next batch is consumed and applied
// meanwhile.
Status PartitionApplier::StartCommit() {
  if (Status s = FinishCommit(); !s.ok()) return s;
  if (beside_) {
    if (Status s = beside_->MergeDone(committer_.staged()); !s.ok()) return s;
  }
  ReportBeside();
  if (committer_.staged().empty() && settle_.empty()) return Status::Ok();
  if (Status s = WaitForDiskSpace(); !s.ok()) return s;
  if (Status s = WaitForDeadLetters(); !s.ok()) return s;
  auto refolded =
      RefoldStale(committer_.staged(), beside_ ? beside_->Policy() : RefoldPolicy{}, std::exchange(settle_, {}));
  if (!refolded.ok()) return refolded.status();
  if (metrics_ && refolded->accounts > 0) metrics_->CountRefolds(refolded->accounts, refolded->events, refolded->large);
  if (beside_) beside_->Leave(std::move(refolded->deferred));
  committer_.Start(progress_.next());
  if (beside_) beside_->BatchStarted();
  ReportBeside();
  return Status::Ok();
}

// Waits for the batch in flight; once durable, reports it (on_durable: Kafka's
// committed offsets, for lag monitoring only).
Status PartitionApplier::FinishCommit() {
  auto durable = committer_.Finish();
  if (!durable.ok()) return durable.status();
  if (beside_) beside_->BatchDurable();
  std::vector<std::pair<int, int64_t>> durable_now;
  for (const auto& [p, next] : *durable) {
    if (!progress_.MarkDurable(p, next)) continue;  // revoked meanwhile
    durable_now.emplace_back(p, next);
    if (metrics_) {
      const int64_t high = LogEnd(p);
      metrics_->SetPartition(p, next, high >= 0 ? high - next : -1);
    }
  }
  if (!durable_now.empty() && on_durable) on_durable(durable_now);
  PublishRestoring();
  return Status::Ok();
}

// Restoring: taken up and not yet durable in the store up to the target (what is
// applied but not committed is not in the answers yet).
void PartitionApplier::PublishRestoring() {
  // Without a stop offset, an end not known when taken up is the end as fetched since.
  exchange_.ReportRestoring(progress_.Restoring([this](int p) { return LogEnd(p); }, !options_.stop_at));
}

// Before a write: if the disk is (nearly) full, pause until there is room. Nothing
// is written meanwhile, so nothing partial can be.
Status PartitionApplier::WaitForDiskSpace() {
  if (disk_.HasRoom()) return Status::Ok();
  const std::string why = disk_.dir() + " has " + std::to_string(disk_.FreeBytes() >> 20) +
                          " MiB free, below --min-free-disk-mb: free some space";
  return PauseUntil("disk_full", why, [this] {
    if (disk_.HasRoom()) {
      spdlog::info("{} has room again ({} MiB free): consumption resumed", disk_.dir(), disk_.FreeBytes() >> 20);
      return true;
    }
    disk_.ReportFull();
    return false;
  });
}

// Before a write: every dead letter of the batch must be acknowledged, or the batch's
// offsets would move past a message that is neither applied nor dead-lettered. Until
// they are, pause and send them again every few seconds.
Status PartitionApplier::WaitForDeadLetters() {
  Status s = dead_letters_->Flush(std::chrono::seconds(10));
  if (s.ok()) return s;
  spdlog::error("{}: consumption paused until they are written", s.message());
  auto next_try = Clock::now() + kDeadLetterRetry;
  return PauseUntil("dead_letters", s.message(), [&] {
    if (Clock::now() < next_try) return false;
    Status again = dead_letters_->Flush(std::chrono::seconds(5));
    if (again.ok()) {
      spdlog::info("the dead letters are written: consumption resumed");
      return true;
    }
    spdlog::error("{}: consumption still paused", again.message());
    next_try = Clock::now() + kDeadLetterRetry;
    return false;
  });
}

// Pauses consumption of every assigned partition, keeping the group session alive,
// until `ready` (called about every 200 ms) is true, the caller stops or the
// projector fails; then fetches again from where the applied events end. `reason`
// labels ledger_projector_paused and the status; `why` is the status's words for it.
Status PartitionApplier::PauseUntil(const std::string& reason, const std::string& why,
                                    const std::function<bool()>& ready) {
  std::vector<RdKafka::TopicPartition*> assigned;
  consumer_->assignment(assigned);
  consumer_->pause(assigned);
  paused_for_ = reason;
  if (metrics_) metrics_->SetPaused(reason, true, why);
  bool done = false;
  while (!stop_->load() && failure_.ok() && !(done = ready())) {
    std::unique_ptr<RdKafka::Message> m(consumer_->consume(200));  // keeps the session
  }
  paused_for_.clear();
  if (metrics_) metrics_->SetPaused(reason, false);
  if (done && failure_.ok()) {
    // Messages fetched before the pause were dropped meanwhile: fetch them again.
    for (auto* tp : assigned) {
      if (progress_.Holds(tp->partition())) tp->set_offset(progress_.NextOf(tp->partition()));
    }
    consumer_->resume(assigned);
    for (auto* tp : assigned) {
      if (progress_.Holds(tp->partition())) consumer_->seek(*tp, 5000);
    }
  }
  RdKafka::TopicPartition::destroy(assigned);
  if (!failure_.ok()) return failure_;
  return done ? Status::Ok() : Status::Unavailable("stopped while paused (" + reason + "): nothing more committed");
}

// A full batch means a backlog; the first batch that leaves every assigned partition
// at its high watermark (as last fetched) ends it, and on_caught_up is called: once
// per backlog.
void PartitionApplier::NoticeCatchingUp() {
  if (last_batch_full_) behind_ = true;
  if (!behind_ || progress_.empty()) return;
  if (!progress_.AtLogEnd([this](int p) { return LogEnd(p); })) return;
  behind_ = false;
  if (options_.on_caught_up) options_.on_caught_up();
}


}  // namespace ledger
