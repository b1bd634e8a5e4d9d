// ledger acls print|apply|check: the Kafka ACLs of the ledger's principals
// (ledger/kafka/kafka_acls.h).
#include <algorithm>
#include <ostream>

#include "ledger/kafka/kafka_acls.h"
#include "ledger/ops/commands.h"

namespace ledger {
namespace {

int ExitOf(const Status& s) { return s.code() == Status::Code::kRefused ? kExitRefused : kExitUnavailable; }

bool Ours(const KafkaAcl& acl, const LedgerPrincipals& p) {
  return acl.principal == "User:" + p.publisher || acl.principal == "User:" + p.projector ||
         acl.principal == "User:" + p.operator_user;
}

}  // namespace

int RunAcls(const CommonOptions& common, const AclsOptions& options, std::ostream& out, std::ostream& err) {
  LedgerPrincipals principals{options.publisher, options.projector, options.operator_user};
  const std::vector<KafkaAcl> wanted = LedgerAcls(options.group, principals);
  if (options.action == "print") {
    for (const KafkaAcl& a : wanted) out << FormatAcl(a) << "\n";
    return kExitOk;
  }
  if (options.action == "apply") {
    const std::string target = "group " + options.group + ", " + std::to_string(wanted.size()) + " ACLs";
    if (Status s = CreateAcls(common.kafka, wanted); !s.ok()) {
      err << "ledger acls apply: " << s.message() << "\n";
      RecordCommand(common, "acls apply", target, s.message(), err);
      return ExitOf(s);
    }
    RecordCommand(common, "acls apply", target, "ok", err);
    out << "ledger acls apply: " << wanted.size() << " ACLs in place on " << common.kafka.brokers << " for group "
        << options.group << "\n";
    return kExitOk;
  }
  // check: the cluster's ACLs of the ledger's principals are exactly the documented set.
  auto found = DescribeAcls(common.kafka);
  if (!found.ok()) {
    err << "ledger acls check: " << found.status().message() << "\n";
    return ExitOf(found.status());
  }
  std::vector<KafkaAcl> ours;
  std::copy_if(found->begin(), found->end(), std::back_inserter(ours),
               [&](const KafkaAcl& a) { return Ours(a, principals); });
  std::vector<KafkaAcl> missing, extra;
  std::set_difference(wanted.begin(), wanted.end(), ours.begin(), ours.end(), std::back_inserter(missing));
  std::set_difference(ours.begin(), ours.end(), wanted.begin(), wanted.end(), std::back_inserter(extra));
  for (const KafkaAcl& a : missing) out << "missing " << FormatAcl(a) << "\n";
  for (const KafkaAcl& a : extra) out << "extra   " << FormatAcl(a) << "\n";
  if (missing.empty() && extra.empty()) {
    out << "ledger acls check: the " << wanted.size() << " ACLs of the ledger's principals are exactly the documented set\n";
    return kExitOk;
  }
  out << "ledger acls check: " << missing.size() << " missing, " << extra.size()
      << " beyond the documented set (ledger acls apply adds the missing; remove the others with kafka-acls)\n";
  return kExitRejected;
}

}  // namespace ledger
