#include "ledger/cluster/group_router.h"

namespace ledger {

GroupRouter::GroupRouter(std::string instance, LocalFn local, OthersFn others, PeerClientOptions peers)
    : instance_(std::move(instance)), local_(std::move(local)), others_(std::move(others)), peers_(std::move(peers)) {}

Result<Answerer> GroupRouter::Route(const std::string& account, const ReadBound& bound) {
  auto others = others_();
  if (!others) return Answerer{};
  return RouteAccount(local_(), *others, account, bound);
}

Result<std::map<std::string, std::vector<int>>> GroupRouter::PlanList(const ReadBound& bound) {
  auto others = others_();
  if (!others) return std::map<std::string, std::vector<int>>();
  return ledger::PlanList(local_(), *others, bound);
}

Status GroupRouter::AnswersHere(const std::vector<int>& partitions, const ReadBound& bound) {
  if (!others_()) return Status::Ok();
  return ledger::AnswersHere(local_(), partitions, bound);
}

int GroupRouter::PartitionCount() { return local_().partition_count; }

Result<PeerAnswer> GroupRouter::Forward(const std::string& url, PeerRequest request) {
  request.headers.emplace_back("X-Ledger-Forwarded", instance_);
  return peers_.Get(url, request);
}

}  // namespace ledger
