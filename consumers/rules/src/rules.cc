#include "ledger/rules/rules.h"

#include <algorithm>

#include "ledger/rules/journal.h"
#include "ledger/storage/keys.h"
#include "ledger/storage/state_generated.h"
#include "rule_step.h"

namespace ledger {
namespace {

using rules_detail::AgreementIdOf;
using rules_detail::ApplyAccount;
using rules_detail::ApplyAgreement;
using rules_detail::ApplyCase;
using rules_detail::ApplyContact;
using rules_detail::ApplyEscalation;
using rules_detail::ApplyGrant;
using rules_detail::ApplyPortal;
using rules_detail::ApplyRemoteAccess;
using rules_detail::CaseIdOf;
using rules_detail::Decode;
using rules_detail::EscalationIdOf;
using rules_detail::Pack;
using rules_detail::PortalUserIdOf;
using rules_detail::Step;

// ---- dispatch ---------------------------------------------------------------------------

bool Between(fb::Event t, fb::Event first, fb::Event last) { return t >= first && t <= last; }

std::string EncodeAnomaly(const fb::Envelope& e, const EventPosition& pos, const std::string& reason) {
  state::AnomalyT a;
  a.event_id.assign(e.event_id()->bytes()->begin(), e.event_id()->bytes()->end());
  a.type = EventTypeName(e.event_type());
  a.reason = reason;
  a.partition = pos.partition;
  a.offset = pos.offset;
  a.occurred_at = e.occurred_at();
  a.recorded_at = pos.recorded_at;
  return Pack(a);
}

}  // namespace

UuidBytes EventIdOf(const fb::Envelope& e) {
  UuidBytes id{};
  std::copy(e.event_id()->bytes()->begin(), e.event_id()->bytes()->end(), id.begin());
  return id;
}

std::vector<std::string> KeysRead(const fb::Envelope& e, Seen seen) {
  std::vector<std::string> keys;
  if (seen == Seen::kMaybe) keys.push_back(keys::SeenEvent(EventIdOf(e)));
  if (e.account_id() == nullptr) return keys;
  const std::string_view a = e.account_id()->string_view();
  keys.push_back(keys::Account(a));
  auto str = [](const flatbuffers::String* s) { return s ? s->string_view() : std::string_view(); };
  switch (e.event_type()) {
    case fb::Event::AgreementPurchased:
      if (const auto* lines = e.event_as_AgreementPurchased()->lines()) {
        for (const auto* l : *lines) keys.push_back(keys::EntitlementIndex(a, str(l->product())));
      }
      break;
    case fb::Event::AgreementLineAdded:
      keys.push_back(keys::EntitlementIndex(a, str(e.event_as_AgreementLineAdded()->line()->product())));
      break;
    case fb::Event::SupportExtensionPurchased: {
      auto* ev = e.event_as_SupportExtensionPurchased();
      keys.push_back(keys::Grant(a, str(ev->extension_id())));
      keys.push_back(keys::EntitlementIndex(a, str(ev->product())));
      break;
    }
    case fb::Event::CourtesyGranted: {
      auto* ev = e.event_as_CourtesyGranted();
      keys.push_back(keys::Grant(a, str(ev->grant_id())));
      keys.push_back(keys::EntitlementIndex(a, str(ev->product())));
      break;
    }
    case fb::Event::TemporaryEntitlementGranted: {
      auto* ev = e.event_as_TemporaryEntitlementGranted();
      keys.push_back(keys::Grant(a, str(ev->grant_id())));
      keys.push_back(keys::EntitlementIndex(a, str(ev->product())));
      break;
    }
    case fb::Event::GrantRevoked:
      keys.push_back(keys::Grant(a, str(e.event_as_GrantRevoked()->grant_id())));
      break;
    case fb::Event::ContactDesignated:
      keys.push_back(keys::Contact(a, str(e.event_as_ContactDesignated()->contact_id())));
      break;
    case fb::Event::ContactRemoved:
      keys.push_back(keys::Contact(a, str(e.event_as_ContactRemoved()->contact_id())));
      break;
    case fb::Event::RemoteAccessConsentGiven: {
      auto* ev = e.event_as_RemoteAccessConsentGiven();
      keys.push_back(keys::Contact(a, str(ev->contact_id())));
      keys.push_back(keys::Consent(a, str(ev->consent_id())));
      keys.push_back(keys::EntitlementIndex(a, ""));
      break;
    }
    case fb::Event::RemoteAccessConsentRevoked:
      keys.push_back(keys::Consent(a, str(e.event_as_RemoteAccessConsentRevoked()->consent_id())));
      break;
    case fb::Event::RemoteSessionStarted: {
      auto* ev = e.event_as_RemoteSessionStarted();
      keys.push_back(keys::Session(a, str(ev->session_id())));
      keys.push_back(keys::Consent(a, str(ev->consent_id())));
      break;
    }
    case fb::Event::RemoteSessionEnded:
      keys.push_back(keys::Session(a, str(e.event_as_RemoteSessionEnded()->session_id())));
      break;
    case fb::Event::CaseOpened: {
      auto* ev = e.event_as_CaseOpened();
      keys.push_back(keys::Case(a, str(ev->case_id())));
      keys.push_back(keys::Contact(a, str(ev->contact_id())));
      keys.push_back(keys::EntitlementIndex(a, str(ev->product())));
      break;
    }
    default: {
      const fb::Event t = e.event_type();
      if (Between(t, fb::Event::AgreementPurchased, fb::Event::AgreementLineRemoved)) {
        keys.push_back(keys::Agreement(a, AgreementIdOf(e)));
      } else if (Between(t, fb::Event::CaseOpened, fb::Event::ContinuousEffortsRequested)) {
        keys.push_back(keys::Case(a, CaseIdOf(e)));
      } else if (Between(t, fb::Event::EscalationRequested, fb::Event::EscalationClosed)) {
        keys.push_back(keys::Escalation(a, EscalationIdOf(e)));
        if (t == fb::Event::EscalationRequested) keys.push_back(keys::Case(a, CaseIdOf(e)));
      } else if (Between(t, fb::Event::PortalUserCreated, fb::Event::PortalUserUnlocked)) {
        keys.push_back(keys::PortalUser(a, PortalUserIdOf(e)));
      }
      break;
    }
  }
  if (e.event_type() == fb::Event::AgreementPurchased || e.event_type() == fb::Event::AgreementLineAdded) {
    keys.push_back(keys::Agreement(a, AgreementIdOf(e)));
  }
  return keys;
}

const char* OutcomeName(Outcome o) {
  switch (o) {
    case Outcome::kApplied: return "applied";
    case Outcome::kAnomaly: return "anomaly";
    case Outcome::kDuplicate: return "duplicate";
    case Outcome::kLate: return "late";
  }
  return "unknown";
}

std::string ImplausibleTime(Millis occurred_at, Millis recorded_at) {
  if (occurred_at < kEarliestOccurredAt) {
    return "occurred_at " + FormatTime(occurred_at) + " is before " + FormatTime(kEarliestOccurredAt) +
           ": a time in seconds where milliseconds are expected?";
  }
  if (recorded_at > 0 && occurred_at > recorded_at + kMostAheadOfRecord) {
    return "occurred_at " + FormatTime(occurred_at) + " is more than 366 days after the record time " +
           FormatTime(recorded_at);
  }
  return "";
}

namespace rules_detail {

Result<Applied> FoldEvent(const fb::Envelope& e, const EventPosition& pos, const StateLookup& lookup) {
  Step s{e, pos, lookup, e.account_id() ? e.account_id()->str() : "", {}};
  const fb::Event type = e.event_type();
  Status st;
  // Only the lifecycle rules need the account's state; the others need it to exist.
  auto account = lookup(keys::Account(s.account));
  if (!account.ok()) return account.status();
  if (!account->has_value() && type != fb::Event::AccountOpened) {
    st = s.Reject("account " + s.account + " is unknown (no AccountOpened for it)");
  } else if (Between(type, fb::Event::AccountOpened, fb::Event::AccountClosed)) {
    auto state = Decode<state::AccountStateT>(keys::Account(s.account), *account);
    if (!state.ok()) return state.status();
    st = ApplyAccount(s, *state);
  } else if (Between(type, fb::Event::PortalUserCreated, fb::Event::PortalUserUnlocked)) {
    st = ApplyPortal(s);
  } else if (Between(type, fb::Event::ContactDesignated, fb::Event::ContactRemoved)) {
    st = ApplyContact(s);
  } else if (Between(type, fb::Event::AgreementPurchased, fb::Event::AgreementLineRemoved)) {
    st = ApplyAgreement(s);
  } else if (Between(type, fb::Event::SupportExtensionPurchased, fb::Event::GrantRevoked)) {
    st = ApplyGrant(s);
  } else if (Between(type, fb::Event::RemoteAccessConsentGiven, fb::Event::RemoteSessionEnded)) {
    st = ApplyRemoteAccess(s);
  } else if (Between(type, fb::Event::CaseOpened, fb::Event::ContinuousEffortsRequested)) {
    st = ApplyCase(s);
  } else if (Between(type, fb::Event::EscalationRequested, fb::Event::EscalationClosed)) {
    st = ApplyEscalation(s);
  }
  if (!st.ok()) return st;
  if (s.out.outcome == Outcome::kAnomaly) {
    s.out.changes.clear();
    s.Write(keys::Anomaly(s.account, pos.offset), EncodeAnomaly(e, pos, s.out.reason));
  }
  return std::move(s.out);
}

}  // namespace rules_detail

Result<Applied> ApplyEvent(const fb::Envelope& e, const EventPosition& pos,
                           const StateLookup& lookup, Seen seen) {
  const std::string seen_key = keys::SeenEvent(EventIdOf(e));
  const std::string account = e.account_id() ? e.account_id()->str() : "";
  if (seen == Seen::kMaybe) {
    auto stored = lookup(seen_key);
    if (!stored.ok()) return stored.status();
    if (stored->has_value()) {
      // The stored value: the offset it was applied at, then its content hash (8 bytes each).
      const std::string_view before = **stored;
      const uint64_t hash_before = before.size() >= 16 ? static_cast<uint64_t>(keys::DecodeOffset(before.substr(8, 8))) : 0;
      if (pos.content_hash == 0 || hash_before == 0 || hash_before == pos.content_hash) {
        return Applied{Outcome::kDuplicate, "", {}};
      }
      // The same id for other content: not applied, and recorded where the account's
      // anomalies are, so that the producer's mistake is seen.
      Applied reused{Outcome::kAnomaly,
                     "event id " + FormatUuid(EventIdOf(e)) + " was used before (at offset " +
                         std::to_string(keys::DecodeOffset(before.substr(0, 8))) +
                         " of this partition) for other content: an event id names one event; this one is not applied",
                     {}};
      reused.changes.push_back({keys::Anomaly(account, pos.offset), EncodeAnomaly(e, pos, reused.reason)});
      return reused;
    }
  }
  const std::string seen_value =
      keys::EncodeOffset(pos.offset) + keys::EncodeOffset(static_cast<int64_t>(pos.content_hash));

  // Rejected whatever else is recorded: not journaled.
  const fb::Event type = e.event_type();
  std::string why = IsReferenceEvent(type)
                        ? EventTypeName(type) + " is reference data and belongs on " + std::string(kReferenceTopic)
                        : ImplausibleTime(e.occurred_at(), pos.recorded_at);
  if (!why.empty()) {
    Applied out{Outcome::kAnomaly, std::move(why), {}};
    out.changes.push_back({keys::Anomaly(account, pos.offset), EncodeAnomaly(e, pos, out.reason)});
    out.changes.push_back({seen_key, seen_value});
    return out;
  }

  const std::string head_key = keys::FoldHead(account);
  auto head_bytes = lookup(head_key);
  if (!head_bytes.ok()) return head_bytes.status();
  std::optional<FoldHead> head = *head_bytes ? DecodeFoldHead(**head_bytes) : std::nullopt;
  Applied out;
  if (head && (head->stale || e.occurred_at() < head->occurred_at)) {
    // Behind what was folded: the account is folded again before the batch is written.
    out.outcome = Outcome::kLate;
    head->stale = true;
  } else {
    auto folded = rules_detail::FoldEvent(e, pos, lookup);
    if (!folded.ok()) return folded.status();
    out = std::move(*folded);
    head = FoldHead{e.occurred_at(), pos.offset, false};
  }
  out.changes.push_back({keys::Journal(account, JournalPart(e.event_type()), e.occurred_at(), pos.offset),
                         EncodeJournalValue(pos.recorded_at, e.event_type(), pos.bytes,
                                            out.outcome == Outcome::kLate)});
  out.changes.push_back({head_key, EncodeFoldHead(*head)});
  out.changes.push_back({seen_key, seen_value});
  return out;
}

}  // namespace ledger
