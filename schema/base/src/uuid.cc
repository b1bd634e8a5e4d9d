#include "ledger/base/uuid.h"

#include <mutex>
#include <random>

namespace ledger {
namespace {
int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}
}  // namespace

Result<UuidBytes> ParseUuid(std::string_view text) {
  auto bad = [&] {
    return Status::InvalidInput("'" + std::string(text) +
                                "' is not a UUID (expected 8-4-4-4-12 hex digits)");
  };
  if (text.size() != 36) return bad();
  UuidBytes out{};
  size_t j = 0;
  for (size_t i = 0; i < 36;) {
    if (i == 8 || i == 13 || i == 18 || i == 23) {
      if (text[i] != '-') return bad();
      ++i;
      continue;
    }
    int hi = HexValue(text[i]), lo = HexValue(text[i + 1]);
    if (hi < 0 || lo < 0) return bad();
    out[j++] = static_cast<uint8_t>(hi << 4 | lo);
    i += 2;
  }
  return out;
}

std::string FormatUuid(const UuidBytes& id) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string s;
  s.reserve(36);
  for (size_t i = 0; i < 16; ++i) {
    if (i == 4 || i == 6 || i == 8 || i == 10) s.push_back('-');
    s.push_back(kHex[id[i] >> 4]);
    s.push_back(kHex[id[i] & 15]);
  }
  return s;
}

UuidBytes NewUuidV7(int64_t unix_millis) {
  static std::mutex mu;
  static std::mt19937_64 rng{std::random_device{}()};
  uint64_t r1, r2;
  {
    std::lock_guard<std::mutex> lock(mu);
    r1 = rng();
    r2 = rng();
  }
  UuidBytes b{};
  const auto ms = static_cast<uint64_t>(unix_millis);
  for (int i = 0; i < 6; ++i) b[i] = static_cast<uint8_t>(ms >> (40 - 8 * i));
  for (int i = 6; i < 16; ++i) b[i] = static_cast<uint8_t>((i < 14 ? r1 : r2) >> (8 * (i % 8)));
  b[6] = static_cast<uint8_t>(0x70 | (b[6] & 0x0f));  // version 7
  b[8] = static_cast<uint8_t>(0x80 | (b[8] & 0x3f));  // RFC 4122 variant
  return b;
}

}  // namespace ledger
