// RFC 3339 times and epoch milliseconds.
#include <algorithm>
#include <cstdio>
#include <cstring>
#include <string>

#include "flowstat/event.h"
#include "schema/time_text.h"

namespace flowstat {
namespace {

// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
int64_t DaysFromCivil(int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const unsigned yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
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

bool IsLeap(int64_t y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }

unsigned DaysInMonth(int64_t y, unsigned m) {
  static const unsigned kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  return m == 2 && IsLeap(y) ? 29 : kDays[m - 1];
}

// Reads exactly `n` digits at text[*pos].
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

bool Expect(std::string_view text, size_t* pos, char a, char b = 0) {
  if (*pos >= text.size() || (text[*pos] != a && (b == 0 || text[*pos] != b))) return false;
  ++*pos;
  return true;
}

Result<int64_t> ParseEpochDigits(std::string_view text) {
  if (text.size() > 15) return Status::InvalidArgument("out of range (max 253402300799999)");
  int64_t v = 0;
  for (char c : text) v = v * 10 + (c - '0');
  if (v > kMaxTimestampMs) return Status::InvalidArgument("out of range (max 253402300799999)");
  return v;
}

Status BadTime(std::string_view text) {
  return Status::InvalidArgument("bad RFC 3339 time '" + std::string(text.substr(0, 64)) + "'");
}

}  // namespace

Result<int64_t> ParseTime(std::string_view text) {
  if (text.empty()) return Status::InvalidArgument("empty time");
  if (text.find_first_not_of("0123456789") == std::string_view::npos) return ParseEpochDigits(text);
  size_t p = 0;
  int year = 0, month = 0, day = 0, hour = 0, minute = 0, second = 0;
  if (!Digits(text, &p, 4, &year) || !Expect(text, &p, '-') || !Digits(text, &p, 2, &month) || !Expect(text, &p, '-') ||
      !Digits(text, &p, 2, &day) || !Expect(text, &p, 'T', 't') || !Digits(text, &p, 2, &hour) ||
      !Expect(text, &p, ':') || !Digits(text, &p, 2, &minute) || !Expect(text, &p, ':') ||
      !Digits(text, &p, 2, &second)) {
    if (p < text.size() && text[p] == ' ') return BadTime(text);
    return BadTime(text);
  }
  if (month < 1 || month > 12 || day < 1 || static_cast<unsigned>(day) > DaysInMonth(year, month) || hour > 23 ||
      minute > 59 || second > 60) {
    return BadTime(text);
  }
  int millis = 0;
  if (p < text.size() && text[p] == '.') {
    ++p;
    int digits = 0;
    while (p < text.size() && text[p] >= '0' && text[p] <= '9') {
      if (digits < 3) millis = millis * 10 + (text[p] - '0');
      ++digits;
      ++p;
    }
    if (digits == 0) return BadTime(text);
    for (int i = digits; i < 3; ++i) millis *= 10;
  }
  int64_t offset_minutes = 0;
  if (p < text.size() && (text[p] == 'Z' || text[p] == 'z')) {
    ++p;
  } else if (p < text.size() && (text[p] == '+' || text[p] == '-')) {
    const int sign = text[p] == '-' ? -1 : 1;
    ++p;
    int oh, om;
    if (!Digits(text, &p, 2, &oh) || !Expect(text, &p, ':') || !Digits(text, &p, 2, &om) || oh > 23 || om > 59) {
      return BadTime(text);
    }
    offset_minutes = sign * (oh * 60 + om);
  } else {
    return BadTime(text);
  }
  if (p != text.size()) return BadTime(text);
  const int64_t seconds =
      DaysFromCivil(year, month, day) * 86400 + hour * 3600 + minute * 60 + second - offset_minutes * 60;
  const int64_t ms = seconds * 1000 + millis;
  if (ms < 0 || ms > kMaxTimestampMs) {
    return Status::InvalidArgument("'" + std::string(text.substr(0, 64)) + "' out of range (1970 .. 9999)");
  }
  return ms;
}

namespace schema {

size_t FormatTimeSecondsTo(int64_t epoch_ms, char (&out)[kTimeSecondsTextMax]) {
  int64_t secs = epoch_ms >= 0 ? epoch_ms / 1000 : -((-epoch_ms + 999) / 1000);
  int64_t days = secs >= 0 ? secs / 86400 : -((-secs + 86399) / 86400);
  int64_t rem = secs - days * 86400;
  int64_t y;
  unsigned m, d;
  CivilFromDays(days, &y, &m, &d);
  const auto hour = static_cast<unsigned>(rem / 3600), minute = static_cast<unsigned>(rem / 60 % 60),
             second = static_cast<unsigned>(rem % 60);
  if (y >= 0 && y <= 9999) {  // by hand: a Serie of a million points formats a million of these
    static constexpr char kPattern[] = "0000-00-00T00:00:00Z";
    std::memcpy(out, kPattern, sizeof kPattern - 1);
    auto two = [&](size_t at, unsigned v) {
      out[at] = static_cast<char>('0' + v / 10);
      out[at + 1] = static_cast<char>('0' + v % 10);
    };
    two(0, static_cast<unsigned>(y / 100));
    two(2, static_cast<unsigned>(y % 100));
    two(5, m);
    two(8, d);
    two(11, hour);
    two(14, minute);
    two(17, second);
    return sizeof kPattern - 1;
  }
  const int n = std::snprintf(out, sizeof out, "%04lld-%02u-%02uT%02u:%02u:%02uZ", static_cast<long long>(y), m, d,
                              hour, minute, second);
  return std::min(static_cast<size_t>(std::max(n, 0)), sizeof out - 1);
}

}  // namespace schema

std::string FormatTimeSeconds(int64_t epoch_ms) {
  char text[schema::kTimeSecondsTextMax];
  return std::string(text, schema::FormatTimeSecondsTo(epoch_ms, text));
}

}  // namespace flowstat
