// LedgerView::AskList: the lists across accounts (or of one), as of a time.
#include "ledger/queries/ledger_view.h"

#include <algorithm>
#include <charconv>
#include <chrono>
#include <set>
#include <limits>
#include <map>

#include "ledger/schema/ledger_generated.h"
#include "ledger/storage/keys.h"
#include "ledger/storage/state_generated.h"
#include "ledger/base/text.h"
#include "view_internal.h"

namespace ledger {

using view::CaseStatusAt;
using view::LevelAt;
using view::LevelName;
using view::Params;
using view::PutWhen;
using view::ResponseTarget;
using view::Str;
using view::TargetOf;
using view::Verified;
using view::WhenOf;


// A stable order: by the row's first time column, then account and id.
// (Anomalies: by record time, then log position.)
std::string ListOrderKey(const Json& row) {
  if (row.contains("offset")) {
    char position[48];
    std::snprintf(position, sizeof position, "%06d%020lld", row["partition"].get<int>(),
                  static_cast<long long>(row["offset"].get<int64_t>()));
    return row["recorded_at"].get<std::string>() + position;
  }
  for (const char* c : {"ends_at", "due_at", "opened_at", "requested_at", "started_at"}) {
    if (row.contains(c)) return row[c].get<std::string>() + row.dump();
  }
  return row.dump();
}

void SortInListOrder(std::vector<Json>& items) {
  std::vector<std::pair<std::string, size_t>> keyed;
  keyed.reserve(items.size());
  for (size_t i = 0; i < items.size(); ++i) keyed.emplace_back(ListOrderKey(items[i]), i);
  std::sort(keyed.begin(), keyed.end());  // equal keys keep their positions: stable
  std::vector<Json> sorted;
  sorted.reserve(items.size());
  for (const auto& [key, i] : keyed) sorted.push_back(std::move(items[i]));
  items = std::move(sorted);
}

namespace {

// Why a case breached its response target, as of t: never acknowledged by its due time,
// or acknowledged so many minutes late.
std::string BreachWhy(const state::CaseState& c, const view::ResponseTarget& target, Millis t) {
  const std::string due = "due " + FormatTime(target.due_at) + " (" + std::to_string(target.minutes) + " min, " +
                          target.coverage + ")";
  if (c.acknowledged_at() <= t) {
    const int64_t late = (c.acknowledged_at() - target.due_at + 59999) / 60000;
    return "acknowledged " + std::to_string(late) + " min late at " + FormatTime(c.acknowledged_at()) + "; " + due;
  }
  return "not acknowledged; " + due;
}

Status ListTooLarge(const std::string& name, const std::string& why) {
  return Status::TooLarge(name + ": " + why +
                          "; narrow it: one account (account=...), some partitions (partitions=...), a "
                          "shorter within_days, or ask the instances of a group one by one");
}

}  // namespace

Result<Json> LedgerView::AskList(const Query& query) const {
  Params p(query);
  auto name = p.Required("list");
  if (!name.ok()) return name.status();
  auto when = WhenOf(p);
  if (!when.ok()) return when.status();
  auto within = p.Int("within_days", 90, 0, 36500);
  if (!within.ok()) return within.status();
  auto limit = p.Int("limit", 1000, 1, 100000);
  if (!limit.ok()) return limit.status();
  auto offset = p.Int("offset", 0, 0, std::numeric_limits<int32_t>::max());
  if (!offset.ok()) return offset.status();
  const Millis t = when->at, r = when->known_at, horizon = t + *within * 86400000;

  static const std::map<std::string, char> kTags = {
      {"agreements-lapsing", keys::kAgreementTag}, {"grants-expiring", keys::kGrantTag},
      {"open-cases", keys::kCaseTag},              {"breached-cases", keys::kCaseTag},
      {"open-escalations", keys::kEscalationTag},  {"sessions-without-consent", keys::kSessionTag},
      {"anomalies", keys::kAnomalyTag},            {"accounts", keys::kAccountTag},
      {"products", keys::kAgreementTag}};
  auto tag = kTags.find(*name);
  if (tag == kTags.end()) {
    std::vector<std::string> known;
    for (const auto& [k, unused] : kTags) known.push_back(k);
    const std::string near = ClosestName(*name, known);
    return Status::NotFound("unknown list \"" + Printable(*name, 80) + "\"" +
                            (near.empty() ? "" : "; did you mean \"" + near + "\"?") +
                            " (known: agreements-lapsing, grants-expiring, open-cases, breached-cases, "
                            "open-escalations, sessions-without-consent, anomalies, accounts, products)");
  }
  if (!p.Optional("within_days").empty() && *name != "agreements-lapsing" && *name != "grants-expiring") {
    return Status::InvalidInput("list " + *name +
                                ": within_days does not apply to it (only to agreements-lapsing and grants-expiring)");
  }
  // A window on each list's own time (ListWindowColumn): [from, to).
  auto window_from = p.Time("from", std::numeric_limits<Millis>::min());
  if (!window_from.ok()) return window_from.status();
  auto window_to = p.Time("to", kForever);
  if (!window_to.ok()) return window_to.status();
  auto in_window = [&](Millis m) { return *window_from <= m && m < *window_to; };
  const std::string only_status = p.Optional("status");
  if (!only_status.empty() && *name != "breached-cases") {
    return Status::InvalidInput("list " + *name + ": status does not apply to it (only to breached-cases)");
  }
  if (!only_status.empty() && only_status != "open" && only_status != "closed") {
    return Status::InvalidInput("list " + *name + ": status: \"" + Printable(only_status, 40) +
                                "\" is not open or closed");
  }
  // Each account's name beside its id, read once per account.
  std::map<std::string, std::string> names;
  auto name_of = [&](int part, const std::string& account) -> Result<std::string> {
    auto known = names.find(account);
    if (known != names.end()) return known->second;
    auto acct = ReadVersion(part, keys::Account(account), r);
    if (!acct.ok()) return acct.status();
    const auto* a = acct->has_value() ? Verified<state::AccountState>(**acct) : nullptr;
    return names[account] = a ? Str(a->name()) : "";
  };
  const auto ref = reference();
  std::vector<Json> rows;
  std::map<std::string, int64_t> counts;
  Status failed;
  // Each row is built from the entity version known at R.
  auto visit = [&](int part, std::string_view key, std::string_view value) -> Status {
    const std::string account(keys::AccountOf(key));
    switch (tag->second) {
      case keys::kAccountTag: {
        const auto* a = Verified<state::AccountState>(value);
        if (a == nullptr || !in_window(a->opened_at())) return Status::Ok();
        Millis since = 0;
        const std::string status = AccountStatusAt(a, t, &since);
        rows.push_back({{"account", account}, {"account_name", Str(a->name())}, {"region", Str(a->region())},
                        {"status", status}, {"opened_at", FormatTime(a->opened_at())}});
        counts[status] += 1;
        break;
      }
      case keys::kAgreementTag: {
        const auto* g = Verified<state::AgreementState>(value);
        if (g == nullptr) return Status::Ok();
        if (*name == "products") {
          // Each product a current agreement line covers at t, with whose agreement it is
          // (rows by account, so that a group's instances' parts merge; counts by product).
          const Millis ends = std::min(g->ends_at(), g->terminated_at());
          if (g->starts_at() > t || ends <= t || g->lines() == nullptr) return Status::Ok();
          auto account_name = name_of(part, account);
          if (!account_name.ok()) return account_name.status();
          for (const auto* l : *g->lines()) {
            if (l->added_at() > t || t >= l->removed_at()) continue;
            rows.push_back({{"product", Str(l->product())}, {"account", account}, {"account_name", *account_name},
                            {"agreement", Str(g->agreement_id())},
                            {"offering", fb::EnumNameOffering(static_cast<fb::Offering>(g->offering()))}});
            counts[Str(l->product())] += 1;
          }
          return Status::Ok();
        }
        const Millis end = std::min(g->ends_at(), g->terminated_at());
        if (end < t || end >= horizon || g->starts_at() > t || !in_window(end)) return Status::Ok();
        Json products = Json::array();
        if (g->lines()) {
          for (const auto* l : *g->lines()) {
            if (l->added_at() <= t && t < l->removed_at()) products.push_back(Str(l->product()));
          }
        }
        auto account_name = name_of(part, account);
        if (!account_name.ok()) return account_name.status();
        rows.push_back({{"account", account}, {"account_name", *account_name}, {"agreement", Str(g->agreement_id())},
                        {"offering", fb::EnumNameOffering(static_cast<fb::Offering>(g->offering()))},
                        {"ends_at", FormatTime(end)}, {"days_left", (end - t) / 86400000},
                        {"terminated", g->terminated_at() != kForever}, {"products", products}});
        break;
      }
      case keys::kGrantTag: {
        const auto* g = Verified<state::GrantState>(value);
        if (g == nullptr) return Status::Ok();
        const Millis end = std::min(g->ends_at(), g->revoked_at());
        if (end < t || end >= horizon || g->starts_at() > t || !in_window(end)) return Status::Ok();
        auto account_name = name_of(part, account);
        if (!account_name.ok()) return account_name.status();
        rows.push_back({{"account", account}, {"account_name", *account_name}, {"grant", Str(g->grant_id())},
                        {"kind", g->kind() == state::GrantKind::Extension ? "extension"
                                 : g->kind() == state::GrantKind::Temporary ? "temporary" : "courtesy"},
                        {"product", Str(g->product())}, {"version", Str(g->version())},
                        {"ends_at", FormatTime(end)}, {"days_left", (end - t) / 86400000}});
        break;
      }
      case keys::kCaseTag: {
        const auto* c = Verified<state::CaseState>(value);
        if (c == nullptr || t < c->opened_at()) return Status::Ok();
        const std::string status = CaseStatusAt(*c, t);
        const bool open = status == "open";
        auto acct = ReadVersion(part, keys::Account(account), r);
        if (!acct.ok()) return acct.status();
        const auto* a = acct->has_value() ? Verified<state::AccountState>(**acct) : nullptr;
        const ResponseTarget target = TargetOf(*c, a ? Str(a->region()) : "", *ref, t, r);
        if (*name == "open-cases" ? !open : target.status != "breached") return Status::Ok();
        if (!in_window(*name == "open-cases" ? c->opened_at() : target.due_at)) return Status::Ok();
        if (!only_status.empty() && (only_status == "open") != open) return Status::Ok();
        std::string level = "none";
        if (c->open_escalation() && c->open_escalation()->size()) {
          auto xb = ReadVersion(part, keys::Escalation(account, c->open_escalation()->str()), r);
          if (!xb.ok()) return xb.status();
          const auto* x = xb->has_value() ? Verified<state::EscalationState>(**xb) : nullptr;
          if (x && x->requested_at() <= t && t < x->closed_at()) level = LevelName(LevelAt(*x, t));
        }
        Json row = {{"account", account}, {"account_name", a ? Str(a->name()) : ""}, {"case", Str(c->case_id())},
                    {"status", status}, {"severity", c->severity()}, {"product", Str(c->product())},
                    {"opened_at", FormatTime(c->opened_at())}, {"response", target.status},
                    {"due_at", target.status == "none" ? "" : FormatTime(target.due_at)},
                    {"escalation_level", level}};
        if (target.status == "breached") row["why"] = BreachWhy(*c, target, t);
        rows.push_back(std::move(row));
        counts["severity " + std::to_string(c->severity())] += 1;
        break;
      }
      case keys::kEscalationTag: {
        const auto* x = Verified<state::EscalationState>(value);
        if (x == nullptr || t < x->requested_at() || t >= x->closed_at() || !in_window(x->requested_at())) {
          return Status::Ok();
        }
        auto cb = ReadVersion(part, keys::Case(account, Str(x->case_id())), r);
        if (!cb.ok()) return cb.status();
        const auto* c = cb->has_value() ? Verified<state::CaseState>(**cb) : nullptr;
        const int severity = c ? c->severity() : 0;
        const std::string level = LevelName(LevelAt(*x, t));
        auto account_name = name_of(part, account);
        if (!account_name.ok()) return account_name.status();
        rows.push_back({{"account", account}, {"account_name", *account_name}, {"escalation", Str(x->escalation_id())},
                        {"case", Str(x->case_id())}, {"level", level}, {"severity", severity},
                        {"manager", Str(x->manager())}, {"requested_at", FormatTime(x->requested_at())}});
        counts[level + ", severity " + std::to_string(severity)] += 1;
        break;
      }
      case keys::kSessionTag: {
        const auto* v = Verified<state::SessionState>(value);
        if (v == nullptr || t < v->started_at() || !in_window(v->started_at())) return Status::Ok();
        std::string violation = Str(v->violation());
        if (violation.empty()) {
          // Consent to terms other than those in effect when the session started.
          const PolicyFact* terms = ref->Policy(kRemoteTermsPolicy, v->started_at(), r);
          auto cb = ReadVersion(part, keys::Consent(account, Str(v->consent_id())), r);
          if (!cb.ok()) return cb.status();
          const auto* c = cb->has_value() ? Verified<state::ConsentState>(**cb) : nullptr;
          if (terms && c && Str(c->terms_version()) != terms->value) {
            violation = "consent " + Str(v->consent_id()) + " is to terms " + Str(c->terms_version()) + "; terms " +
                        terms->value + " were in effect";
          }
        }
        if (violation.empty()) return Status::Ok();
        auto account_name = name_of(part, account);
        if (!account_name.ok()) return account_name.status();
        rows.push_back({{"account", account}, {"account_name", *account_name}, {"session", Str(v->session_id())},
                        {"case", Str(v->case_id())},
                        {"engineer", Str(v->engineer())}, {"started_at", FormatTime(v->started_at())},
                        {"violation", violation}});
        break;
      }
      case keys::kAnomalyTag: {
        const auto* a = Verified<state::Anomaly>(value);
        if (a == nullptr || a->recorded_at() > r || !in_window(a->occurred_at())) return Status::Ok();
        auto account_name = name_of(part, account);
        if (!account_name.ok()) return account_name.status();
        rows.push_back({{"account", account}, {"account_name", *account_name}, {"type", Str(a->type())},
                        {"reason", Str(a->reason())},
                        {"partition", a->partition()}, {"offset", a->offset()},
                        {"occurred_at", FormatTime(a->occurred_at())}, {"recorded_at", FormatTime(a->recorded_at())}});
        break;
      }
      default:
        break;
    }
    return Status::Ok();
  };
  // One account's rows: a prefix scan of its partition; else every partition.
  const std::string only_account = p.Optional("account");
  std::string prefix = keys::KindPrefix(tag->second);
  std::vector<int> partitions = store_->Partitions();
  if (!only_account.empty()) {
    auto where = LocateAccountAt(only_account, r);
    if (!where.ok()) return where.status();
    if (!where->has_value() && tag->second == keys::kAnomalyTag) {
      // Every event of it rejected (its opening among them): its anomalies are the answer.
      where = LocateRejected(only_account, r);
      if (!where.ok()) return where.status();
    }
    if (!where->has_value()) return Status::NotFound("account " + only_account + " is unknown to the ledger");
    partitions = {**where};
    prefix = keys::KindPrefix(tag->second, only_account);
  }
  if (const std::string only = p.Optional("partitions"); !only.empty()) {
    std::set<int> asked;
    for (size_t from = 0; from <= only.size();) {
      const size_t comma = std::min(only.find(',', from), only.size());
      int part = -1;
      auto [end, ec] = std::from_chars(only.data() + from, only.data() + comma, part);
      if (ec != std::errc() || end != only.data() + comma || part < 0) {
        return Status::InvalidInput("partitions: \"" + only + "\" is not P,P,... (partition numbers)");
      }
      asked.insert(part);
      from = comma + 1;
    }
    std::erase_if(partitions, [&](int part) { return !asked.count(part); });
  }
  const auto started = std::chrono::steady_clock::now();
  int64_t read = 0;
  // Counts one entry read against the list's bounds: false (and `failed` set) past them.
  auto within_bounds = [&] {
    // Bounded: never left to hold an answering thread for long.
    if (++read > list_bounds_.most_entries) {
      failed = ListTooLarge(*name, "more than " + std::to_string(list_bounds_.most_entries) + " entries to read");
      return false;
    }
    if (read % 256 == 0 && std::chrono::steady_clock::now() - started > list_bounds_.deadline) {
      failed = ListTooLarge(*name, "not answered within " + std::to_string(list_bounds_.deadline.count()) + " ms (" +
                                       std::to_string(read) + " entries read)");
      return false;
    }
    return true;
  };
  auto visit_kind = [&](int part) {
    return [&, part](std::string_view k, std::string_view v) {
      if (keys::KindOf(k) != tag->second) return true;  // another kind of the account group
      if (!within_bounds()) return false;
      failed = visit(part, k, v);
      return failed.ok();
    };
  };
  for (int part : partitions) {
    if (part == keys::kReferencePartition) continue;
    bool from_journal = r != kForever;
    if (!from_journal && !only_account.empty()) {
      // One long account being folded again beside the projection: from its journal.
      auto stale = StaleInStore(part, only_account);
      if (!stale.ok()) return stale.status();
      from_journal = *stale;
    }
    if (!from_journal) {
      Status s = store_->Scan(part, prefix, visit_kind(part));
      if (!s.ok()) return s;
      if (!failed.ok()) return failed;
      continue;
    }
    // As known at R: each account's state folded from its journal entries recorded by R
    // (the accounts with a journal have a fold head), then the anomalies that no journal
    // entry accounts for (duplicated ids, implausible times), as recorded by R.
    std::vector<std::string> accounts;
    if (!only_account.empty()) {
      accounts.push_back(only_account);
    } else {
      Status s = store_->Scan(part, keys::KindPrefix(keys::kFoldHeadTag), [&](std::string_view k, std::string_view) {
        accounts.emplace_back(keys::AccountOf(k));
        return within_bounds();
      });
      if (!s.ok()) return s;
      if (!failed.ok()) return failed;
    }
    for (const auto& account : accounts) {
      Status s = ScanAt(part, account, keys::KindPrefix(tag->second, account), r, visit_kind(part));
      if (!s.ok()) return s;
      if (!failed.ok()) return failed;
    }
    if (tag->second != keys::kAnomalyTag) continue;
    Status s = store_->Scan(part, prefix, [&](std::string_view k, std::string_view v) {
      if (!within_bounds()) return false;
      const auto* a = Verified<state::Anomaly>(v);
      if (a == nullptr || a->recorded_at() > r) return true;
      for (char journal_part : {keys::kFactsPart, keys::kOtherPart}) {
        auto journaled =
            store_->Get(part, keys::Journal(keys::AccountOf(k), journal_part, a->occurred_at(), a->offset()));
        if (!journaled.ok()) {
          failed = journaled.status();
          return false;
        }
        if (journaled->has_value()) return true;  // the fold says whether it is one
      }
      failed = visit(part, k, v);
      return failed.ok();
    });
    if (!s.ok()) return s;
    if (!failed.ok()) return failed;
  }
  SortInListOrder(rows);
  Json j = {{"list", *name}};
  if (!only_account.empty()) j["account"] = only_account;
  PutWhen(j, *when);
  if (*name == "agreements-lapsing" || *name == "grants-expiring") j["within_days"] = *within;
  j["total"] = rows.size();
  j["offset"] = *offset;
  j["limit"] = *limit;
  if (!counts.empty()) j["counts"] = counts;
  Json items = Json::array();
  for (size_t i = *offset; i < rows.size() && items.size() < static_cast<size_t>(*limit); ++i) items.push_back(rows[i]);
  j["items"] = std::move(items);
  return j;
}

}  // namespace ledger
