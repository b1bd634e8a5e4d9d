// libFuzzer target over what the projector does with a message from Kafka: verify,
// decode (render as JSON), apply the rules (twice: the second must be a duplicate) and
// answer an entitlement question from the resulting state. Any crash, sanitizer report
// or broken invariant is a finding.
#include <cstdint>
#include <cstdlib>
#include <map>
#include <string>

#include "ledger/rules/entitlement.h"
#include "ledger/schema/event_codec.h"
#include "ledger/storage/keys.h"
#include "ledger/rules/rules.h"
#include "state_generated.h"

namespace {

using ledger::Applied;
using ledger::Outcome;

// A small ledger that inputs can act on: accounts A and B exist, A has agreement G.
std::map<std::string, std::string> Seeded(ledger::EventCodec& codec) {
  std::map<std::string, std::string> kv;
  const char* lines[] = {
      R"({"type":"AccountOpened","account_id":"A","event_id":"01930000-0000-7000-8000-000000000001","data":{"name":"A"}})",
      R"({"type":"AccountOpened","account_id":"B","event_id":"01930000-0000-7000-8000-000000000002","data":{"name":"B"}})",
      R"({"type":"AgreementPurchased","account_id":"A","event_id":"01930000-0000-7000-8000-000000000003","data":{"agreement_id":"G","offering":"EssentialSupport","starts_at":"2025-01-01","ends_at":"2026-01-01","lines":[{"line_id":"L1","product":"p"}]}})"};
  int64_t offset = 0;
  for (const char* line : lines) {
    auto e = codec.FromJson(line, 0);
    if (!e.ok()) std::abort();
    auto env = ledger::VerifyEnvelope(e->bytes.data(), e->bytes.size());
    auto applied = ledger::ApplyEvent(**env, {0, offset++, 1}, [&](std::string_view k) {
      auto it = kv.find(std::string(k));
      return ledger::Result<std::optional<std::string_view>>(
          it == kv.end() ? std::nullopt : std::optional<std::string_view>(it->second));
    });
    for (auto& c : applied->changes) kv[c.key] = c.value;
  }
  return kv;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static auto codec = std::move(*ledger::EventCodec::Create());
  static const auto seeded = Seeded(*codec);

  auto verified = ledger::VerifyEnvelope(data, size);
  if (!verified.ok()) return 0;
  const ledger::fb::Envelope& e = **verified;
  auto json = codec->ToJson(data, size);
  if (!json.ok()) std::abort();  // verified envelopes always render

  auto kv = seeded;
  auto lookup = [&](std::string_view k) {
    auto it = kv.find(std::string(k));
    return ledger::Result<std::optional<std::string_view>>(
        it == kv.end() ? std::nullopt : std::optional<std::string_view>(it->second));
  };
  auto first = ledger::ApplyEvent(e, {0, 100, 2}, lookup);
  if (!first.ok()) std::abort();
  for (auto& c : first->changes) kv[c.key] = c.value;
  auto second = ledger::ApplyEvent(e, {0, 101, 3}, lookup);
  if (!second.ok() || second->outcome != Outcome::kDuplicate || !second->changes.empty()) std::abort();

  // Every stored state value still verifies, and questions get answers.
  const std::string account = e.account_id() ? e.account_id()->str() : "";
  auto it = kv.find(ledger::keys::Account(account));
  const ledger::state::AccountState* state = nullptr;
  if (it != kv.end()) {
    flatbuffers::Verifier v(reinterpret_cast<const uint8_t*>(it->second.data()), it->second.size());
    if (!v.VerifyBuffer<ledger::state::AccountState>(nullptr)) std::abort();
    state = flatbuffers::GetRoot<ledger::state::AccountState>(it->second.data());
  }
  std::vector<const ledger::state::AgreementState*> agreements;
  const std::string prefix = ledger::keys::AgreementPrefix(account);
  for (auto g = kv.lower_bound(prefix); g != kv.end() && g->first.rfind(prefix, 0) == 0; ++g) {
    flatbuffers::Verifier v(reinterpret_cast<const uint8_t*>(g->second.data()), g->second.size());
    if (!v.VerifyBuffer<ledger::state::AgreementState>(nullptr)) std::abort();
    agreements.push_back(flatbuffers::GetRoot<ledger::state::AgreementState>(g->second.data()));
  }
  for (ledger::Millis t : {ledger::Millis{0}, ledger::Millis{1748736000000}, ledger::kForever - 1}) {
    ledger::AccountFacts facts;
    facts.account = state;
    facts.agreements = agreements;
    auto answer = ledger::EvaluateEntitlement({account, "p", "", t}, facts, nullptr);
    (void)ledger::EntitlementToJson(answer);
  }
  return 0;
}
