// libFuzzer target over what the projector does with a message from Kafka: the
// projector's own per-event step (verify the record, fold it into a staged batch: twice,
// the second must be a duplicate), the JSON rendering, and an entitlement question over
// the resulting state. Any crash, sanitizer report or broken invariant is a finding.
#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "ledger/projector/event_step.h"
#include "ledger/rules/entitlement.h"
#include "ledger/schema/event_codec.h"
#include "ledger/storage/keys.h"
#include "ledger/storage/projection_store.h"
#include "ledger/storage/state_generated.h"

namespace {

using ledger::Outcome;

constexpr int kPartition = 0;
// The record time of every input: the seed events occur before it.
constexpr ledger::Millis kRecordedAt = 1735689600000;  // 2025-01-01T00:00:00Z

// A small ledger that inputs can act on, committed once to a store in a temporary
// directory: accounts A and B exist, A has agreement G. Each input is folded into a
// batch of its own that is never committed, so every input meets the same state.
ledger::ProjectionStore& SeededStore(ledger::EventCodec& codec) {
  static std::unique_ptr<ledger::ProjectionStore> store = [&] {
    const auto dir = std::filesystem::temp_directory_path() / ("ledger-fuzz-" + std::to_string(::getpid()));
    std::filesystem::remove_all(dir);
    auto opened = ledger::ProjectionStore::Open(dir.string(), ledger::ProjectionStore::Mode::kReadWrite);
    if (!opened.ok()) {
      std::fprintf(stderr, "fuzz_apply: %s\n", opened.status().message().c_str());
      std::abort();
    }
    const char* lines[] = {
        R"({"type":"AccountOpened","account_id":"A","event_id":"01930000-0000-7000-8000-000000000001","data":{"name":"A"}})",
        R"({"type":"AccountOpened","account_id":"B","event_id":"01930000-0000-7000-8000-000000000002","data":{"name":"B"}})",
        R"({"type":"AgreementPurchased","account_id":"A","event_id":"01930000-0000-7000-8000-000000000003","data":{"agreement_id":"G","offering":"EssentialSupport","starts_at":"2025-01-01","ends_at":"2026-01-01","lines":[{"line_id":"L1","product":"p"}]}})"};
    ledger::StagedBatch batch(opened->get());
    int64_t offset = 0;
    for (const char* line : lines) {
      auto e = codec.FromJson(line, kRecordedAt);
      if (!e.ok()) std::abort();
      auto env = ledger::VerifyEnvelope(e->bytes.data(), e->bytes.size());
      if (!env.ok()) std::abort();
      ledger::EventRecord record;
      record.partition = kPartition;
      record.offset = offset++;
      record.recorded_at = kRecordedAt;
      record.key = (*env)->account_id()->string_view();
      record.payload = e->bytes;
      if (!ledger::FoldRecord(record, **env, batch, nullptr).ok()) std::abort();
    }
    if (!batch.Commit().ok()) std::abort();
    return std::move(*opened);
  }();
  return *store;
}

// Verifies a stored state value of type T, or aborts.
template <typename T>
const T* VerifiedState(std::string_view bytes) {
  flatbuffers::Verifier v(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size());
  if (!v.VerifyBuffer<T>(nullptr)) std::abort();
  return flatbuffers::GetRoot<T>(bytes.data());
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static auto codec = std::move(*ledger::EventCodec::Create());
  ledger::ProjectionStore& store = SeededStore(*codec);

  auto plain = ledger::VerifyEnvelope(data, size);
  if (!plain.ok()) return 0;
  const ledger::fb::Envelope& e = **plain;
  auto json = codec->ToJson(data, size);
  if (!json.ok()) std::abort();  // verified envelopes always render

  // The record as Kafka would deliver it: under its account's key.
  const std::string account = e.account_id() ? e.account_id()->str() : "";
  const std::string_view payload(reinterpret_cast<const char*>(data), size);
  ledger::EventRecord record;
  record.partition = kPartition;
  record.offset = 100;
  record.recorded_at = kRecordedAt + 1;
  record.key = account;
  record.payload = payload;
  auto verified = ledger::VerifyRecord(record);
  if (!verified.ok()) return 0;  // reference data, or no account: dead-lettered

  ledger::StagedBatch batch(&store);
  auto first = ledger::FoldRecord(record, e, batch, nullptr);
  if (!first.ok()) std::abort();
  record.offset = 101;
  record.recorded_at = 3;
  auto second = ledger::FoldRecord(record, e, batch, nullptr);
  if (!second.ok()) std::abort();
  // Seen again, an event changes nothing; one whose id a seeded event already used for
  // other content is refused again, for the same reason.
  const bool reused = first->outcome == Outcome::kAnomaly && first->reason.find("was used before") != std::string::npos;
  if (reused ? second->reason != first->reason
             : second->outcome != Outcome::kDuplicate || !second->changes.empty()) {
    std::abort();
  }
  // An event behind the seeded ones in business time folds its account again.
  if (!ledger::RefoldStale(batch).ok()) std::abort();

  // Every staged state value still verifies, and questions get answers.
  const ledger::state::AccountState* state = nullptr;
  auto stored = batch.Get(kPartition, ledger::keys::Account(account));
  if (!stored.ok()) std::abort();
  if (*stored) state = VerifiedState<ledger::state::AccountState>(**stored);
  std::vector<const ledger::state::AgreementState*> agreements;
  std::set<std::string> agreement_keys;  // stored, and staged by this input
  const std::string prefix = ledger::keys::AgreementPrefix(account);
  if (!store.Scan(kPartition, prefix, [&](std::string_view k, std::string_view) {
        agreement_keys.emplace(k);
        return true;
      }).ok()) {
    std::abort();
  }
  for (const auto& c : first->changes) {
    if (c.key.rfind(prefix, 0) == 0) agreement_keys.insert(c.key);
  }
  for (const auto& k : agreement_keys) {
    auto g = batch.Get(kPartition, k);
    if (!g.ok()) std::abort();
    if (*g) agreements.push_back(VerifiedState<ledger::state::AgreementState>(**g));
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
