// Reading an account's state as known at a record time R: the fold of the entries of its
// journal recorded by R (ledger/rules/journal.h), which is what a ledger that had recorded
// only those events would hold. The current state (R = kForever) is read from the store
// as it is, except an account stale in the store (its refold runs beside the projection):
// the fold of its whole journal. Within one question (LedgerView::Ask), an account's journal and each fold are
// read once.
#include <map>
#include <tuple>

#include "ledger/queries/ledger_view.h"
#include "ledger/storage/keys.h"
#include "view_internal.h"

namespace ledger {

namespace {

// What one question has read: journals and folds by (store, partition, account, R).
struct Memo {
  std::map<std::tuple<const void*, int, std::string, FoldScope>, std::shared_ptr<const void>> journals;
  std::map<std::tuple<const void*, int, std::string, Millis, FoldScope>, std::shared_ptr<const void>> folds;
  std::map<std::tuple<const void*, int, std::string>, bool> stale;
};
thread_local Memo* active_memo = nullptr;

}  // namespace

LedgerView::QuestionScope::QuestionScope() {
  if (active_memo == nullptr) {
    active_memo = new Memo;
    owner_ = true;
  }
}
LedgerView::QuestionScope::~QuestionScope() {
  if (owner_) {
    delete active_memo;
    active_memo = nullptr;
  }
}

Result<std::shared_ptr<const LedgerView::AccountJournal>> LedgerView::ReadJournal(int p, const std::string& account,
                                                                                  FoldScope scope) const {
  const auto memo_key = std::make_tuple(static_cast<const void*>(store_), p, account, scope);
  if (active_memo != nullptr) {
    if (auto it = active_memo->journals.find(memo_key); it != active_memo->journals.end()) {
      return std::static_pointer_cast<const AccountJournal>(it->second);
    }
  }
  // The entries in scope (the account's facts have a part of the journal of their own),
  // copied into one buffer, then decoded from there.
  auto journal = std::make_shared<AccountJournal>();
  std::vector<std::pair<size_t, size_t>> at;  // key offset, value offset in the buffer
  std::string& buffer = journal->bytes;
  Status s = store_->ScanJournal(
      p, account,
      [&](std::string_view k, std::string_view v) {
        at.emplace_back(buffer.size(), buffer.size() + k.size());
        buffer.append(k).append(v);
        return true;
      },
      scope == FoldScope::kAccountFacts ? keys::kFactsPart : '\0');
  if (!s.ok()) return s;
  journal->entries.reserve(at.size());
  for (size_t i = 0; i < at.size(); ++i) {
    const size_t end = i + 1 < at.size() ? at[i + 1].first : buffer.size();
    const std::string_view key(buffer.data() + at[i].first, at[i].second - at[i].first);
    const std::string_view value(buffer.data() + at[i].second, end - at[i].second);
    auto entry = DecodeJournalEntry(key, value);
    if (!entry.ok()) return entry.status();
    journal->entries.push_back(*entry);
  }
  SortForFold(journal->entries);
  if (active_memo != nullptr) active_memo->journals[memo_key] = journal;
  return std::shared_ptr<const AccountJournal>(std::move(journal));
}

Result<std::shared_ptr<const LedgerView::KnownState>> LedgerView::FoldedAt(int p, const std::string& account,
                                                                           Millis known_at, FoldScope scope) const {
  const auto memo_key = std::make_tuple(static_cast<const void*>(store_), p, account, known_at, scope);
  if (active_memo != nullptr) {
    if (auto it = active_memo->folds.find(memo_key); it != active_memo->folds.end()) {
      return std::static_pointer_cast<const KnownState>(it->second);
    }
  }
  auto journal = ReadJournal(p, account, scope);
  if (!journal.ok()) return journal.status();
  auto folded = FoldJournal((*journal)->entries, p, known_at, scope);
  if (!folded.ok()) return folded.status();
  auto known = std::make_shared<KnownState>();
  known->journal = *journal;
  known->state = std::move(*folded);
  if (active_memo != nullptr) active_memo->folds[memo_key] = known;
  return std::shared_ptr<const KnownState>(std::move(known));
}

Result<std::optional<int>> LedgerView::LocateAccountAt(const std::string& account, Millis known_at) const {
  if (known_at == kForever) return LocateAccount(account);
  // The partition whose journal holds the account's facts (its opening among them), the
  // likeliest first; opened by R if the fold of what was recorded by R says so.
  for (int p : CandidatePartitions(account)) {
    auto journal = ReadJournal(p, account, FoldScope::kAccountFacts);
    if (!journal.ok()) return journal.status();
    if ((*journal)->entries.empty()) continue;
    auto known = FoldedAt(p, account, known_at, FoldScope::kAccountFacts);
    if (!known.ok()) return known.status();
    if (!(*known)->state.count(keys::Account(account))) return std::optional<int>();
    return std::optional<int>(p);
  }
  return std::optional<int>();
}

Result<bool> LedgerView::StaleInStore(int p, const std::string& account) const {
  const auto memo_key = std::make_tuple(static_cast<const void*>(store_), p, account);
  if (active_memo != nullptr) {
    if (auto it = active_memo->stale.find(memo_key); it != active_memo->stale.end()) return it->second;
  }
  auto head = store_->Get(p, keys::FoldHead(account));
  if (!head.ok()) return head.status();
  const std::optional<FoldHead> decoded = *head ? DecodeFoldHead(**head) : std::nullopt;
  const bool stale = decoded && decoded->stale;
  if (active_memo != nullptr) active_memo->stale[memo_key] = stale;
  return stale;
}

Result<std::optional<std::string>> LedgerView::ReadVersion(int p, const std::string& key, Millis known_at) const {
  if (known_at == kForever) {
    const std::string account(keys::AccountOf(key));
    auto stale = account.empty() ? Result<bool>(false) : StaleInStore(p, account);
    if (!stale.ok()) return stale.status();
    if (!*stale) return store_->Get(p, key);
  }
  // A key of the account group is written by the account's own facts alone.
  const FoldScope scope = keys::AccountGroupOf(key).empty() ? FoldScope::kAll : FoldScope::kAccountFacts;
  auto known = FoldedAt(p, std::string(keys::AccountOf(key)), known_at, scope);
  if (!known.ok()) return known.status();
  auto it = (*known)->state.find(key);
  if (it == (*known)->state.end()) return std::optional<std::string>();
  return std::optional<std::string>(it->second);
}

Status LedgerView::ScanAt(int p, const std::string& account, const std::string& prefix, Millis known_at,
                          const std::function<bool(std::string_view key, std::string_view value)>& visit) const {
  if (known_at == kForever) {
    auto stale = account.empty() ? Result<bool>(false) : StaleInStore(p, account);
    if (!stale.ok()) return stale.status();
    if (!*stale) return store_->Scan(p, prefix, visit);
  }
  const FoldScope scope = keys::AccountGroupOf(prefix).empty() ? FoldScope::kAll : FoldScope::kAccountFacts;
  auto known = FoldedAt(p, account, known_at, scope);
  if (!known.ok()) return known.status();
  const FoldedState& state = (*known)->state;
  for (auto it = state.lower_bound(prefix); it != state.end() && it->first.compare(0, prefix.size(), prefix) == 0;
       ++it) {
    if (!visit(it->first, it->second)) break;
  }
  return Status::Ok();
}

}  // namespace ledger
