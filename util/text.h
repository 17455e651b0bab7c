// Small text helpers shared by the input readers (schema/) and the query parameters (query/), so
// that CSV cells, JSON values and command-line flags accept exactly the same spellings.
#pragma once

#include <array>
#include <charconv>
#include <cstdint>
#include <cstring>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace flowstat::util {

// ASCII case-insensitive equality ("Accept" == "ACCEPT"). On the import path (every event's
// action and types): plain arithmetic, no locale lookups.
inline bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  auto lower = [](char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; };
  for (size_t i = 0; i < a.size(); ++i) {
    if (lower(a[i]) != lower(b[i])) return false;
  }
  return true;
}

// `s` without the blanks (space, tab, CR) at either end: CSV cells, HTTP header list members.
inline std::string_view TrimBlanks(std::string_view s) {
  auto blank = [](char c) { return c == ' ' || c == '\t' || c == '\r'; };
  while (!s.empty() && blank(s.front())) s.remove_prefix(1);
  while (!s.empty() && blank(s.back())) s.remove_suffix(1);
  return s;
}

// A namespace without trailing '/' ("/acme/" is "/acme"), except "/" itself: how namespaces are
// normalized everywhere (events, queries, token grants).
inline std::string_view WithoutTrailingSlashes(std::string_view ns) {
  while (ns.size() > 1 && ns.back() == '/') ns.remove_suffix(1);
  return ns;
}

// a == b, without a call for strings of up to 16 bytes (JSON field names, compared once per field
// of every imported event): two loads of each, which overlap when shorter than the pair of them.
inline bool EqualsShort(std::string_view a, std::string_view b) {
  const size_t n = a.size();
  if (n != b.size()) return false;
  auto load8 = [](const char* p) {
    uint64_t v;
    std::memcpy(&v, p, 8);
    return v;
  };
  auto load4 = [](const char* p) {
    uint32_t v;
    std::memcpy(&v, p, 4);
    return v;
  };
  if (n >= 8 && n <= 16) {
    return load8(a.data()) == load8(b.data()) && load8(a.data() + n - 8) == load8(b.data() + n - 8);
  }
  if (n >= 4 && n < 8) {
    return load4(a.data()) == load4(b.data()) && load4(a.data() + n - 4) == load4(b.data() + n - 4);
  }
  return a == b;
}

// `text`, all of it, as a decimal integer of type T (a leading '-' only for signed types, no
// blanks); nullopt for anything else, a value out of T's range included.
template <typename T>
std::optional<T> ParseInteger(std::string_view text) {
  T value{};
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size()) return std::nullopt;
  return value;
}

// "true" / "false" in any case; nullopt for anything else.
inline std::optional<bool> ParseBoolText(std::string_view text) {
  if (EqualsIgnoreCase(text, "true")) return true;
  if (EqualsIgnoreCase(text, "false")) return false;
  return std::nullopt;
}

// The words of `line`: what runs of spaces, tabs and carriage returns separate.
inline std::vector<std::string_view> SplitOnBlanks(std::string_view line) {
  auto blank = [](char c) { return c == ' ' || c == '\t' || c == '\r'; };
  std::vector<std::string_view> words;
  size_t i = 0;
  while (i < line.size()) {
    while (i < line.size() && blank(line[i])) ++i;
    size_t j = i;
    while (j < line.size() && !blank(line[j])) ++j;
    if (j > i) words.push_back(line.substr(i, j - i));
    i = j;
  }
  return words;
}

// A closed set of names (case-insensitive on input) and the values they stand for. The names are
// views of string literals (NUL-terminated).
template <typename Enum, size_t N>
using NameTable = std::array<std::pair<std::string_view, Enum>, N>;

// The value named `text`. The spelling of the table first: what reporters send, four times per
// imported event.
template <typename Enum, size_t N>
std::optional<Enum> FindName(std::string_view text, const NameTable<Enum, N>& names) {
  for (const auto& [name, value] : names) {
    if (EqualsShort(text, name)) return value;
  }
  for (const auto& [name, value] : names) {
    if (EqualsIgnoreCase(text, name)) return value;
  }
  return std::nullopt;
}

// "must be one of A|B|C, got 'TEXT'": the reason given for a name not in the table.
template <typename Enum, size_t N>
std::string UnknownNameReason(std::string_view text, const NameTable<Enum, N>& names) {
  std::string reason = "must be one of ";
  for (size_t i = 0; i < N; ++i) {
    if (i) reason += '|';
    reason += names[i].first;
  }
  reason += ", got '";
  reason += text.substr(0, 64);
  reason += '\'';
  return reason;
}

}  // namespace flowstat::util
