#include "ledger/queries/questions.h"

namespace ledger {
namespace {

using Kind = QuestionParameter::Kind;

QuestionParameter Required(std::string name, std::string help) {
  return {std::move(name), std::move(help), Kind::kText, true, false};
}
QuestionParameter Optional(std::string name, std::string help) {
  return {std::move(name), std::move(help), Kind::kText, false, false};
}

// Every question is asked at a valid time, as known at a record time.
void AddWhen(std::vector<QuestionParameter>& p) {
  p.push_back(Optional("at", "valid time asked about: RFC 3339 or a date (default: now)"));
  p.push_back(Optional("known_at", "record time: answer with what the ledger knew then (default: everything)"));
}
// A single answer can carry the events behind it.
std::vector<QuestionParameter> WithWhenAndExplain(std::vector<QuestionParameter> p) {
  AddWhen(p);
  p.push_back({"explain", "add the events behind the answer, in log order", Kind::kFlag, false, false});
  return p;
}

}  // namespace

const std::vector<Question>& Questions() {
  static const auto* questions = new std::vector<Question>{
      {"entitlement", "Is an account entitled to support for a product (and version)?", "/v1/entitlement",
       Question::Shape::kAnswer,
       WithWhenAndExplain({Required("account", "account id"), Required("product", "product id"),
                           Optional("version", "product version (checked against its lifecycle)"),
                           Optional("severity", "1..4: add coverage and the response target")}),
       &LedgerView::AskEntitlement, "EntitlementAnswer"},
      {"intake", "May this contact open a case for this product?", "/v1/intake", Question::Shape::kAnswer,
       WithWhenAndExplain({Required("account", "account id"), Required("contact", "contact id"),
                           Required("product", "product id"), Optional("version", "product version"),
                           Optional("severity", "1..4")}),
       &LedgerView::AskIntake, "IntakeAnswer"},
      {"case", "A case: verdict, basis, response target met or breached, escalation", "/v1/case",
       Question::Shape::kAnswer, WithWhenAndExplain({Required("account", "account id"), Required("case", "case id")}),
       &LedgerView::AskCase, "CaseAnswer"},
      {"portal", "May this portal user read a handbook?", "/v1/portal", Question::Shape::kAnswer,
       WithWhenAndExplain({Required("account", "account id"), Required("user", "portal user id"),
                           Optional("handbook", "\"Essential Support and Basic Maintenance Handbook\" or \"Business Critical Services Handbook\"")}),
       &LedgerView::AskPortal, "PortalAnswer"},
      {"list",
       "A list: agreements-lapsing, grants-expiring, open-cases, breached-cases, open-escalations, "
       "sessions-without-consent, anomalies, accounts, products",
       "/v1/lists/{list}", Question::Shape::kList,
       [] {
         std::vector<QuestionParameter> p = {
             {"list", "which list", Kind::kText, true, true},
             Optional("account", "only this account's items"),
             Optional("within_days", "for lapsing/expiring lists (default 90)"),
             Optional("from", "only items whose time is at or after this (RFC 3339 or a date): the end of an "
                              "agreement or grant, a case's opening (open-cases) or due time (breached-cases), an "
                              "escalation's request, a session's start, an anomaly's occurred_at"),
             Optional("to", "only items whose time is before this (RFC 3339 or a date)"),
             Optional("status", "breached-cases: only open or only closed cases")};
         AddWhen(p);
         p.push_back(Optional("limit", "items per page (default 1000)"));
         p.push_back(Optional("offset", "items to skip (default 0)"));
         p.push_back(Optional("partitions",
                              "only the items of these partitions of the store (P,P,...: what a projector "
                              "group's instances ask each other for)"));
         return p;
       }(),
       &LedgerView::AskList, "ListAnswer"},
  };
  return *questions;
}

const Question* FindQuestion(std::string_view name) {
  for (const auto& q : Questions()) {
    if (q.name == name) return &q;
  }
  return nullptr;
}

}  // namespace ledger
