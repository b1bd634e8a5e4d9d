// Integration: publish to a real broker (started by the CTest fixture), project into a
// real RocksDB store on disk, query the answers.
#include <gtest/gtest.h>
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafkacpp.h>
#include <prometheus/registry.h>

#include <filesystem>
#include <fstream>
#include <functional>
#include <optional>
#include <random>
#include <sstream>
#include <thread>

#include "ledger/kafka/partitioner.h"
#include "ledger/ops/commands.h"
#include "ledger/producers/publisher.h"
#include "ledger/projector/projector.h"
#include "ledger/queries/ledger_view.h"
#include "ledger/schema/event_codec.h"
#include "ledger/storage/keys.h"
#include "synthetic.h"
#include "test_broker.h"

namespace ledger {
namespace {

class Pipeline : public testing::Test {
 protected:
  void SetUp() override {
    settings_.brokers = test_support::FixtureBrokers();
    ASSERT_FALSE(settings_.brokers.empty()) << "no broker: run through ctest (fixture kafka)";
    std::random_device rd;
    run_ = std::to_string(rd() % 1000000);
    dir_ = std::filesystem::temp_directory_path() / ("ledger-pipeline-" + run_);
    codec_ = std::move(*EventCodec::Create());
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  // Publishes JSON lines; expects every one acknowledged.
  void Publish(const std::vector<std::string>& lines) {
    auto pub = Publisher::Create(settings_);
    ASSERT_TRUE(pub.ok());
    uint64_t n = 0;
    for (const auto& l : lines) {
      auto e = codec_->FromJson(l, 0);
      ASSERT_TRUE(e.ok()) << l << ": " << e.status().message();
      ASSERT_TRUE((*pub)->Send(*e, ++n).ok());
    }
    DeliveryReport r = (*pub)->Flush(std::chrono::seconds(60));
    EXPECT_EQ(r.delivered, lines.size());
    EXPECT_TRUE(r.failed.empty()) << r.failed.front().second;
  }

  // Projects everything there is into the store, then stops.
  ProjectorTotals Project(ProjectionStore* store, std::function<void()> on_caught_up = nullptr,
                          size_t max_batch = ProjectorOptions().max_batch) {
    ProjectorOptions o;
    o.kafka = settings_;
    o.group_id = "pipeline-test-" + run_;
    o.stop_when_caught_up = true;
    o.on_caught_up = std::move(on_caught_up);
    o.max_batch = max_batch;
    auto p = Projector::Create(o, store, nullptr);
    EXPECT_TRUE(p.ok()) << p.status().message();
    std::atomic<bool> stop{false};
    Status s = (*p)->Run(stop);
    EXPECT_TRUE(s.ok()) << s.message();
    return (*p)->totals();
  }

  // The high watermark of a partition of a topic (by default 0: one-partition topics
  // such as the DLQ).
  int64_t HighWatermark(std::string_view topic, int partition = 0) {
    auto conf = MakeKafkaConf(settings_, {});
    std::string err;
    std::unique_ptr<RdKafka::Producer> h(RdKafka::Producer::create(conf->get(), err));
    int64_t low = 0, high = -1;
    EXPECT_EQ(h->query_watermark_offsets(std::string(topic), partition, &low, &high, 10000), RdKafka::ERR_NO_ERROR);
    return high;
  }

  // Creates a one-partition topic (the broker does not create topics by itself).
  void CreateTopic(const std::string& name) {
    auto conf = MakeKafkaConf(settings_, {});
    std::string err;
    std::unique_ptr<RdKafka::Producer> h(RdKafka::Producer::create(conf->get(), err));
    ASSERT_TRUE(h) << err;
    char errbuf[256];
    rd_kafka_NewTopic_t* topic = rd_kafka_NewTopic_new(name.c_str(), 1, 1, errbuf, sizeof errbuf);
    ASSERT_NE(topic, nullptr) << errbuf;
    rd_kafka_queue_t* queue = rd_kafka_queue_new(h->c_ptr());
    rd_kafka_CreateTopics(h->c_ptr(), &topic, 1, nullptr, queue);
    rd_kafka_event_t* done = rd_kafka_queue_poll(queue, 30000);
    ASSERT_NE(done, nullptr);
    size_t n = 0;
    const rd_kafka_topic_result_t** results = rd_kafka_CreateTopics_result_topics(rd_kafka_event_CreateTopics_result(done), &n);
    ASSERT_EQ(n, 1u);
    EXPECT_EQ(rd_kafka_topic_result_error(results[0]), RD_KAFKA_RESP_ERR_NO_ERROR) << rd_kafka_topic_result_error_string(results[0]);
    rd_kafka_event_destroy(done);
    rd_kafka_queue_destroy(queue);
    rd_kafka_NewTopic_destroy(topic);
  }

  // Deletes the records of a partition below `before` (as retention would).
  void DeleteRecords(std::string_view topic, int partition, int64_t before) {
    auto conf = MakeKafkaConf(settings_, {});
    std::string err;
    std::unique_ptr<RdKafka::Producer> h(RdKafka::Producer::create(conf->get(), err));
    ASSERT_TRUE(h) << err;
    rd_kafka_topic_partition_list_t* offsets = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_add(offsets, std::string(topic).c_str(), partition)->offset = before;
    rd_kafka_DeleteRecords_t* del = rd_kafka_DeleteRecords_new(offsets);
    rd_kafka_topic_partition_list_destroy(offsets);
    rd_kafka_queue_t* queue = rd_kafka_queue_new(h->c_ptr());
    rd_kafka_DeleteRecords(h->c_ptr(), &del, 1, nullptr, queue);
    rd_kafka_event_t* done = rd_kafka_queue_poll(queue, 30000);
    ASSERT_NE(done, nullptr);
    EXPECT_EQ(rd_kafka_event_error(done), RD_KAFKA_RESP_ERR_NO_ERROR) << rd_kafka_event_error_string(done);
    const rd_kafka_topic_partition_list_t* result =
        rd_kafka_DeleteRecords_result_offsets(rd_kafka_event_DeleteRecords_result(done));
    ASSERT_EQ(result->cnt, 1);
    EXPECT_EQ(result->elems[0].err, RD_KAFKA_RESP_ERR_NO_ERROR) << rd_kafka_err2str(result->elems[0].err);
    rd_kafka_event_destroy(done);
    rd_kafka_queue_destroy(queue);
    rd_kafka_DeleteRecords_destroy(del);
  }

  // Runs a projector over `store` until it stops by itself, for at most a minute;
  // returns its result, or nullopt if it was still running then.
  std::optional<Status> ProjectForAMinute(ProjectionStore* store, ProjectorOptions o) {
    o.kafka = settings_;
    o.group_id = "pipeline-test-" + run_ + "-" + std::to_string(++groups_);
    auto projector = Projector::Create(o, store, nullptr);
    EXPECT_TRUE(projector.ok()) << projector.status().message();
    if (!projector.ok()) return projector.status();
    std::atomic<bool> stop{false}, done{false};
    Status result;
    std::thread running([&] {
      result = (*projector)->Run(stop);
      done = true;
    });
    for (int i = 0; i < 600 && !done; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(100));
    const bool finished = done;
    stop = true;
    running.join();
    return finished ? std::optional<Status>(result) : std::nullopt;
  }
  int groups_ = 0;

  // The dead letters of a topic from `from` on: (headers, key size, value size) each.
  struct Letter {
    std::map<std::string, std::string> headers;
    size_t key_bytes = 0, value_bytes = 0;
  };
  std::vector<Letter> ReadLetters(const std::string& topic, int64_t from, int64_t count) {
    auto conf = MakeKafkaConf(settings_, {{"group.id", "dlq-reader-" + run_}});
    std::string err;
    std::unique_ptr<RdKafka::KafkaConsumer> c(RdKafka::KafkaConsumer::create(conf->get(), err));
    std::vector<RdKafka::TopicPartition*> tps = {RdKafka::TopicPartition::create(topic, 0, from)};
    EXPECT_EQ(c->assign(tps), RdKafka::ERR_NO_ERROR);
    RdKafka::TopicPartition::destroy(tps);
    std::vector<Letter> letters;
    while (static_cast<int64_t>(letters.size()) < count) {
      std::unique_ptr<RdKafka::Message> m(c->consume(10000));
      if (m->err() != RdKafka::ERR_NO_ERROR) {
        ADD_FAILURE() << m->errstr();
        break;
      }
      Letter l;
      for (const auto& header : m->headers()->get_all()) {
        l.headers[header.key()] = std::string(static_cast<const char*>(header.value()), header.value_size());
      }
      l.key_bytes = m->key_len();
      l.value_bytes = m->len();
      letters.push_back(std::move(l));
    }
    c->close();
    return letters;
  }

  std::string Line(const std::string& type, const std::string& account, const std::string& data,
                   int id) {
    char eid[64];
    std::snprintf(eid, sizeof eid, "0193%04d-%04d-7000-8000-%012d", std::stoi(run_) % 10000,
                  std::stoi(run_) / 10000, id);
    return R"({"type":")" + type + R"(","account_id":")" + account + R"(","event_id":")" + eid +
           R"(","occurred_at":"2024-12-01T00:00:00Z","data":)" + data + "}";
  }

  KafkaSettings settings_;
  std::string run_;
  std::filesystem::path dir_;
  std::unique_ptr<EventCodec> codec_;
};

TEST_F(Pipeline, ProjectorSaysWhenItCaughtUpAfterABacklogButNotAfterATrickle) {
  std::vector<std::string> lines;
  for (int i = 0; i < 200; ++i) {
    lines.push_back(Line("AccountOpened", "CU" + run_ + "-" + std::to_string(i), R"({"name":"n"})", i + 1));
  }
  Publish(lines);
  auto store = ProjectionStore::Open(dir_.string(), ProjectionStore::Mode::kReadWrite);
  ASSERT_TRUE(store.ok()) << store.status().message();
  int said = 0;
  constexpr size_t kBatch = 50;  // 200 events (and the topic's others): full batches
  ProjectorTotals backlog = Project(store->get(), [&] { ++said; }, kBatch);
  EXPECT_GE(backlog.consumed, lines.size());
  EXPECT_EQ(said, 1);

  said = 0;
  Publish({Line("AccountOpened", "CU" + run_ + "-late", R"({"name":"n"})", 1000)});
  ProjectorTotals trickle = Project(store->get(), [&] { ++said; }, kBatch);
  EXPECT_LT(trickle.consumed, kBatch);
  EXPECT_EQ(said, 0);
  EXPECT_TRUE((*LedgerView::Create(store->get()))->LocateAccount("CU" + run_ + "-late")->has_value());
}

TEST_F(Pipeline, PublishProjectQueryThenDuplicatesAndPoisonChangeNothing) {
  constexpr int kAccounts = 300;
  std::vector<std::string> lines;
  int id = 0;
  for (int i = 0; i < kAccounts; ++i) {
    const std::string a = "IT" + run_ + "-" + std::to_string(i);
    lines.push_back(Line("AccountOpened", a, R"({"name":"n"})", ++id));
    lines.push_back(Line("AgreementPurchased", a,
                         R"({"agreement_id":"G1","offering":"EssentialSupport","starts_at":"2025-01-01","ends_at":"2026-01-01","lines":[{"line_id":"L1","product":"p1"}]})",
                         ++id));
    if (i % 3 == 0) {
      lines.push_back(Line("AgreementRenewed", a, R"({"agreement_id":"G1","ends_at":"2027-01-01"})", ++id));
    }
    if (i % 5 == 0) {  // a rejected fact
      lines.push_back(Line("AgreementRenewed", a, R"({"agreement_id":"NOPE","ends_at":"2027-01-01"})", ++id));
    }
  }
  // Reference data goes to its own topic; the projector follows it in full.
  lines.push_back(R"({"type":"ProductVersionLifecycle","data":{"product":"p-)" + run_ +
                  R"(","version":"1.0","end_of_support_life_at":"2030-01-01","effective_at":"2025-01-01"}})");
  Publish(lines);
  const int anomalies = (kAccounts + 4) / 5;

  auto store = ProjectionStore::Open(dir_.string(), ProjectionStore::Mode::kReadWrite);
  ASSERT_TRUE(store.ok()) << store.status().message();
  ProjectorTotals first = Project(store->get());
  EXPECT_GE(first.consumed + first.reference, lines.size());
  EXPECT_GE(first.anomalies, static_cast<uint64_t>(anomalies));

  EXPECT_GE(first.reference, 1u);
  auto reference = (*store)->Get(keys::kReferencePartition,
                                 "ProductVersionLifecycle/p-" + run_ + "/1.0@2025-01-01T00:00:00Z");
  ASSERT_TRUE(reference.ok());
  EXPECT_TRUE(reference->has_value());

  auto view = LedgerView::Create(store->get());
  ASSERT_TRUE(view.ok()) << view.status().message();
  LedgerView& service = **view;
  const Millis mid2026 = *ParseTime("2026-06-01");
  for (int i = 0; i < kAccounts; ++i) {
    const std::string a = "IT" + run_ + "-" + std::to_string(i);
    // The account's state is in the partition Kafka's partitioner chose (4 in the fixture).
    auto where = service.LocateAccount(a);
    ASSERT_TRUE(where.ok() && where->has_value()) << a;
    EXPECT_EQ(**where, KafkaPartitionOf(a, 4)) << a;
    auto in2025 = service.Entitlement({a, "p1", "", *ParseTime("2025-06-01")});
    ASSERT_TRUE(in2025.ok());
    EXPECT_TRUE(in2025->entitled) << a;
    auto in2026 = service.Entitlement({a, "p1", "", mid2026});
    EXPECT_EQ(in2026->entitled, i % 3 == 0) << a;
    if (i % 3 != 0) {
      EXPECT_EQ(in2026->reasons.at(0), "agreement G1 (EssentialSupport) lapsed: it ended on 2026-01-01T00:00:00Z");
    }
  }

  // Re-publish the first 100 events (same ids); then 1,000 poison messages interleaved
  // with 500 new valid events, on several partitions.
  Publish(std::vector<std::string>(lines.begin(), lines.begin() + 100));
  auto raw = Publisher::Create(settings_);
  std::mt19937 rng(7);
  auto good = codec_->FromJson(lines[0], 0);
  constexpr int kPoison = 1000;
  constexpr int kValid = 500;
  int still_valid = 0;  // a cut of padding only leaves a valid envelope: then it is a duplicate
  for (int i = 0; i < kPoison; ++i) {
    std::string junk;
    if (i % 2 == 0) {
      junk.resize(1 + rng() % 200);
      for (auto& c : junk) c = static_cast<char>(rng());
    } else {  // a valid envelope, corrupted
      junk = good->bytes;
      junk.resize(junk.size() - 1 - rng() % 20);
    }
    // Keyed by its account, as the producer contract says (a wrong key is poison too,
    // below).
    const bool valid = VerifyEnvelope(junk.data(), junk.size()).ok();
    still_valid += valid;
    const std::string key = valid ? good->key : "poison-" + std::to_string(i % 7);
    ASSERT_TRUE((*raw)->Send(kEventsTopic, key, junk, {}, i).ok());
    if (i % 2 == 0) {
      auto event = codec_->FromJson(
          Line("AccountOpened", "IT" + run_ + "-P" + std::to_string(i / 2), R"({"name":"n"})", 100000 + i), 0);
      ASSERT_TRUE((*raw)->Send(*event, 10000 + i).ok());
    }
  }
  // One from a newer schema, with an event type this build does not know; and a valid
  // event under another account's key (it would split the account across partitions).
  ASSERT_TRUE((*raw)->Send(kEventsTopic, "future", test_support::FutureEnvelope(200), {}, 99).ok());
  auto misrouted = codec_->FromJson(Line("AccountOpened", "IT" + run_ + "-X", R"({"name":"n"})", 99999), 0);
  ASSERT_TRUE((*raw)->Send(kEventsTopic, "someone-else", misrouted->bytes, {}, 98).ok());
  // Reference data sent to ledger.events: dead-lettered, and never replayed there.
  auto reference_here = codec_->FromJson(R"({"type":"ProductVersionLifecycle","data":{"product":"q-)" + run_ +
                                             R"(","version":"1.0","end_of_support_life_at":"2030-01-01","effective_at":"2025-01-01"}})",
                                         0);
  ASSERT_TRUE(reference_here.ok()) << reference_here.status().message();
  ASSERT_TRUE((*raw)->Send(kEventsTopic, "ref-" + run_, reference_here->bytes, {}, 97).ok());
  EXPECT_TRUE((*raw)->Flush(std::chrono::seconds(30)).failed.empty());

  const int64_t dlq_before = HighWatermark(kDeadLetterTopic);
  ProjectorTotals second = Project(store->get());
  EXPECT_EQ(second.duplicates, 100u + still_valid);
  EXPECT_EQ(second.dead_lettered, kPoison - still_valid + 3u);
  EXPECT_FALSE(service.LocateAccount("IT" + run_ + "-X")->has_value());
  EXPECT_EQ(second.applied, static_cast<uint64_t>(kValid));
  EXPECT_EQ(second.anomalies, 0u);
  for (int i = 0; i < kValid; ++i) {
    auto where = service.LocateAccount("IT" + run_ + "-P" + std::to_string(i));
    ASSERT_TRUE(where.ok());
    EXPECT_TRUE(where->has_value()) << "valid event " << i << " among the poison was not applied";
  }
  EXPECT_EQ(HighWatermark(kDeadLetterTopic) - dlq_before, kPoison - still_valid + 3);

  // Each dead letter says why and where it came from.
  auto conf = MakeKafkaConf(settings_, {{"group.id", "dlq-reader-" + run_}});
  std::string err;
  std::unique_ptr<RdKafka::KafkaConsumer> dlq(RdKafka::KafkaConsumer::create(conf->get(), err));
  std::vector<RdKafka::TopicPartition*> tps = {
      RdKafka::TopicPartition::create(std::string(kDeadLetterTopic), 0, dlq_before)};
  ASSERT_EQ(dlq->assign(tps), RdKafka::ERR_NO_ERROR);
  RdKafka::TopicPartition::destroy(tps);
  int read = 0, unknown_type = 0, wrong_key = 0;
  while (read < kPoison - still_valid + 3) {
    std::unique_ptr<RdKafka::Message> m(dlq->consume(10000));
    ASSERT_EQ(m->err(), RdKafka::ERR_NO_ERROR) << m->errstr();
    ++read;
    std::map<std::string, std::string> h;
    for (const auto& header : m->headers()->get_all()) {
      h[header.key()] = std::string(static_cast<const char*>(header.value()), header.value_size());
    }
    EXPECT_EQ(h["ledger.dlq.topic"], kEventsTopic);
    EXPECT_FALSE(h["ledger.dlq.reason"].empty());
    EXPECT_FALSE(h["ledger.dlq.partition"].empty());
    EXPECT_FALSE(h["ledger.dlq.offset"].empty());
    if (h["ledger.dlq.reason"] == "unknown event type 200 (schema version 2)") ++unknown_type;
    if (h["ledger.dlq.reason"] == "the message key 'someone-else' is not the event's account_id 'IT" +
                                      run_ + "-X'") {
      ++wrong_key;
    }
  }
  EXPECT_EQ(unknown_type, 1);
  EXPECT_EQ(wrong_key, 1);
  dlq->close();

  // `ledger dlq list` shows them; `ledger dlq replay` sends back what is valid now: the
  // misrouted event, under its account's key. The rest stays.
  CommonOptions common;
  common.kafka = settings_;
  std::ostringstream listed, replayed, errors;
  DlqOptions from_before;
  from_before.from = dlq_before;
  EXPECT_EQ(RunDlqList(common, from_before, listed, errors), kExitOk) << errors.str();
  const std::string list = listed.str();
  EXPECT_EQ(std::count(list.begin(), list.end(), '\n'), kPoison - still_valid + 3);
  EXPECT_NE(list.find("\"ledger.dlq.reason\":\"the message key 'someone-else'"), std::string::npos);
  EXPECT_EQ(RunDlqReplay(common, from_before, replayed, errors), kExitRejected);
  EXPECT_NE(replayed.str().find("replayed 1 of "), std::string::npos) << replayed.str();
  EXPECT_NE(errors.str().find("ProductVersionLifecycle belongs on ledger.reference, not on ledger.events"),
            std::string::npos);
  ProjectorTotals third = Project(store->get());
  EXPECT_EQ(third.applied, 1u);
  EXPECT_TRUE(service.LocateAccount("IT" + run_ + "-X")->has_value());

  // `ledger verify`: equal to a fresh replay; then a damaged value is found and named.
  common.data_dir = dir_.string();
  std::ostringstream verified, verify_errors;
  EXPECT_EQ(RunVerify(common, false, verified, verify_errors), kExitOk) << verified.str() << verify_errors.str();
  const std::string damaged = "IT" + run_ + "-7";
  const int p = **service.LocateAccount(damaged);
  const std::string key = keys::Account(damaged);
  ASSERT_TRUE((*store)->Write(std::map<int, std::vector<ProjectionStore::KeyValue>>{{p, {{key, "damaged"}}}}).ok());
  std::ostringstream differs;
  EXPECT_EQ(RunVerify(common, false, differs, verify_errors), kExitRejected) << differs.str();
  EXPECT_NE(differs.str().find("first difference: value of key A" + damaged + " differs"), std::string::npos)
      << differs.str();
  auto again = service.Entitlement({"IT" + run_ + "-3", "p1", "", mid2026});
  EXPECT_TRUE(again->entitled);
}

TEST_F(Pipeline, PoisonNearTheSizeLimitIsDeadLetteredCappedAndTheProjectorGoesOn) {
  // A producer allowed to send messages near the broker's limit (1 MiB).
  std::filesystem::create_directories(dir_);
  KafkaSettings big = settings_;
  big.properties_file = (dir_ / "big.properties").string();
  std::ofstream(big.properties_file) << "message.max.bytes=1048000\n";
  auto raw = Publisher::Create(big);
  ASSERT_TRUE(raw.ok()) << raw.status().message();
  std::mt19937 rng(11);
  std::string junk(1040000, '\0');
  for (auto& c : junk) c = static_cast<char>(rng());
  ASSERT_TRUE((*raw)->Send(kEventsTopic, "big-" + run_, junk, {}, 1).ok());
  // A valid event under a 600 KB key: its reason would echo the key.
  auto valid = codec_->FromJson(Line("AccountOpened", "BIG" + run_, R"({"name":"n"})", 1), 0);
  const std::string long_key = "K" + run_ + std::string(600000, 'k');
  ASSERT_TRUE((*raw)->Send(kEventsTopic, long_key, valid->bytes, {}, 2).ok());
  auto after = codec_->FromJson(Line("AccountOpened", "BIG" + run_ + "-after", R"({"name":"n"})", 2), 0);
  ASSERT_TRUE((*raw)->Send(*after, 3).ok());
  DeliveryReport sent = (*raw)->Flush(std::chrono::seconds(30));
  ASSERT_TRUE(sent.failed.empty()) << sent.failed.front().second;

  const int64_t dlq_before = HighWatermark(kDeadLetterTopic);
  auto store = ProjectionStore::Open(dir_.string() + "/store", ProjectionStore::Mode::kReadWrite);
  ASSERT_TRUE(store.ok()) << store.status().message();
  ProjectorTotals totals = Project(store->get());  // fails the test if the projector fails
  EXPECT_GE(totals.dead_lettered, 2u);
  EXPECT_TRUE((*LedgerView::Create(store->get()))->LocateAccount("BIG" + run_ + "-after")->has_value());

  bool big_seen = false, key_seen = false;
  for (Letter& l : ReadLetters(std::string(kDeadLetterTopic), dlq_before, HighWatermark(kDeadLetterTopic) - dlq_before)) {
    EXPECT_LE(l.value_bytes, 512u * 1024);
    EXPECT_LE(l.key_bytes, 1024u);
    EXPECT_LE(l.headers["ledger.dlq.reason"].size(), 1200u);
    if (l.headers["ledger.dlq.payload_bytes"] == "1040000") big_seen = true;
    if (l.headers["ledger.dlq.key_bytes"] == std::to_string(long_key.size())) key_seen = true;
  }
  EXPECT_TRUE(big_seen) << "no capped dead letter for the 1 MB message";
  EXPECT_TRUE(key_seen) << "no capped dead letter for the 600 KB key";
}

TEST_F(Pipeline, ADeadLetterThatCannotBeWrittenHoldsItsOffsetUntilItIs) {
  const std::string dlq = "ledger.dlq-missing-" + run_;  // not created yet
  auto raw = Publisher::Create(settings_);
  const std::string key = "unwritten-" + run_;
  const int p = KafkaPartitionOf(key, 4);
  const int64_t poison_at = HighWatermark(kEventsTopic, p);  // or later, if others publish meanwhile
  ASSERT_TRUE((*raw)->Send(kEventsTopic, key, "not an envelope", {}, 1).ok());
  ASSERT_TRUE((*raw)->Flush(std::chrono::seconds(30)).failed.empty());
  auto store = ProjectionStore::Open(dir_.string(), ProjectionStore::Mode::kReadWrite);
  ASSERT_TRUE(store.ok()) << store.status().message();

  prometheus::Registry registry;
  ProjectorMetrics metrics(registry);
  ProjectorOptions o;
  o.kafka = settings_;
  o.group_id = "pipeline-test-" + run_;
  o.stop_when_caught_up = true;
  o.dead_letter_topic = dlq;
  auto projector = Projector::Create(o, store->get(), &metrics);
  ASSERT_TRUE(projector.ok()) << projector.status().message();
  std::atomic<bool> stop{false};
  Status result;
  std::thread running([&] { result = (*projector)->Run(stop); });

  bool paused = false;
  for (int i = 0; i < 600 && !paused; ++i) {
    paused = metrics.Progress().paused == "dead_letters";
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  EXPECT_TRUE(paused) << "the projector did not pause for its unwritten dead letter";
  // Nothing past the message is durable while its dead letter is not written.
  auto next = (*store)->NextOffset(p);
  ASSERT_TRUE(next.ok());
  EXPECT_LE(next->value_or(0), poison_at);
  EXPECT_GE(metrics.Progress().errors["dead_letter"], 1u);

  CreateTopic(dlq);  // the operator's fix: it resumes by itself
  running.join();
  EXPECT_TRUE(result.ok()) << result.message();
  EXPECT_EQ(metrics.Progress().paused, "");
  next = (*store)->NextOffset(p);
  EXPECT_GT(next->value_or(0), poison_at);
  bool found = false;
  for (Letter& l : ReadLetters(dlq, 0, HighWatermark(dlq))) {
    if (std::stoll(l.headers["ledger.dlq.offset"]) >= poison_at &&
        l.headers["ledger.dlq.partition"] == std::to_string(p)) {
      found = true;
    }
  }
  EXPECT_TRUE(found) << "the dead letter was not written once the topic existed";
}

// Runs on a broker of its own (integration.retention): it deletes a partition's records,
// as retention does.
TEST_F(Pipeline, ALogThatNoLongerStartsWhereTheStoreEndsGetsAReasonNotAHang) {
  const std::string account = "GONE" + run_;
  Publish({Line("AccountOpened", account, R"({"name":"n"})", 1)});
  const int p = KafkaPartitionOf(account, 4);
  const int64_t high = HighWatermark(kEventsTopic, p);
  DeleteRecords(kEventsTopic, p, high);

  // A replay that must reproduce the whole history (rebuild, verify) says why it cannot.
  auto fresh = ProjectionStore::Open(dir_.string() + "/fresh", ProjectionStore::Mode::kReadWrite);
  ASSERT_TRUE(fresh.ok()) << fresh.status().message();
  ProjectorOptions whole;
  whole.stop_when_caught_up = true;
  whole.require_whole_log = true;
  whole.send_dead_letters = false;
  auto replay = ProjectForAMinute(fresh->get(), whole);
  ASSERT_TRUE(replay.has_value()) << "the replay hung on a partition whose records were deleted";
  EXPECT_NE(replay->message().find("[" + std::to_string(p) + "] now starts at offset " + std::to_string(high)),
            std::string::npos)
      << replay->message();

  // The live projector goes on from where the log starts now, and catches up.
  auto live = ProjectionStore::Open(dir_.string() + "/live", ProjectionStore::Mode::kReadWrite);
  ProjectorOptions going_on;
  going_on.stop_when_caught_up = true;
  auto projected = ProjectForAMinute(live->get(), going_on);
  ASSERT_TRUE(projected.has_value()) << "the projector hung on a partition whose records were deleted";
  EXPECT_TRUE(projected->ok()) << projected->message();
  EXPECT_GE((*live)->NextOffset(p)->value_or(0), high);
  live->reset();

  // ledger verify answers, with the reason.
  CommonOptions common;
  common.kafka = settings_;
  common.data_dir = dir_.string() + "/live";
  std::ostringstream out, err;
  EXPECT_EQ(RunVerify(common, false, out, err), kExitUnavailable) << out.str() << err.str();
  EXPECT_NE(err.str().find("now starts at offset"), std::string::npos) << err.str();
}

}  // namespace
}  // namespace ledger
