#include "ledger/queries/ledger_view.h"

#include <algorithm>
#include <deque>
#include <thread>

#include "ledger/kafka/partitioner.h"
#include "ledger/queries/questions.h"
#include "ledger/schema/ledger_generated.h"
#include "ledger/storage/keys.h"
#include "ledger/storage/state_generated.h"
#include "view_internal.h"

namespace ledger {

using view::EntityQuestionOf;
using view::Params;
using view::PutWhen;
using view::Str;
using view::Verified;
using view::WhenOf;

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

Result<std::unique_ptr<LedgerView>> LedgerView::Create(const ProjectionStore* store) {
  std::unique_ptr<LedgerView> view(new LedgerView(store));
  if (Status s = view->RefreshReference(); !s.ok()) return s;
  return view;
}

std::shared_ptr<const ReferenceData> LedgerView::reference() const {
  MutexLock lock(reference_mu_);
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
    MutexLock lock(reference_mu_);
    if (reference_loaded_ && offsets == reference_offsets_) return Status::Ok();
  }
  auto data = ReferenceData::Load(*store_);
  if (!data.ok()) return data.status();
  auto loaded = std::make_shared<const ReferenceData>(std::move(*data));
  MutexLock lock(reference_mu_);
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

Status LedgerView::AwaitPositions(const Positions& positions, std::chrono::milliseconds max_wait,
                                  const std::function<Status()>& catch_up) const {
  const auto deadline = std::chrono::steady_clock::now() + max_wait;
  while (true) {
    if (catch_up) {
      if (Status s = catch_up(); !s.ok()) return s;
    }
    std::string behind;
    for (const auto& [partition, offset] : positions) {
      auto next = store_->NextOffset(partition);
      if (!next.ok()) return next.status();
      const int64_t projected = next->value_or(0);  // the next offset to project
      if (projected > offset) continue;
      behind = "partition " + std::to_string(partition) + " is projected up to offset " +
               (projected > 0 ? std::to_string(projected - 1) : std::string("none yet")) + ", and offset " +
               std::to_string(offset) + " is asked for";
      break;
    }
    if (behind.empty()) return Status::Ok();
    if (std::chrono::steady_clock::now() >= deadline) {
      return Status::Unavailable("min_position not reached within " + std::to_string(max_wait.count()) +
                                 " ms: " + behind + "; ask again");
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
}

Result<std::optional<std::pair<int, int64_t>>> LedgerView::PositionOf(const std::string& account) const {
  auto located = LocateAccount(account);
  if (!located.ok()) return located.status();
  std::optional<int> partition = *located;
  if (!partition) {
    const std::vector<int> candidates = CandidatePartitions(account);
    if (candidates.empty()) return std::optional<std::pair<int, int64_t>>();
    partition = candidates.front();
  }
  auto next = store_->NextOffset(*partition);
  if (!next.ok()) return next.status();
  return std::optional<std::pair<int, int64_t>>({*partition, next->value_or(0) - 1});
}

Result<Positions> LedgerView::PositionsOf(const std::vector<int>& partitions) const {
  std::vector<int> asked = partitions;
  if (asked.empty()) {
    asked = store_->Partitions();
    std::erase(asked, keys::kReferencePartition);
  }
  Positions out;
  for (int p : asked) {
    auto next = store_->NextOffset(p);
    if (!next.ok()) return next.status();
    if (next->value_or(0) > 0) out[p] = **next - 1;
  }
  return out;
}

Result<std::optional<int>> LedgerView::LocateAccount(const std::string& account) const {
  for (int p : CandidatePartitions(account)) {
    auto v = store_->Get(p, keys::Account(account));
    if (!v.ok()) return v.status();
    if (v->has_value()) return std::optional<int>(p);
  }
  return std::optional<int>();
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
  // keys, read with one iterator seek), from the likeliest partition first; as known at
  // R, from the fold of its journal. Contacts and portal users, also in the group, are
  // not needed here.
  const std::string account_key = keys::Account(account);
  ValueCopies values;
  auto add = [&](std::string_view k, std::string_view v) {
    const char kind = keys::KindOf(k);
    if (kind != keys::kContactTag && kind != keys::kPortalUserTag) values.Add(k, v);
  };
  bool from_journal = known_at != kForever;
  if (!from_journal) {
    for (int p : CandidatePartitions(account)) {
      bool here = false;
      Status s = store_->ScanAccountGroup(p, account, [&](std::string_view k, std::string_view v) {
        if (!here && k != account_key) return false;  // the account is not in this partition
        here = true;
        add(k, v);
        return true;
      });
      if (!s.ok()) return s;
      if (here) {
        f->partition = p;
        // A long account being folded again beside the projection: from its journal.
        auto stale = StaleInStore(p, account);
        if (!stale.ok()) return stale.status();
        if (*stale) {
          values.Clear();
          from_journal = true;
        }
        break;
      }
      values.Clear();
    }
  }
  if (from_journal) {
    auto where = LocateAccountAt(account, known_at);
    if (!where.ok()) return where.status();
    if (!where->has_value()) return f;
    f->partition = **where;
    auto known = FoldedAt(f->partition, account, known_at, FoldScope::kAccountFacts);
    if (!known.ok()) return known.status();
    const FoldedState& state = (*known)->state;
    const std::string end = keys::AccountGroupEnd(account);
    for (auto it = state.lower_bound(account_key); it != state.end() && it->first < end; ++it) add(it->first, it->second);
  }
  if (values.empty()) return f;
  values.Settle(f->buffers);
  const auto a = values.Take(account_key);
  if (!a) return f;
  f->facts.account = Verified<state::AccountState>(*a);
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
    const auto v = values.Take(ks[i]);
    if (!v) continue;
    const std::string_view value = *v;
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
  QuestionScope scope;
  auto f = ReadFacts(q.account, q.product, q.known_at);
  if (!f.ok()) return f.status();
  return EvaluateEntitlement(q, (*f)->facts, reference().get());
}

// ---- the questions ----------------------------------------------------------------------

Result<Json> LedgerView::Ask(const Query& q) const {
  const Question* question = FindQuestion(q.name);
  if (question == nullptr) {
    std::string known;
    for (const auto& k : Questions()) known += (known.empty() ? "" : ", ") + k.name;
    return Status::NotFound("unknown question \"" + q.name + "\" (known: " + known + ")");
  }
  if (Status s = Params(q).CheckKnown(*question); !s.ok()) return s;
  QuestionScope scope;
  return (this->*question->answer)(q);
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
  auto severity = p.Int("severity", 0, 1, 4);  // 0: none given
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
    if (Status s = Explain(j, (*f)->partition, q->account, EntitiesOf((*f)->facts, q->account),
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
    if (Status s = Explain(out, (*f)->partition, q->account, sources, q->known_at,
                                  ReferenceUsed(*q, a.region, a.offering, *ref));
        !s.ok()) {
      return s;
    }
  }
  return out;
}

Result<Json> LedgerView::AskPortal(const Query& query) const {
  Params p(query);
  auto e = EntityQuestionOf(p, "user");
  if (!e.ok()) return e.status();
  const std::string& account = e->account;
  const std::string& user = e->id;
  PortalAnswer q;
  q.account = account, q.user = user, q.handbook = p.Optional("handbook");
  if (!q.handbook.empty() && FindHandbook(q.handbook) == nullptr) {
    std::string names;
    for (const Handbook& h : Handbooks()) names += (names.empty() ? "\"" : " or \"") + h.name + "\"";
    return Status::InvalidInput("handbook: \"" + q.handbook + "\" is not a handbook (" + names + ")");
  }
  q.at = e->when.at, q.known_at = e->when.known_at;
  auto where = LocateAccount(account);
  if (!where.ok()) return where.status();
  std::optional<std::string> ab, ub;
  std::vector<std::string> agreement_bytes;  // as known at R: the handbook check reads them
  if (where->has_value()) {
    auto a = ReadVersion(**where, keys::Account(account), q.known_at);
    if (!a.ok()) return a.status();
    auto u = ReadVersion(**where, keys::PortalUser(account, user), q.known_at);
    if (!u.ok()) return u.status();
    ab = std::move(*a), ub = std::move(*u);
    if (!q.handbook.empty()) {
      Status s = ScanAt(**where, account, keys::AgreementPrefix(account), q.known_at,
                        [&](std::string_view k, std::string_view v) {
                          if (keys::KindOf(k) == keys::kAgreementTag) agreement_bytes.emplace_back(v);
                          return true;
                        });
      if (!s.ok()) return s;
    }
  }
  const auto* a = ab ? Verified<state::AccountState>(*ab) : nullptr;
  const auto* u = ub ? Verified<state::PortalUserState>(*ub) : nullptr;
  std::vector<const state::AgreementState*> agreements;
  for (const auto& bytes : agreement_bytes) {
    if (const auto* g = Verified<state::AgreementState>(bytes)) agreements.push_back(g);
  }
  Json j = PortalAsJson(EvaluatePortal(q, a, u, agreements));
  if (e->explain && a) {
    std::vector<std::string> entities = {keys::Account(account)};
    if (u) entities.push_back(keys::PortalUser(account, user));
    if (Status s = Explain(j, **where, q.account, entities, q.known_at, {}); !s.ok()) return s;
  }
  return j;
}

}  // namespace ledger
