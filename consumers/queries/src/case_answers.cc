// LedgerView::AskCase: a case at a time, its verdict, response target and escalations.
#include "ledger/queries/ledger_view.h"

#include <deque>

#include "ledger/schema/ledger_generated.h"
#include "ledger/storage/keys.h"
#include "ledger/storage/state_generated.h"
#include "view_internal.h"

namespace ledger {

using view::CaseStatusAt;
using view::EntityQuestionOf;
using view::LevelAt;
using view::LevelName;
using view::Params;
using view::PutWhen;
using view::ResponseTarget;
using view::Str;
using view::TargetOf;
using view::Verified;
using view::When;


Result<Json> LedgerView::AskCase(const Query& query) const {
  auto q = EntityQuestionOf(Params(query), "case");
  if (!q.ok()) return q.status();
  const std::string& account = q->account;
  const std::string& case_id = q->id;
  const When& when = q->when;
  auto where = LocateAccountAt(account, when.known_at);
  if (!where.ok()) return where.status();
  if (!where->has_value()) return Status::NotFound("account " + account + " is unknown to the ledger");
  const int part = **where;
  auto bytes = ReadVersion(part, keys::Case(account, case_id), when.known_at);
  if (!bytes.ok()) return bytes.status();
  if (!bytes->has_value()) {
    return Status::NotFound("case " + case_id + " of account " + account + " is unknown" +
                            (when.known_at != kForever ? " as known at " + FormatTime(when.known_at) : ""));
  }
  const auto* c = Verified<state::CaseState>(**bytes);
  auto acct = ReadVersion(part, keys::Account(account), when.known_at);
  if (!acct.ok()) return acct.status();
  const state::AccountState* a = acct->has_value() ? Verified<state::AccountState>(**acct) : nullptr;
  if (c == nullptr || a == nullptr) return Status::Corruption("stored case " + case_id + " does not verify");
  Json j = {{"account", account}, {"case", case_id}};
  PutWhen(j, when);
  const std::string status = CaseStatusAt(*c, when.at);
  j["status"] = status;
  j["product"] = Str(c->product());
  if (c->version() && c->version()->size()) j["version"] = Str(c->version());
  j["severity"] = c->severity();
  j["opening_severity"] = c->opening_severity();
  j["contact"] = Str(c->contact_id());
  j["opened_at"] = FormatTime(c->opened_at());
  j["entitled"] = c->entitled();
  if (c->entitled()) {
    j["basis"] = {{"kind", Str(c->basis_kind())}, {"id", Str(c->basis_id())},
                  {"offering", fb::EnumNameOffering(static_cast<fb::Offering>(c->offering()))}};
  }
  std::vector<std::string> verdict;
  if (c->verdict_reasons()) {
    for (const auto* r : *c->verdict_reasons()) verdict.push_back(r->str());
  }
  j["verdict_reasons"] = verdict;
  const ResponseTarget target = TargetOf(*c, Str(a->region()), *reference(), when.at, when.known_at);
  Json response = {{"status", target.status}};
  if (target.status != "none") {
    response["severity"] = target.severity;
    response["coverage"] = target.coverage;
    response["minutes"] = target.minutes;
    response["due_at"] = FormatTime(target.due_at);
  }
  if (c->acknowledged_at() <= when.at) response["acknowledged_at"] = FormatTime(c->acknowledged_at());
  if (!target.reasons.empty()) response["reasons"] = target.reasons;
  j["response"] = response;

  // Escalations, and whether (and to which level) the case may be escalated at T.
  std::deque<std::string> keep;
  std::vector<std::string> sources = {keys::Case(account, case_id)};
  Json escalations = Json::array();
  int open_level = -1;
  if (c->escalation_ids()) {
    for (const auto* id : *c->escalation_ids()) {
      auto xb = ReadVersion(part, keys::Escalation(account, id->str()), when.known_at);
      if (!xb.ok()) return xb.status();
      if (!xb->has_value()) continue;
      keep.push_back(std::move(**xb));
      const auto* x = Verified<state::EscalationState>(keep.back());
      if (x == nullptr || when.at < x->requested_at()) continue;
      sources.push_back(keys::Escalation(account, id->str()));
      const bool open = when.at < x->closed_at();
      const int level = LevelAt(*x, when.at);
      if (open) open_level = level;
      Json e = {{"escalation", id->str()}, {"level", LevelName(level)}, {"open", open},
                {"requested_at", FormatTime(x->requested_at())}};
      if (x->manager() && x->manager()->size()) e["manager"] = Str(x->manager());
      if (!open) e["closed_at"] = FormatTime(x->closed_at()), e["outcome"] = Str(x->outcome());
      escalations.push_back(std::move(e));
    }
  }
  j["escalations"] = escalations;
  std::vector<std::string> next, why_not;
  if (status != "open") why_not.push_back("the case is not open");
  if (!c->entitled()) why_not.push_back("the case was not entitled when opened");
  if (why_not.empty()) {
    const int engineering = static_cast<int>(fb::EscalationLevel::ProductEngineering);
    const int virtual_team = static_cast<int>(fb::EscalationLevel::VirtualTeam);
    if (open_level < 0) {
      next.push_back(LevelName(0));
    } else if (open_level < engineering) {
      next.push_back(LevelName(open_level + 1));
    }
    if (c->severity() <= 2 && open_level != virtual_team) next.push_back(LevelName(virtual_team));
    if (next.empty()) why_not.push_back("the escalation is at the top level");
  }
  j["may_escalate"] = !next.empty();
  j["next_levels"] = next;
  if (!why_not.empty()) j["escalation_reasons"] = why_not;
  if (q->explain) {
    if (Status s = Explain(j, part, q->account, sources, when.known_at, target.sources); !s.ok()) {
      return s;
    }
  }
  return j;
}

}  // namespace ledger
