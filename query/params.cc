// Query parameters: durations, windows, the name -> field mapping shared by flags and --batch.
#include <simdjson.h>

#include <charconv>
#include <chrono>
#include <string>

#include "flowstat/query.h"
#include "schema/event_fields.h"
#include "util/json_text.h"
#include "util/text.h"

namespace flowstat {
namespace {

constexpr int64_t kMaxDurationMs = int64_t{10000} * 366 * 86400000;  // 10,000 years

Status ParamError(std::string_view name, std::string_view reason) {
  return Status::InvalidArgument(std::string(name) + ": " + std::string(reason));
}

template <typename Enum, size_t N>
Status ParseChoice(std::string_view name, std::string_view text, const util::NameTable<Enum, N>& choices, Enum* out) {
  const std::optional<Enum> value = util::FindName(text, choices);
  if (!value) return ParamError(name, util::UnknownNameReason(text, choices));
  *out = *value;
  return Status::Ok();
}

Status ParseBool(std::string_view name, std::string_view text, bool* out) {
  const std::optional<bool> value = util::ParseBoolText(text);
  if (!value) return ParamError(name, "must be true or false");
  *out = *value;
  return Status::Ok();
}

Status SetTime(std::string_view name, std::string_view text, std::optional<int64_t>* out) {
  auto t = ParseTime(text);
  if (!t.ok()) return ParamError(name, t.status().message());
  *out = *t;
  return Status::Ok();
}

Status SetDuration(std::string_view name, std::string_view text, bool keep_sign, int64_t* out) {
  auto d = ParseDuration(text);
  if (!d.ok()) return ParamError(name, d.status().message());
  *out = keep_sign ? *d : (*d < 0 ? -*d : *d);
  return Status::Ok();
}

Status SetRelative(std::string_view name, std::string_view text, std::optional<int64_t>* out) {
  int64_t d;
  Status s = SetDuration(name, text, false, &d);
  if (s.ok()) *out = d;
  return s;
}

Status SetLimit(std::string_view text, Query* q) {
  uint64_t v;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc() || end != text.data() + text.size())
    return ParamError("limit", "must be a non-negative integer");
  q->limit = v;
  return Status::Ok();
}

int64_t NowMs() {
  using namespace std::chrono;
  return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
}

// Appends the text of a JSON scalar or each element of an array through SetQueryParameter.
Status SetFromJson(Query* q, std::string_view name, simdjson::dom::element v) {
  using simdjson::dom::element_type;
  switch (v.type()) {
    case element_type::STRING:
      return SetQueryParameter(q, name, v.get_string().value_unsafe());
    case element_type::INT64:
      return SetQueryParameter(q, name, std::to_string(v.get_int64().value_unsafe()));
    case element_type::UINT64:
      return SetQueryParameter(q, name, std::to_string(v.get_uint64().value_unsafe()));
    case element_type::BOOL:
      return SetQueryParameter(q, name, v.get_bool().value_unsafe() ? "true" : "false");
    case element_type::NULL_VALUE:
      return Status::Ok();
    case element_type::ARRAY: {
      simdjson::dom::array array = v.get_array().value_unsafe();
      for (simdjson::dom::element item : array) {
        if (item.is_array() || item.is_object()) return ParamError(name, "must hold strings");
        Status s = SetFromJson(q, name, item);
        if (!s.ok()) return s;
      }
      return Status::Ok();
    }
    case element_type::OBJECT: {  // selectors may also be written {"key": "value"}
      simdjson::dom::object object = v.get_object().value_unsafe();
      for (auto [key, value] : object) {
        std::string_view text;
        if (value.get(text) != simdjson::SUCCESS) return ParamError(name, "selector values must be strings");
        Status s = SetQueryParameter(q, name, std::string(key) + "=" + std::string(text));
        if (!s.ok()) return s;
      }
      return Status::Ok();
    }
    default:
      return ParamError(name, "has the wrong type");
  }
}

}  // namespace

Result<int64_t> ParseDuration(std::string_view text) {
  std::string_view t = text;
  bool negative = false;
  if (!t.empty() && t[0] == '-') negative = true, t.remove_prefix(1);
  size_t digits = 0;
  while (digits < t.size() && t[digits] >= '0' && t[digits] <= '9') ++digits;
  if (digits == 0 || digits > 15) {
    return Status::InvalidArgument("bad duration '" + std::string(text.substr(0, 32)) +
                                   "' (want e.g. 90s, 15m, 1h, 7d)");
  }
  int64_t n = 0;
  std::from_chars(t.data(), t.data() + digits, n);
  std::string_view unit = t.substr(digits);
  int64_t scale;
  if (unit.empty() || unit == "ms")
    scale = 1;
  else if (unit == "s")
    scale = 1000;
  else if (unit == "m")
    scale = 60000;
  else if (unit == "h")
    scale = 3600000;
  else if (unit == "d")
    scale = 86400000;
  else
    return Status::InvalidArgument("bad duration unit in '" + std::string(text.substr(0, 32)) + "' (ms, s, m, h or d)");
  if (n > kMaxDurationMs / scale)
    return Status::InvalidArgument("duration '" + std::string(text.substr(0, 32)) + "' too large");
  return negative ? -n * scale : n * scale;
}

Status SetQueryParameter(Query* q, std::string_view name, std::string_view v) {
  static constexpr util::NameTable<Metric, 2> kMetrics{{{"Flows", Metric::kFlows}, {"Ports", Metric::kPorts}}};
  static constexpr util::NameTable<StatisticType, 2> kTypes{
      {{"Serie", StatisticType::kSerie}, {"Repartition", StatisticType::kRepartition}}};
  static constexpr util::NameTable<ActionFilter, 3> kActions{
      {{"accept", ActionFilter::kAccept}, {"reject", ActionFilter::kReject}, {"any", ActionFilter::kAny}}};
  static constexpr util::NameTable<FlowMode, 3> kModes{
      {{"applied", FlowMode::kApplied}, {"observed", FlowMode::kObserved}, {"all", FlowMode::kAll}}};
  if (name == "namespace") return q->namespace_.assign(v), Status::Ok();
  if (name == "recursive") return ParseBool(name, v, &q->recursive);
  if (name == "startAbsolute") return SetTime(name, v, &q->start_absolute);
  if (name == "endAbsolute") return SetTime(name, v, &q->end_absolute);
  if (name == "startRelative") return SetRelative(name, v, &q->start_relative);
  if (name == "endRelative") return SetRelative(name, v, &q->end_relative);
  if (name == "flowOffset") return SetDuration(name, v, true, &q->flow_offset_ms);
  if (name == "averageInterval") return SetDuration(name, v, false, &q->average_interval_ms);
  if (name == "metric") return ParseChoice(name, v, kMetrics, &q->metric);
  if (name == "type") return ParseChoice(name, v, kTypes, &q->type);
  if (name == "action") return ParseChoice(name, v, kActions, &q->action);
  if (name == "flowMode") return ParseChoice(name, v, kModes, &q->flow_mode);
  if (name == "sourceTags") return q->source_tags.emplace_back(v), Status::Ok();
  if (name == "destinationTags") return q->destination_tags.emplace_back(v), Status::Ok();
  if (name == "sourceID") return q->source_ids.emplace_back(v), Status::Ok();
  if (name == "destinationID") return q->destination_ids.emplace_back(v), Status::Ok();
  if (name == "userIdentifier") return q->user_identifier.assign(v), Status::Ok();
  if (name == "limit") return SetLimit(v, q);
  if (name == "now") return SetTime(name, v, &q->now_ms);
  return ParamError(name, "unknown parameter");
}

Status ParseQueryJson(std::string_view json, Query* q) {
  *q = Query();
  thread_local simdjson::dom::parser parser;
  simdjson::dom::element root;
  auto error = parser.parse(json.data(), json.size(), true).get(root);
  if (error) return Status::InvalidArgument(std::string("invalid JSON: ") + simdjson::error_message(error));
  simdjson::dom::object object;
  if (root.get(object) != simdjson::SUCCESS) return Status::InvalidArgument("not a JSON object");
  static const std::string_view kKnown[] = {
      "namespace",  "recursive",       "startAbsolute", "endAbsolute",   "startRelative",  "endRelative",
      "flowOffset", "averageInterval", "metric",        "type",          "action",         "flowMode",
      "sourceTags", "destinationTags", "sourceID",      "destinationID", "userIdentifier", "limit",
      "now"};
  for (auto [key, value] : object) {
    if (std::find(std::begin(kKnown), std::end(kKnown), key) == std::end(kKnown)) continue;
    Status s = SetFromJson(q, key, value);
    if (!s.ok()) return s;
  }
  return ValidateQuery(q);
}

Status ValidateQuery(Query* q) {
  if (q->namespace_.empty()) return ParamError("namespace", "is required");
  Status s = schema::NormalizeNamespace("namespace", &q->namespace_);
  if (!s.ok()) return s;
  if (q->average_interval_ms < 1000 || q->average_interval_ms % 1000 != 0) {
    return ParamError("averageInterval", "must be a whole number of seconds, at least 1s");
  }
  // Every string that an answer or an error may quote: JSON is UTF-8.
  for (const auto& [name, strings] : {std::pair{"sourceTags", &q->source_tags},
                                      {"destinationTags", &q->destination_tags},
                                      {"sourceID", &q->source_ids},
                                      {"destinationID", &q->destination_ids}}) {
    for (const auto& text : *strings) {
      if (!util::IsUtf8(text)) return ParamError(name, "invalid UTF-8");
    }
  }
  for (const auto& [name, text] : {std::pair{"namespace", &q->namespace_}, {"userIdentifier", &q->user_identifier}}) {
    if (!util::IsUtf8(*text)) return ParamError(name, "invalid UTF-8");
  }
  for (const auto* tags : {&q->source_tags, &q->destination_tags}) {
    for (const auto& tag : *tags) {
      size_t eq = tag.find('=');
      if (eq == std::string::npos || eq == 0) {
        return ParamError(tags == &q->source_tags ? "sourceTags" : "destinationTags",
                          "selector '" + tag.substr(0, 64) + "' is not key=value");
      }
    }
  }
  return ResolveWindow(*q).status();
}

Result<Window> ResolveWindow(const Query& q) {
  const bool sa = q.start_absolute.has_value(), ea = q.end_absolute.has_value();
  const bool sr = q.start_relative.has_value(), er = q.end_relative.has_value();
  if (sa && sr) return Status::InvalidArgument("startAbsolute and startRelative are exclusive");
  if (ea && er) return Status::InvalidArgument("endAbsolute and endRelative are exclusive");
  if (sa && !ea && !er) return Status::InvalidArgument("startAbsolute needs endAbsolute or endRelative");
  if (ea && !sa && !sr) return Status::InvalidArgument("endAbsolute needs startAbsolute or startRelative");
  const int64_t now = q.now_ms ? *q.now_ms : NowMs();
  Window w;
  w.end_ms = ea ? *q.end_absolute : now - (er ? *q.end_relative : 0);
  if (sa)
    w.start_ms = *q.start_absolute;
  else
    w.start_ms = w.end_ms - (sr ? *q.start_relative : int64_t{86400000});
  w.start_ms += q.flow_offset_ms;
  w.end_ms += q.flow_offset_ms;
  if (w.start_ms >= w.end_ms) {
    return Status::InvalidArgument("empty window: start " + std::to_string(w.start_ms) + " >= end " +
                                   std::to_string(w.end_ms));
  }
  return w;
}

}  // namespace flowstat
