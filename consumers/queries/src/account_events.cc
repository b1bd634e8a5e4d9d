// The story of one account: the events of its journal and the anomalies recorded for
// it, in offset order.
#include <algorithm>
#include <map>

#include "ledger/queries/ledger_view.h"

#include "ledger/base/text.h"
#include "ledger/schema/event_codec.h"
#include "ledger/storage/keys.h"
#include "ledger/storage/state_generated.h"
#include "view_internal.h"

namespace ledger {

Result<std::vector<Json>> LedgerView::AccountEvents(const std::string& account) const {
  auto where = LocateAccount(account);
  if (!where.ok()) return where.status();
  if (!where->has_value()) {
    // Every event of it rejected (its opening among them): its story is its anomalies.
    where = LocateRejected(account);
    if (!where.ok()) return where.status();
  }
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

Result<std::optional<int>> LedgerView::LocateRejected(const std::string& account, Millis known_at) const {
  for (int p : CandidatePartitions(account)) {
    bool found = false;
    Status s = store_->Scan(p, keys::AnomalyPrefix(account), [&](std::string_view, std::string_view v) {
      const auto* a = view::Verified<state::Anomaly>(v);
      found = a != nullptr && a->recorded_at() <= known_at;
      return !found;
    });
    if (!s.ok()) return s;
    if (found) return std::optional<int>(p);
    auto journal = ReadJournal(p, account);
    if (!journal.ok()) return journal.status();
    for (const JournalEntry& entry : (*journal)->entries) {
      if (entry.recorded_at <= known_at) return std::optional<int>(p);
    }
  }
  return std::optional<int>();
}

std::string LedgerView::UnknownAccountHint(const std::string& account) const {
  auto rejected = LocateRejected(account);
  if (rejected.ok() && rejected->has_value()) {
    int64_t n = 0;
    Status s = store_->Scan(**rejected, keys::AnomalyPrefix(account), [&](std::string_view, std::string_view) {
      ++n;
      return true;
    });
    if (s.ok() && n > 0) {
      return "its " + std::to_string(n) + " event(s) were rejected: ledger query events --account " + account +
             " (GET /v1/lists/anomalies?account=" + account + ") says why";
    }
  }
  // The known accounts (those with a journal) that begin as this id does (its first two
  // characters), up to a bound (any caller can ask about any id): the closest ids.
  constexpr int64_t kMostRead = 20000;
  const std::string prefix = keys::FoldHead(account.substr(0, std::min<size_t>(2, account.size() - 1)));
  std::vector<std::string> known;
  for (int p : store_->Partitions()) {
    if (p == keys::kReferencePartition) continue;
    Status s = store_->Scan(p, prefix, [&](std::string_view k, std::string_view) {
      known.emplace_back(keys::AccountOf(k));
      return static_cast<int64_t>(known.size()) < kMostRead;
    });
    if (!s.ok() || static_cast<int64_t>(known.size()) >= kMostRead) break;
  }
  const std::string near = ClosestName(account, known);
  return near.empty() ? "" : "did you mean " + near + "?";
}

}  // namespace ledger
