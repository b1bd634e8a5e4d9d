#include "ledger/http/tokens.h"

#include "ledger/base/json_input.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <fcntl.h>
#include <spdlog/spdlog.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <fstream>
#include <nlohmann/json.hpp>
#include <random>

namespace ledger {

const char* RoleName(Role r) {
  switch (r) {
    case Role::kAnalyst: return "analyst";
    case Role::kOperator: return "operator";
    case Role::kPublisher: return "publisher";
  }
  return "unknown";
}

std::optional<Role> RoleByName(std::string_view name) {
  for (Role r : {Role::kAnalyst, Role::kOperator, Role::kPublisher}) {
    if (name == RoleName(r)) return r;
  }
  return std::nullopt;
}

bool Allows(Role role, Permission p) {
  switch (p) {
    case Permission::kRead: return role == Role::kAnalyst || role == Role::kOperator;
    case Permission::kAdmin: return role == Role::kOperator;
    case Permission::kPublish: return role == Role::kPublisher;
  }
  return false;
}

std::string Sha256Hex(std::string_view data) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  EVP_Digest(data.data(), data.size(), digest, &n, EVP_sha256(), nullptr);
  static const char* kHex = "0123456789abcdef";
  std::string out;
  for (unsigned int i = 0; i < n; ++i) {
    out.push_back(kHex[digest[i] >> 4]);
    out.push_back(kHex[digest[i] & 15]);
  }
  return out;
}

Result<std::vector<TokenRecord>> TokenFile::Read() const {
  std::vector<TokenRecord> out;
  std::ifstream in(path_);
  if (!in) return out;  // no file: no tokens
  std::string line;
  int n = 0;
  while (std::getline(in, line)) {
    ++n;
    if (line.empty()) continue;
    auto parsed = ParseJsonInput(line);
    const nlohmann::ordered_json j = parsed.ok() ? std::move(*parsed) : nlohmann::ordered_json();
    auto role = j.is_object() ? RoleByName(j.value("role", "")) : std::nullopt;
    if (!role || !j.contains("name") || !j.contains("sha256")) {
      return Status::Corruption(path_.string() + ":" + std::to_string(n) + ": not a token record (a JSON object with name, role analyst, operator or publisher, and sha256)");
    }
    out.push_back({j["name"], *role, j["sha256"], j.value("created_at", Millis{0}), j.value("revoked_at", Millis{0})});
  }
  return out;
}

namespace {

// An exclusive flock on PATH.lock for the lifetime of the object.
class TokenFileLock {
 public:
  explicit TokenFileLock(const std::filesystem::path& path) : name_(path.string() + ".lock") {
    fd_ = ::open(name_.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd_ >= 0 && ::flock(fd_, LOCK_EX) != 0) {
      ::close(fd_);
      fd_ = -1;
    }
  }
  ~TokenFileLock() {
    if (fd_ >= 0) ::close(fd_);  // releases the lock
  }
  Status status() const {
    return fd_ >= 0 ? Status::Ok() : Status::IoError("cannot lock " + name_ + ": " + std::strerror(errno));
  }

 private:
  std::string name_;
  int fd_ = -1;
};

}  // namespace

Status TokenFile::Write(const std::vector<TokenRecord>& records) const {
  // A name of its own: another writer's file is never overwritten (and the lock makes
  // sure there is none).
  const auto tmp = path_.string() + ".tmp." + std::to_string(::getpid());
  {
    std::ofstream out(tmp, std::ios::trunc);
    if (!out) return Status::IoError("cannot write " + tmp);
    for (const auto& r : records) {
      out << nlohmann::json{{"name", r.name}, {"role", RoleName(r.role)}, {"sha256", r.sha256},
                            {"created_at", r.created_at}, {"revoked_at", r.revoked_at}}
                 .dump()
          << "\n";
    }
    if (!out.flush()) return Status::IoError("cannot write " + tmp);
  }
  ::chmod(tmp.c_str(), 0600);
  if (int fd = ::open(tmp.c_str(), O_RDONLY | O_CLOEXEC); fd >= 0) {  // durable before it replaces the old
    ::fsync(fd);
    ::close(fd);
  }
  std::error_code ec;
  std::filesystem::rename(tmp, path_, ec);
  if (ec) return Status::IoError("cannot replace " + path_.string() + ": " + ec.message());
  return Status::Ok();
}

Result<std::string> TokenFile::Create(const std::string& name, Role role, Millis now) {
  if (name.empty()) return Status::InvalidInput("a token needs a name");
  TokenFileLock lock(path_);
  if (Status s = lock.status(); !s.ok()) return s;
  auto records = Read();
  if (!records.ok()) return records.status();
  for (const auto& r : *records) {
    if (r.name == name && r.revoked_at == 0) {
      return Status::InvalidInput("a token named \"" + name + "\" exists; revoke it first");
    }
  }
  std::random_device rd;  // the kernel's random source
  static const char* kHex = "0123456789abcdef";
  std::string token = "ldg_";
  for (int i = 0; i < 40; ++i) token.push_back(kHex[rd() & 15]);
  records->push_back({name, role, Sha256Hex(token), now, 0});
  if (Status s = Write(*records); !s.ok()) return s;
  return token;
}

Status TokenFile::Revoke(const std::string& name, Millis now) {
  TokenFileLock lock(path_);
  if (Status s = lock.status(); !s.ok()) return s;
  auto records = Read();
  if (!records.ok()) return records.status();
  bool found = false;
  for (auto& r : *records) {
    if (r.name == name && r.revoked_at == 0) r.revoked_at = now, found = true;
  }
  if (!found) return Status::NotFound("no valid token named \"" + name + "\" in " + path_.string());
  return Write(*records);
}

Status TokenCheck::last_error() {
  MutexLock lock(mu_);
  return error_;
}

std::optional<TokenRecord> TokenCheck::Find(const std::string& token) {
  const std::string hash = Sha256Hex(token);  // outside the lock
  MutexLock lock(mu_);
  // A stat per request (cheap beside a request): a new token works, a revoked one stops, at
  // once. Every change replaces the file (a new inode), so the inode tells a change even
  // within one tick of the file system's clock.
  struct stat st {};
  const bool exists = ::stat(file_.path().c_str(), &st) == 0;
  const FileVersion version{exists ? st.st_ino : 0, exists ? st.st_mtim.tv_sec : 0, exists ? st.st_mtim.tv_nsec : 0,
                            exists ? st.st_size : -1};
  if (!loaded_once_ || version != loaded_) {  // new, changed or gone: read it again
    auto records = file_.Read();
    if (records.ok()) {
      records_ = std::move(*records);
      error_ = Status::Ok();
    } else {
      // Fail closed, and loudly: serving the previous list would keep a token that was
      // meant to be revoked.
      records_.clear();
      error_ = records.status();
      spdlog::error("tokens: {}: no token is accepted until the file is fixed", error_.message());
    }
    loaded_ = version;
    loaded_once_ = true;
  }
  for (const auto& r : records_) {
    if (r.revoked_at == 0 && r.sha256.size() == hash.size() &&
        CRYPTO_memcmp(r.sha256.data(), hash.data(), hash.size()) == 0) {
      return r;
    }
  }
  return std::nullopt;
}

}  // namespace ledger
