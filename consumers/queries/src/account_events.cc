// The story of one account: the events applied to it, read back from ledger.events where
// the store says they are, and the anomalies recorded for it, in offset order.
#include <map>

#include "ledger/queries/ledger_view.h"
#include "ledger/schema/event_codec.h"
#include "ledger/storage/keys.h"
#include "ledger/storage/state_generated.h"

namespace ledger {

Result<std::vector<Json>> LedgerView::AccountEvents(const std::string& account) const {
  auto where = LocateAccount(account);
  if (!where.ok()) return where.status();
  if (!where->has_value()) return Status::NotFound("account " + account + " is unknown to the ledger");
  auto codec = EventCodec::Create();
  if (!codec.ok()) return codec.status();
  const int p = **where;
  std::map<int64_t, Json> lines;  // applied events and anomalies, merged by offset
  std::vector<int64_t> offsets;
  Status s = store_->Scan(p, keys::EventLogPrefix(account), [&](std::string_view k, std::string_view) {
    offsets.push_back(keys::DecodeOffset(k.substr(k.size() - 8)));
    return true;
  });
  if (!s.ok()) return s;
  if (!offsets.empty()) {
    std::map<int64_t, std::string> raws;
    if (events_ != nullptr) {
      auto read = events_->Read(p, offsets);
      if (!read.ok()) return read.status();
      raws = std::move(*read);
    }
    for (int64_t offset : offsets) {
      Json line = {{"partition", p}, {"offset", offset}};
      auto raw = raws.find(offset);
      auto json = raw != raws.end() ? (*codec)->ToJson(raw->second.data(), raw->second.size())
                  : events_ == nullptr
                      ? Result<std::string>(Status::Unavailable("not read: no connection to " + std::string(kEventsTopic)))
                      : Result<std::string>(Status::NotFound("no longer in " + std::string(kEventsTopic)));
      if (json.ok()) {
        line["event"] = Json::parse(*json);
      } else {
        line["error"] = json.status().message();
      }
      lines[offset] = std::move(line);
    }
  }
  s = store_->Scan(p, keys::AnomalyPrefix(account), [&](std::string_view k, std::string_view v) {
    flatbuffers::Verifier verifier(reinterpret_cast<const uint8_t*>(v.data()), v.size());
    if (!verifier.VerifyBuffer<state::Anomaly>(nullptr)) return true;
    auto* a = flatbuffers::GetRoot<state::Anomaly>(v.data());
    const int64_t offset = keys::DecodeOffset(k.substr(k.size() - 8));
    lines[offset] = Json{{"partition", p},
                         {"offset", offset},
                         {"anomaly", {{"type", a->type() ? a->type()->str() : ""},
                                      {"reason", a->reason() ? a->reason()->str() : ""},
                                      {"recorded_at", FormatTime(a->recorded_at())}}}};
    return true;
  });
  if (!s.ok()) return s;
  std::vector<Json> story;
  story.reserve(lines.size());
  for (auto& [offset, line] : lines) story.push_back(std::move(line));
  return story;
}

}  // namespace ledger
