// What the LedgerView's answers share (ledger_view.cc, case_answers.cc,
// list_answers.cc): a question's parameters, reading stored tables, explanations, and
// the facts of a case at a time. Internal to ledger::consumers.
#pragma once

#include <flatbuffers/flatbuffers.h>

#include <algorithm>
#include <charconv>
#include <chrono>
#include <string>
#include <string_view>
#include <vector>

#include "ledger/queries/ledger_view.h"
#include "ledger/queries/questions.h"
#include "ledger/rules/reference.h"
#include "ledger/schema/event_codec.h"
#include "ledger/storage/state_generated.h"

namespace ledger {

// An account's journal as read from the store.
struct LedgerView::AccountJournal {
  std::string bytes;  // the keys and values the entries view
  std::vector<JournalEntry> entries;
};

// An account's state as known at a record time.
struct LedgerView::KnownState {
  std::shared_ptr<const AccountJournal> journal;
  FoldedState state;
};

}  // namespace ledger

namespace ledger::view {

inline std::string Str(const flatbuffers::String* s) { return s ? s->str() : ""; }

template <typename T>
const T* Verified(std::string_view bytes) {
  flatbuffers::Verifier v(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size());
  if (!v.VerifyBuffer<T>(nullptr)) return nullptr;
  return flatbuffers::GetRoot<T>(bytes.data());
}

// The JSON form of events for this thread: building a codec parses the schema, which
// costs more than rendering an account's events.
Result<const EventCodec*> ThreadCodec();

inline Millis Now() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// ---- parameters -------------------------------------------------------------------------

class Params {
 public:
  explicit Params(const Query& q) : q_(q) {}
  Result<std::string> Required(const std::string& name) const {
    auto it = q_.params.find(name);
    if (it == q_.params.end() || it->second.empty()) {
      return Status::InvalidInput(q_.name + ": the parameter \"" + name + "\" is required");
    }
    return it->second;
  }
  std::string Optional(const std::string& name) const {
    auto it = q_.params.find(name);
    return it == q_.params.end() ? "" : it->second;
  }
  // A time; empty: `fallback`.
  Result<Millis> Time(const std::string& name, Millis fallback) const {
    const std::string v = Optional(name);
    if (v.empty()) return fallback;
    auto t = ParseTime(v);
    if (!t.ok()) return Status::InvalidInput(q_.name + ": " + name + ": " + t.status().message());
    return *t;
  }
  Result<int64_t> Int(const std::string& name, int64_t fallback, int64_t lo, int64_t hi) const {
    const std::string v = Optional(name);
    if (v.empty()) return fallback;
    int64_t n = 0;
    auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), n);
    if (ec != std::errc() || end != v.data() + v.size() || n < lo || n > hi) {
      return Status::InvalidInput(q_.name + ": " + name + ": \"" + v + "\" is not a whole number from " +
                                  std::to_string(lo) + " to " + std::to_string(hi));
    }
    return n;
  }
  Result<bool> Flag(const std::string& name) const {
    const std::string v = Optional(name);
    if (v.empty() || v == "false" || v == "0") return false;
    if (v == "true" || v == "1") return true;
    return Status::InvalidInput(q_.name + ": " + name + ": \"" + v + "\" is not true or false");
  }
  // Every parameter given is one of the question's.
  Status CheckKnown(const Question& question) const {
    for (const auto& given : q_.params) {
      const std::string& k = given.first;
      const auto& known = question.parameters;
      if (std::find_if(known.begin(), known.end(), [&](const auto& p) { return p.name == k; }) == known.end()) {
        std::string list;
        for (const auto& p : known) list += (list.empty() ? "" : ", ") + p.name;
        return Status::InvalidInput(q_.name + ": unknown parameter \"" + k + "\" (known: " + list + ")");
      }
    }
    return Status::Ok();
  }

 private:
  const Query& q_;
};

// The valid time and record time every question takes.
struct When {
  Millis at = 0;
  Millis known_at = kForever;
};
inline Result<When> WhenOf(const Params& p) {
  auto at = p.Time("at", Now());
  if (!at.ok()) return at.status();
  auto known = p.Time("known_at", kForever);
  if (!known.ok()) return known.status();
  return When{*at, *known};
}
// A question about one entity of an account: its id parameter, the times, explain.
struct EntityQuestion {
  std::string account, id;
  When when;
  bool explain = false;
};
inline Result<EntityQuestion> EntityQuestionOf(const Params& p, const std::string& id_param) {
  auto account = p.Required("account");
  if (!account.ok()) return account.status();
  auto id = p.Required(id_param);
  if (!id.ok()) return id.status();
  auto when = WhenOf(p);
  if (!when.ok()) return when.status();
  auto explain = p.Flag("explain");
  if (!explain.ok()) return explain.status();
  return EntityQuestion{*account, *id, *when, *explain};
}

inline void PutWhen(Json& j, const When& w) {
  j["at"] = FormatTime(w.at);
  if (w.known_at != kForever) j["known_at"] = FormatTime(w.known_at);
}

// ---- cases ------------------------------------------------------------------------------

// The case's status at t: "open", "resolved", "closed", or "not yet open".
std::string CaseStatusAt(const state::CaseState& c, Millis t);
// The escalation's level at t (fb::EscalationLevel), -1 before its first.
int LevelAt(const state::EscalationState& x, Millis t);
std::string LevelName(int level);

struct ResponseTarget {
  int severity = 0;  // the severity the target is for
  std::string coverage;
  int minutes = 0;
  Millis due_at = kForever;
  std::string status;  // "met", "breached", "pending", "none"
  std::vector<std::string> reasons;
  std::vector<ReferenceSource> sources;
};

// Rule 4 and 5: the response target of a case as of t, always counted from its opening,
// for the severity in effect at its first response (or at t, before one): a severity
// raised before the response tightens the target retroactively, one lowered relaxes it;
// a change after the response does not move it.
ResponseTarget TargetOf(const state::CaseState& c, const std::string& region, const ReferenceData& ref, Millis t,
                        Millis known_at);

}  // namespace ledger::view
