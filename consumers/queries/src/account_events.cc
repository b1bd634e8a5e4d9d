// The story of one account: the events of its journal and the anomalies recorded for
// it, in offset order.
#include <map>

#include "ledger/queries/ledger_view.h"
#include "ledger/schema/event_codec.h"
#include "ledger/storage/keys.h"
#include "ledger/storage/state_generated.h"
#include "view_internal.h"

namespace ledger {

Result<std::vector<Json>> LedgerView::AccountEvents(const std::string& account) const {
  auto where = LocateAccount(account);
  if (!where.ok()) return where.status();
  if (!where->has_value()) return Status::NotFound("account " + account + " is unknown to the ledger");
  auto codec = view::ThreadCodec();
  if (!codec.ok()) return codec.status();
  const int p = **where;
  std::map<int64_t, Json> lines;  // journaled events and anomalies, merged by offset
  auto journal = ReadJournal(p, account);
  if (!journal.ok()) return journal.status();
  for (const JournalEntry& entry : (*journal)->entries) {
    Json line = {{"partition", p}, {"offset", entry.offset}};
    if (auto json = (*codec)->ToJson(entry.envelope.data(), entry.envelope.size()); json.ok()) {
      line["event"] = Json::parse(*json);
    } else {
      line["error"] = json.status().message();
    }
    lines[entry.offset] = std::move(line);
  }
  Status s = store_->Scan(p, keys::AnomalyPrefix(account), [&](std::string_view k, std::string_view v) {
    flatbuffers::Verifier verifier(reinterpret_cast<const uint8_t*>(v.data()), v.size());
    if (!verifier.VerifyBuffer<state::Anomaly>(nullptr)) return true;
    auto* a = flatbuffers::GetRoot<state::Anomaly>(v.data());
    const int64_t offset = keys::DecodeOffset(k.substr(k.size() - 8));
    Json& line = lines[offset];
    line["partition"] = p;
    line["offset"] = offset;
    line["anomaly"] = {{"type", a->type() ? a->type()->str() : ""},
                       {"reason", a->reason() ? a->reason()->str() : ""},
                       {"recorded_at", FormatTime(a->recorded_at())}};
    return true;
  });
  if (!s.ok()) return s;
  std::vector<Json> story;
  story.reserve(lines.size());
  for (auto& [offset, line] : lines) story.push_back(std::move(line));
  return story;
}

}  // namespace ledger
