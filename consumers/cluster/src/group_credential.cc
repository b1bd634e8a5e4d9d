#include "ledger/cluster/group_credential.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <sys/stat.h>

#include <chrono>
#include <fstream>
#include <sstream>

namespace ledger {

Result<GroupCredential> GroupCredential::Load(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) {
    return Status::InvalidInput("--group-secret: cannot read " + path + " (make one: umask 077; openssl rand -hex 32 > " +
                                path + ")");
  }
  if ((st.st_mode & 077) != 0) {
    return Status::InvalidInput("--group-secret: " + path + " may be read by others than its owner (chmod 600 " + path +
                                ")");
  }
  std::ifstream in(path, std::ios::binary);
  std::stringstream text;
  text << in.rdbuf();
  if (!in) return Status::InvalidInput("--group-secret: cannot read " + path);
  std::string secret = text.str();
  const size_t first = secret.find_first_not_of(" \t\r\n");
  const size_t last = secret.find_last_not_of(" \t\r\n");
  secret = first == std::string::npos ? "" : secret.substr(first, last - first + 1);
  if (secret.size() < kLeastSecretBytes) {
    return Status::InvalidInput("--group-secret: " + path + " holds " + std::to_string(secret.size()) +
                                " bytes of secret, fewer than " + std::to_string(kLeastSecretBytes) +
                                " (openssl rand -hex 32)");
  }
  return GroupCredential(std::move(secret));
}

std::string GroupCredential::Sign(std::string_view message) const {
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int size = 0;
  HMAC(EVP_sha256(), secret_.data(), static_cast<int>(secret_.size()),
       reinterpret_cast<const unsigned char*>(message.data()), message.size(), mac, &size);
  static const char* kHex = "0123456789abcdef";
  std::string out;
  out.reserve(size * 2);
  for (unsigned int i = 0; i < size; ++i) {
    out += kHex[mac[i] >> 4];
    out += kHex[mac[i] & 0xf];
  }
  return out;
}

bool GroupCredential::Verifies(std::string_view message, std::string_view signature) const {
  const std::string expected = Sign(message);
  return signature.size() == expected.size() && CRYPTO_memcmp(expected.data(), signature.data(), expected.size()) == 0;
}

bool FreshAt(int64_t sent_at_ms, int64_t now_ms) {
  return sent_at_ms > now_ms - GroupCredential::kFreshMs && sent_at_ms < now_ms + GroupCredential::kFreshMs;
}

int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace ledger
