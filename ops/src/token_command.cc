#include <chrono>
#include <ostream>

#include "ledger/http/tokens.h"
#include "ledger/ops/commands.h"

namespace ledger {
namespace {

Millis Now() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace

std::string TokensFileFor(const CommonOptions& common, const std::string& given) {
  if (!given.empty()) return given;
  std::string dir = common.data_dir;
  while (dir.size() > 1 && dir.back() == '/') dir.pop_back();
  return dir + ".tokens";
}

int RunTokenCreate(const CommonOptions& common, const std::string& tokens_file, const std::string& name,
                   const std::string& role, std::ostream& out, std::ostream& err) {
  auto r = RoleByName(role);
  if (!r) {
    err << "ledger token create: --role: \"" << role << "\" is not analyst, operator or publisher\n";
    return kExitUsage;
  }
  TokenFile file(TokensFileFor(common, tokens_file));
  auto token = file.Create(name, *r, Now());
  RecordCommand(common, "token create", "\"" + name + "\" (" + role + ")",
                token.ok() ? "ok" : token.status().message(), err);
  if (!token.ok()) {
    err << "ledger token create: " << token.status().message() << "\n";
    return kExitRejected;
  }
  out << *token << "\n";
  err << "ledger token create: token \"" << name << "\" (" << role << ") added to " << file.path().string()
      << "; it is shown once: keep it (only its hash is stored)\n";
  return kExitOk;
}

int RunTokenRevoke(const CommonOptions& common, const std::string& tokens_file, const std::string& name,
                   std::ostream& out, std::ostream& err) {
  TokenFile file(TokensFileFor(common, tokens_file));
  Status s = file.Revoke(name, Now());
  RecordCommand(common, "token revoke", "\"" + name + "\"", s.ok() ? "ok" : s.message(), err);
  if (!s.ok()) {
    err << "ledger token revoke: " << s.message() << "\n";
    return kExitRejected;
  }
  out << "revoked \"" << name << "\"\n";
  return kExitOk;
}

int RunTokenList(const CommonOptions& common, const std::string& tokens_file, std::ostream& out,
                 std::ostream& err) {
  TokenFile file(TokensFileFor(common, tokens_file));
  auto records = file.Read();
  if (!records.ok()) {
    err << "ledger token list: " << records.status().message() << "\n";
    return kExitUnavailable;
  }
  for (const auto& r : *records) {
    out << r.name << "\t" << RoleName(r.role) << "\tcreated " << FormatTime(r.created_at)
        << (r.revoked_at ? "\trevoked " + FormatTime(r.revoked_at) : "") << "\n";
  }
  return kExitOk;
}

}  // namespace ledger
