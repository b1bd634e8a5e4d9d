#include "ledger/storage/keys.h"

#include <algorithm>

namespace ledger::keys {
namespace {
std::string Join(char tag, std::string_view a) {
  std::string k;
  k.reserve(1 + a.size());
  k.push_back(tag);
  k.append(a);
  return k;
}
std::string Join(char tag, std::string_view a, std::string_view b) {
  std::string k = Join(tag, a);
  k.push_back('\0');
  k.append(b);
  return k;
}
// Kinds kept in their account's group, after the account's own key.
bool InAccountGroup(char kind) {
  return kind == kAgreementTag || kind == kGrantTag || kind == kContactTag || kind == kPortalUserTag ||
         kind == kConsentTag || kind == kEntitlementIndexTag;
}

std::string Entity(char kind, std::string_view account, std::string_view id) {
  if (!InAccountGroup(kind)) return Join(kind, account, id);
  std::string k = Join(kAccountTag, account, "");
  k.push_back(kind);
  k.append(id);
  return k;
}
}  // namespace

std::string Account(std::string_view account) { return Join(kAccountTag, account); }
std::string AccountGroupEnd(std::string_view account) { return Join(kAccountTag, account) + '\x01'; }
std::string_view AccountGroupOf(std::string_view key) {
  if (key.empty() || key.front() != kAccountTag) return {};
  return key.substr(0, key.find('\0', 1));
}
std::string Agreement(std::string_view account, std::string_view id) { return Entity(kAgreementTag, account, id); }
std::string AgreementPrefix(std::string_view account) { return KindPrefix(kAgreementTag, account); }
std::string Grant(std::string_view account, std::string_view id) { return Entity(kGrantTag, account, id); }
std::string Contact(std::string_view account, std::string_view id) { return Entity(kContactTag, account, id); }
std::string PortalUser(std::string_view account, std::string_view id) { return Entity(kPortalUserTag, account, id); }
std::string Consent(std::string_view account, std::string_view id) { return Entity(kConsentTag, account, id); }
std::string Session(std::string_view account, std::string_view id) { return Entity(kSessionTag, account, id); }
std::string Case(std::string_view account, std::string_view id) { return Entity(kCaseTag, account, id); }
std::string Escalation(std::string_view account, std::string_view id) { return Entity(kEscalationTag, account, id); }
std::string EntitlementIndex(std::string_view account, std::string_view product) {
  return Entity(kEntitlementIndexTag, account, product);
}

char KindOf(std::string_view key) {
  if (key.empty()) return '\0';
  if (key.front() != kAccountTag) return key.front();
  const size_t sep = key.find('\0', 1);
  return sep == std::string_view::npos || sep + 1 == key.size() ? kAccountTag : key[sep + 1];
}

std::string KindPrefix(char kind, std::string_view account) {
  if (account.empty()) return std::string(1, InAccountGroup(kind) ? kAccountTag : kind);
  return Entity(kind, account, "");
}

std::string_view AccountOf(std::string_view key) {
  if (key.empty()) return key;
  const size_t end = key.find('\0', 1);
  return key.substr(1, end == std::string_view::npos ? std::string_view::npos : end - 1);
}
std::string_view IdOf(std::string_view key) {
  const size_t sep = key.find('\0', 1);
  if (sep == std::string_view::npos) return {};
  return key.substr(std::min(key.size(), sep + (key.front() == kAccountTag ? 2 : 1)));
}

std::string Journal(std::string_view account, char part, int64_t occurred_at, int64_t offset) {
  return Join(kJournalTag, account, part + EncodeOffset(occurred_at) + EncodeOffset(offset));
}
std::string JournalPrefix(std::string_view account) { return Join(kJournalTag, account, ""); }
std::string JournalPrefix(std::string_view account, char part) { return Join(kJournalTag, account, std::string(1, part)); }
std::string_view JournalOf(std::string_view key) {
  if (key.empty() || key.front() != kJournalTag) return {};
  const size_t sep = key.find('\0', 1);
  if (sep == std::string_view::npos) return {};
  return key.substr(0, sep + 1);
}
std::string FoldHead(std::string_view account) { return Join(kFoldHeadTag, account); }

std::string SeenEvent(const UuidBytes& id) {
  return Join('E', std::string_view(reinterpret_cast<const char*>(id.data()), id.size()));
}
std::string Anomaly(std::string_view account, int64_t offset) {
  return Join('X', account, EncodeOffset(offset));
}
std::string AnomalyPrefix(std::string_view account) { return Join('X', account, ""); }

std::string ReferenceNextOffset(int topic_partition) {
  return std::string(kNextOffset) + ":" + std::to_string(topic_partition);
}

std::string EncodeOffset(int64_t offset) {
  std::string s(8, '\0');
  const auto u = static_cast<uint64_t>(offset);
  for (int i = 0; i < 8; ++i) s[i] = static_cast<char>(u >> (56 - 8 * i));
  return s;
}

int64_t DecodeOffset(std::string_view bytes) {
  uint64_t u = 0;
  for (size_t i = 0; i < 8 && i < bytes.size(); ++i) {
    u = u << 8 | static_cast<unsigned char>(bytes[i]);
  }
  return static_cast<int64_t>(u);
}

}  // namespace ledger::keys
