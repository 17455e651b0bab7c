#include "util/json_text.h"

#include <simdjson.h>

#include <cstdint>
#include <cstring>

namespace flowstat::util {

namespace {

bool NeedsEscape(unsigned char c) { return c < 0x20 || c == '"' || c == '\\'; }

// Whether any of the 8 bytes of `w` needs escaping, in a few word operations (the classic
// "has a zero byte" test: a byte's high bit survives (b - 1) & ~b only when b was zero; a byte
// below 0x20 is found the same way with 0x20 in place of 1, its high bit clear).
bool AnyNeedsEscape(uint64_t w) {
  constexpr uint64_t kOnes = 0x0101010101010101ull, kHighs = 0x8080808080808080ull;
  auto has_zero = [&](uint64_t v) { return (v - kOnes) & ~v & kHighs; };
  const uint64_t below_space = (w - kOnes * 0x20) & ~w & kHighs;
  return (below_space | has_zero(w ^ (kOnes * '"')) | has_zero(w ^ (kOnes * '\\'))) != 0;
}

// Where the bytes of `s` from `from` that need no escaping end. ORs the bytes it passes over into
// *passed, whose high bits then tell whether any of them was not ASCII.
size_t CleanRunEnd(std::string_view s, size_t from, uint64_t* passed) {
  size_t end = from;
  for (uint64_t w; end + 8 <= s.size(); end += 8) {
    std::memcpy(&w, s.data() + end, 8);
    if (AnyNeedsEscape(w)) break;
    *passed |= w;
  }
  for (; end < s.size() && !NeedsEscape(static_cast<unsigned char>(s[end])); ++end) {
    *passed |= static_cast<unsigned char>(s[end]);
  }
  return end;
}

// The bytes of a UTF-8 sequence its lead byte announces; 0 for a byte no sequence starts with.
size_t SequenceLength(unsigned char lead) {
  if (lead < 0x80) return 1;
  if (lead >= 0xc2 && lead <= 0xdf) return 2;
  if (lead >= 0xe0 && lead <= 0xef) return 3;
  if (lead >= 0xf0 && lead <= 0xf4) return 4;
  return 0;
}

// `s` with every byte that is not part of a well-formed sequence replaced by U+FFFD.
std::string Repaired(std::string_view s) {
  std::string out;
  for (size_t i = 0; i < s.size();) {
    const size_t n = SequenceLength(static_cast<unsigned char>(s[i]));
    if (n != 0 && i + n <= s.size() && IsUtf8(s.substr(i, n))) {
      out.append(s.data() + i, n);
      i += n;
    } else {
      out.append("\xef\xbf\xbd");
      ++i;
    }
  }
  return out;
}

}  // namespace

bool IsUtf8(std::string_view s) { return simdjson::validate_utf8(s.data(), s.size()); }

void AppendJsonString(std::string* out, std::string_view s) {
  static const char kHex[] = "0123456789abcdef";
  const size_t start = out->size();
  uint64_t passed = 0;  // every byte copied unescaped, ORed: checks UTF-8 only when one was not ASCII
  out->push_back('"');
  // Runs without anything to escape (all of an ID, most of anything) go in one append: an
  // unlimited Repartition writes millions of such bytes.
  for (size_t run = 0; run < s.size();) {
    const size_t end = CleanRunEnd(s, run, &passed);
    out->append(s.data() + run, end - run);
    if (end == s.size()) break;
    const auto c = static_cast<unsigned char>(s[end]);
    run = end + 1;
    switch (c) {
      case '"':
        out->append("\\\"");
        break;
      case '\\':
        out->append("\\\\");
        break;
      case '\n':
        out->append("\\n");
        break;
      case '\r':
        out->append("\\r");
        break;
      case '\t':
        out->append("\\t");
        break;
      case '\b':
        out->append("\\b");
        break;
      case '\f':
        out->append("\\f");
        break;
      default:  // the other control characters
        out->append("\\u00");
        out->push_back(kHex[c >> 4]);
        out->push_back(kHex[c & 15]);
    }
  }
  out->push_back('"');
  if ((passed & 0x8080808080808080ull) && !IsUtf8(s)) {
    out->resize(start);
    AppendJsonString(out, Repaired(s));
  }
}

}  // namespace flowstat::util
