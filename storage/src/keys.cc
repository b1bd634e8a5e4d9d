#include "ledger/keys.h"

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
}  // namespace

std::string Account(std::string_view account) { return Join('A', account); }
std::string Agreement(std::string_view account, std::string_view agreement) {
  return Join('G', account, agreement);
}
std::string AgreementPrefix(std::string_view account) { return Join('G', account, ""); }
std::string SeenEvent(const UuidBytes& id) {
  return Join('E', std::string_view(reinterpret_cast<const char*>(id.data()), id.size()));
}
std::string EventLog(std::string_view account, int64_t offset) {
  return Join('L', account, EncodeOffset(offset));
}
std::string EventLogPrefix(std::string_view account) { return Join('L', account, ""); }
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
