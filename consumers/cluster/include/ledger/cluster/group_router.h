// What the HTTP API asks of its projector group: who answers this question ("here", or
// another instance's address), whether this instance can answer now (readiness), and,
// when another answers, the forwarding of the question to it. A forwarded question
// carries the caller's identity as the first instance checked it (name and role), signed
// with the group's secret (group_credential.h); never the caller's token. The plan itself
// is group_plan.h's, over this instance's partitions and the others' announcements, both
// read afresh for every question.
#pragma once

#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "ledger/base/status.h"
#include "ledger/cluster/group_credential.h"
#include "ledger/cluster/group_plan.h"
#include "ledger/cluster/peer_client.h"

namespace ledger {

// Who asked, as the instance that checked the caller's token saw it.
struct Caller {
  std::string name;
  std::string role;  // analyst, operator, publisher
};

// Whether an instance can answer now, and why not.
struct Readiness {
  bool ready = false;
  std::string why;  // when not ready
};

class GroupRouter {
 public:
  // This instance's partitions now (with heard_group).
  using LocalFn = std::function<LocalPartitions()>;
  // The other instances of the group: their fresh, authenticated announcements.
  using OthersFn = std::function<Announcements()>;

  // `credential` signs forwarded questions and checks those received; null: this
  // instance forwards nothing and accepts no forwarded question. It must outlive the
  // router.
  GroupRouter(std::string instance, LocalFn local, OthersFn others, PeerClientOptions peers,
              const GroupCredential* credential = nullptr);

  const std::string& instance() const { return instance_; }

  // Where a question about `account` is answered (RouteAccount).
  Result<Answerer> Route(const std::string& account, const ReadBound& bound);
  // Where each partition's part of a list is answered (PlanList).
  Result<std::map<std::string, std::vector<int>>> PlanList(const ReadBound& bound);
  // Whether a forwarded part of a list is answered here (AnswersHere).
  Status AnswersHere(const std::vector<int>& partitions, const ReadBound& bound);
  // The partitions of ledger.events (0 while not known yet).
  int PartitionCount();
  // Ready once it knows the partition count, has heard its group, and catches up with
  // no partition it owns.
  Readiness Ready();
  // The instances that failed to answer within the grace.
  std::set<std::string> Unreachable() { return peers_.Unreachable(); }

  // Asks the instance at `url` (PeerClient::Get) on behalf of `caller`, signed as this
  // instance. Unavailable without a credential. Thread-safe, like every method here.
  Result<PeerAnswer> Forward(const std::string& url, PeerRequest request, const Caller& caller);

  // The caller of a question another instance of the group forwarded, if its headers
  // (X-Ledger-Forwarded, -Caller, -Caller-Role, -Sent-At, -Peer-Signature; `header` gives
  // one by its lower-case name) are signed with the group's secret for this very
  // question and fresh; nullopt otherwise (the headers are then to be ignored).
  std::optional<Caller> VerifyForwarded(const std::string& method, const std::string& path,
                                        std::vector<std::pair<std::string, std::string>> params,
                                        const std::function<std::string(const std::string&)>& header) const;

 private:
  std::string instance_;
  LocalFn local_;
  OthersFn others_;
  PeerClient peers_;
  const GroupCredential* credential_;
};

}  // namespace ledger
