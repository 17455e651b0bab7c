// flowstat/event.h — one flow event, as reported by an enforcer (doc/input.md).
//
// A FlowEvent is a plain value. Its identity is its content: two events whose fields are all equal
// are the same event and are stored and counted once (doc/input.md, identity). Optional fields that are absent
// are distinct from any present value, except where doc/input.md gives a default (value = 1,
// observed = false, observedAction = NotApplicable), which are applied when parsing.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "flowstat/status.h"

namespace flowstat {

// DO NOT CHANGE the numeric values: they are persisted (doc/storage-format.md).
enum class Action : uint8_t { kAccept = 0, kReject = 1 };
enum class ObservedAction : uint8_t { kNotApplicable = 0, kAccept = 1, kReject = 2 };
enum class EndpointType : uint8_t { kUnset = 0, kProcessingUnit = 1, kExternalNetwork = 2, kClaims = 3 };

struct FlowEvent {
  int64_t timestamp_ms = 0;    // epoch milliseconds, 0 … 253402300799999 (year 9999)
  std::string namespace_;      // starts with '/', no trailing '/' except for "/" itself
  std::string source_id;       // non-empty
  std::string destination_id;  // non-empty
  Action action = Action::kAccept;
  uint64_t value = 1;  // 1 … 2^53-1
  EndpointType source_type = EndpointType::kUnset;
  EndpointType destination_type = EndpointType::kUnset;
  std::vector<std::string> source_tags;  // each "key=value", order kept as reported
  std::vector<std::string> destination_tags;
  std::optional<std::string> source_ip;
  std::optional<std::string> destination_ip;
  std::optional<uint16_t> destination_port;
  std::optional<uint8_t> protocol;
  bool observed = false;
  ObservedAction observed_action = ObservedAction::kNotApplicable;
  std::optional<bool> encrypted;
  std::optional<bool> observed_encrypted;
  // Stored and returned by dump; never used by queries.
  std::optional<std::string> drop_reason, observed_drop_reason, policy_id, policy_namespace, observed_policy_id,
      observed_policy_namespace, service_type, service_id, service_url;

  bool operator==(const FlowEvent&) const = default;
};

// The largest `value` an event may carry (2^53 - 1, exact in a JSON double).
inline constexpr uint64_t kMaxEventValue = (uint64_t{1} << 53) - 1;
// The largest timestamp accepted: 9999-12-31T23:59:59.999Z.
inline constexpr int64_t kMaxTimestampMs = 253402300799999;

// Whether namespace `ns` lies in the subtree of `scope` (both normalized): `scope` itself or a
// namespace that continues it with '/' — never a sibling that merely shares its prefix
// (/acme/prod covers /acme/prod/web, not /acme/prodx). "/" covers every namespace. The one rule
// that recursive queries, token grants and namespace removal all follow.
bool NamespaceCovers(std::string_view scope, std::string_view ns);

// Checks the invariants listed above and that every string is UTF-8 (answers are JSON), and
// normalizes the namespace (strips trailing '/'). Returns InvalidArgument naming the first
// offending field ("sourceID: invalid UTF-8").
Status ValidateEvent(FlowEvent* event);

// Parses one JSON object of doc/input.md into *event (defaults applied, validated).
// `line` need not be padded or NUL-terminated. Unknown fields are ignored.
Status ParseEventJson(std::string_view line, FlowEvent* event);

// Writes `event` as one JSON object of doc/input.md (timestamps in epoch ms, every stored field),
// without a trailing newline. ParseEventJson(FormatEventJson(e)) == e.
std::string FormatEventJson(const FlowEvent& event);

// Reads the CSV form of doc/input.md: a header row naming columns with the JSON field names, then
// one event per row; tag columns hold tags separated by ';'. Fields may be quoted ("a,b", "" for
// a quote); a record spans one line. An empty cell is an absent field.
class CsvEventParser {
 public:
  // REQUIRES: called once, with the header row, before Parse.
  Status SetHeader(std::string_view line);
  Status Parse(std::string_view line, FlowEvent* event) const;

 private:
  std::vector<std::string> columns_;
};

// Parses an RFC 3339 time ("2025-11-19T13:05:00.123Z", offsets allowed) or a string of digits
// (epoch ms) into epoch milliseconds. Sub-millisecond digits are truncated.
Result<int64_t> ParseTime(std::string_view text);

// Formats epoch milliseconds as "YYYY-MM-DDTHH:MM:SSZ" (UTC, whole seconds, floor).
std::string FormatTimeSeconds(int64_t epoch_ms);

}  // namespace flowstat
