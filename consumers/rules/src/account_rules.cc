// The rules of accounts (DESIGN.md rule 1: an account must be active), and the
// entitlement indexes the agreement, grant and consent rules keep.
#include "rule_step.h"

#include <algorithm>

#include "ledger/storage/keys.h"
#include "ledger/storage/state_generated.h"

namespace ledger::rules_detail {

using state::AccountStatus;

// ---- accounts ---------------------------------------------------------------------------

namespace {

AccountStatus StatusNow(const state::AccountStateT& a) {
  return a.changes.empty() ? AccountStatus::Active : a.changes.back()->status;
}

}  // namespace

Status ApplyAccount(Step& s, Entity<state::AccountStateT>& account) {
  auto change = [&](AccountStatus status, const flatbuffers::String* reason) {
    auto c = std::make_unique<state::StatusChangeT>();
    c->effective_at = s.at();
    c->status = status;
    c->reason = Str(reason);
    c->recorded_at = s.pos.recorded_at;
    account->changes.push_back(std::move(c));
    s.Save(account);
  };
  const std::string name = "account " + s.account;
  switch (s.e.event_type()) {
    case fb::Event::AccountOpened: {
      if (account) return s.Reject(name + " was already opened");
      auto* ev = s.e.event_as_AccountOpened();
      account.value.emplace();
      account->account_id = s.account;
      account->name = ev->name()->str();
      account->region = Str(ev->region());
      account->opened_at = s.at();
      change(AccountStatus::Active, nullptr);
      return Status::Ok();
    }
    case fb::Event::AccountSuspended:
      if (StatusNow(*account.value) != AccountStatus::Active) {
        return s.Reject(name + " is not active, so it cannot be suspended");
      }
      change(AccountStatus::Suspended, s.e.event_as_AccountSuspended()->reason());
      return Status::Ok();
    case fb::Event::AccountReactivated:
      if (StatusNow(*account.value) != AccountStatus::Suspended) {
        return s.Reject(name + " is not suspended, so it cannot be reactivated");
      }
      change(AccountStatus::Active, s.e.event_as_AccountReactivated()->reason());
      return Status::Ok();
    case fb::Event::AccountClosed:
      if (StatusNow(*account.value) == AccountStatus::Closed) return s.Reject(name + " is already closed");
      change(AccountStatus::Closed, s.e.event_as_AccountClosed()->reason());
      return Status::Ok();
    default:
      return Status::Ok();
  }
}

// Adds an entity to the account's entitlement index of each product it covers (none: a
// consent, under the empty product).
Status IndexEntitlement(Step& s, const std::string& key, std::vector<std::string> products) {
  if (products.empty()) products.push_back("");
  for (const auto& product : products) {
    const std::string index_key = keys::EntitlementIndex(s.account, product);
    auto index = Load<state::EntitlementIndexT>(s.lookup, index_key);
    if (!index.ok()) return index.status();
    if (!*index) index->value.emplace();
    auto& ks = (*index)->keys;
    if (std::find(ks.begin(), ks.end(), key) != ks.end()) continue;
    ks.push_back(key);
    s.Write(index_key, Pack(*index->value));
  }
  return Status::Ok();
}

}  // namespace ledger::rules_detail
