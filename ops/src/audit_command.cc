// The audit trail on ledger.audit (ledger/producers/audit_log.h): the commands that
// change what Kafka allows or holds record themselves there; `ledger audit` lists it.
#include <librdkafka/rdkafkacpp.h>
#include <unistd.h>

#include <cstdlib>
#include <ostream>

#include "ledger/kafka/kafka_acls.h"
#include "ledger/kafka/kafka_refusal.h"
#include "ledger/ops/commands.h"
#include "ledger/producers/audit_log.h"
#include "read_failure.h"

namespace ledger {
namespace {

// Who runs a command: the Kafka user of its properties, else the login.
std::string CommandUser(const CommonOptions& common) {
  if (!common.kafka.properties_file.empty()) {
    auto props = ReadKafkaProperties(common.kafka.properties_file);
    if (props.ok()) {
      for (const auto& [k, v] : *props) {
        if (k == "sasl.username") return v;
      }
    }
  }
  const char* user = std::getenv("USER");
  return user != nullptr ? user : "";
}

// A read that failed, said on `err`; its exit code.
int Failed(const CommonOptions& common, const std::string& topic, RdKafka::ErrorCode code, const std::string& why,
           std::ostream& err) {
  const Status s = ReadFailure(common, topic, code, why);
  err << "ledger audit: " << s.message() << "\n";
  return ExitOf(s);
}

}  // namespace

void RecordCommand(const CommonOptions& common, const std::string& action, const std::string& target,
                   const std::string& result, std::ostream& err) {
  auto log = AuditLog::Create(common.kafka);
  if (!log.ok()) {
    err << "ledger: not recorded on " << kAuditTopic << ": " << log.status().message() << "\n";
    return;
  }
  (*log)->Record({0, CommandUser(common), "", action, target, result, "cli", ""});
  if (Status s = (*log)->Flush(std::chrono::seconds(5)); !s.ok()) {
    err << "ledger: not recorded on " << kAuditTopic << ": " << s.message() << "\n";
  }
}

int RunAuditList(const CommonOptions& common, int64_t from, std::ostream& out, std::ostream& err) {
  auto conf = MakeKafkaConf(common.kafka, {{"group.id", OperatorGroupPrefix(common.group) + ".audit"},
                                           {"enable.auto.commit", "false"},
                                           {"enable.partition.eof", "true"}});
  if (!conf.ok()) {
    err << "ledger audit: " << conf.status().message() << "\n";
    return kExitUsage;
  }
  std::string e;
  std::unique_ptr<RdKafka::KafkaConsumer> c(RdKafka::KafkaConsumer::create(conf->get(), e));
  if (!c) {
    err << "ledger audit: cannot create a Kafka consumer: " << e << "\n";
    return kExitUsage;
  }
  int64_t low = 0, high = 0;
  const std::string topic(kAuditTopic);
  {
    // The topic's metadata first: a topic the user may not describe reads as "unknown
    // partition" to the offsets request.
    std::string why;
    std::unique_ptr<RdKafka::Topic> t(RdKafka::Topic::create(c.get(), topic, nullptr, why));
    RdKafka::Metadata* raw = nullptr;
    RdKafka::ErrorCode mrc = c->metadata(false, t.get(), &raw, 10000);
    std::unique_ptr<RdKafka::Metadata> md(raw);
    if (mrc == RdKafka::ERR_NO_ERROR && md && !md->topics()->empty()) mrc = md->topics()->front()->err();
    if (mrc == RdKafka::ERR_UNKNOWN_TOPIC_OR_PART) {
      err << "ledger audit: " << topic << " does not exist on " << common.kafka.brokers
          << " (ops/kafka.sh topics creates it)\n";
      return kExitUnavailable;
    }
    if (mrc != RdKafka::ERR_NO_ERROR) return Failed(common, topic, mrc, RdKafka::err2str(mrc), err);
  }
  RdKafka::ErrorCode rc = c->query_watermark_offsets(topic, 0, &low, &high, 10000);
  if (rc != RdKafka::ERR_NO_ERROR) return Failed(common, topic, rc, RdKafka::err2str(rc), err);
  const int64_t start = std::max(from, low);
  if (start >= high) return kExitOk;
  std::vector<RdKafka::TopicPartition*> tps = {RdKafka::TopicPartition::create(topic, 0, start)};
  rc = c->assign(tps);
  RdKafka::TopicPartition::destroy(tps);
  if (rc != RdKafka::ERR_NO_ERROR) {
    err << "ledger audit: " << RdKafka::err2str(rc) << "\n";
    return kExitUnavailable;
  }
  for (int64_t next = start; next < high;) {
    std::unique_ptr<RdKafka::Message> m(c->consume(10000));
    if (m->err() == RdKafka::ERR__PARTITION_EOF) break;
    if (m->err() != RdKafka::ERR_NO_ERROR) return Failed(common, topic, m->err(), m->errstr(), err);
    next = m->offset() + 1;
    if (m->payload() != nullptr) out << std::string(static_cast<const char*>(m->payload()), m->len()) << "\n";
  }
  c->close();
  return kExitOk;
}

}  // namespace ledger
