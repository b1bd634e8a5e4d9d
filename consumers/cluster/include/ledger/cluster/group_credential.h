// The secret the instances of one projector group share (ledger project --group-secret
// FILE), with which they authenticate each other: their announcements on
// ledger.instances and the questions they forward to each other are signed with it
// (HMAC-SHA256). Whoever can write to Kafka but lacks the secret cannot take routing
// over, and no caller's token ever travels between instances.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "ledger/base/status.h"

namespace ledger {

class GroupCredential {
 public:
  // At least this many bytes of secret (e.g. `openssl rand -hex 32`).
  static constexpr size_t kLeastSecretBytes = 32;
  // A signed message is accepted this long before or after the receiver's clock (clock
  // skew between hosts; an announcement is sent every second).
  static constexpr int64_t kFreshMs = 60'000;

  // Reads the secret from `path` (surrounding white space ignored). InvalidInput naming
  // the file when it cannot be read, is readable by its group or others (chmod 600), or
  // holds fewer than kLeastSecretBytes.
  static Result<GroupCredential> Load(const std::string& path);
  // From the secret itself (tests).
  static GroupCredential FromSecret(std::string secret) { return GroupCredential(std::move(secret)); }

  // The signature of `message`: HMAC-SHA256 under the secret, in hex.
  std::string Sign(std::string_view message) const;
  // Whether `signature` is Sign(message), compared in constant time.
  bool Verifies(std::string_view message, std::string_view signature) const;

 private:
  explicit GroupCredential(std::string secret) : secret_(std::move(secret)) {}
  std::string secret_;
};

// Whether a signed message sent at `sent_at_ms` is fresh at `now_ms` (GroupCredential::kFreshMs).
bool FreshAt(int64_t sent_at_ms, int64_t now_ms);

// Milliseconds since the epoch, by this host's clock.
int64_t NowMs();

}  // namespace ledger
