#include "ledger/cluster/group_router.h"

#include <algorithm>
#include <cstdlib>

namespace ledger {
namespace {

// What a forwarded question's signature covers: who forwarded it, for whom, when, and
// the question itself (its parameters sorted by name, as they travel), each field
// length-prefixed so that no two questions read the same.
std::string ForwardedMessage(const std::string& from, const Caller& caller, const std::string& sent_at,
                             const std::string& method, const std::string& path,
                             std::vector<std::pair<std::string, std::string>> params) {
  std::stable_sort(params.begin(), params.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
  std::string m;
  auto field = [&m](const std::string& v) { m += std::to_string(v.size()) + ":" + v + ";"; };
  for (const std::string* v : {&from, &caller.name, &caller.role, &sent_at, &method, &path}) field(*v);
  for (const auto& [k, v] : params) {
    field(k);
    field(v);
  }
  return m;
}

}  // namespace

GroupRouter::GroupRouter(std::string instance, LocalFn local, OthersFn others, PeerClientOptions peers,
                         const GroupCredential* credential)
    : instance_(std::move(instance)),
      local_(std::move(local)),
      others_(std::move(others)),
      peers_(std::move(peers)),
      credential_(credential) {}

Result<Answerer> GroupRouter::Route(const std::string& account, const ReadBound& bound) {
  return RouteAccount(local_(), others_(), account, bound);
}

Result<std::map<std::string, std::vector<int>>> GroupRouter::PlanList(const ReadBound& bound) {
  return ledger::PlanList(local_(), others_(), bound);
}

Status GroupRouter::AnswersHere(const std::vector<int>& partitions, const ReadBound& bound) {
  return ledger::AnswersHere(local_(), partitions, bound);
}

int GroupRouter::PartitionCount() {
  const LocalPartitions local = local_();
  if (local.partition_count > 0) return local.partition_count;
  int count = 0;
  for (const auto& [id, a] : others_()) count = std::max(count, a.partition_count);
  return count;
}

Readiness GroupRouter::Ready() {
  const LocalPartitions local = local_();
  if (PartitionCount() <= 0) return {false, "not joined its group yet: no partitions assigned, no other instance heard"};
  if (!local.heard_group) return {false, "still reading its group's announcements (ledger.instances)"};
  if (!local.restoring.empty()) {
    std::string list;
    for (int p : local.restoring) list += (list.empty() ? "" : ",") + std::to_string(p);
    return {false, "catching up with the partitions it owns: " + list};
  }
  return {true, ""};
}

Result<PeerAnswer> GroupRouter::Forward(const std::string& url, PeerRequest request, const Caller& caller) {
  if (credential_ == nullptr) {
    return Status::Unavailable("this instance has no group secret (--group-secret): it forwards no question");
  }
  const std::string sent_at = std::to_string(NowMs());
  const std::string signature =
      credential_->Sign(ForwardedMessage(instance_, caller, sent_at, "GET", request.path, request.params));
  request.headers.emplace_back("X-Ledger-Forwarded", instance_);
  request.headers.emplace_back("X-Ledger-Caller", caller.name);
  request.headers.emplace_back("X-Ledger-Caller-Role", caller.role);
  request.headers.emplace_back("X-Ledger-Sent-At", sent_at);
  request.headers.emplace_back("X-Ledger-Peer-Signature", signature);
  return peers_.Get(url, request);
}

std::optional<Caller> GroupRouter::VerifyForwarded(
    const std::string& method, const std::string& path, std::vector<std::pair<std::string, std::string>> params,
    const std::function<std::string(const std::string&)>& header) const {
  if (credential_ == nullptr) return std::nullopt;
  const std::string from = header("x-ledger-forwarded");
  const std::string sent_at = header("x-ledger-sent-at");
  const std::string signature = header("x-ledger-peer-signature");
  Caller caller{header("x-ledger-caller"), header("x-ledger-caller-role")};
  if (from.empty() || sent_at.empty() || signature.empty() || caller.role.empty()) return std::nullopt;
  if (!FreshAt(std::strtoll(sent_at.c_str(), nullptr, 10), NowMs())) return std::nullopt;
  if (!credential_->Verifies(ForwardedMessage(from, caller, sent_at, method, path, std::move(params)), signature)) {
    return std::nullopt;
  }
  return caller;
}

}  // namespace ledger
