#include "ledger/entitlement.h"

#include <algorithm>
#include <nlohmann/json.hpp>

#include "ledger/keys.h"
#include "ledger/partitioner.h"
#include "ledger_generated.h"
#include "state_generated.h"

namespace ledger {
namespace {

std::string OfferingName(int8_t offering) {
  return fb::EnumNameOffering(static_cast<fb::Offering>(offering));
}

// The account's status at T: the latest change effective at or before T (ties: the
// one applied last).
std::optional<state::AccountStatus> StatusAt(const state::AccountState& a, Millis t,
                                             Millis* since) {
  std::optional<state::AccountStatus> status;
  Millis best = std::numeric_limits<Millis>::min();
  if (a.changes() == nullptr) return status;
  for (const auto* c : *a.changes()) {
    if (c->effective_at() <= t && c->effective_at() >= best) {
      best = c->effective_at();
      status = c->status();
    }
  }
  *since = best;
  return status;
}

// The stored table, read in place, or null if the bytes do not verify.
template <typename T>
const T* Verified(std::string_view bytes) {
  flatbuffers::Verifier v(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size());
  if (!v.VerifyBuffer<T>(nullptr)) return nullptr;
  return flatbuffers::GetRoot<T>(bytes.data());
}

std::string Str(const flatbuffers::String* s) { return s ? s->str() : ""; }

}  // namespace

EntitlementAnswer EvaluateEntitlement(const EntitlementQuestion& q,
                                      const state::AccountState* account,
                                      const std::vector<const state::AgreementState*>& agreements) {
  EntitlementAnswer a;
  a.question = q;
  const Millis t = q.at;
  if (account == nullptr) {
    a.account_status = "unknown";
    a.reasons.push_back("account " + q.account + " is unknown to the ledger");
    return a;
  }
  Millis since = 0;
  const auto status = StatusAt(*account, t, &since);
  bool active = false;
  if (!status) {
    a.account_status = "not yet open";
    a.reasons.push_back("account " + q.account + " was opened on " +
                        FormatTime(account->opened_at()) + ", after the time asked");
  } else if (*status == state::AccountStatus::Suspended) {
    a.account_status = "suspended";
    a.reasons.push_back("account " + q.account + " is suspended since " + FormatTime(since));
  } else if (*status == state::AccountStatus::Closed) {
    a.account_status = "closed";
    a.reasons.push_back("account " + q.account + " was closed on " + FormatTime(since));
  } else {
    a.account_status = "active";
    active = true;
  }

  bool any_line = false;
  for (const state::AgreementState* g : agreements) {
    if (g->lines() == nullptr) continue;
    const Millis end = std::min(g->ends_at(), g->terminated_at());
    const std::string id = Str(g->agreement_id());
    const std::string name = "agreement " + id + " (" + OfferingName(g->offering()) + ")";
    for (const state::LineState* l : *g->lines()) {
      if (l->product() == nullptr || l->product()->string_view() != q.product) continue;
      any_line = true;
      if (t < g->starts_at()) {
        a.reasons.push_back(name + " starts on " + FormatTime(g->starts_at()));
      } else if (t >= end) {
        a.reasons.push_back(g->terminated_at() <= g->ends_at()
                                ? name + " was terminated on " + FormatTime(g->terminated_at())
                                : name + " lapsed: it ended on " + FormatTime(g->ends_at()));
      } else if (t < l->added_at()) {
        a.reasons.push_back("product " + q.product + " is covered by " + name + " only from " +
                            FormatTime(l->added_at()));
      } else if (t >= l->removed_at()) {
        a.reasons.push_back("product " + q.product + " was removed from " + name + " on " +
                            FormatTime(l->removed_at()));
      } else {
        a.bases.push_back({"agreement", id, OfferingName(g->offering()),
                           std::max(g->starts_at(), l->added_at()), std::min(end, l->removed_at())});
      }
    }
  }
  if (!any_line) {
    a.reasons.push_back("no agreement of account " + q.account + " covers product " + q.product);
  }
  // A basis makes the other agreements' lapses notes, not reasons; keep them: they explain.
  a.entitled = active && !a.bases.empty();
  if (a.entitled) {
    Millis until = 0;
    for (const auto& b : a.bases) until = std::max(until, b.until);
    a.until = until;
  }
  return a;
}

Result<std::optional<int>> EntitlementService::LocateAccount(const std::string& account) const {
  std::vector<int> partitions = store_->Partitions();
  if (partitions.empty()) return std::optional<int>();
  // Where the producer's partitioner put it, if the store holds partitions 0..N-1; then
  // the others (another partitioner, a store holding some partitions only).
  const int guess = KafkaPartitionOf(account, partitions.back() + 1);
  std::stable_partition(partitions.begin(), partitions.end(), [guess](int p) { return p == guess; });
  for (int p : partitions) {
    auto v = store_->Get(p, keys::Account(account));
    if (!v.ok()) return v.status();
    if (v->has_value()) return std::optional<int>(p);
  }
  return std::optional<int>();
}

Result<EntitlementAnswer> EntitlementService::Entitlement(const EntitlementQuestion& q) const {
  auto where = LocateAccount(q.account);
  if (!where.ok()) return where.status();
  if (!where->has_value()) return EvaluateEntitlement(q, nullptr, {});
  const int p = **where;
  auto bytes = store_->Get(p, keys::Account(q.account));
  if (!bytes.ok()) return bytes.status();
  const state::AccountState* account = Verified<state::AccountState>(**bytes);
  if (account == nullptr) return Status::Corruption("stored state of account " + q.account + " does not verify");

  std::vector<std::string> keys;
  if (account->agreement_ids() != nullptr) {
    for (const auto* id : *account->agreement_ids()) keys.push_back(keys::Agreement(q.account, id->string_view()));
  }
  auto values = store_->MultiGet(p, keys);  // kept alive: the tables below point into it
  if (!values.ok()) return values.status();
  std::vector<const state::AgreementState*> agreements;
  for (const auto& v : *values) {
    const state::AgreementState* g = v ? Verified<state::AgreementState>(*v) : nullptr;
    if (g == nullptr) return Status::Corruption("a stored agreement of account " + q.account + " is missing or does not verify");
    agreements.push_back(g);
  }
  return EvaluateEntitlement(q, account, agreements);
}

std::string EntitlementToJson(const EntitlementAnswer& a) {
  nlohmann::ordered_json j;
  j["account"] = a.question.account;
  j["product"] = a.question.product;
  if (!a.question.version.empty()) j["version"] = a.question.version;
  j["at"] = FormatTime(a.question.at);
  j["entitled"] = a.entitled;
  j["account_status"] = a.account_status;
  if (a.until) j["until"] = FormatTime(*a.until);
  j["basis"] = nlohmann::ordered_json::array();
  for (const auto& b : a.bases) {
    j["basis"].push_back({{"kind", b.kind},
                          {"id", b.id},
                          {"offering", b.offering},
                          {"from", FormatTime(b.from)},
                          {"until", FormatTime(b.until)}});
  }
  j["reasons"] = a.reasons;
  // The question's own text (from a command line or a URL) may not be UTF-8.
  return j.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace);
}

}  // namespace ledger
