#include "server/http_query.h"

#include <array>
#include <charconv>

#include "util/text.h"

namespace flowstat::server {
namespace {

int HexDigit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

Result<std::string> PercentDecode(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '+') {
      out.push_back(' ');
    } else if (text[i] != '%') {
      out.push_back(text[i]);
    } else {
      const int hi = i + 1 < text.size() ? HexDigit(text[i + 1]) : -1;
      const int lo = i + 2 < text.size() ? HexDigit(text[i + 2]) : -1;
      if (hi < 0 || lo < 0) return Status::InvalidArgument("bad percent escape in the URL");
      out.push_back(static_cast<char>(hi * 16 + lo));
      i += 2;
    }
  }
  return out;
}

// Parameters of the original list API that every client sends; accepted, paging honoured.
constexpr std::array<std::string_view, 5> kClientListParameters{"page", "pagesize", "order", "override", "q"};

// The query parameters a URL may carry (doc/queries.md); "namespace" is handled apart.
constexpr std::array<std::string_view, 18> kQueryParameters{
    "recursive",       "startAbsolute", "endAbsolute",   "startRelative",  "endRelative", "flowOffset",
    "averageInterval", "metric",        "type",          "action",         "flowMode",    "sourceTags",
    "destinationTags", "sourceID",      "destinationID", "userIdentifier", "limit",       "now"};

template <size_t N>
bool OneOf(std::string_view name, const std::array<std::string_view, N>& names) {
  for (std::string_view n : names) {
    if (n == name) return true;
  }
  return false;
}

std::optional<ParameterError> ParseCount(std::string_view name, std::string_view text, uint64_t* out) {
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), *out);
  if (ec != std::errc() || end != text.data() + text.size()) {
    return ParameterError{std::string(name), std::string(name) + ": must be a non-negative integer"};
  }
  return std::nullopt;
}

}  // namespace

bool SameNamespace(std::string_view a, std::string_view b) {
  return util::WithoutTrailingSlashes(a) == util::WithoutTrailingSlashes(b);
}

ParameterError ParameterErrorOf(const Status& s) {
  const std::string& m = s.message();
  const size_t colon = m.find(": ");
  std::string parameter;
  if (colon != std::string::npos) {
    const std::string_view name(m.data(), colon);
    if (name == "namespace" || OneOf(name, kQueryParameters)) parameter = std::string(name);
  }
  return {parameter, m};
}

Result<std::vector<std::pair<std::string, std::string>>> ParseQueryString(std::string_view query) {
  std::vector<std::pair<std::string, std::string>> params;
  size_t start = 0;
  while (start <= query.size() && !query.empty()) {
    size_t end = query.find('&', start);
    if (end == std::string_view::npos) end = query.size();
    const std::string_view pair = query.substr(start, end - start);
    start = end + 1;
    if (pair.empty()) continue;
    const size_t eq = pair.find('=');
    auto name = PercentDecode(pair.substr(0, eq));
    auto value = PercentDecode(eq == std::string_view::npos ? std::string_view() : pair.substr(eq + 1));
    if (!name.ok()) return name.status();
    if (!value.ok()) return value.status();
    params.emplace_back(std::move(*name), std::move(*value));
    if (end == query.size()) break;
  }
  return params;
}

std::optional<ParameterError> BuildStatisticsRequest(const std::vector<std::pair<std::string, std::string>>& params,
                                                     const std::optional<std::string>& header_namespace,
                                                     StatisticsRequest* request) {
  std::optional<std::string> param_namespace;
  Query& q = request->query;
  for (const auto& [name, value] : params) {
    if (name == "namespace") {
      if (param_namespace && !SameNamespace(*param_namespace, value)) {
        return ParameterError{"namespace", "namespace: given twice with different values"};
      }
      param_namespace = value;
    } else if (name == "page") {
      if (auto e = ParseCount(name, value, &request->page)) return e;
    } else if (name == "pagesize") {
      if (auto e = ParseCount(name, value, &request->page_size)) return e;
    } else if (OneOf(name, kClientListParameters)) {
      // order, override, q: sent by the original clients with every list request; no meaning here.
    } else if (OneOf(name, kQueryParameters)) {
      if (Status s = SetQueryParameter(&q, name, value); !s.ok()) return ParameterErrorOf(s);
    } else {
      return ParameterError{name, name.substr(0, 64) + ": unknown parameter"};
    }
  }
  if (header_namespace && param_namespace && !SameNamespace(*header_namespace, *param_namespace)) {
    return ParameterError{"namespace", "namespace: the X-Namespace header and the namespace parameter differ"};
  }
  if (header_namespace)
    q.namespace_ = *header_namespace;
  else if (param_namespace)
    q.namespace_ = *param_namespace;
  else
    return ParameterError{"namespace", "namespace: missing (send the X-Namespace header)"};
  if (Status s = ValidateQuery(&q); !s.ok()) return ParameterErrorOf(s);
  return std::nullopt;
}

}  // namespace flowstat::server
