#include "ledger/projector/projector.h"

#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafkacpp.h>
#include <spdlog/spdlog.h>

#include <cstring>
#include <filesystem>
#include <functional>
#include <map>
#include <set>

#include "batch_committer.h"
#include "dead_letters.h"
#include "disk_guard.h"
#include "ledger/projector/event_step.h"
#include "ledger/projector/partition_progress.h"
#include "ledger/projector/projector_exchange.h"
#include "ledger/projector/seen_filter.h"
#include "ledger/rules/rules.h"
#include "ledger/schema/event_codec.h"
#include "ledger/storage/keys.h"
#include "reference_follower.h"
#include "refolds_beside.h"

namespace ledger {
namespace {

using Clock = std::chrono::steady_clock;

// How often unacknowledged dead letters are sent again.
constexpr auto kDeadLetterRetry = std::chrono::seconds(3);

struct TopicPartitionList {
  std::vector<RdKafka::TopicPartition*> items;
  ~TopicPartitionList() { RdKafka::TopicPartition::destroy(items); }
};

}  // namespace

class Projector::Impl : public RdKafka::RebalanceCb {
 public:
  Impl(const ProjectorOptions& options, ProjectionStore* store, ProjectorMetrics* metrics)
      : options_(options),
        store_(store),
        metrics_(metrics),
        committer_(store, metrics),
        disk_(store->dir(), options.min_free_disk_bytes, metrics) {
    if (!options_.stop_at && !options_.stop_when_caught_up && options_.refold_beside_bytes > 0) {
      beside_ = std::make_unique<RefoldsBeside>(store, options_.refold_beside_bytes);
    }
  }

  Status Init() {
    KafkaProperties fixed = {
        {"group.id", options_.group_id},
        {"enable.auto.commit", "false"},
        {"enable.auto.offset.store", "false"},
        {"auto.offset.reset", "earliest"},
        {"enable.partition.eof", "false"},
        // A rebalance moves only the partitions that change hands; the others keep being
        // applied (and answered) meanwhile.
        {"partition.assignment.strategy", "cooperative-sticky"},
    };
    if (options_.standby) {
      // Never joins or commits: a group id of its own only because librdkafka wants one.
      fixed[0].second = options_.group_id + ".standby." + options_.instance_id;
    } else if (!options_.instance_id.empty()) {
      fixed.emplace_back("group.instance.id", options_.instance_id);
    }
    // Large fetches keep the local queue full while a batch is being applied.
    auto conf = MakeKafkaConf(options_.kafka, fixed,
                              {{"max.partition.fetch.bytes", "10485760"},
                               {"queued.min.messages", "1000000"}});
    if (!conf.ok()) return conf.status();
    std::string err;
    if ((*conf)->set("rebalance_cb", static_cast<RdKafka::RebalanceCb*>(this), err) !=
        RdKafka::Conf::CONF_OK) {
      return Status::InvalidInput("rebalance_cb: " + err);
    }
    consumer_.reset(RdKafka::KafkaConsumer::create(conf->get(), err));
    if (!consumer_) return Status::InvalidInput("cannot create the Kafka consumer: " + err);
    auto dlq = DeadLetters::Create(options_.kafka, options_.dead_letter_topic,
                                   // A standby counts them only: the owner sends them.
                                   options_.send_dead_letters && !options_.standby ? DeadLetterMode::kSend
                                                                                   : DeadLetterMode::kCountOnly,
                                   metrics_);
    if (!dlq.ok()) return dlq.status();
    dead_letters_ = std::move(*dlq);
    if (options_.standby) return Status::Ok();  // no reference data: the owner follows it
    auto reference = ReferenceFollower::Create(
        options_.kafka, options_.group_id, store_,
        options_.stop_at ? std::optional<std::map<int, int64_t>>(options_.reference_stop_at) : std::nullopt,
        [this](RdKafka::Message& m, const std::string& why) {
          DeadLetter(m, why);
          return Status::Ok();
        });
    if (!reference.ok()) return reference.status();
    reference_ = std::move(*reference);
    return Status::Ok();
  }

  Status Run(const std::atomic<bool>& stop) {
    stop_ = &stop;
    exchange_.Started();
    if (!options_.standby) {
      RdKafka::ErrorCode rc = consumer_->subscribe({std::string(kEventsTopic)});
      if (rc != RdKafka::ERR_NO_ERROR) {
        return Status::Unavailable("cannot subscribe to " + std::string(kEventsTopic) + ": " +
                                   RdKafka::err2str(rc));
      }
    }
    while (!stop.load() && failure_.ok()) {
      if (options_.standby) {
        if (Status s = ApplyFollowing(); !s.ok()) {
          failure_ = s;
          break;
        }
      }
      Status s = ConsumeBatch(stop);
      if (s.ok()) s = PollReference();
      if (s.ok()) s = StartCommit();
      if (!s.ok()) {
        failure_ = s;
        break;
      }
      NoticeCatchingUp();
      if ((options_.stop_when_caught_up || options_.stop_at) && CaughtUp()) break;
      if (StoreSwitched()) {
        spdlog::info("{} now names another store; stopping to move over", options_.data_dir_link);
        totals.store_switched = true;
        break;
      }
    }
    if (failure_.ok()) failure_ = CommitBatch();
    consumer_->close();  // leaves the group; a revoke callback commits nothing new
    exchange_.Stopped();  // what was applied is committed above
    return failure_;
  }

  // ---- a standby's partitions --------------------------------------------------------

  ProjectorExchange& exchange() { return exchange_; }

  // Between batches: makes the standby's assignment what Follow and Release asked for.
  // What was applied is committed first, so a partition let go of is durable up to
  // where it was applied, and a partition taken up starts from the store's offset.
  Status ApplyFollowing() {
    ProjectorExchange::Requests requests = exchange_.Take();
    const std::set<int> current = progress_.Held();
    Status s;
    if (requests.follow != current || !requests.releases.empty()) {
      s = CommitBatch();
      if (s.ok()) s = Reassign(current, requests.follow);
    }
    for (auto& done : requests.releases) done.set_value(s);
    Positions now;
    std::map<int, int64_t> behind;
    for (const auto& [p, next] : progress_.next()) {
      now[p] = next - 1;
      const int64_t high = LogEnd(p);
      behind[p] = high < 0 ? -1 : std::max<int64_t>(0, high - next);
    }
    // What is still catching up first: a partition just taken up must never be seen as
    // followed and not restoring (it would be answered from before its events).
    PublishRestoring();
    exchange_.ReportFollowing(std::move(now), std::move(behind));
    return s;
  }

  // A standby's assignment from `current` to `wanted`, each partition taken up from the
  // store's offset (nothing is staged: the caller has committed).
  Status Reassign(const std::set<int>& current, const std::set<int>& wanted) {
    for (int p : current) {
      if (wanted.count(p)) continue;
      progress_.LetGo(p);
      LetGoStale(p);
      spdlog::info("standby: no longer following {} [{}]", kEventsTopic, p);
    }
    std::vector<std::unique_ptr<RdKafka::TopicPartition>> owned;
    std::vector<RdKafka::TopicPartition*> tps;
    for (int p : wanted) {
      if (!progress_.Holds(p)) {
        auto stored = store_->NextOffset(p);
        if (!stored.ok()) return stored.status();
        // Catching up (Restoring) until it reaches where the log ended when taken up.
        int64_t low = 0, high = -1;
        const bool marks = consumer_->query_watermark_offsets(std::string(kEventsTopic), p, &low, &high, 5000) ==
                           RdKafka::ERR_NO_ERROR;
        auto seen = SeenFilter::Load(*store_, p);
        if (!seen.ok()) return seen.status();
        progress_.TakeUp(p, stored->value_or(0), marks ? high : -1, std::move(*seen));
        if (Status stale = TakeUpStale(p); !stale.ok()) return stale;
        spdlog::info("standby: following {} [{}] from offset {}", kEventsTopic, p, progress_.NextOf(p));
      }
      owned.emplace_back(RdKafka::TopicPartition::create(std::string(kEventsTopic), p, progress_.NextOf(p)));
      tps.push_back(owned.back().get());
    }
    const RdKafka::ErrorCode rc = consumer_->assign(tps);
    if (rc != RdKafka::ERR_NO_ERROR) return Status::Unavailable("standby assign: " + RdKafka::err2str(rc));
    return Status::Ok();
  }

  // RdKafka::RebalanceCb: resume every assigned partition from the store's offset.
  void rebalance_cb(RdKafka::KafkaConsumer* consumer, RdKafka::ErrorCode err,
                    std::vector<RdKafka::TopicPartition*>& partitions) override {
    if (err == RdKafka::ERR__ASSIGN_PARTITIONS) {
      if (Status s = LearnPartitionCount(consumer); !s.ok()) failure_ = s;
      if (options_.before_assign) {
        std::vector<int> taken;
        for (auto* tp : partitions) taken.push_back(tp->partition());
        if (Status s = options_.before_assign(taken); !s.ok()) failure_ = s;
      }
      for (auto* tp : partitions) {
        auto next = store_->NextOffset(tp->partition());
        if (!next.ok()) {
          failure_ = next.status();
          continue;
        }
        const int p = tp->partition();
        const int64_t offset = next->value_or(RdKafka::Topic::OFFSET_BEGINNING);
        tp->set_offset(offset);
        auto seen = SeenFilter::Load(*store_, p);
        if (!seen.ok()) {
          failure_ = seen.status();
          continue;
        }
        int64_t low = 0, high = 0;
        const bool marks =
            consumer->query_watermark_offsets(tp->topic(), p, &low, &high, 5000) == RdKafka::ERR_NO_ERROR;
        int64_t target = marks ? high : -1;  // unknown: never "caught up"
        if (options_.stop_at) {
          auto limit = options_.stop_at->find(p);
          target = limit == options_.stop_at->end() ? 0 : limit->second;
        }
        progress_.TakeUp(p, next->value_or(0), target, std::move(*seen));
        if (Status stale = TakeUpStale(p); !stale.ok()) failure_ = stale;
        // The log no longer starts where the store ends (retention or deleted records):
        // the events between are gone. Waiting for them would never end.
        if (marks && progress_.NextOf(p) < low) {
          if (options_.require_whole_log) {
            failure_ = Status::Unavailable(tp->topic() + " [" + std::to_string(p) + "] now starts at offset " +
                                           std::to_string(low) + ": the events before it were deleted (retention "
                                           "or deleted records), so the log cannot be replayed from " +
                                           std::to_string(progress_.NextOf(p)));
            continue;
          }
          spdlog::warn("{} [{}] now starts at offset {}: the events from {} to it were deleted before they were "
                       "projected; going on from {}", tp->topic(), p, low, progress_.NextOf(p), low);
          progress_.SetNext(p, low);
          tp->set_offset(low);
          committer_.staged().SetNextOffset(p, low);  // durable with the next batch: said once
        }
        spdlog::info("assigned {} [{}] from offset {}", tp->topic(), tp->partition(),
                     next->has_value() ? std::to_string(**next) : "beginning");
      }
      // Cooperative: only the partitions added are given, the others keep going.
      RdKafka::Error* error = Cooperative(consumer) ? consumer->incremental_assign(partitions) : nullptr;
      if (!Cooperative(consumer)) consumer->assign(partitions);
      if (error != nullptr) {
        failure_ = Status::Unavailable("incremental assign: " + error->str());
        delete error;
      }
      // Restoring first: the partitions taken up are never seen owned and caught up.
      PublishRestoring();
      NoteAssignment();
    } else {
      // Whatever was applied must be durable before another member takes over; with a
      // full disk it cannot be: stop, and resume from the store's offsets later.
      Status s = !paused_for_.empty()
                     ? Status::Unavailable("partitions revoked while paused (" + paused_for_ + ")")
                     : CommitBatch();
      if (!s.ok()) failure_ = s;
      for (auto* tp : partitions) {
        progress_.LetGo(tp->partition());
        LetGoStale(tp->partition());
      }
      // Cooperative: only the partitions taken away are given, the others keep going.
      if (Cooperative(consumer)) {
        if (RdKafka::Error* error = consumer->incremental_unassign(partitions); error != nullptr) {
          failure_ = Status::Unavailable("incremental unassign: " + error->str());
          delete error;
        }
      } else {
        consumer->unassign();
      }
      spdlog::info("partitions revoked ({})", partitions.size());
      NoteAssignment();
      PublishRestoring();
    }
  }

  static bool Cooperative(RdKafka::KafkaConsumer* consumer) { return consumer->rebalance_protocol() == "COOPERATIVE"; }

  void NoteAssignment() {
    if (!options_.on_assignment) return;
    const std::set<int> held = progress_.Held();
    options_.on_assignment(std::vector<int>(held.begin(), held.end()), partition_count_);
  }

  ProjectorTotals totals;

 private:
  // Consumes until the batch is full, the wait is over or nothing more is there; then
  // applies what it got.
  Status ConsumeBatch(const std::atomic<bool>& stop) {
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
      // Transient (broker down, rebalance in progress): librdkafka retries.
      if (metrics_) metrics_->CountError("consume");
      spdlog::warn("consume: {}", m->errstr());
      break;
    }
    if (!failure_.ok()) return failure_;
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
  Status ApplyBatch(const std::vector<std::unique_ptr<RdKafka::Message>>& messages) {
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
      const uint64_t dead_before = totals.dead_lettered, applied_before = totals.applied,
                     anomalies_before = totals.anomalies, late_before = totals.late,
                     consumed_before = totals.consumed;
      if (Status s = HandleMessage(*messages[i], records[i], verified[i]); !s.ok()) return s;
      if (metrics_ && i >= recent_from && totals.consumed > consumed_before) {
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
        r.outcome = totals.dead_lettered > dead_before ? "dead_lettered"
                    : totals.applied > applied_before   ? "applied"
                    : totals.anomalies > anomalies_before ? "anomaly"
                    : totals.late > late_before           ? "late"
                                                          : "duplicate";
        recent.push_back(std::move(r));
      }
    }
    if (metrics_ && !recent.empty()) metrics_->NoteRecent(std::move(recent));
    return Status::Ok();
  }

  Status HandleMessage(RdKafka::Message& m, const EventRecord& record, const Result<const fb::Envelope*>& verified) {
    const int p = m.partition();
    const int64_t offset = m.offset();
    const int64_t next = progress_.NextOf(p);
    if (next < 0 || offset < next) return Status::Ok();  // stale delivery, or not held
    if (options_.stop_at && offset >= progress_.TargetOf(p)) return Status::Ok();  // beyond the replay
    ++totals.consumed;
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
        case Outcome::kApplied: ++totals.applied; break;
        case Outcome::kDuplicate: ++totals.duplicates; break;
        case Outcome::kAnomaly: ++totals.anomalies; break;
        case Outcome::kLate: ++totals.late; break;
      }
      committer_.NoteOutcome(e.event_type(), applied->outcome);
    }
    progress_.SetNext(p, offset + 1);
    return Status::Ok();
  }

  // The message as the per-event step takes it: views into the message's own buffers.
  EventRecord RecordOf(const RdKafka::Message& m) const {
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

  // The number of partitions of ledger.events, which the partition check needs.
  Status LearnPartitionCount(RdKafka::KafkaConsumer* consumer) {
    std::unique_ptr<RdKafka::Topic> topic(RdKafka::Topic::create(consumer, std::string(kEventsTopic), nullptr, errstr_));
    RdKafka::Metadata* raw = nullptr;
    const RdKafka::ErrorCode rc = consumer->metadata(false, topic.get(), &raw, 10000);
    std::unique_ptr<RdKafka::Metadata> md(raw);
    if (rc != RdKafka::ERR_NO_ERROR || md->topics()->empty() || md->topics()->front()->partitions()->empty()) {
      return Status::Unavailable("cannot read the partitions of " + std::string(kEventsTopic) + ": " +
                                 RdKafka::err2str(rc));
    }
    partition_count_ = static_cast<int>(md->topics()->front()->partitions()->size());
    return Status::Ok();
  }

  Status PollReference() {
    if (!reference_) return Status::Ok();
    auto n = reference_->Poll(committer_.staged_ptr(), 10000);
    if (!n.ok()) return n.status();
    totals.reference += *n;
    return Status::Ok();
  }

  // The end of partition `p`'s log as last fetched; -1 if not known.
  int64_t LogEnd(int p) const {
    int64_t low = 0, high = -1;
    consumer_->get_watermark_offsets(std::string(kEventsTopic), p, &low, &high);
    return high;
  }

  // Not acknowledged yet: the batch is written only once it is (StartCommit).
  void DeadLetter(RdKafka::Message& m, const std::string& reason) {
    dead_letters_->Send(m, reason);
    ++totals.dead_lettered;
  }

  // Makes the batch durable, synchronously.
  Status CommitBatch() {
    Status s = StartCommit();
    return s.ok() ? FinishCommit() : s;
  }

  // ---- long accounts' refolds ------------------------------------------------------

  // A partition taken up: its accounts left stale in the store (a refold beside the
  // projection that a stop or a crash cut short) are folded again: beside the projection
  // by a live projector, in the next batch by a replay.
  Status TakeUpStale(int p) {
    if (beside_) return beside_->TakeUp(p);
    auto stale = StaleAccounts(*store_, p);
    if (!stale.ok()) return stale.status();
    for (auto& account : *stale) settle_.emplace_back(p, std::move(account));
    return Status::Ok();
  }

  void LetGoStale(int p) {
    std::erase_if(settle_, [&](const auto& a) { return a.first == p; });
    if (beside_) beside_->LetGo(p);
  }

  void ReportBeside() {
    if (metrics_) metrics_->SetRefoldsBeside(beside_ ? beside_->size() : 0);
  }

  // Waits for the batch in flight, then starts writing the staged one in the background
  // (dead letters acknowledged first), so that the next batch is consumed and applied
  // meanwhile.
  Status StartCommit() {
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

  // Waits for the batch in flight; once durable, reports Kafka's committed offsets (for
  // lag monitoring only).
  Status FinishCommit() {
    auto durable = committer_.Finish();
    if (!durable.ok()) return durable.status();
    if (beside_) beside_->BatchDurable();
    TopicPartitionList offsets;
    for (const auto& [p, next] : *durable) {
      if (!progress_.MarkDurable(p, next)) continue;  // revoked meanwhile
      offsets.items.push_back(RdKafka::TopicPartition::create(std::string(kEventsTopic), p, next));
      if (metrics_) {
        const int64_t high = LogEnd(p);
        metrics_->SetPartition(p, next, high >= 0 ? high - next : -1);
      }
    }
    if (!offsets.items.empty() && !options_.standby) consumer_->commitAsync(offsets.items);
    PublishRestoring();
    return Status::Ok();
  }

  // Restoring: taken up and not yet durable in the store up to the target (what is
  // applied but not committed is not in the answers yet).
  void PublishRestoring() {
    // Without a stop offset, an end not known when taken up is the end as fetched since.
    exchange_.ReportRestoring(progress_.Restoring([this](int p) { return LogEnd(p); }, !options_.stop_at));
  }

  // Before a write: if the disk is (nearly) full, pause until there is room. Nothing
  // is written meanwhile, so nothing partial can be.
  Status WaitForDiskSpace() {
    if (disk_.HasRoom()) return Status::Ok();
    return PauseUntil("disk_full", [this] {
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
  Status WaitForDeadLetters() {
    Status s = dead_letters_->Flush(std::chrono::seconds(10));
    if (s.ok()) return s;
    spdlog::error("{}: consumption paused until they are written", s.message());
    auto next_try = Clock::now() + kDeadLetterRetry;
    return PauseUntil("dead_letters", [&] {
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
  // labels ledger_projector_paused and the status.
  Status PauseUntil(const std::string& reason, const std::function<bool()>& ready) {
    std::vector<RdKafka::TopicPartition*> assigned;
    consumer_->assignment(assigned);
    consumer_->pause(assigned);
    paused_for_ = reason;
    if (metrics_) metrics_->SetPaused(reason, true);
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

  bool StoreSwitched() const {
    if (options_.data_dir_link.empty()) return false;
    std::error_code ec;
    const auto now = std::filesystem::canonical(options_.data_dir_link, ec);
    return !ec && now.string() != store_->dir();
  }

  // A full batch means a backlog; the first batch that leaves every assigned partition
  // at its high watermark (as last fetched) ends it, and on_caught_up is called: once
  // per backlog.
  void NoticeCatchingUp() {
    if (last_batch_full_) behind_ = true;
    if (!behind_ || progress_.empty()) return;
    if (!progress_.AtLogEnd([this](int p) { return LogEnd(p); })) return;
    behind_ = false;
    if (options_.on_caught_up) options_.on_caught_up();
  }

  bool CaughtUp() const {
    if (reference_ && !reference_->CaughtUp()) return false;
    return progress_.ReachedTargets();
  }

  ProjectorExchange exchange_;

  ProjectorOptions options_;
  ProjectionStore* store_;
  ProjectorMetrics* metrics_;
  BatchCommitter committer_;
  DiskGuard disk_;
  std::unique_ptr<RdKafka::KafkaConsumer> consumer_;
  std::unique_ptr<DeadLetters> dead_letters_;
  std::unique_ptr<ReferenceFollower> reference_;
  // Long accounts' refolds: beside the projection for a live projector; a replay
  // (stop_at, stop_when_caught_up) folds every account in its batches, as before.
  std::unique_ptr<RefoldsBeside> beside_;
  std::vector<std::pair<int, std::string>> settle_;  // stale in the store, to fold in the next batch
  PartitionProgress progress_;  // the partitions applied: assigned, or followed as a standby
  Status failure_;
  const std::atomic<bool>* stop_ = nullptr;  // the caller's, during Run
  std::string paused_for_;                   // PauseUntil's reason while it waits
  int partition_count_ = 0;                  // of ledger.events, learnt at assignment
  std::string errstr_;
  bool last_batch_full_ = false;             // the last ConsumeBatch reached max_batch
  bool behind_ = false;                      // in a backlog (NoticeCatchingUp)
};

Projector::Projector(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Projector::~Projector() = default;

Result<std::unique_ptr<Projector>> Projector::Create(const ProjectorOptions& options,
                                                     ProjectionStore* store,
                                                     ProjectorMetrics* metrics) {
  auto impl = std::make_unique<Impl>(options, store, metrics);
  if (Status s = impl->Init(); !s.ok()) return s;
  return std::unique_ptr<Projector>(new Projector(std::move(impl)));
}

Status Projector::Run(const std::atomic<bool>& stop) { return impl_->Run(stop); }

const ProjectorTotals& Projector::totals() const { return impl_->totals; }

void Projector::Follow(std::vector<int> partitions) { impl_->exchange().Follow(std::move(partitions)); }

void Projector::Exclude(std::vector<int> partitions) { impl_->exchange().Exclude(std::move(partitions)); }

Status Projector::Release(const std::vector<int>& partitions, std::chrono::milliseconds timeout) {
  return impl_->exchange().Release(partitions, timeout);
}

Positions Projector::Following() const { return impl_->exchange().Following(); }
std::map<int, int64_t> Projector::Behind() const { return impl_->exchange().Behind(); }

std::vector<int> Projector::Restoring() const { return impl_->exchange().Restoring(); }

}  // namespace ledger
