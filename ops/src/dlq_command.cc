#include <librdkafka/rdkafkacpp.h>

#include <algorithm>
#include <map>
#include <nlohmann/json.hpp>
#include <ostream>

#include "ledger/kafka/kafka_acls.h"
#include "ledger/ops/commands.h"
#include "ledger/producers/publisher.h"
#include "ledger/schema/event_codec.h"
#include "read_failure.h"

namespace ledger {
namespace {

struct DeadLetter {
  int64_t dlq_offset = 0;
  std::string key, value;
  std::map<std::string, std::string> headers;
};

// Reads the dead-letter topic from `from` to its end as it is now.
Result<std::vector<DeadLetter>> ReadDeadLetters(const CommonOptions& common, int64_t from) {
  auto conf = MakeKafkaConf(common.kafka, {{"group.id", OperatorGroupPrefix(common.group) + ".dlq"},
                                           {"enable.auto.commit", "false"},
                                           {"enable.partition.eof", "true"}});
  if (!conf.ok()) return conf.status();
  std::string err;
  std::unique_ptr<RdKafka::KafkaConsumer> c(RdKafka::KafkaConsumer::create(conf->get(), err));
  if (!c) return Status::InvalidInput("cannot create a Kafka consumer: " + err);
  int64_t low = 0, high = 0;
  RdKafka::ErrorCode rc =
      c->query_watermark_offsets(std::string(kDeadLetterTopic), 0, &low, &high, 10000);
  if (rc != RdKafka::ERR_NO_ERROR) return ReadFailure(common, std::string(kDeadLetterTopic), rc, RdKafka::err2str(rc));
  std::vector<DeadLetter> out;
  const int64_t start = std::max(from, low);
  if (start >= high) return out;
  std::vector<RdKafka::TopicPartition*> tps = {
      RdKafka::TopicPartition::create(std::string(kDeadLetterTopic), 0, start)};
  rc = c->assign(tps);
  RdKafka::TopicPartition::destroy(tps);
  if (rc != RdKafka::ERR_NO_ERROR) return Status::Unavailable(RdKafka::err2str(rc));
  while (out.empty() || out.back().dlq_offset + 1 < high) {
    std::unique_ptr<RdKafka::Message> m(c->consume(10000));
    if (m->err() == RdKafka::ERR__PARTITION_EOF) break;
    if (m->err() != RdKafka::ERR_NO_ERROR) return ReadFailure(common, std::string(kDeadLetterTopic), m->err(), m->errstr());
    DeadLetter d;
    d.dlq_offset = m->offset();
    if (m->key_pointer() != nullptr) d.key.assign(static_cast<const char*>(m->key_pointer()), m->key_len());
    if (m->payload() != nullptr) d.value.assign(static_cast<const char*>(m->payload()), m->len());
    if (m->headers() != nullptr) {
      for (const auto& h : m->headers()->get_all()) {
        d.headers[h.key()] = std::string(static_cast<const char*>(h.value()), h.value_size());
      }
    }
    out.push_back(std::move(d));
  }
  c->close();
  return out;
}

}  // namespace

int RunDlqList(const CommonOptions& common, int64_t from, std::ostream& out, std::ostream& err) {
  auto letters = ReadDeadLetters(common, from);
  if (!letters.ok()) {
    err << "ledger dlq list: " << letters.status().message() << "\n";
    return ExitOf(letters.status());
  }
  auto codec = EventCodec::Create();
  for (const auto& d : *letters) {
    nlohmann::ordered_json j = {{"dlq_offset", d.dlq_offset}};
    for (const auto& [k, v] : d.headers) j[k] = v;
    j["key"] = d.key;
    j["bytes"] = d.value.size();
    // What this build makes of it now (after an upgrade it may decode).
    auto verified = VerifyEnvelope(d.value.data(), d.value.size());
    j["now"] = verified.ok() ? "valid" : verified.status().message();
    if (verified.ok()) {
      auto json = (*codec)->ToJson(d.value.data(), d.value.size());
      if (json.ok()) j["event"] = nlohmann::ordered_json::parse(*json);
    }
    out << j.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace) << "\n";
  }
  return kExitOk;
}

int RunDlqReplay(const CommonOptions& common, int64_t from, std::ostream& out, std::ostream& err) {
  auto letters = ReadDeadLetters(common, from);
  if (!letters.ok()) {
    err << "ledger dlq replay: " << letters.status().message() << "\n";
    return ExitOf(letters.status());
  }
  auto publisher = Publisher::Create(common.kafka);
  if (!publisher.ok()) {
    err << "ledger dlq replay: " << publisher.status().message() << "\n";
    return kExitUsage;
  }
  uint64_t sent = 0, still_bad = 0;
  for (const auto& d : *letters) {
    // The checks the projector applies to what it consumes, so that a replay cannot send
    // back what would be dead-lettered (or, worse, misapplied) again.
    const auto topic = d.headers.find("ledger.dlq.topic");
    const auto cut = d.headers.find("ledger.dlq.payload_bytes");
    auto verified = VerifyEnvelope(d.value.data(), d.value.size());
    std::string problem;
    if (cut != d.headers.end()) {
      problem = "only the first " + std::to_string(d.value.size()) + " of its " + cut->second +
                " bytes were kept: it cannot be replayed";
    } else if (!verified.ok()) {
      problem = verified.status().message();
    } else if (topic == d.headers.end()) {
      problem = "no ledger.dlq.topic header";
    } else if (topic->second != kEventsTopic && topic->second != kReferenceTopic) {
      problem = "it came from " + topic->second + ", not a ledger topic";
    } else if (IsReferenceEvent((*verified)->event_type()) != (topic->second == kReferenceTopic)) {
      const bool reference = IsReferenceEvent((*verified)->event_type());
      problem = EventTypeName((*verified)->event_type()) + " belongs on " +
                std::string(reference ? kReferenceTopic : kEventsTopic) + ", not on " + topic->second +
                ": publish it there (ledger publish routes it)";
    }
    if (!problem.empty()) {
      ++still_bad;
      err << "dlq@" << d.dlq_offset << ": still not valid: " << problem << "\n";
      continue;
    }
    // Back to where it came from, under its account's key (so on its account's
    // partition) with the ledger headers: the projector skips it if an earlier replay
    // already applied it (same event id).
    const fb::Envelope& e = **verified;
    const std::string key = e.account_id() ? e.account_id()->str() : ReferenceKey(e);
    UuidBytes id{};
    std::copy(e.event_id()->bytes()->begin(), e.event_id()->bytes()->end(), id.begin());
    const Headers headers = {{kHeaderType, EventTypeName(e.event_type())},
                             {kHeaderSchemaVersion, std::to_string(e.schema_version())},
                             {kHeaderEventId, FormatUuid(id)}};
    Status s = (*publisher)->Send(topic->second, key, d.value, headers, static_cast<uint64_t>(d.dlq_offset));
    if (!s.ok()) {
      err << "dlq@" << d.dlq_offset << ": not sent: " << s.message() << "\n";
      return kExitUnavailable;
    }
    ++sent;
  }
  DeliveryReport report = (*publisher)->Flush(std::chrono::seconds(30));
  if (!report.refused.empty()) {
    err << "ledger dlq replay: " << report.refused << "\n";
    RecordCommand(common, "dlq replay", "from offset " + std::to_string(from), "refused", err);
    return kExitRefused;
  }
  for (const auto& [offset, why] : report.failed) err << "dlq@" << offset << ": not delivered: " << why << "\n";
  RecordCommand(common, "dlq replay", "from offset " + std::to_string(from),
                std::to_string(report.delivered) + " of " + std::to_string(letters->size()) + " replayed" +
                    (report.failed.empty() ? "" : ", " + std::to_string(report.failed.size()) + " not delivered"),
                err);
  out << "replayed " << report.delivered << " of " << letters->size() << " dead letters";
  if (still_bad > 0) out << "; " << still_bad << " still not valid (left in place)";
  out << "\n";
  if (!report.failed.empty()) return kExitUnavailable;
  return still_bad > 0 ? kExitRejected : kExitOk;
}

}  // namespace ledger
