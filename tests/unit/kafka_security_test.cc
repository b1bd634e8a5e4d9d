// The ledger's Kafka ACLs as documented (ledger/kafka/kafka_acls.h), and the words of a
// broker's refusal (ledger/kafka/kafka_refusal.h): the user and mechanism, never the
// password; the SCRAM warning of this librdkafka.
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>

#include "ledger/kafka/kafka_acls.h"
#include "ledger/kafka/kafka_refusal.h"

namespace ledger {
namespace {

std::vector<std::string> Formatted(const std::vector<KafkaAcl>& acls) {
  std::vector<std::string> out;
  for (const auto& a : acls) out.push_back(FormatAcl(a));
  return out;
}

TEST(KafkaAcls, EachPrincipalGetsOnlyWhatItNeeds) {
  const auto acls = Formatted(LedgerAcls("g1"));
  const std::vector<std::string> expected = {
      "User:operator group g1.operator* DESCRIBE",  "User:operator group g1.operator* READ",
      "User:operator topic ledger.audit DESCRIBE",  "User:operator topic ledger.audit READ",
      "User:operator topic ledger.audit WRITE",     "User:operator topic ledger.events DESCRIBE",
      "User:operator topic ledger.events WRITE",    "User:operator topic ledger.events.dlq DESCRIBE",
      "User:operator topic ledger.events.dlq READ", "User:projector group g1* DESCRIBE",
      "User:projector group g1* READ",              "User:projector topic ledger.audit DESCRIBE",
      "User:projector topic ledger.audit WRITE",    "User:projector topic ledger.events DESCRIBE",
      "User:projector topic ledger.events READ",    "User:projector topic ledger.events.dlq DESCRIBE",
      "User:projector topic ledger.events.dlq WRITE", "User:projector topic ledger.instances DESCRIBE",
      "User:projector topic ledger.instances READ", "User:projector topic ledger.instances WRITE",
      "User:projector topic ledger.reference DESCRIBE", "User:projector topic ledger.reference READ",
      "User:publisher topic ledger.events DESCRIBE", "User:publisher topic ledger.events WRITE",
      "User:publisher topic ledger.reference DESCRIBE", "User:publisher topic ledger.reference WRITE",
  };
  std::vector<std::string> sorted = expected;
  std::sort(sorted.begin(), sorted.end());
  EXPECT_EQ(acls, sorted);
  // Nobody but the projector writes the group's announcements; the publisher reads nothing.
  for (const auto& a : LedgerAcls("g1")) {
    if (a.name == "ledger.instances" && a.operation == "WRITE") {
      EXPECT_EQ(a.principal, "User:projector");
    }
    if (a.principal == "User:publisher") {
      EXPECT_NE(a.operation, "READ") << FormatAcl(a);
    }
  }
  LedgerPrincipals renamed{"pub-a", "proj-a", "ops-a"};
  for (const auto& a : LedgerAcls("g1", renamed)) {
    EXPECT_TRUE(a.principal == "User:pub-a" || a.principal == "User:proj-a" || a.principal == "User:ops-a");
  }
}

TEST(KafkaRefusals, TheirWordsNameTheUserAndMechanismNeverThePassword) {
  const auto path = std::filesystem::temp_directory_path() / ("ledger-kafka-props-" + std::to_string(::getpid()));
  std::ofstream(path) << "security.protocol=SASL_SSL\nsasl.mechanisms=PLAIN\nsasl.username=publisher\n"
                         "sasl.password=s3cret-value\nssl.ca.location=/x/ca.pem\n";
  KafkaSettings settings{"127.0.0.1:9999", path.string()};
  EXPECT_EQ(DescribeClient(settings), "user 'publisher' (SASL_SSL, PLAIN)");
  const std::string auth = RefusalMessage(settings, RefusalKind::kAuthentication, "Invalid username or password");
  EXPECT_NE(auth.find("Kafka at 127.0.0.1:9999 refused user 'publisher' (SASL_SSL, PLAIN): authentication failed"),
            std::string::npos)
      << auth;
  EXPECT_EQ(auth.find("s3cret-value"), std::string::npos);
  EXPECT_NE(RefusalMessage(settings, RefusalKind::kTls, "certificate verify failed").find("ssl.ca.location"),
            std::string::npos);
  EXPECT_NE(RefusalMessage(settings, RefusalKind::kAuthorization, "Topic authorization failed").find("ledger acls"),
            std::string::npos);
  EXPECT_EQ(RefusalOf(RdKafka::ERR__AUTHENTICATION, ""), RefusalKind::kAuthentication);
  EXPECT_EQ(RefusalOf(RdKafka::ERR__SSL, ""), RefusalKind::kTls);
  EXPECT_EQ(RefusalOf(RdKafka::ERR_TOPIC_AUTHORIZATION_FAILED, ""), RefusalKind::kAuthorization);
  EXPECT_EQ(RefusalOf(RdKafka::ERR_GROUP_AUTHORIZATION_FAILED, ""), RefusalKind::kAuthorization);
  EXPECT_EQ(RefusalOf(RdKafka::ERR__TRANSPORT, "Connection refused"), RefusalKind::kNone);
  EXPECT_EQ(RefusalOf(RdKafka::ERR__TRANSPORT, "SSL handshake failed: certificate verify failed"), RefusalKind::kTls);
  EXPECT_EQ(ScramWarning(settings), "");
  std::ofstream(path) << "security.protocol=SASL_SSL\nsasl.mechanisms=SCRAM-SHA-512\n";
  EXPECT_NE(ScramWarning(settings).find("fails against Kafka 4"), std::string::npos);  // librdkafka 2.0.2 here
  EXPECT_EQ(DescribeClient({"b:1", ""}), "no user (PLAINTEXT)");
  std::filesystem::remove(path);
}

}  // namespace
}  // namespace ledger
