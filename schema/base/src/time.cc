#include "ledger/base/time.h"

#include <chrono>


namespace ledger {
namespace {

// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm).
int64_t DaysFromCivil(int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const unsigned yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<int64_t>(doe) - 719468;
}

void CivilFromDays(int64_t z, int64_t* y, unsigned* m, unsigned* d) {
  z += 719468;
  const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const unsigned doe = static_cast<unsigned>(z - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  *d = doy - (153 * mp + 2) / 5 + 1;
  *m = mp < 10 ? mp + 3 : mp - 9;
  *y = static_cast<int64_t>(yoe) + era * 400 + (*m <= 2);
}

unsigned DaysInMonth(int64_t y, unsigned m) {
  static constexpr unsigned kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  const bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
  return m == 2 && leap ? 29 : kDays[m - 1];
}

// Reads exactly n digits at text[*pos]; false if any is not a digit.
bool Digits(std::string_view text, size_t* pos, int n, int* out) {
  if (*pos + n > text.size()) return false;
  int v = 0;
  for (int i = 0; i < n; ++i) {
    char c = text[*pos + i];
    if (c < '0' || c > '9') return false;
    v = v * 10 + (c - '0');
  }
  *pos += n;
  *out = v;
  return true;
}

bool Expect(std::string_view text, size_t* pos, char c) {
  if (*pos < text.size() && text[*pos] == c) {
    ++*pos;
    return true;
  }
  return false;
}

Status Bad(std::string_view text, const std::string& why) {
  return Status::InvalidInput("'" + std::string(text) + "' is not a valid time: " + why +
                              " (expected RFC 3339, e.g. 2025-06-01T00:00:00Z, or a date "
                              "2025-06-01)");
}

Result<Millis> InRange(std::string_view text, Millis t) {
  if (t < kFirstAcceptedTime || t > kLatestTime) {
    return Status::InvalidInput("'" + std::string(text) +
                                "' is outside the times the ledger accepts: years 1971 to 9999, in UTC");
  }
  return t;
}

}  // namespace

Result<Millis> ParseTime(std::string_view text) {
  size_t pos = 0;
  int year, month, day;
  if (!Digits(text, &pos, 4, &year) || !Expect(text, &pos, '-') ||
      !Digits(text, &pos, 2, &month) || !Expect(text, &pos, '-') ||
      !Digits(text, &pos, 2, &day)) {
    return Bad(text, "the date is not YYYY-MM-DD");
  }
  if (month < 1 || month > 12) return Bad(text, "month " + std::to_string(month) + " does not exist");
  if (day < 1 || static_cast<unsigned>(day) > DaysInMonth(year, month)) {
    return Bad(text, "day " + std::to_string(day) + " does not exist in that month");
  }
  Millis t = DaysFromCivil(year, month, day) * 86400000LL;
  if (pos == text.size()) return InRange(text, t);  // a date alone: 00:00 UTC

  if (!Expect(text, &pos, 'T') && !Expect(text, &pos, 't') && !Expect(text, &pos, ' ')) {
    return Bad(text, "expected 'T' after the date");
  }
  int hour, minute, second;
  if (!Digits(text, &pos, 2, &hour) || !Expect(text, &pos, ':') ||
      !Digits(text, &pos, 2, &minute) || !Expect(text, &pos, ':') ||
      !Digits(text, &pos, 2, &second)) {
    return Bad(text, "the time of day is not hh:mm:ss");
  }
  if (hour > 23 || minute > 59 || second > 59) return Bad(text, "hour, minute or second out of range");
  t += (hour * 3600LL + minute * 60LL + second) * 1000LL;
  if (Expect(text, &pos, '.')) {
    int ms = 0, n = 0;
    while (pos < text.size() && text[pos] >= '0' && text[pos] <= '9') {
      if (n < 3) ms = ms * 10 + (text[pos] - '0');
      ++n;
      ++pos;
    }
    if (n == 0) return Bad(text, "no digits after '.'");
    for (; n < 3; ++n) ms *= 10;
    t += ms;
  }
  if (Expect(text, &pos, 'Z') || Expect(text, &pos, 'z')) {
    // UTC
  } else if (pos < text.size() && (text[pos] == '+' || text[pos] == '-')) {
    const int sign = text[pos] == '+' ? 1 : -1;
    ++pos;
    int oh, om;
    if (!Digits(text, &pos, 2, &oh) || !Expect(text, &pos, ':') || !Digits(text, &pos, 2, &om) ||
        oh > 23 || om > 59) {
      return Bad(text, "the UTC offset is not +hh:mm");
    }
    t -= sign * (oh * 3600LL + om * 60LL) * 1000LL;
  } else {
    return Bad(text, "a time of day needs a zone: 'Z' or +hh:mm");
  }
  if (pos != text.size()) return Bad(text, "unexpected text after the time");
  return InRange(text, t);
}

Millis NowMillis() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string FormatTime(Millis t) {
  if (t == kForever) return "forever";
  if (t < kEarliestTime || t > kLatestTime) return "invalid-time(" + std::to_string(t) + ")";
  int64_t days = t >= 0 ? t / 86400000LL : -((-t + 86399999LL) / 86400000LL);
  int64_t rest = t - days * 86400000LL;
  int64_t y;
  unsigned m, d;
  CivilFromDays(days, &y, &m, &d);
  const int ms = static_cast<int>(rest % 1000);
  const int secs = static_cast<int>(rest / 1000);
  // Written digit by digit: answers format several times each, and snprintf was a
  // visible part of an answer's cost. Years are 0000..9999 (kEarliestTime..kLatestTime).
  std::string out = ms == 0 ? "0000-00-00T00:00:00Z" : "0000-00-00T00:00:00.000Z";
  auto put = [&out](size_t at, int value, int width) {
    for (int i = width - 1; i >= 0; --i, value /= 10) out[at + i] = static_cast<char>('0' + value % 10);
  };
  put(0, static_cast<int>(y), 4);
  put(5, static_cast<int>(m), 2);
  put(8, static_cast<int>(d), 2);
  put(11, secs / 3600, 2);
  put(14, secs / 60 % 60, 2);
  put(17, secs % 60, 2);
  if (ms != 0) put(20, ms, 3);
  return out;
}

std::string FormatDate(Millis t) {
  if (t == kForever) return "forever";
  return FormatTime(t).substr(0, 10);
}

}  // namespace ledger
