#include "ledger/kafka/kafka_acls.h"

#include <librdkafka/rdkafka.h>

#include <algorithm>
#include <memory>

#include "ledger/schema/event_codec.h"

namespace ledger {
namespace {

constexpr std::string_view kInstancesTopicName = "ledger.instances";
constexpr int kAdminTimeoutMs = 15000;

struct Resource {
  std::string type, name;
  bool prefixed;
};

void Allow(std::vector<KafkaAcl>& out, const std::string& user, const Resource& r,
           std::initializer_list<const char*> operations) {
  for (const char* op : operations) out.push_back({"User:" + user, r.type, r.name, r.prefixed, op});
}

rd_kafka_AclOperation_t OperationOf(const std::string& op) {
  if (op == "READ") return RD_KAFKA_ACL_OPERATION_READ;
  if (op == "WRITE") return RD_KAFKA_ACL_OPERATION_WRITE;
  return RD_KAFKA_ACL_OPERATION_DESCRIBE;
}

// An admin client: a producer handle (never producing) and a queue for the results.
struct Admin {
  std::unique_ptr<RdKafka::Producer> producer;
  rd_kafka_queue_t* queue = nullptr;
  ~Admin() {
    if (queue != nullptr) rd_kafka_queue_destroy(queue);
  }
  rd_kafka_t* rk() { return producer->c_ptr(); }
};

Result<std::unique_ptr<Admin>> Connect(const KafkaSettings& kafka) {
  auto conf = MakeKafkaConf(kafka, {});
  if (!conf.ok()) return conf.status();
  std::string err;
  auto admin = std::make_unique<Admin>();
  admin->producer.reset(RdKafka::Producer::create(conf->get(), err));
  if (!admin->producer) return Status::InvalidInput("cannot create the Kafka admin client: " + err);
  admin->queue = rd_kafka_queue_new(admin->rk());
  return admin;
}

// Waits for the result of an admin request; Unavailable/Refused naming `what`.
Result<rd_kafka_event_t*> Await(Admin& admin, rd_kafka_event_type_t type, const std::string& what,
                                const KafkaSettings& kafka) {
  rd_kafka_event_t* ev = rd_kafka_queue_poll(admin.queue, kAdminTimeoutMs + 2000);
  if (ev == nullptr) {
    return Status::Unavailable(what + ": no answer from " + kafka.brokers + " within " +
                               std::to_string(kAdminTimeoutMs / 1000) + " s");
  }
  if (rd_kafka_event_type(ev) != type || rd_kafka_event_error(ev) != RD_KAFKA_RESP_ERR_NO_ERROR) {
    const rd_kafka_resp_err_t code = rd_kafka_event_error(ev);
    const std::string why = rd_kafka_event_error_string(ev) ? rd_kafka_event_error_string(ev) : "unknown error";
    rd_kafka_event_destroy(ev);
    const std::string message = what + " at " + kafka.brokers + ": " + why;
    if (code == RD_KAFKA_RESP_ERR_CLUSTER_AUTHORIZATION_FAILED || code == RD_KAFKA_RESP_ERR__AUTHENTICATION ||
        code == RD_KAFKA_RESP_ERR_SECURITY_DISABLED) {
      return Status::Refused(message);
    }
    return Status::Unavailable(message);
  }
  return ev;
}

}  // namespace

std::string OperatorGroupPrefix(const std::string& group) { return group + ".operator"; }

std::vector<KafkaAcl> LedgerAcls(const std::string& group, const LedgerPrincipals& p) {
  const Resource events{"topic", std::string(kEventsTopic), false};
  const Resource reference{"topic", std::string(kReferenceTopic), false};
  const Resource dead_letters{"topic", std::string(kDeadLetterTopic), false};
  const Resource instances{"topic", std::string(kInstancesTopicName), false};
  const Resource audit{"topic", std::string(kAuditTopic), false};
  std::vector<KafkaAcl> out;
  Allow(out, p.publisher, events, {"WRITE", "DESCRIBE"});
  Allow(out, p.publisher, reference, {"WRITE", "DESCRIBE"});
  Allow(out, p.projector, events, {"READ", "DESCRIBE"});
  Allow(out, p.projector, reference, {"READ", "DESCRIBE"});
  Allow(out, p.projector, dead_letters, {"WRITE", "DESCRIBE"});
  Allow(out, p.projector, instances, {"READ", "WRITE", "DESCRIBE"});
  Allow(out, p.projector, audit, {"WRITE", "DESCRIBE"});
  Allow(out, p.projector, {"group", group, true}, {"READ", "DESCRIBE"});
  Allow(out, p.operator_user, dead_letters, {"READ", "DESCRIBE"});
  Allow(out, p.operator_user, events, {"WRITE", "DESCRIBE"});
  Allow(out, p.operator_user, audit, {"READ", "WRITE", "DESCRIBE"});
  Allow(out, p.operator_user, {"group", OperatorGroupPrefix(group), true}, {"READ", "DESCRIBE"});
  std::sort(out.begin(), out.end());
  return out;
}

std::string FormatAcl(const KafkaAcl& acl) {
  return acl.principal + " " + acl.resource_type + " " + acl.name + (acl.prefixed ? "*" : "") + " " + acl.operation;
}

Status CreateAcls(const KafkaSettings& kafka, const std::vector<KafkaAcl>& acls) {
  auto admin = Connect(kafka);
  if (!admin.ok()) return admin.status();
  std::vector<rd_kafka_AclBinding_t*> bindings;
  char err[512];
  for (const KafkaAcl& a : acls) {
    rd_kafka_AclBinding_t* b = rd_kafka_AclBinding_new(
        a.resource_type == "group" ? RD_KAFKA_RESOURCE_GROUP : RD_KAFKA_RESOURCE_TOPIC, a.name.c_str(),
        a.prefixed ? RD_KAFKA_RESOURCE_PATTERN_PREFIXED : RD_KAFKA_RESOURCE_PATTERN_LITERAL, a.principal.c_str(), "*",
        OperationOf(a.operation), RD_KAFKA_ACL_PERMISSION_TYPE_ALLOW, err, sizeof err);
    if (b == nullptr) {
      rd_kafka_AclBinding_destroy_array(bindings.data(), bindings.size());
      return Status::InvalidInput("the ACL " + FormatAcl(a) + ": " + err);
    }
    bindings.push_back(b);
  }
  rd_kafka_AdminOptions_t* options = rd_kafka_AdminOptions_new((*admin)->rk(), RD_KAFKA_ADMIN_OP_CREATEACLS);
  rd_kafka_AdminOptions_set_request_timeout(options, kAdminTimeoutMs, err, sizeof err);
  rd_kafka_CreateAcls((*admin)->rk(), bindings.data(), bindings.size(), options, (*admin)->queue);
  rd_kafka_AdminOptions_destroy(options);
  rd_kafka_AclBinding_destroy_array(bindings.data(), bindings.size());
  auto ev = Await(**admin, RD_KAFKA_EVENT_CREATEACLS_RESULT, "creating ACLs", kafka);
  if (!ev.ok()) return ev.status();
  size_t n = 0;
  const rd_kafka_acl_result_t** results = rd_kafka_CreateAcls_result_acls(rd_kafka_event_CreateAcls_result(*ev), &n);
  Status out;
  for (size_t i = 0; i < n && out.ok(); ++i) {
    const rd_kafka_error_t* e = rd_kafka_acl_result_error(results[i]);
    if (e == nullptr) continue;
    const std::string message = "the ACL " + (i < acls.size() ? FormatAcl(acls[i]) : std::string("?")) +
                                " was refused by " + kafka.brokers + ": " + rd_kafka_error_string(e);
    out = rd_kafka_error_code(e) == RD_KAFKA_RESP_ERR_CLUSTER_AUTHORIZATION_FAILED ? Status::Refused(message)
                                                                                   : Status::Unavailable(message);
  }
  rd_kafka_event_destroy(*ev);
  return out;
}

Result<std::vector<KafkaAcl>> DescribeAcls(const KafkaSettings& kafka) {
  auto admin = Connect(kafka);
  if (!admin.ok()) return admin.status();
  char err[512];
  rd_kafka_AclBindingFilter_t* filter =
      rd_kafka_AclBindingFilter_new(RD_KAFKA_RESOURCE_ANY, nullptr, RD_KAFKA_RESOURCE_PATTERN_ANY, nullptr, nullptr,
                                    RD_KAFKA_ACL_OPERATION_ANY, RD_KAFKA_ACL_PERMISSION_TYPE_ANY, err, sizeof err);
  if (filter == nullptr) return Status::InvalidInput(std::string("an ACL filter: ") + err);
  rd_kafka_AdminOptions_t* options = rd_kafka_AdminOptions_new((*admin)->rk(), RD_KAFKA_ADMIN_OP_DESCRIBEACLS);
  rd_kafka_AdminOptions_set_request_timeout(options, kAdminTimeoutMs, err, sizeof err);
  rd_kafka_DescribeAcls((*admin)->rk(), filter, options, (*admin)->queue);
  rd_kafka_AdminOptions_destroy(options);
  rd_kafka_AclBinding_destroy(filter);
  auto ev = Await(**admin, RD_KAFKA_EVENT_DESCRIBEACLS_RESULT, "listing ACLs", kafka);
  if (!ev.ok()) return ev.status();
  size_t n = 0;
  const rd_kafka_AclBinding_t** found =
      rd_kafka_DescribeAcls_result_acls(rd_kafka_event_DescribeAcls_result(*ev), &n);
  std::vector<KafkaAcl> out;
  for (size_t i = 0; i < n; ++i) {
    const rd_kafka_AclBinding_t* b = found[i];
    if (rd_kafka_AclBinding_permission_type(b) != RD_KAFKA_ACL_PERMISSION_TYPE_ALLOW) continue;
    const rd_kafka_ResourceType_t type = rd_kafka_AclBinding_restype(b);
    if (type != RD_KAFKA_RESOURCE_TOPIC && type != RD_KAFKA_RESOURCE_GROUP) continue;
    const rd_kafka_AclOperation_t op = rd_kafka_AclBinding_operation(b);
    const char* name = op == RD_KAFKA_ACL_OPERATION_READ    ? "READ"
                       : op == RD_KAFKA_ACL_OPERATION_WRITE ? "WRITE"
                       : op == RD_KAFKA_ACL_OPERATION_DESCRIBE ? "DESCRIBE"
                                                               : rd_kafka_AclOperation_name(op);
    out.push_back({rd_kafka_AclBinding_principal(b), type == RD_KAFKA_RESOURCE_GROUP ? "group" : "topic",
                   rd_kafka_AclBinding_name(b),
                   rd_kafka_AclBinding_resource_pattern_type(b) == RD_KAFKA_RESOURCE_PATTERN_PREFIXED, name});
  }
  rd_kafka_event_destroy(*ev);
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace ledger
