// LedgerView::Explain: the events behind an answer, from the account's journal.
#include <map>

#include "ledger/queries/ledger_view.h"
#include "ledger/schema/event_codec.h"
#include "ledger/storage/state_generated.h"
#include "view_internal.h"

namespace ledger {
namespace {

// The events that wrote a stored entity version (field 1, `sources`).
const flatbuffers::Vector<const state::EventRef*>* SourcesOf(std::string_view entity) {
  if (entity.size() < 8) return nullptr;
  const auto root = flatbuffers::ReadScalar<flatbuffers::uoffset_t>(entity.data());
  if (root + 4 > entity.size()) return nullptr;
  flatbuffers::Verifier v(reinterpret_cast<const uint8_t*>(entity.data()), entity.size());
  const auto* t = flatbuffers::GetRoot<flatbuffers::Table>(entity.data());
  if (!t->VerifyTableStart(v) || !t->VerifyOffset(v, 6)) return nullptr;
  const auto* refs = t->GetPointer<const flatbuffers::Vector<const state::EventRef*>*>(6);
  if (refs == nullptr || !v.VerifyVector(refs)) return nullptr;
  return refs;
}

}  // namespace

Status LedgerView::Explain(Json& answer, int partition, const std::string& account,
                           const std::vector<std::string>& entity_keys, Millis known_at,
                           const std::vector<ReferenceSource>& reference) const {
  std::map<int64_t, Millis> offsets;
  for (const auto& key : entity_keys) {
    auto version = ReadVersion(partition, key, known_at);
    if (!version.ok()) return version.status();
    if (!*version) continue;
    if (const auto* refs = SourcesOf(**version)) {
      for (const state::EventRef* ref : *refs) offsets[ref->offset()] = ref->recorded_at();
    }
  }
  auto journal = ReadJournal(partition, account);
  if (!journal.ok()) return journal.status();
  std::map<int64_t, std::string_view> envelopes;
  for (const JournalEntry& e : (*journal)->entries) {
    if (offsets.count(e.offset)) envelopes[e.offset] = e.envelope;
  }
  auto codec = view::ThreadCodec();
  if (!codec.ok()) return codec.status();
  Json out = Json::array();
  for (const auto& [offset, recorded_at] : offsets) {
    Json e = {{"topic", std::string(kEventsTopic)}, {"partition", partition}, {"offset", offset},
              {"recorded_at", FormatTime(recorded_at)}};
    auto envelope = envelopes.find(offset);
    if (envelope == envelopes.end()) {
      e["error"] = "not in the account's journal";
    } else if (auto json = (*codec)->ToJson(envelope->second.data(), envelope->second.size()); json.ok()) {
      Json event = Json::parse(*json);
      e["occurred_at"] = event.value("occurred_at", "");
      e["type"] = event.value("type", "");
      e["event"] = std::move(event);
    } else {
      e["error"] = json.status().message();
    }
    out.push_back(std::move(e));
  }
  for (const ReferenceSource& r : reference) {
    out.push_back({{"topic", std::string(kReferenceTopic)}, {"partition", r.partition}, {"offset", r.offset},
                   {"recorded_at", FormatTime(r.recorded_at)}, {"key", r.key},
                   {"effective_at", FormatTime(r.effective_at)}});
  }
  answer["events"] = std::move(out);
  return Status::Ok();
}

}  // namespace ledger
