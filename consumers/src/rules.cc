#include "ledger/rules.h"

#include "ledger/keys.h"
#include "state_generated.h"

namespace ledger {
namespace {

using state::AccountStateT;
using state::AccountStatus;
using state::AgreementStateT;
using state::LineStateT;

template <typename T>
std::string Pack(const T& object) {
  flatbuffers::FlatBufferBuilder fbb(256);
  fbb.Finish(T::TableType::Pack(fbb, &object));
  return std::string(reinterpret_cast<const char*>(fbb.GetBufferPointer()), fbb.GetSize());
}

// Loads a stored state table into its object form; nullopt when absent.
template <typename T>
Result<std::optional<T>> Load(const StateLookup& lookup, const std::string& key) {
  auto bytes = lookup(key);
  if (!bytes.ok()) return bytes.status();
  if (!bytes->has_value()) return std::optional<T>();
  const auto& b = **bytes;
  flatbuffers::Verifier v(reinterpret_cast<const uint8_t*>(b.data()), b.size());
  if (!v.VerifyBuffer<typename T::TableType>(nullptr)) {
    return Status::Corruption("stored state under a key of " + std::to_string(b.size()) +
                              " bytes does not verify");
  }
  T out;
  flatbuffers::GetRoot<typename T::TableType>(b.data())->UnPackTo(&out);
  return std::optional<T>(std::move(out));
}

AccountStatus StatusNow(const AccountStateT& a) {
  return a.changes.empty() ? AccountStatus::Active : a.changes.back()->status;
}

// One rule application in progress: the outcome and the state it wants written.
struct Step {
  const fb::Envelope& e;
  const EventPosition& pos;
  const StateLookup& lookup;
  std::string account;
  Applied out;

  Status Reject(std::string reason) {
    out.outcome = Outcome::kAnomaly;
    out.reason = std::move(reason);
    return Status::Ok();
  }
  void Write(std::string key, std::string value) {
    out.changes.push_back({std::move(key), std::move(value)});
  }
};

Millis Or(Millis t, Millis fallback) { return t != 0 ? t : fallback; }

Status ApplyAccount(Step& s, std::optional<AccountStateT>& account) {
  const Millis at = s.e.occurred_at();
  auto change = [&](AccountStatus status, const flatbuffers::String* reason) {
    auto c = std::make_unique<state::StatusChangeT>();
    c->effective_at = at;
    c->status = status;
    c->reason = reason ? reason->str() : "";
    c->recorded_at = s.pos.recorded_at;
    account->changes.push_back(std::move(c));
    s.Write(keys::Account(s.account), Pack(*account));
  };
  switch (s.e.event_type()) {
    case fb::Event::AccountOpened: {
      if (account) return s.Reject("account " + s.account + " was already opened");
      auto* ev = s.e.event_as_AccountOpened();
      account.emplace();
      account->account_id = s.account;
      account->name = ev->name()->str();
      account->region = ev->region() ? ev->region()->str() : "";
      account->opened_at = at;
      account->recorded_at = s.pos.recorded_at;
      change(AccountStatus::Active, nullptr);
      return Status::Ok();
    }
    case fb::Event::AccountSuspended:
      if (StatusNow(*account) != AccountStatus::Active) {
        return s.Reject("account " + s.account + " is not active, so it cannot be suspended");
      }
      change(AccountStatus::Suspended, s.e.event_as_AccountSuspended()->reason());
      return Status::Ok();
    case fb::Event::AccountReactivated:
      if (StatusNow(*account) != AccountStatus::Suspended) {
        return s.Reject("account " + s.account + " is not suspended, so it cannot be reactivated");
      }
      change(AccountStatus::Active, s.e.event_as_AccountReactivated()->reason());
      return Status::Ok();
    case fb::Event::AccountClosed:
      if (StatusNow(*account) == AccountStatus::Closed) {
        return s.Reject("account " + s.account + " is already closed");
      }
      change(AccountStatus::Closed, s.e.event_as_AccountClosed()->reason());
      return Status::Ok();
    default:
      return Status::Ok();
  }
}

std::unique_ptr<LineStateT> NewLine(const fb::AgreementLine& l, Millis added_at) {
  auto line = std::make_unique<LineStateT>();
  line->line_id = l.line_id()->str();
  line->product = l.product()->str();
  line->quantity = l.quantity();
  line->added_at = added_at;
  return line;
}

Status ApplyAgreement(Step& s, const std::string& agreement_id) {
  const std::string key = keys::Agreement(s.account, agreement_id);
  auto loaded = Load<AgreementStateT>(s.lookup, key);
  if (!loaded.ok()) return loaded.status();
  std::optional<AgreementStateT>& g = *loaded;
  const Millis at = s.e.occurred_at();
  const std::string name = "agreement " + agreement_id;

  if (s.e.event_type() == fb::Event::AgreementPurchased) {
    auto* ev = s.e.event_as_AgreementPurchased();
    if (g) return s.Reject(name + " already exists");
    if (ev->offering() == fb::Offering::Unknown) return s.Reject(name + " has no offering");
    if (ev->starts_at() == 0 || ev->ends_at() <= ev->starts_at()) {
      return s.Reject(name + " needs starts_at before ends_at");
    }
    g.emplace();
    g->agreement_id = agreement_id;
    g->offering = static_cast<int8_t>(ev->offering());
    g->starts_at = ev->starts_at();
    g->ends_at = ev->ends_at();
    g->order_id = ev->order_id() ? ev->order_id()->str() : "";
    g->recorded_at = s.pos.recorded_at;
    // The account lists its agreements, so a question reads them without a scan.
    auto account = Load<AccountStateT>(s.lookup, keys::Account(s.account));
    if (!account.ok()) return account.status();
    (*account)->agreement_ids.push_back(agreement_id);
    s.Write(keys::Account(s.account), Pack(**account));
    if (ev->lines()) {
      for (const auto* l : *ev->lines()) g->lines.push_back(NewLine(*l, ev->starts_at()));
    }
  } else {
    if (!g) return s.Reject(name + " is unknown (no AgreementPurchased for it)");
    switch (s.e.event_type()) {
      case fb::Event::AgreementRenewed: {
        auto* ev = s.e.event_as_AgreementRenewed();
        if (ev->ends_at() <= g->ends_at) {
          return s.Reject("renewal of " + name + " to " + FormatTime(ev->ends_at()) +
                          " does not move its end (" + FormatTime(g->ends_at) + ")");
        }
        if (g->terminated_at != kForever) return s.Reject(name + " is terminated; reinstate it first");
        g->ends_at = ev->ends_at();
        g->renewals += 1;
        if (ev->order_id()) g->order_id = ev->order_id()->str();
        break;
      }
      case fb::Event::AgreementCoTermed: {
        auto* ev = s.e.event_as_AgreementCoTermed();
        if (ev->ends_at() <= g->starts_at) {
          return s.Reject("co-terming " + name + " to " + FormatTime(ev->ends_at()) +
                          " would end it before it starts");
        }
        g->ends_at = ev->ends_at();
        g->co_termed_with = ev->co_term_with() ? ev->co_term_with()->str() : "";
        break;
      }
      case fb::Event::AgreementTerminated: {
        auto* ev = s.e.event_as_AgreementTerminated();
        if (g->terminated_at != kForever) return s.Reject(name + " is already terminated");
        g->terminated_at = Or(ev->effective_at(), at);
        g->termination_reason = ev->reason() ? ev->reason()->str() : "";
        break;
      }
      case fb::Event::AgreementReinstated:
        if (g->terminated_at == kForever) return s.Reject(name + " is not terminated");
        g->terminated_at = kForever;
        g->termination_reason.clear();
        break;
      case fb::Event::AgreementLineAdded: {
        auto* ev = s.e.event_as_AgreementLineAdded();
        const std::string id = ev->line()->line_id()->str();
        for (const auto& l : g->lines) {
          if (l->line_id == id && l->removed_at == kForever) {
            return s.Reject("line " + id + " is already on " + name);
          }
        }
        g->lines.push_back(NewLine(*ev->line(), Or(ev->effective_at(), at)));
        break;
      }
      case fb::Event::AgreementLineRemoved: {
        auto* ev = s.e.event_as_AgreementLineRemoved();
        const std::string id = ev->line_id()->str();
        LineStateT* found = nullptr;
        for (auto& l : g->lines) {
          if (l->line_id == id && l->removed_at == kForever) found = l.get();
        }
        if (!found) return s.Reject("line " + id + " is not on " + name);
        found->removed_at = Or(ev->effective_at(), at);
        break;
      }
      default:
        break;
    }
  }
  g->updated_at = s.pos.recorded_at;
  s.Write(key, Pack(*g));
  return Status::Ok();
}

std::string AgreementIdOf(const fb::Envelope& e) {
  switch (e.event_type()) {
    case fb::Event::AgreementPurchased: return e.event_as_AgreementPurchased()->agreement_id()->str();
    case fb::Event::AgreementRenewed: return e.event_as_AgreementRenewed()->agreement_id()->str();
    case fb::Event::AgreementCoTermed: return e.event_as_AgreementCoTermed()->agreement_id()->str();
    case fb::Event::AgreementTerminated: return e.event_as_AgreementTerminated()->agreement_id()->str();
    case fb::Event::AgreementReinstated: return e.event_as_AgreementReinstated()->agreement_id()->str();
    case fb::Event::AgreementLineAdded: return e.event_as_AgreementLineAdded()->agreement_id()->str();
    case fb::Event::AgreementLineRemoved: return e.event_as_AgreementLineRemoved()->agreement_id()->str();
    default: return "";
  }
}

bool IsAccountLifecycle(fb::Event t) {
  return t >= fb::Event::AccountOpened && t <= fb::Event::AccountClosed;
}
bool IsAgreementEvent(fb::Event t) {
  return t >= fb::Event::AgreementPurchased && t <= fb::Event::AgreementLineRemoved;
}

std::string EncodeAnomaly(const fb::Envelope& e, const EventPosition& pos, const std::string& reason) {
  state::AnomalyT a;
  a.event_id.assign(e.event_id()->bytes()->begin(), e.event_id()->bytes()->end());
  a.type = EventTypeName(e.event_type());
  a.reason = reason;
  a.partition = pos.partition;
  a.offset = pos.offset;
  a.occurred_at = e.occurred_at();
  a.recorded_at = pos.recorded_at;
  return Pack(a);
}

}  // namespace

UuidBytes EventIdOf(const fb::Envelope& e) {
  UuidBytes id{};
  std::copy(e.event_id()->bytes()->begin(), e.event_id()->bytes()->end(), id.begin());
  return id;
}

std::vector<std::string> KeysRead(const fb::Envelope& e, Seen seen) {
  std::vector<std::string> keys;
  if (seen == Seen::kMaybe) keys.push_back(keys::SeenEvent(EventIdOf(e)));
  if (e.account_id() != nullptr) {
    keys.push_back(keys::Account(e.account_id()->string_view()));
    if (IsAgreementEvent(e.event_type())) {
      keys.push_back(keys::Agreement(e.account_id()->string_view(), AgreementIdOf(e)));
    }
  }
  return keys;
}

const char* OutcomeName(Outcome o) {
  switch (o) {
    case Outcome::kApplied: return "applied";
    case Outcome::kAnomaly: return "anomaly";
    case Outcome::kDuplicate: return "duplicate";
  }
  return "unknown";
}

Result<Applied> ApplyEvent(const fb::Envelope& e, std::string_view raw, const EventPosition& pos,
                           const StateLookup& lookup, Seen seen) {
  const std::string seen_key = keys::SeenEvent(EventIdOf(e));
  if (seen == Seen::kMaybe) {
    auto stored = lookup(seen_key);
    if (!stored.ok()) return stored.status();
    if (stored->has_value()) return Applied{Outcome::kDuplicate, "", {}};
  }

  Step s{e, pos, lookup, e.account_id() ? e.account_id()->str() : "", {}};
  const fb::Event type = e.event_type();
  Status st;
  if (IsReferenceEvent(type)) {
    st = s.Reject(EventTypeName(type) + " is reference data and belongs on " +
                  std::string(kReferenceTopic));
  } else {
    if (IsAccountLifecycle(type)) {
      auto account = Load<AccountStateT>(lookup, keys::Account(s.account));
      if (!account.ok()) return account.status();
      if (!*account && type != fb::Event::AccountOpened) {
        st = s.Reject("account " + s.account + " is unknown (no AccountOpened for it)");
      } else {
        st = ApplyAccount(s, *account);
      }
    } else if (auto account = lookup(keys::Account(s.account)); !account.ok()) {
      return account.status();
    } else if (!account->has_value()) {
      st = s.Reject("account " + s.account + " is unknown (no AccountOpened for it)");
    } else if (IsAgreementEvent(type)) {
      st = ApplyAgreement(s, AgreementIdOf(e));
    }
    // Every other account event is kept in the account's event log below; its rules
    // (grants, consents, cases, escalations, portal) come with the full domain.
  }
  if (!st.ok()) return st;

  if (s.out.outcome == Outcome::kAnomaly) {
    s.out.changes.clear();
    s.Write(keys::Anomaly(s.account, pos.offset), EncodeAnomaly(e, pos, s.out.reason));
  } else {
    s.Write(keys::EventLog(s.account, pos.offset), std::string(raw));
  }
  s.Write(seen_key, keys::EncodeOffset(pos.offset));
  return std::move(s.out);
}

}  // namespace ledger
