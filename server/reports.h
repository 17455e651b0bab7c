// POST /flowreports: a request body to flow events (doc/http.md).
#pragma once

#include <simdjson.h>

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "flowstat/event.h"

namespace flowstat::server {

// The events of a body, one at a time: a JSON array of event objects, or JSON Lines (one object
// per line, blank lines skipped). `content_type` chooses ("application/x-ndjson" is JSON Lines,
// "application/json" an array, or one object); any other type is recognized by the first
// character. Reading again from the start is cheap enough to answer with the errors of a body
// too large to hold them all (Service::Reports).
class ReportReader {
 public:
  // `body` must outlive the reader.
  ReportReader(std::string_view body, std::string_view content_type);
  ReportReader(const ReportReader&) = delete;
  ReportReader& operator=(const ReportReader&) = delete;

  // Set when the body itself is unreadable (not JSON, not an array); then Next returns kEnd.
  const std::string& body_error() const { return body_error_; }

  enum class Item { kEvent, kInvalid, kEnd };
  // The next event into *event, or why it is invalid into *reason; index() is its position.
  Item Next(FlowEvent* event, std::string* reason);
  // Position (from 0) of the item Next returned last.
  size_t index() const { return index_ - 1; }

 private:
  bool lines_ = false;
  std::string_view body_;
  size_t offset_ = 0;  // JSON Lines: where the next line starts
  simdjson::dom::parser parser_;
  simdjson::dom::array array_;
  simdjson::dom::array::iterator next_, end_;
  size_t index_ = 0;
  std::string body_error_;
};

struct ParsedReports {
  std::vector<FlowEvent> events;  // every event, when all are valid; else none
  size_t error_count = 0;         // invalid events
  struct EventError {
    size_t index;  // position in the body, from 0
    std::string description;
  };
  std::vector<EventError> errors;  // the first `kept_errors` of them
  std::string body_error;          // set when the body itself is unreadable
};

// Reads every event of `body` (see ReportReader), keeping the events while all are valid and
// the first `kept_errors` errors.
ParsedReports ParseReports(std::string_view body, std::string_view content_type, size_t kept_errors);

}  // namespace flowstat::server
