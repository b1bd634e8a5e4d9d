// What the rules of each event family share (account_rules.cc, agreement_rules.cc,
// access_rules.cc, case_rules.cc; rules.cc dispatches to them): the stored entity being
// changed, and one rule application in progress. Internal to ledger::consumers.
#pragma once

#include <flatbuffers/flatbuffers.h>

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "ledger/rules/rules.h"
#include "ledger/storage/keys.h"
#include "ledger/storage/state_generated.h"

namespace ledger::rules_detail {

template <typename T>
std::string Pack(const T& object) {
  thread_local flatbuffers::FlatBufferBuilder fbb(1024);  // reused: no allocation per event
  fbb.Clear();
  fbb.Finish(T::TableType::Pack(fbb, &object));
  return std::string(reinterpret_cast<const char*>(fbb.GetBufferPointer()), fbb.GetSize());
}

inline std::string Str(const flatbuffers::String* s) { return s ? s->str() : ""; }
inline Millis Or(Millis t, Millis fallback) { return t != 0 ? t : fallback; }

// A stored entity: its bytes as read and its object form.
template <typename T>
struct Entity {
  std::string key;
  std::optional<std::string_view> bytes;  // as read (see StateLookup)
  std::optional<T> value;
  bool saved = false;  // by this event already
  explicit operator bool() const { return value.has_value(); }
  T* operator->() { return &*value; }
};

// The entity from its stored bytes (none: absent).
template <typename T>
Result<Entity<T>> Decode(std::string key, std::optional<std::string_view> bytes) {
  Entity<T> out{std::move(key), bytes, std::nullopt};
  if (!out.bytes) return out;
  const auto& b = *out.bytes;
  flatbuffers::Verifier v(reinterpret_cast<const uint8_t*>(b.data()), b.size());
  if (!v.VerifyBuffer<typename T::TableType>(nullptr)) {
    return Status::Corruption("stored state under key " + out.key.substr(0, 1) + "… (" +
                              std::to_string(b.size()) + " bytes) does not verify");
  }
  out.value.emplace();
  flatbuffers::GetRoot<typename T::TableType>(b.data())->UnPackTo(&*out.value);
  return out;
}

template <typename T>
Result<Entity<T>> Load(const StateLookup& lookup, std::string key) {
  auto bytes = lookup(key);
  if (!bytes.ok()) return bytes.status();
  return Decode<T>(std::move(key), *bytes);
}

// One rule application in progress: the outcome and the state it wants written.
struct Step {
  const fb::Envelope& e;
  const EventPosition& pos;
  const StateLookup& lookup;
  std::string account;
  Applied out;

  Millis at() const { return e.occurred_at(); }

  Status Reject(std::string reason) {
    out.outcome = Outcome::kAnomaly;
    out.reason = std::move(reason);
    return Status::Ok();
  }
  void Write(std::string key, std::string value) {
    out.changes.push_back({std::move(key), std::move(value)});
  }
  // Writes the entity's new version, recorded now, naming this event among its sources.
  template <typename T>
  void Save(Entity<T>& entity) {
    entity->recorded_at = pos.recorded_at;
    if (!entity.saved) entity->sources.emplace_back(pos.offset, pos.recorded_at);
    entity.saved = true;
    Write(entity.key, Pack(*entity.value));
  }
};

// The rules applied to one event of the journal, onto the state `lookup` reads: the
// changes (an anomaly record instead when they reject it). No journal, no fold head, no
// duplicate check: ApplyEvent and FoldJournal add those.
Result<Applied> FoldEvent(const fb::Envelope& e, const EventPosition& pos, const StateLookup& lookup);

// ---- the rules of each family (one event each; a rejection is an Ok status with the
// step's outcome set to kAnomaly) -----------------------------------------------------------

Status ApplyAccount(Step& s, Entity<state::AccountStateT>& account);
// Adds `key` to the entitlement index of each product (the empty product: the consents).
Status IndexEntitlement(Step& s, const std::string& key, std::vector<std::string> products);
std::string AgreementIdOf(const fb::Envelope& e);
Status ApplyAgreement(Step& s);
Status ApplyGrant(Step& s);
Status ApplyContact(Step& s);
std::string PortalUserIdOf(const fb::Envelope& e);
Status ApplyPortal(Step& s);
Status ApplyRemoteAccess(Step& s);
std::string CaseIdOf(const fb::Envelope& e);
Status ApplyCase(Step& s);
std::string EscalationIdOf(const fb::Envelope& e);
Status ApplyEscalation(Step& s);

}  // namespace ledger::rules_detail
