#include "server/reports.h"

namespace flowstat::server {
namespace {

bool StartsWith(std::string_view text, std::string_view prefix) {
  return text.size() >= prefix.size() && text.substr(0, prefix.size()) == prefix;
}

bool IsJsonLines(std::string_view body, std::string_view content_type) {
  if (StartsWith(content_type, "application/x-ndjson") || StartsWith(content_type, "application/jsonl")) return true;
  const size_t first = body.find_first_not_of(" \t\r\n");
  if (StartsWith(content_type, "application/json")) {
    return first != std::string_view::npos && body[first] == '{';  // a lone object is one event
  }
  return first == std::string_view::npos || body[first] != '[';
}

}  // namespace

ReportReader::ReportReader(std::string_view body, std::string_view content_type)
    : lines_(IsJsonLines(body, content_type)), body_(body) {
  if (lines_) return;
  simdjson::dom::element root;
  if (auto error = parser_.parse(body.data(), body.size()).get(root); error) {
    body_error_ = std::string("invalid JSON: ") + simdjson::error_message(error);
  } else if (root.get(array_) != simdjson::SUCCESS) {
    body_error_ = "expected a JSON array of flow events";
  } else {
    next_ = array_.begin();
    end_ = array_.end();
  }
}

ReportReader::Item ReportReader::Next(FlowEvent* event, std::string* reason) {
  Status s;
  if (lines_) {
    std::string_view line;
    do {
      if (offset_ >= body_.size()) return Item::kEnd;
      size_t end = body_.find('\n', offset_);
      if (end == std::string_view::npos) end = body_.size();
      line = body_.substr(offset_, end - offset_);
      offset_ = end + 1;
    } while (line.find_first_not_of(" \t\r") == std::string_view::npos);
    s = ParseEventJson(line, event);
  } else {
    if (!body_error_.empty() || next_ == end_) return Item::kEnd;
    const simdjson::dom::element item = *next_;
    ++next_;
    s = item.is_object() ? ParseEventJson(simdjson::minify(item), event) : Status::InvalidArgument("not a JSON object");
  }
  ++index_;
  if (s.ok()) return Item::kEvent;
  *reason = s.message();
  return Item::kInvalid;
}

ParsedReports ParseReports(std::string_view body, std::string_view content_type, size_t kept_errors) {
  ParsedReports out;
  ReportReader reader(body, content_type);
  out.body_error = reader.body_error();
  FlowEvent event;
  std::string reason;
  for (ReportReader::Item item; (item = reader.Next(&event, &reason)) != ReportReader::Item::kEnd;) {
    if (item == ReportReader::Item::kEvent) {
      if (out.error_count == 0) out.events.push_back(std::move(event));
      continue;
    }
    if (out.error_count++ == 0) out.events = {};  // refused whole: what was parsed is not kept
    if (out.errors.size() < kept_errors) out.errors.push_back({reader.index(), reason});
  }
  return out;
}

}  // namespace flowstat::server
