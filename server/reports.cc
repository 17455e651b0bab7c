#include "server/reports.h"

#include <simdjson.h>

namespace flowstat::server {
namespace {

void ParseLines(std::string_view body, ParsedReports* out) {
  size_t index = 0;
  size_t start = 0;
  while (start < body.size()) {
    size_t end = body.find('\n', start);
    if (end == std::string_view::npos) end = body.size();
    const std::string_view line = body.substr(start, end - start);
    start = end + 1;
    if (line.find_first_not_of(" \t\r") == std::string_view::npos) continue;
    FlowEvent e;
    if (Status s = ParseEventJson(line, &e); !s.ok())
      out->errors.push_back({index, s.message()});
    else
      out->events.push_back(std::move(e));
    ++index;
  }
}

void ParseArray(std::string_view body, ParsedReports* out) {
  simdjson::dom::parser parser;
  simdjson::dom::element root;
  if (auto error = parser.parse(body.data(), body.size()).get(root); error) {
    out->body_error = std::string("invalid JSON: ") + simdjson::error_message(error);
    return;
  }
  simdjson::dom::array array;
  if (root.get(array) != simdjson::SUCCESS) {
    out->body_error = "expected a JSON array of flow events";
    return;
  }
  size_t index = 0;
  for (simdjson::dom::element item : array) {
    FlowEvent e;
    Status s =
        item.is_object() ? ParseEventJson(simdjson::minify(item), &e) : Status::InvalidArgument("not a JSON object");
    if (!s.ok())
      out->errors.push_back({index, s.message()});
    else
      out->events.push_back(std::move(e));
    ++index;
  }
}

bool StartsWith(std::string_view text, std::string_view prefix) {
  return text.size() >= prefix.size() && text.substr(0, prefix.size()) == prefix;
}

}  // namespace

ParsedReports ParseReports(std::string_view body, std::string_view content_type) {
  ParsedReports out;
  bool lines;
  if (StartsWith(content_type, "application/x-ndjson") || StartsWith(content_type, "application/jsonl")) {
    lines = true;
  } else if (StartsWith(content_type, "application/json")) {
    const size_t first = body.find_first_not_of(" \t\r\n");
    lines = first != std::string_view::npos && body[first] == '{';  // a lone object is one event
  } else {
    const size_t first = body.find_first_not_of(" \t\r\n");
    lines = first == std::string_view::npos || body[first] != '[';
  }
  if (lines)
    ParseLines(body, &out);
  else
    ParseArray(body, &out);
  return out;
}

}  // namespace flowstat::server
