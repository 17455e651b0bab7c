// flowstat/query.h — FlowStatistic queries (doc/queries.md): parameters in, FlowStatistic objects out.
//
// A Query is a plain value holding the parameters of the original FlowStatistic API. Parsing
// helpers turn the textual forms (durations, times, a JSON parameter object) into a Query;
// Store::Query (flowstat/store.h) evaluates it. All figures are exact.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "flowstat/status.h"

namespace flowstat {

enum class Metric { kFlows, kPorts };
enum class StatisticType { kSerie, kRepartition };
enum class ActionFilter { kAny, kAccept, kReject };
enum class FlowMode { kApplied, kObserved, kAll };
enum class Mode { kAccepted, kRejected };

struct Query {
  std::string namespace_;  // required; normalized like an event's namespace
  bool recursive = true;   // include namespaces below namespace_
  // Window bounds in epoch ms / durations in ms; see ResolveWindow for the allowed combinations.
  std::optional<int64_t> start_absolute, end_absolute;
  std::optional<int64_t> start_relative, end_relative;  // positive durations
  int64_t flow_offset_ms = 0;                           // added to both bounds; may be negative
  int64_t average_interval_ms = 3600000;                // Serie bucket width, whole seconds, >= 1s
  Metric metric = Metric::kFlows;
  StatisticType type = StatisticType::kSerie;
  ActionFilter action = ActionFilter::kAny;
  FlowMode flow_mode = FlowMode::kApplied;
  std::vector<std::string> source_tags, destination_tags;  // "key=value"; all must be carried
  std::vector<std::string> source_ids, destination_ids;    // empty: any
  std::string user_identifier;
  std::optional<uint64_t> limit;  // Repartition: keep the first N entries
  std::optional<int64_t> now_ms;  // the clock for relative windows; unset: the system clock
};

// The half-open window [start_ms, end_ms) a query covers.
struct Window {
  int64_t start_ms = 0;
  int64_t end_ms = 0;
};

// Applies the window rules of doc/queries.md and flowOffset. InvalidArgument for an absolute bound alone,
// an absolute and a relative bound for the same end, or start >= end.
Result<Window> ResolveWindow(const Query& query);

// Checks every parameter (namespace, interval, selectors) and normalizes the namespace.
Status ValidateQuery(Query* query);

// Parses a duration "90s", "15m", "-3s", "1500ms" (units ms s m h d) into signed milliseconds.
Result<int64_t> ParseDuration(std::string_view text);

// Sets one parameter of §3 by its API name ("namespace", "startRelative", "sourceTags", ...)
// from its text form; list parameters (tags, IDs) append. Times are RFC 3339 or epoch ms,
// durations as ParseDuration (a bare integer is milliseconds). InvalidArgument names the
// parameter. Used for `flowstat query` flags and --batch lines alike.
Status SetQueryParameter(Query* query, std::string_view name, std::string_view value);

// Parses one JSON object of §3 parameters (the `query --batch` line format) into *query and
// validates it. Unknown fields (such as "name") are ignored.
Status ParseQueryJson(std::string_view json, Query* query);

// Sums are exact: 128 bits hold any sum of 2^53-1 values over 2^75 events.
using Count = unsigned __int128;

struct DataPoint {
  int64_t timestamp_ms = 0;    // Serie: bucket start
  std::string source_id;       // Repartition Flows
  std::string destination_id;  // Repartition Flows
  uint32_t port = 0;           // Repartition Ports
  Count value = 0;
};

struct FlowStatistic {
  std::string id;  // stable: a hash of the normalized query and mode
  StatisticType type = StatisticType::kSerie;
  Metric metric = Metric::kFlows;
  Mode mode = Mode::kAccepted;
  std::vector<DataPoint> data_points;
  std::vector<std::string> source_ids, destination_ids;    // distinct contributors, sorted
  std::vector<std::string> source_tags, destination_tags;  // the query's selectors
  std::string user_identifier;
};

// Per-query work counters, to show that the planner reads what the query needs.
struct QueryStats {
  uint64_t chunks_read = 0;       // RocksDB values (namespace × source shard × hour chunks) read
  uint64_t rollups_read = 0;      // current hour rollups used instead of chunks
  uint64_t day_rollups_read = 0;  // current day rollups used (instead of hours, or for their IDs)
  uint64_t bytes_read = 0;        // their size
  uint64_t events_examined = 0;   // events decoded and tested against the filters
  uint64_t events_matched = 0;    // events that contributed to a result
};

// The decimal digits of a Count.
std::string FormatCount(Count value);

// The FlowStatisticsList of doc/queries.md as a JSON array (one line, no trailing newline).
std::string FormatStatisticsJson(const std::vector<FlowStatistic>& list);

}  // namespace flowstat
