#include "ledger/kafka/kafka_refusal.h"

#include <librdkafka/rdkafka.h>

namespace ledger {
namespace {

std::string Property(const KafkaProperties& props, const std::string& name, const std::string& fallback) {
  std::string value = fallback;
  for (const auto& [k, v] : props) {
    if (k == name) value = v;
  }
  return value;
}

KafkaProperties PropertiesOf(const KafkaSettings& settings) {
  if (settings.properties_file.empty()) return {};
  auto props = ReadKafkaProperties(settings.properties_file);
  return props.ok() ? *props : KafkaProperties{};
}

}  // namespace

RefusalKind RefusalOf(RdKafka::ErrorCode code, const std::string& text) {
  switch (code) {
    case RdKafka::ERR__AUTHENTICATION:
    case RdKafka::ERR_SASL_AUTHENTICATION_FAILED:
      return RefusalKind::kAuthentication;
    case RdKafka::ERR__SSL:
      return RefusalKind::kTls;
    case RdKafka::ERR_TOPIC_AUTHORIZATION_FAILED:
    case RdKafka::ERR_GROUP_AUTHORIZATION_FAILED:
    case RdKafka::ERR_CLUSTER_AUTHORIZATION_FAILED:
    case RdKafka::ERR_TRANSACTIONAL_ID_AUTHORIZATION_FAILED:
      return RefusalKind::kAuthorization;
    default:
      break;
  }
  // A TLS handshake that fails surfaces as a transport error on some paths.
  if (text.find("SSL handshake failed") != std::string::npos) return RefusalKind::kTls;
  if (text.find("SASL authentication error") != std::string::npos) return RefusalKind::kAuthentication;
  return RefusalKind::kNone;
}

std::string DescribeClient(const KafkaSettings& settings) {
  const KafkaProperties props = PropertiesOf(settings);
  const std::string protocol = Property(props, "security.protocol", "PLAINTEXT");
  const std::string user = Property(props, "sasl.username", "");
  std::string mechanism = Property(props, "sasl.mechanisms", Property(props, "sasl.mechanism", ""));
  if (protocol.find("SASL") == std::string::npos) mechanism.clear();
  std::string out = user.empty() ? "no user" : "user '" + user + "'";
  out += " (" + protocol + (mechanism.empty() ? "" : ", " + mechanism) + ")";
  return out;
}

std::string RefusalMessage(const KafkaSettings& settings, RefusalKind kind, const std::string& cause) {
  const std::string who = "Kafka at " + settings.brokers + " refused " + DescribeClient(settings) + ": ";
  switch (kind) {
    case RefusalKind::kAuthentication:
      return who + "authentication failed (" + cause +
             "); check sasl.username and sasl.password in " +
             (settings.properties_file.empty() ? std::string("--kafka-config") : settings.properties_file);
    case RefusalKind::kTls:
      return who + "the TLS connection failed (" + cause +
             "); check ssl.ca.location (the CA that signed the brokers' certificates) and that the broker "
             "address is a name or IP its certificate covers";
    case RefusalKind::kAuthorization:
      return who + "not allowed (" + cause + "); an ACL must allow it: ledger acls print shows what each "
             "principal needs, ledger acls apply creates them";
    case RefusalKind::kNone:
      break;
  }
  return who + cause;
}

std::string ScramWarning(const KafkaSettings& settings) {
  const KafkaProperties props = PropertiesOf(settings);
  const std::string mechanism = Property(props, "sasl.mechanisms", Property(props, "sasl.mechanism", ""));
  if (mechanism.find("SCRAM") == std::string::npos || rd_kafka_version() >= 0x020601ff) return "";
  return "sasl.mechanisms=" + mechanism + " with librdkafka " + rd_kafka_version_str() +
         ": its SCRAM client fails against Kafka 4 brokers even with the right password (a client-nonce bug "
         "fixed in librdkafka 2.6.1); use PLAIN over SASL_SSL, or mutual TLS";
}

void RefusalWatch::event_cb(RdKafka::Event& e) {
  if (e.type() != RdKafka::Event::EVENT_ERROR) return;
  if (e.fatal()) {
    std::lock_guard lock(mu_);
    if (fatal_.empty()) fatal_ = e.str();
  }
  Note(RefusalOf(e.err(), e.str()), e.str());
}

void RefusalWatch::Note(RefusalKind kind, const std::string& cause) {
  if (kind == RefusalKind::kNone) return;
  std::lock_guard lock(mu_);
  if (kind_ != RefusalKind::kNone) return;
  kind_ = kind;
  cause_ = cause;
}

void RefusalWatch::Clear() {
  std::lock_guard lock(mu_);
  kind_ = RefusalKind::kNone;
  cause_.clear();
}

RefusalKind RefusalWatch::kind() const {
  std::lock_guard lock(mu_);
  return kind_;
}

std::string RefusalWatch::cause() const {
  std::lock_guard lock(mu_);
  return cause_;
}

std::string RefusalWatch::fatal() const {
  std::lock_guard lock(mu_);
  return fatal_;
}

}  // namespace ledger
