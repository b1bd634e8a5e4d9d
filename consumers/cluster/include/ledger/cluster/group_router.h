// What the HTTP API asks of its projector group: who answers this question ("here", or
// another instance's address) and, when it is another, the forwarding of the question to
// it. The plan itself is group_plan.h's, over this instance's partitions and the others'
// announcements, both read afresh for every question.
#pragma once

#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "ledger/base/status.h"
#include "ledger/cluster/group_plan.h"
#include "ledger/cluster/peer_client.h"

namespace ledger {

class GroupRouter {
 public:
  // This instance's partitions now.
  using LocalFn = std::function<LocalPartitions()>;
  // The other instances' fresh announcements; nullopt while this instance does not
  // announce itself (it then answers every question here).
  using OthersFn = std::function<std::optional<Announcements>()>;

  GroupRouter(std::string instance, LocalFn local, OthersFn others, PeerClientOptions peers);

  const std::string& instance() const { return instance_; }

  // Where a question about `account` is answered (RouteAccount).
  Result<Answerer> Route(const std::string& account, const ReadBound& bound);
  // Where each partition's part of a list is answered (PlanList).
  Result<std::map<std::string, std::vector<int>>> PlanList(const ReadBound& bound);
  // Whether a forwarded part of a list is answered here (AnswersHere).
  Status AnswersHere(const std::vector<int>& partitions, const ReadBound& bound);
  // The partitions of ledger.events (0 while not known yet).
  int PartitionCount();
  // The instances that failed to answer within the grace.
  std::set<std::string> Unreachable() { return peers_.Unreachable(); }

  // Asks the instance at `url` (PeerClient::Get), naming this instance as the one that
  // forwarded the question. Thread-safe, like every method here.
  Result<PeerAnswer> Forward(const std::string& url, PeerRequest request);

 private:
  std::string instance_;
  LocalFn local_;
  OthersFn others_;
  PeerClient peers_;
};

}  // namespace ledger
