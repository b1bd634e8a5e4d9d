// The Kafka ACLs the ledger's principals need, least privilege, as data (LedgerAcls), and
// their creation and listing through the Admin API (a secure cluster: ops/kafka.sh with
// LEDGER_KAFKA_SECURE=1 allows nothing without an ACL).
//
//   publisher  writes ledger.events and ledger.reference
//   projector  reads ledger.events, ledger.reference and ledger.instances; writes the
//              dead-letter topic, ledger.instances and ledger.audit; its consumer groups
//              (every group id the ledger's projector uses begins with the configured group)
//   operator   reads the dead-letter topic and ledger.audit; writes ledger.events (the
//              re-drive of dead letters) and ledger.audit; its consumer groups begin
//              with GROUP.operator
//   analyst    nothing on Kafka (the HTTP API)
#pragma once

#include <string>
#include <string_view>
#include <tuple>
#include <vector>

#include "ledger/base/status.h"
#include "ledger/kafka/kafka_config.h"

namespace ledger {

inline constexpr std::string_view kAuditTopic = "ledger.audit";

struct KafkaAcl {
  std::string principal;      // e.g. "User:publisher"
  std::string resource_type;  // "topic" or "group"
  std::string name;
  bool prefixed = false;      // a name prefix (else the literal name)
  std::string operation;      // "READ", "WRITE" or "DESCRIBE"

  auto Tied() const { return std::tie(principal, resource_type, name, prefixed, operation); }
  bool operator<(const KafkaAcl& o) const { return Tied() < o.Tied(); }
  bool operator==(const KafkaAcl& o) const { return Tied() == o.Tied(); }
};

// The Kafka user names of the ledger's principals.
struct LedgerPrincipals {
  std::string publisher = "publisher";
  std::string projector = "projector";
  std::string operator_user = "operator";
};

// The group id prefix of the operator's consumers (dead letters, audit): GROUP.operator.
std::string OperatorGroupPrefix(const std::string& group);

// Every ACL the ledger's principals need with projector group `group`, sorted; each
// allows its operation from any host.
std::vector<KafkaAcl> LedgerAcls(const std::string& group, const LedgerPrincipals& principals = {});

// "User:publisher topic ledger.events WRITE" (prefixed names end with '*').
std::string FormatAcl(const KafkaAcl& acl);

// Creates `acls` (ALLOW, any host) through the Admin API of the cluster at `kafka`, as
// the principal of its properties file (a super user, or one allowed to ALTER the
// cluster). Unavailable or PermissionDenied naming the first ACL refused and why.
Status CreateAcls(const KafkaSettings& kafka, const std::vector<KafkaAcl>& acls);

// The ALLOW ACLs on topics and groups of the cluster at `kafka` (READ, WRITE and
// DESCRIBE only), sorted.
Result<std::vector<KafkaAcl>> DescribeAcls(const KafkaSettings& kafka);

}  // namespace ledger
