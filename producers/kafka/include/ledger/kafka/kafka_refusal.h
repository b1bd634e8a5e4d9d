// When a broker refuses a client: wrong credentials (authentication), a certificate that
// cannot be trusted (TLS), or an ACL (authorization). librdkafka reports these as errors
// it keeps retrying, so a client would only see undelivered messages or nothing fetched
// after its timeouts; a RefusalWatch (the client's event_cb) notes the first one, and
// RefusalMessage says it in the user's words: the broker, the user, the mechanism and
// the cause, never the password.
#pragma once

#include <librdkafka/rdkafkacpp.h>

#include <mutex>
#include <string>

#include "ledger/kafka/kafka_config.h"

namespace ledger {

enum class RefusalKind { kNone, kAuthentication, kTls, kAuthorization };

// The kind of refusal an error code is (kNone: not one).
RefusalKind RefusalOf(RdKafka::ErrorCode code, const std::string& text);

// "user 'publisher' (SASL_SSL, PLAIN)", or "no user (PLAINTEXT)": from the client's
// properties file, without the password.
std::string DescribeClient(const KafkaSettings& settings);

// The message for a refusal: "Kafka at BROKERS refused user 'u' (SASL_SSL, PLAIN):
// authentication failed: <librdkafka's words>" and what to check.
std::string RefusalMessage(const KafkaSettings& settings, RefusalKind kind, const std::string& cause);

// A warning when the properties ask for SCRAM from a librdkafka older than 2.6.1, whose
// SCRAM client Kafka 4 rejects (a client-nonce bug); empty otherwise.
std::string ScramWarning(const KafkaSettings& settings);

// An event_cb noting the first refusal. Thread-safe (librdkafka calls it from poll()).
class RefusalWatch : public RdKafka::EventCb {
 public:
  void event_cb(RdKafka::Event& e) override;
  // Notes a refusal seen elsewhere (a delivery report, a consumed message's error).
  void Note(RefusalKind kind, const std::string& cause);
  // Forgets the refusal (the client got through since).
  void Clear();
  // The first refusal seen (kNone if none) and librdkafka's words for it.
  RefusalKind kind() const;
  std::string cause() const;
  // Fatal errors too (an idempotent producer's), which end the client.
  std::string fatal() const;

 private:
  mutable std::mutex mu_;
  RefusalKind kind_ = RefusalKind::kNone;
  std::string cause_;
  std::string fatal_;
};

}  // namespace ledger
