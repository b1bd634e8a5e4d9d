#include "ledger/projector/projector.h"

#include <librdkafka/rdkafkacpp.h>
#include <spdlog/spdlog.h>

#include <filesystem>
#include <set>

#include "ledger/schema/event_codec.h"
#include "partition_applier.h"
#include "reference_follower.h"

namespace ledger {
namespace {

struct TopicPartitionList {
  std::vector<RdKafka::TopicPartition*> items;
  ~TopicPartitionList() { RdKafka::TopicPartition::destroy(items); }
};

// The consumer both sides fetch ledger.events with: offsets are the store's, never
// Kafka's (committed only for lag monitoring).
Result<std::unique_ptr<RdKafka::KafkaConsumer>> MakeConsumer(const ProjectorOptions& options,
                                                             KafkaProperties fixed,
                                                             RdKafka::RebalanceCb* rebalance) {
  fixed.insert(fixed.end(), {{"enable.auto.commit", "false"},
                             {"enable.auto.offset.store", "false"},
                             {"auto.offset.reset", "earliest"},
                             {"enable.partition.eof", "false"}});
  // Large fetches keep the local queue full while a batch is being applied.
  auto conf = MakeKafkaConf(options.kafka, fixed,
                            {{"max.partition.fetch.bytes", "10485760"}, {"queued.min.messages", "1000000"}});
  if (!conf.ok()) return conf.status();
  std::string err;
  if (rebalance != nullptr && (*conf)->set("rebalance_cb", rebalance, err) != RdKafka::Conf::CONF_OK) {
    return Status::InvalidInput("rebalance_cb: " + err);
  }
  std::unique_ptr<RdKafka::KafkaConsumer> consumer(RdKafka::KafkaConsumer::create(conf->get(), err));
  if (!consumer) return Status::InvalidInput("cannot create the Kafka consumer: " + err);
  return consumer;
}

}  // namespace

// ---- the owner side: a member of the consumer group ------------------------------

class Projector::Impl : public RdKafka::RebalanceCb {
 public:
  Impl(const ProjectorOptions& options, ProjectionStore* store, ProjectorMetrics* metrics)
      : options_(options), store_(store), applier_(options, store, metrics) {}

  Status Init() {
    KafkaProperties fixed = {
        {"group.id", options_.group_id},
        // A rebalance moves only the partitions that change hands; the others keep being
        // applied (and answered) meanwhile.
        {"partition.assignment.strategy", "cooperative-sticky"},
    };
    if (!options_.instance_id.empty()) fixed.emplace_back("group.instance.id", options_.instance_id);
    auto consumer = MakeConsumer(options_, fixed, this);
    if (!consumer.ok()) return consumer.status();
    consumer_ = std::move(*consumer);
    if (Status s = applier_.Init(consumer_.get(), options_.send_dead_letters ? DeadLetterMode::kSend
                                                                             : DeadLetterMode::kCountOnly);
        !s.ok()) {
      return s;
    }
    applier_.on_durable = [this](const std::vector<std::pair<int, int64_t>>& durable) {
      TopicPartitionList offsets;
      for (const auto& [p, next] : durable) {
        offsets.items.push_back(RdKafka::TopicPartition::create(std::string(kEventsTopic), p, next));
      }
      consumer_->commitAsync(offsets.items);
    };
    auto reference = ReferenceFollower::Create(
        options_.kafka, options_.group_id, store_,
        options_.stop_at ? std::optional<std::map<int, int64_t>>(options_.reference_stop_at) : std::nullopt,
        [this](RdKafka::Message& m, const std::string& why) {
          applier_.DeadLetter(m, why);
          return Status::Ok();
        });
    if (!reference.ok()) return reference.status();
    reference_ = std::move(*reference);
    return Status::Ok();
  }

  Status Run(const std::atomic<bool>& stop) {
    applier_.set_stop(&stop);
    applier_.exchange().Started();
    RdKafka::ErrorCode rc = consumer_->subscribe({std::string(kEventsTopic)});
    if (rc != RdKafka::ERR_NO_ERROR) {
      return Status::Unavailable("cannot subscribe to " + std::string(kEventsTopic) + ": " + RdKafka::err2str(rc));
    }
    while (!stop.load() && applier_.failure().ok()) {
      Status s = applier_.ConsumeBatch(stop);
      if (s.ok()) s = PollReference();
      if (s.ok()) s = applier_.StartCommit();
      if (!s.ok()) {
        applier_.Fail(s);
        break;
      }
      applier_.NoticeCatchingUp();
      if ((options_.stop_when_caught_up || options_.stop_at) && CaughtUp()) break;
      if (StoreSwitched()) {
        spdlog::info("{} now names another store; stopping to move over", options_.data_dir_link);
        applier_.totals().store_switched = true;
        break;
      }
    }
    if (applier_.failure().ok()) applier_.Fail(applier_.CommitBatch());
    consumer_->close();  // leaves the group; a revoke callback commits nothing new
    applier_.exchange().Stopped();  // what was applied is committed above
    return applier_.failure();
  }

  // RdKafka::RebalanceCb: each assigned partition is taken up from the store's offset;
  // each revoked one is committed, then let go.
  void rebalance_cb(RdKafka::KafkaConsumer* consumer, RdKafka::ErrorCode err,
                    std::vector<RdKafka::TopicPartition*>& partitions) override {
    if (err == RdKafka::ERR__ASSIGN_PARTITIONS) {
      if (Status s = LearnPartitionCount(consumer); !s.ok()) applier_.Fail(s);
      if (options_.before_assign) {
        std::vector<int> taken;
        for (auto* tp : partitions) taken.push_back(tp->partition());
        if (Status s = options_.before_assign(taken); !s.ok()) applier_.Fail(s);
      }
      for (auto* tp : partitions) {
        auto from = applier_.TakeUp(tp->partition(), "assigned");
        if (!from.ok()) {
          applier_.Fail(from.status());
          continue;
        }
        tp->set_offset(*from);
      }
      // Cooperative: only the partitions added are given, the others keep going.
      RdKafka::Error* error = Cooperative(consumer) ? consumer->incremental_assign(partitions) : nullptr;
      if (!Cooperative(consumer)) consumer->assign(partitions);
      if (error != nullptr) {
        applier_.Fail(Status::Unavailable("incremental assign: " + error->str()));
        delete error;
      }
      // Restoring first: the partitions taken up are never seen owned and caught up.
      applier_.PublishRestoring();
      NoteAssignment();
    } else {
      // Whatever was applied must be durable before another member takes over; with a
      // full disk it cannot be: stop, and resume from the store's offsets later.
      Status s = !applier_.paused_for().empty()
                     ? Status::Unavailable("partitions revoked while paused (" + applier_.paused_for() + ")")
                     : applier_.CommitBatch();
      if (!s.ok()) applier_.Fail(s);
      for (auto* tp : partitions) applier_.LetGo(tp->partition());
      // Cooperative: only the partitions taken away are given, the others keep going.
      if (Cooperative(consumer)) {
        if (RdKafka::Error* error = consumer->incremental_unassign(partitions); error != nullptr) {
          applier_.Fail(Status::Unavailable("incremental unassign: " + error->str()));
          delete error;
        }
      } else {
        consumer->unassign();
      }
      spdlog::info("partitions revoked ({})", partitions.size());
      NoteAssignment();
      applier_.PublishRestoring();
    }
  }

  const ProjectorTotals& totals() { return applier_.totals(); }
  std::vector<int> Restoring() { return applier_.exchange().Restoring(); }

 private:
  static bool Cooperative(RdKafka::KafkaConsumer* consumer) { return consumer->rebalance_protocol() == "COOPERATIVE"; }

  void NoteAssignment() {
    if (!options_.on_assignment) return;
    const std::set<int> held = applier_.progress().Held();
    options_.on_assignment(std::vector<int>(held.begin(), held.end()), partition_count_);
  }

  // The number of partitions of ledger.events, which the partition check needs.
  Status LearnPartitionCount(RdKafka::KafkaConsumer* consumer) {
    std::string err;
    std::unique_ptr<RdKafka::Topic> topic(RdKafka::Topic::create(consumer, std::string(kEventsTopic), nullptr, err));
    RdKafka::Metadata* raw = nullptr;
    const RdKafka::ErrorCode rc = consumer->metadata(false, topic.get(), &raw, 10000);
    std::unique_ptr<RdKafka::Metadata> md(raw);
    if (rc != RdKafka::ERR_NO_ERROR || md->topics()->empty() || md->topics()->front()->partitions()->empty()) {
      return Status::Unavailable("cannot read the partitions of " + std::string(kEventsTopic) + ": " +
                                 RdKafka::err2str(rc));
    }
    partition_count_ = static_cast<int>(md->topics()->front()->partitions()->size());
    applier_.set_partition_count(partition_count_);
    return Status::Ok();
  }

  Status PollReference() {
    auto n = reference_->Poll(applier_.staged_ptr(), 10000);
    if (!n.ok()) return n.status();
    if (const RefusalKind kind = reference_->refusals().kind(); kind != RefusalKind::kNone && !reference_->assigned()) {
      applier_.NoteRefusal(kind, reference_->refusals().cause());
    }
    applier_.totals().reference += *n;
    return Status::Ok();
  }

  bool StoreSwitched() const {
    if (options_.data_dir_link.empty()) return false;
    std::error_code ec;
    const auto now = std::filesystem::canonical(options_.data_dir_link, ec);
    return !ec && now.string() != store_->dir();
  }

  bool CaughtUp() { return reference_->CaughtUp() && applier_.progress().ReachedTargets(); }

  ProjectorOptions options_;
  ProjectionStore* store_;
  PartitionApplier applier_;
  std::unique_ptr<RdKafka::KafkaConsumer> consumer_;
  std::unique_ptr<ReferenceFollower> reference_;
  int partition_count_ = 0;  // of ledger.events, learnt at assignment
};

Projector::Projector(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Projector::~Projector() = default;

Result<std::unique_ptr<Projector>> Projector::Create(const ProjectorOptions& options, ProjectionStore* store,
                                                     ProjectorMetrics* metrics) {
  auto impl = std::make_unique<Impl>(options, store, metrics);
  if (Status s = impl->Init(); !s.ok()) return s;
  return std::unique_ptr<Projector>(new Projector(std::move(impl)));
}

Status Projector::Run(const std::atomic<bool>& stop) { return impl_->Run(stop); }
const ProjectorTotals& Projector::totals() const { return impl_->totals(); }
std::vector<int> Projector::Restoring() const { return impl_->Restoring(); }

// ---- a standby: partitions followed by assign() -----------------------------------

class StandbyProjector::Impl {
 public:
  Impl(const ProjectorOptions& options, ProjectionStore* store) : options_(options), applier_(options, store, nullptr) {}

  Status Init() {
    // Never joins or commits: a group id of its own only because librdkafka wants one.
    auto consumer = MakeConsumer(options_, {{"group.id", options_.group_id + ".standby." + options_.instance_id}},
                                 nullptr);
    if (!consumer.ok()) return consumer.status();
    consumer_ = std::move(*consumer);
    return applier_.Init(consumer_.get(), DeadLetterMode::kCountOnly);  // the owner sends them
  }

  Status Run(const std::atomic<bool>& stop) {
    applier_.set_stop(&stop);
    applier_.exchange().Started();
    while (!stop.load() && applier_.failure().ok()) {
      Status s = ApplyFollowing();
      if (s.ok()) s = applier_.ConsumeBatch(stop);
      if (s.ok()) s = applier_.StartCommit();
      if (!s.ok()) {
        applier_.Fail(s);
        break;
      }
    }
    if (applier_.failure().ok()) applier_.Fail(applier_.CommitBatch());
    consumer_->close();
    applier_.exchange().Stopped();  // what was applied is committed above
    return applier_.failure();
  }

  ProjectorExchange& exchange() { return applier_.exchange(); }

 private:
  // Between batches: makes the assignment what Follow and Release asked for. What was
  // applied is committed first, so a partition let go of is durable up to where it was
  // applied, and a partition taken up starts from the store's offset.
  Status ApplyFollowing() {
    ProjectorExchange::Requests requests = applier_.exchange().Take();
    const std::set<int> current = applier_.progress().Held();
    Status s;
    if (requests.follow != current || !requests.releases.empty()) {
      s = applier_.CommitBatch();
      if (s.ok()) s = Reassign(current, requests.follow);
    }
    for (auto& done : requests.releases) done.set_value(s);
    Positions now;
    std::map<int, int64_t> behind;
    for (const auto& [p, next] : applier_.progress().next()) {
      now[p] = next - 1;
      const int64_t high = applier_.LogEnd(p);
      behind[p] = high < 0 ? -1 : std::max<int64_t>(0, high - next);
    }
    // What is still catching up first: a partition just taken up must never be seen as
    // followed and not restoring (it would be answered from before its events).
    applier_.PublishRestoring();
    applier_.exchange().ReportFollowing(std::move(now), std::move(behind));
    return s;
  }

  // From `current` to `wanted`, each partition taken up from the store's offset (the
  // caller has committed).
  Status Reassign(const std::set<int>& current, const std::set<int>& wanted) {
    for (int p : current) {
      if (wanted.count(p)) continue;
      applier_.LetGo(p);
      spdlog::info("standby: no longer following {} [{}]", kEventsTopic, p);
    }
    std::vector<std::unique_ptr<RdKafka::TopicPartition>> owned;
    std::vector<RdKafka::TopicPartition*> tps;
    for (int p : wanted) {
      int64_t from = applier_.progress().NextOf(p);
      if (!applier_.progress().Holds(p)) {
        auto taken = applier_.TakeUp(p, "standby: following");
        if (!taken.ok()) return taken.status();
        from = *taken;
      }
      owned.emplace_back(RdKafka::TopicPartition::create(std::string(kEventsTopic), p, from));
      tps.push_back(owned.back().get());
    }
    const RdKafka::ErrorCode rc = consumer_->assign(tps);
    if (rc != RdKafka::ERR_NO_ERROR) return Status::Unavailable("standby assign: " + RdKafka::err2str(rc));
    return Status::Ok();
  }

  ProjectorOptions options_;
  PartitionApplier applier_;
  std::unique_ptr<RdKafka::KafkaConsumer> consumer_;
};

StandbyProjector::StandbyProjector(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
StandbyProjector::~StandbyProjector() = default;

Result<std::unique_ptr<StandbyProjector>> StandbyProjector::Create(const ProjectorOptions& options,
                                                                   ProjectionStore* store) {
  auto impl = std::make_unique<Impl>(options, store);
  if (Status s = impl->Init(); !s.ok()) return s;
  return std::unique_ptr<StandbyProjector>(new StandbyProjector(std::move(impl)));
}

Status StandbyProjector::Run(const std::atomic<bool>& stop) { return impl_->Run(stop); }
void StandbyProjector::Follow(std::vector<int> partitions) { impl_->exchange().Follow(std::move(partitions)); }
void StandbyProjector::Exclude(std::vector<int> partitions) { impl_->exchange().Exclude(std::move(partitions)); }
Status StandbyProjector::Release(const std::vector<int>& partitions, std::chrono::milliseconds timeout) {
  return impl_->exchange().Release(partitions, timeout);
}
Positions StandbyProjector::Following() const { return impl_->exchange().Following(); }
std::map<int, int64_t> StandbyProjector::Behind() const { return impl_->exchange().Behind(); }
std::vector<int> StandbyProjector::Restoring() const { return impl_->exchange().Restoring(); }

}  // namespace ledger
