#include "ledger/ledger_view.h"

#include <algorithm>
#include <charconv>
#include <chrono>
#include <deque>
#include <set>

#include "ledger/event_codec.h"
#include "ledger/keys.h"
#include "ledger/partitioner.h"
#include "ledger_generated.h"
#include "state_generated.h"

namespace ledger {
namespace {

std::string Str(const flatbuffers::String* s) { return s ? s->str() : ""; }

template <typename T>
const T* Verified(std::string_view bytes) {
  flatbuffers::Verifier v(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size());
  if (!v.VerifyBuffer<T>(nullptr)) return nullptr;
  return flatbuffers::GetRoot<T>(bytes.data());
}

Millis Now() {
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
  Status CheckKnown() const {
    const auto& known = QueryCatalog().at(q_.name);
    for (const auto& [k, v] : q_.params) {
      if (std::find(known.begin(), known.end(), k) == known.end()) {
        std::string list;
        for (const auto& n : known) list += (list.empty() ? "" : ", ") + n;
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
Result<When> WhenOf(const Params& p) {
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
Result<EntityQuestion> EntityQuestionOf(const Params& p, const std::string& id_param) {
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

void PutWhen(Json& j, const When& w) {
  j["at"] = FormatTime(w.at);
  if (w.known_at != kForever) j["known_at"] = FormatTime(w.known_at);
}

// ---- explain ----------------------------------------------------------------------------

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

// Adds "events" to an answer: the event that wrote each version (current and history) of
// the entities used, as known at R, in log order; then the reference records joined in.
Status AddExplanation(Json& answer, const ProjectionStore& store, const EventLog* events, int partition,
                      const std::string& account,
                      const std::vector<std::string>& entity_keys, Millis known_at,
                      const std::vector<ReferenceSource>& reference) {
  std::map<int64_t, Millis> offsets;
  auto note = [&](std::string_view version) {
    const auto r = RecordedAtOf(version);
    const auto* refs = SourcesOf(version);
    if (!r || refs == nullptr || *r > known_at) return;
    for (const state::EventRef* ref : *refs) offsets[ref->offset()] = ref->recorded_at();
  };
  for (const auto& key : entity_keys) {
    auto current = store.Get(partition, key);
    if (!current.ok()) return current.status();
    if (current->has_value()) note(**current);
    Status s = store.Scan(partition, keys::HistoryPrefix(key), [&](std::string_view, std::string_view v) {
      note(v);
      return true;
    });
    if (!s.ok()) return s;
  }
  auto codec = EventCodec::Create();
  if (!codec.ok()) return codec.status();
  // The events' content, from ledger.events; without it the answer still says where they
  // are, and why their content is missing.
  std::map<int64_t, std::string> raws;
  std::string unread;
  if (events == nullptr) {
    unread = "not read: this view reads no broker (the event is in " + std::string(kEventsTopic) + ")";
  } else {
    std::vector<int64_t> wanted;
    for (const auto& entry : offsets) wanted.push_back(entry.first);
    auto read = events->Read(partition, std::move(wanted));
    if (read.ok()) {
      raws = std::move(*read);
    } else {
      unread = read.status().message();
    }
  }
  Json out = Json::array();
  for (const auto& [offset, recorded_at] : offsets) {
    Json e = {{"topic", std::string(kEventsTopic)}, {"partition", partition}, {"offset", offset},
              {"recorded_at", FormatTime(recorded_at)}};
    auto raw = raws.find(offset);
    if (raw == raws.end()) {
      e["error"] = unread.empty() ? std::string("the event is no longer in ") + std::string(kEventsTopic) : unread;
    } else if (auto json = (*codec)->ToJson(raw->second.data(), raw->second.size()); json.ok()) {
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

// ---- cases ------------------------------------------------------------------------------

const char* CaseStatusName(state::CaseStatus s) {
  switch (s) {
    case state::CaseStatus::Open: return "open";
    case state::CaseStatus::Resolved: return "resolved";
    case state::CaseStatus::Closed: return "closed";
  }
  return "unknown";
}

// The case's status at t: "open", "resolved", "closed", or "not yet open".
std::string CaseStatusAt(const state::CaseState& c, Millis t) {
  const char* status = "not yet open";
  Millis best = std::numeric_limits<Millis>::min();
  if (c.changes() == nullptr) return status;
  for (const auto* ch : *c.changes()) {
    if (ch->effective_at() <= t && ch->effective_at() >= best) best = ch->effective_at(), status = CaseStatusName(ch->status());
  }
  return status;
}

int LevelAt(const state::EscalationState& x, Millis t) {
  int level = -1;
  Millis best = std::numeric_limits<Millis>::min();
  if (x.levels() == nullptr) return level;
  for (const auto* l : *x.levels()) {
    if (l->effective_at() <= t && l->effective_at() >= best) best = l->effective_at(), level = l->level();
  }
  return level;
}

std::string LevelName(int level) {
  return level < 0 ? "none" : fb::EnumNameEscalationLevel(static_cast<fb::EscalationLevel>(level));
}

struct ResponseTarget {
  std::string coverage;
  int minutes = 0;
  Millis due_at = kForever;
  std::string status;  // "met", "breached", "pending", "none"
  std::vector<std::string> reasons;
  std::vector<ReferenceSource> sources;
};

// Rule 4 and 5: the response target of a case, computed for its opening, as of t.
ResponseTarget TargetOf(const state::CaseState& c, const std::string& region, const ReferenceData& ref, Millis t,
                        Millis known_at) {
  ResponseTarget r;
  if (!c.entitled()) {
    r.status = "none";
    r.reasons.push_back("the case was not entitled when opened: no response target");
    return r;
  }
  const ServiceLevelFact* sl = ref.ServiceLevel(c.offering(), c.opening_severity(), c.opened_at(), known_at);
  if (sl == nullptr) {
    r.status = "none";
    r.reasons.push_back("no service level is defined for " +
                        std::string(fb::EnumNameOffering(static_cast<fb::Offering>(c.offering()))) + " severity " +
                        std::to_string(c.opening_severity()));
    return r;
  }
  r.sources.push_back(sl->source);
  r.minutes = sl->response_minutes;
  if (sl->coverage == static_cast<int>(fb::Coverage::BusinessHours)) {
    r.coverage = "business hours";
    const LanguageFact* l = ref.Languages(region, c.opened_at(), known_at);
    std::string tz = l ? l->time_zone : "";
    if (l) r.sources.push_back(l->source);
    if (tz.empty()) r.reasons.push_back("no time zone is defined for region \"" + region + "\"; business hours in UTC");
    auto due = AddBusinessMinutes(c.opened_at(), sl->response_minutes, tz);
    if (!due.ok()) {
      r.reasons.push_back(due.status().message() + "; business hours in UTC");
      due = AddBusinessMinutes(c.opened_at(), sl->response_minutes, "UTC");
    }
    r.due_at = due.ok() ? *due : kForever;
  } else {
    r.coverage = "24x7";
    r.due_at = c.opened_at() + Millis{sl->response_minutes} * 60000;
  }
  const Millis ack = c.acknowledged_at() <= t ? c.acknowledged_at() : kForever;
  if (ack != kForever) {
    r.status = ack <= r.due_at ? "met" : "breached";
  } else {
    r.status = t >= r.due_at ? "breached" : "pending";
  }
  return r;
}

}  // namespace

// ---- catalog ----------------------------------------------------------------------------

const std::map<std::string, std::vector<std::string>>& QueryCatalog() {
  static const auto* catalog = new std::map<std::string, std::vector<std::string>>{
      {"entitlement", {"account", "product", "version", "severity", "at", "known_at", "explain"}},
      {"intake", {"account", "contact", "product", "version", "severity", "at", "known_at", "explain"}},
      {"case", {"account", "case", "at", "known_at", "explain"}},
      {"portal", {"account", "user", "handbook", "at", "known_at", "explain"}},
      {"list", {"list", "account", "within_days", "at", "known_at", "limit", "offset"}},
  };
  return *catalog;
}

std::optional<Millis> RecordedAtOf(std::string_view entity) {
  if (entity.size() < 8) return std::nullopt;
  flatbuffers::Verifier v(reinterpret_cast<const uint8_t*>(entity.data()), entity.size());
  const auto root = flatbuffers::ReadScalar<flatbuffers::uoffset_t>(entity.data());
  if (root + 4 > entity.size()) return std::nullopt;
  const auto* t = flatbuffers::GetRoot<flatbuffers::Table>(entity.data());
  if (!t->VerifyTableStart(v) || !t->VerifyField<int64_t>(v, 4, 8)) return std::nullopt;
  return t->GetField<int64_t>(4, 0);
}

// ---- reading as known at ----------------------------------------------------------------

struct LedgerView::Facts {
  int partition = 0;
  std::deque<std::string> buffers;
  AccountFacts facts;
  // Keeps bytes alive for the tables that point into them.
  std::string_view Keep(std::string bytes) {
    buffers.push_back(std::move(bytes));
    return buffers.back();
  }
};

Result<std::unique_ptr<LedgerView>> LedgerView::Create(const ProjectionStore* store, const EventLog* events) {
  std::unique_ptr<LedgerView> view(new LedgerView(store, events));
  if (Status s = view->RefreshReference(); !s.ok()) return s;
  return view;
}

std::shared_ptr<const ReferenceData> LedgerView::reference() const {
  std::lock_guard lock(reference_mu_);
  return reference_;
}

Status LedgerView::RefreshReference() {
  // The reference follower's offsets say whether anything arrived since the last load.
  std::string offsets;
  Status scanned = store_->Scan(keys::kReferencePartition, keys::kNextOffset, [&](std::string_view k, std::string_view v) {
    offsets.append(k).append(v);
    return true;
  });
  if (!scanned.ok()) return scanned;
  {
    std::lock_guard lock(reference_mu_);
    if (reference_loaded_ && offsets == reference_offsets_) return Status::Ok();
  }
  auto data = ReferenceData::Load(*store_);
  if (!data.ok()) return data.status();
  auto loaded = std::make_shared<const ReferenceData>(std::move(*data));
  std::lock_guard lock(reference_mu_);
  reference_ = std::move(loaded);
  reference_offsets_ = std::move(offsets);
  reference_loaded_ = true;
  return Status::Ok();
}

std::vector<int> LedgerView::CandidatePartitions(const std::string& account) const {
  std::vector<int> partitions = store_->Partitions();
  std::erase(partitions, keys::kReferencePartition);
  if (partitions.empty()) return partitions;
  // Where the producer's partitioner put it, if the store holds partitions 0..N-1; then
  // the others (another partitioner, a store holding some partitions only).
  const int guess = KafkaPartitionOf(account, partitions.back() + 1);
  std::stable_partition(partitions.begin(), partitions.end(), [guess](int p) { return p == guess; });
  return partitions;
}

Result<std::optional<int>> LedgerView::LocateAccount(const std::string& account) const {
  for (int p : CandidatePartitions(account)) {
    auto v = store_->Get(p, keys::Account(account));
    if (!v.ok()) return v.status();
    if (v->has_value()) return std::optional<int>(p);
  }
  return std::optional<int>();
}

Result<std::optional<std::string>> LedgerView::ReadVersion(int p, const std::string& key, Millis known_at) const {
  auto current = store_->Get(p, key);
  if (!current.ok()) return current.status();
  return VersionAt(p, key, std::move(*current), known_at);
}

Result<std::optional<std::string>> LedgerView::VersionAt(int p, const std::string& key,
                                                         std::optional<std::string> current, Millis known_at) const {
  if (known_at == kForever || !current) return current;
  if (auto r = RecordedAtOf(*current); r && *r <= known_at) return current;
  // The version superseded first after R, if it was recorded by R: one seek into the
  // key's history (record times are never negative).
  auto first = store_->FirstInGroup(p, keys::History(key, std::max<Millis>(known_at + 1, 0)));
  if (!first.ok()) return first.status();
  if (!*first) return std::optional<std::string>();
  if (auto r = RecordedAtOf((*first)->second); r && *r <= known_at) {
    return std::optional<std::string>(std::move((*first)->second));
  }
  return std::optional<std::string>();
}

namespace {

// Stored values copied into one buffer, each at an 8-byte boundary so that the
// FlatBuffers table in it is read in place (the verifier checks alignment), and found
// again by key.
class ValueCopies {
 public:
  void Add(std::string_view key, std::string_view value) {
    Entry e{buffer_.size(), key.size(), 0, value.size(), false};
    buffer_.append(key);
    buffer_.resize((buffer_.size() + 7) & ~size_t{7});
    e.value = buffer_.size();
    buffer_.append(value);
    entries_.push_back(e);
  }
  bool empty() const { return entries_.empty(); }
  void Clear() {
    buffer_.clear();
    entries_.clear();
  }
  // Hands the buffer to `keep`, which holds it where it is for as long as the views
  // Take returns are used. Take works from then on.
  void Settle(std::deque<std::string>& keep) {
    keep.push_back(std::move(buffer_));
    bytes_ = keep.back();
  }
  // The value of `key`, once (an index naming a key twice does not count its fact
  // twice); nullopt when it has none.
  std::optional<std::string_view> Take(std::string_view key) {
    for (Entry& e : entries_) {
      if (e.taken || bytes_.substr(e.key, e.key_size) != key) continue;
      e.taken = true;
      return bytes_.substr(e.value, e.value_size);
    }
    return std::nullopt;
  }

 private:
  struct Entry {
    size_t key, key_size, value, value_size;
    bool taken;
  };
  std::string buffer_;
  std::string_view bytes_;
  std::vector<Entry> entries_;
};

}  // namespace

Result<std::unique_ptr<LedgerView::Facts>> LedgerView::ReadFacts(const std::string& account, const std::string& product,
                                                                 Millis known_at) const {
  auto f = std::make_unique<Facts>();
  auto bad = [&](const std::string& what) {
    return Status::Corruption("stored " + what + " of account " + account +
                              " does not verify (a store written by an older release? `ledger rebuild` "
                              "replays the log into the current format; `ledger verify` checks a store)");
  };
  // The account and its group (agreements, grants, consents, the indexes: neighbouring
  // keys, read with one iterator seek), from the likeliest partition first. Contacts
  // and portal users, also in the group, are not needed here.
  const std::string account_key = keys::Account(account);
  ValueCopies values;
  for (int p : CandidatePartitions(account)) {
    bool here = false;
    Status s = store_->ScanAccountGroup(p, account, [&](std::string_view k, std::string_view v) {
      if (!here && k != account_key) return false;  // the account is not in this partition
      here = true;
      const char kind = keys::KindOf(k);
      if (kind != keys::kContactTag && kind != keys::kPortalUserTag) values.Add(k, v);
      return true;
    });
    if (!s.ok()) return s;
    if (here) {
      f->partition = p;
      break;
    }
    values.Clear();
  }
  if (values.empty()) return f;
  values.Settle(f->buffers);
  const int p = f->partition;
  // The version of `key` known at R: the stored one when it was recorded by then, else a
  // superseded one from its history (kept in f), else none.
  auto known = [&](const std::string& key, std::optional<std::string_view> current)
      -> Result<std::optional<std::string_view>> {
    if (!current || known_at == kForever) return current;
    if (auto r = RecordedAtOf(*current); r && *r <= known_at) return current;
    auto v = VersionAt(p, key, std::string(*current), known_at);
    if (!v.ok()) return v.status();
    if (!v->has_value()) return std::optional<std::string_view>();
    return std::optional<std::string_view>(f->Keep(std::move(**v)));
  };
  auto a = known(account_key, values.Take(account_key));
  if (!a.ok()) return a.status();
  if (!a->has_value()) return f;
  f->facts.account = Verified<state::AccountState>(**a);
  if (f->facts.account == nullptr) return bad("state");
  // The product's index and the consents' index name the facts the answer needs.
  std::vector<std::string> ks;
  for (const std::string& index : {keys::EntitlementIndex(account, product), keys::EntitlementIndex(account, "")}) {
    auto idx_bytes = values.Take(index);
    if (!idx_bytes) continue;
    const auto* idx = Verified<state::EntitlementIndex>(*idx_bytes);
    if (idx == nullptr) return bad("entitlement index");
    if (idx->keys()) {
      for (const auto* k : *idx->keys()) ks.push_back(k->str());
    }
  }
  for (size_t i = 0; i < ks.size(); ++i) {
    auto v = known(ks[i], values.Take(ks[i]));
    if (!v.ok()) return v.status();
    if (!v->has_value()) continue;
    const std::string_view value = **v;
    switch (keys::KindOf(ks[i])) {
      case keys::kAgreementTag: {
        const auto* g = Verified<state::AgreementState>(value);
        if (g == nullptr) return bad("agreement");
        f->facts.agreements.push_back(g);
        break;
      }
      case keys::kGrantTag: {
        const auto* g = Verified<state::GrantState>(value);
        if (g == nullptr) return bad("grant");
        f->facts.grants.push_back(g);
        break;
      }
      case keys::kConsentTag: {
        const auto* c = Verified<state::ConsentState>(value);
        if (c == nullptr) return bad("consent");
        f->facts.consents.push_back(c);
        break;
      }
      default:
        break;
    }
  }
  return f;
}

Result<EntitlementAnswer> LedgerView::Entitlement(const EntitlementQuestion& q) const {
  auto f = ReadFacts(q.account, q.product, q.known_at);
  if (!f.ok()) return f.status();
  return EvaluateEntitlement(q, (*f)->facts, reference().get());
}

// ---- the questions ----------------------------------------------------------------------

Result<Json> LedgerView::Ask(const Query& q) const {
  if (QueryCatalog().count(q.name) == 0) {
    return Status::NotFound("unknown question \"" + q.name + "\" (known: entitlement, intake, case, portal, list)");
  }
  if (Status s = Params(q).CheckKnown(); !s.ok()) return s;
  if (q.name == "entitlement") return AskEntitlement(q);
  if (q.name == "intake") return AskIntake(q);
  if (q.name == "case") return AskCase(q);
  if (q.name == "portal") return AskPortal(q);
  return AskList(q);
}

namespace {

Result<EntitlementQuestion> EntitlementQuestionOf(const Params& p) {
  EntitlementQuestion q;
  auto account = p.Required("account");
  if (!account.ok()) return account.status();
  auto product = p.Required("product");
  if (!product.ok()) return product.status();
  auto when = WhenOf(p);
  if (!when.ok()) return when.status();
  auto severity = p.Int("severity", 0, 0, 4);
  if (!severity.ok()) return severity.status();
  q.account = *account;
  q.product = *product;
  q.version = p.Optional("version");
  q.at = when->at;
  q.known_at = when->known_at;
  q.severity = static_cast<int>(*severity);
  return q;
}

// Reference records an entitlement answer joined in.
std::vector<ReferenceSource> ReferenceUsed(const EntitlementQuestion& q, const std::string& region,
                                           const std::string& offering, const ReferenceData& ref) {
  std::vector<ReferenceSource> out;
  if (const auto* l = ref.Lifecycle(q.product, q.version, q.at, q.known_at)) out.push_back(l->source);
  if (const auto* l = ref.Languages(region, q.at, q.known_at)) out.push_back(l->source);
  if (const auto* p = ref.Policy(kGracePeriodPolicy, q.at, q.known_at)) out.push_back(p->source);
  if (const auto* p = ref.Policy(kRemoteTermsPolicy, q.at, q.known_at)) out.push_back(p->source);
  if (q.severity != 0 && !offering.empty()) {
    for (int i = 0; i <= static_cast<int>(fb::Offering::MAX); ++i) {
      if (offering != fb::EnumNamesOffering()[i]) continue;
      if (const auto* s = ref.ServiceLevel(i, q.severity, q.at, q.known_at)) out.push_back(s->source);
    }
  }
  return out;
}

// The keys of the entities behind an entitlement answer about `product`.
std::vector<std::string> EntitiesOf(const AccountFacts& f, const std::string& account) {
  std::vector<std::string> out;
  if (f.account) out.push_back(keys::Account(account));
  for (const auto* g : f.agreements) out.push_back(keys::Agreement(account, Str(g->agreement_id())));
  for (const auto* g : f.grants) out.push_back(keys::Grant(account, Str(g->grant_id())));
  for (const auto* c : f.consents) out.push_back(keys::Consent(account, Str(c->consent_id())));
  return out;
}

}  // namespace

Result<Json> LedgerView::AskEntitlement(const Query& query) const {
  Params p(query);
  auto q = EntitlementQuestionOf(p);
  if (!q.ok()) return q.status();
  auto explain = p.Flag("explain");
  if (!explain.ok()) return explain.status();
  auto f = ReadFacts(q->account, q->product, q->known_at);
  if (!f.ok()) return f.status();
  const auto ref = reference();
  const EntitlementAnswer a = EvaluateEntitlement(*q, (*f)->facts, ref.get());
  Json j = EntitlementAsJson(a);
  if (*explain && (*f)->facts.account) {
    if (Status s = AddExplanation(j, *store_, events_, (*f)->partition, q->account, EntitiesOf((*f)->facts, q->account),
                                  q->known_at, ReferenceUsed(*q, a.region, a.offering, *ref));
        !s.ok()) {
      return s;
    }
  }
  return j;
}

Result<Json> LedgerView::AskIntake(const Query& query) const {
  Params p(query);
  auto q = EntitlementQuestionOf(p);
  if (!q.ok()) return q.status();
  auto contact_id = p.Required("contact");
  if (!contact_id.ok()) return contact_id.status();
  auto explain = p.Flag("explain");
  if (!explain.ok()) return explain.status();
  auto f = ReadFacts(q->account, q->product, q->known_at);
  if (!f.ok()) return f.status();
  const auto ref = reference();
  const EntitlementAnswer a = EvaluateEntitlement(*q, (*f)->facts, ref.get());
  std::string why;
  const state::ContactState* contact = nullptr;
  if ((*f)->facts.account) {
    auto c = ReadVersion((*f)->partition, keys::Contact(q->account, *contact_id), q->known_at);
    if (!c.ok()) return c.status();
    if (c->has_value()) {
      contact = Verified<state::ContactState>((*f)->Keep(std::move(**c)));
    }
  }
  const bool designated = ContactDesignatedAt(contact, *contact_id, q->at, &why);
  Json j = EntitlementAsJson(a);
  Json out = {{"account", q->account}, {"contact", *contact_id}, {"product", q->product}};
  if (!q->version.empty()) out["version"] = q->version;
  PutWhen(out, {q->at, q->known_at});
  out["may_open_case"] = designated && a.entitled;
  out["designated_contact"] = designated;
  std::vector<std::string> reasons;
  if (!designated) reasons.push_back(why);
  if (!a.entitled) reasons.insert(reasons.end(), a.reasons.begin(), a.reasons.end());
  out["reasons"] = reasons;
  out["entitlement"] = std::move(j);
  if (*explain && (*f)->facts.account) {
    auto sources = EntitiesOf((*f)->facts, q->account);
    if (contact) sources.push_back(keys::Contact(q->account, *contact_id));
    if (Status s = AddExplanation(out, *store_, events_, (*f)->partition, q->account, sources, q->known_at,
                                  ReferenceUsed(*q, a.region, a.offering, *ref));
        !s.ok()) {
      return s;
    }
  }
  return out;
}

Result<Json> LedgerView::AskCase(const Query& query) const {
  auto q = EntityQuestionOf(Params(query), "case");
  if (!q.ok()) return q.status();
  const std::string& account = q->account;
  const std::string& case_id = q->id;
  const When& when = q->when;
  auto where = LocateAccount(account);
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
    if (Status s = AddExplanation(j, *store_, events_, part, q->account, sources, when.known_at, target.sources); !s.ok()) {
      return s;
    }
  }
  return j;
}

Result<Json> LedgerView::AskPortal(const Query& query) const {
  Params p(query);
  auto e = EntityQuestionOf(p, "user");
  if (!e.ok()) return e.status();
  const std::string& account = e->account;
  const std::string& user = e->id;
  PortalAnswer q;
  q.account = account, q.user = user, q.handbook = p.Optional("handbook");
  q.at = e->when.at, q.known_at = e->when.known_at;
  auto where = LocateAccount(account);
  if (!where.ok()) return where.status();
  std::optional<std::string> ab, ub;
  if (where->has_value()) {
    auto a = ReadVersion(**where, keys::Account(account), q.known_at);
    if (!a.ok()) return a.status();
    auto u = ReadVersion(**where, keys::PortalUser(account, user), q.known_at);
    if (!u.ok()) return u.status();
    ab = std::move(*a), ub = std::move(*u);
  }
  const auto* a = ab ? Verified<state::AccountState>(*ab) : nullptr;
  const auto* u = ub ? Verified<state::PortalUserState>(*ub) : nullptr;
  Json j = PortalAsJson(EvaluatePortal(q, a, u));
  if (e->explain && a) {
    std::vector<std::string> entities = {keys::Account(account)};
    if (u) entities.push_back(keys::PortalUser(account, user));
    if (Status s = AddExplanation(j, *store_, events_, **where, q.account, entities, q.known_at, {}); !s.ok()) return s;
  }
  return j;
}

// ---- lists ------------------------------------------------------------------------------

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
      {"anomalies", keys::kAnomalyTag}};
  auto tag = kTags.find(*name);
  if (tag == kTags.end()) {
    return Status::NotFound("unknown list \"" + *name +
                            "\" (known: agreements-lapsing, grants-expiring, open-cases, breached-cases, "
                            "open-escalations, sessions-without-consent, anomalies)");
  }
  const auto ref = reference();
  std::vector<Json> rows;
  std::map<std::string, int64_t> counts;
  Status failed;
  // Each row is built from the entity version known at R.
  auto visit = [&](int part, std::string_view key, std::string_view value) -> Status {
    const std::string account(keys::AccountOf(key));
    std::optional<std::string> version;
    if (r != kForever && tag->second != keys::kAnomalyTag) {
      auto v = VersionAt(part, std::string(key), std::string(value), r);  // the scan read the current one
      if (!v.ok()) return v.status();
      if (!v->has_value()) return Status::Ok();
      version = std::move(*v);
      value = *version;
    }
    switch (tag->second) {
      case keys::kAgreementTag: {
        const auto* g = Verified<state::AgreementState>(value);
        if (g == nullptr) return Status::Ok();
        const Millis end = std::min(g->ends_at(), g->terminated_at());
        if (end < t || end >= horizon || g->starts_at() > t) return Status::Ok();
        std::string products;
        if (g->lines()) {
          for (const auto* l : *g->lines()) {
            if (l->added_at() <= t && t < l->removed_at()) products += (products.empty() ? "" : " ") + Str(l->product());
          }
        }
        rows.push_back({{"account", account}, {"agreement", Str(g->agreement_id())},
                        {"offering", fb::EnumNameOffering(static_cast<fb::Offering>(g->offering()))},
                        {"ends_at", FormatTime(end)}, {"days_left", (end - t) / 86400000},
                        {"terminated", g->terminated_at() != kForever}, {"products", products}});
        break;
      }
      case keys::kGrantTag: {
        const auto* g = Verified<state::GrantState>(value);
        if (g == nullptr) return Status::Ok();
        const Millis end = std::min(g->ends_at(), g->revoked_at());
        if (end < t || end >= horizon || g->starts_at() > t) return Status::Ok();
        rows.push_back({{"account", account}, {"grant", Str(g->grant_id())},
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
        std::string level = "none";
        if (c->open_escalation() && c->open_escalation()->size()) {
          auto xb = ReadVersion(part, keys::Escalation(account, c->open_escalation()->str()), r);
          if (!xb.ok()) return xb.status();
          const auto* x = xb->has_value() ? Verified<state::EscalationState>(**xb) : nullptr;
          if (x && x->requested_at() <= t && t < x->closed_at()) level = LevelName(LevelAt(*x, t));
        }
        rows.push_back({{"account", account}, {"case", Str(c->case_id())}, {"status", status},
                        {"severity", c->severity()}, {"product", Str(c->product())},
                        {"opened_at", FormatTime(c->opened_at())}, {"response", target.status},
                        {"due_at", target.status == "none" ? "" : FormatTime(target.due_at)},
                        {"escalation_level", level}});
        counts["severity " + std::to_string(c->severity())] += 1;
        break;
      }
      case keys::kEscalationTag: {
        const auto* x = Verified<state::EscalationState>(value);
        if (x == nullptr || t < x->requested_at() || t >= x->closed_at()) return Status::Ok();
        auto cb = ReadVersion(part, keys::Case(account, Str(x->case_id())), r);
        if (!cb.ok()) return cb.status();
        const auto* c = cb->has_value() ? Verified<state::CaseState>(**cb) : nullptr;
        const int severity = c ? c->severity() : 0;
        const std::string level = LevelName(LevelAt(*x, t));
        rows.push_back({{"account", account}, {"escalation", Str(x->escalation_id())},
                        {"case", Str(x->case_id())}, {"level", level}, {"severity", severity},
                        {"manager", Str(x->manager())}, {"requested_at", FormatTime(x->requested_at())}});
        counts[level + ", severity " + std::to_string(severity)] += 1;
        break;
      }
      case keys::kSessionTag: {
        const auto* v = Verified<state::SessionState>(value);
        if (v == nullptr || t < v->started_at()) return Status::Ok();
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
        rows.push_back({{"account", account}, {"session", Str(v->session_id())}, {"case", Str(v->case_id())},
                        {"engineer", Str(v->engineer())}, {"started_at", FormatTime(v->started_at())},
                        {"violation", violation}});
        break;
      }
      case keys::kAnomalyTag: {
        const auto* a = Verified<state::Anomaly>(value);
        if (a == nullptr || a->recorded_at() > r) return Status::Ok();
        rows.push_back({{"account", account}, {"type", Str(a->type())}, {"reason", Str(a->reason())},
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
    auto where = LocateAccount(only_account);
    if (!where.ok()) return where.status();
    if (!where->has_value()) return Status::NotFound("account " + only_account + " is unknown to the ledger");
    partitions = {**where};
    prefix = keys::KindPrefix(tag->second, only_account);
  }
  for (int part : partitions) {
    if (part == keys::kReferencePartition) continue;
    Status s = store_->Scan(part, prefix, [&](std::string_view k, std::string_view v) {
      if (keys::KindOf(k) != tag->second) return true;  // another kind of the account group
      failed = visit(part, k, v);
      return failed.ok();
    });
    if (!s.ok()) return s;
    if (!failed.ok()) return failed;
  }
  // A stable order: by the row's first time column, then account and id.
  // (Anomalies: by record time, then log position.)
  auto sort_key = [](const Json& row) {
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
  };
  std::stable_sort(rows.begin(), rows.end(), [&](const Json& a, const Json& b) { return sort_key(a) < sort_key(b); });
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
