// FlowEvent <-> the JSON Lines input format of doc/input.md.
#include <simdjson.h>

#include <string>
#include <vector>

#include "flowstat/event.h"
#include "schema/event_fields.h"
#include "schema/event_view.h"
#include "util/json_text.h"
#include "util/text.h"

namespace flowstat {
namespace {

using schema::FieldError;
using simdjson::dom::element;

Status TypeError(std::string_view field, const char* expected) {
  return FieldError(field, std::string("must be ") + expected);
}

using schema::EventView;

Status GetString(element v, std::string_view field, std::string_view* out) {
  if (v.get(*out) != simdjson::SUCCESS) return TypeError(field, "a string");
  if (out->size() > schema::kMaxStringBytes) {
    return FieldError(field, "longer than " + std::to_string(schema::kMaxStringBytes) + " bytes");
  }
  return Status::Ok();
}

Status GetOptionalString(element v, std::string_view field, std::optional<std::string_view>* out) {
  out->emplace();
  return GetString(v, field, &**out);
}

Status GetBool(element v, std::string_view field, bool* out) {
  if (v.get(*out) != simdjson::SUCCESS) return TypeError(field, "true or false");
  return Status::Ok();
}

Status GetUnsigned(element v, std::string_view field, uint64_t max, uint64_t* out) {
  if (v.type() == simdjson::dom::element_type::DOUBLE) return TypeError(field, "an integer");
  int64_t as_signed;
  if (v.is_int64() && v.get(as_signed) == simdjson::SUCCESS && as_signed < 0) {
    return FieldError(field, "out of range (negative)");
  }
  if (v.get(*out) != simdjson::SUCCESS) {
    return v.is_uint64() ? FieldError(field, "out of range") : TypeError(field, "an integer");
  }
  if (*out > max) return FieldError(field, "out of range (max " + std::to_string(max) + ")");
  return Status::Ok();
}

Status GetTags(element v, std::string_view field, std::vector<std::string_view>* out) {
  simdjson::dom::array array;
  if (v.get(array) != simdjson::SUCCESS) return TypeError(field, "an array of \"key=value\" strings");
  out->clear();
  for (element item : array) {
    if (out->size() == schema::kMaxTagsPerEndpoint) {
      return FieldError(field, "more than " + std::to_string(schema::kMaxTagsPerEndpoint) + " tags");
    }
    out->emplace_back();
    Status s = GetString(item, field, &out->back());
    if (!s.ok()) return s;
  }
  return Status::Ok();
}

Status GetTimestamp(element v, int64_t* out) {
  if (v.is_string()) {
    std::string_view s;
    if (v.get(s) != simdjson::SUCCESS) return FieldError("timestamp", "must be a string or an integer");
    auto t = ParseTime(s);
    if (!t.ok()) return FieldError("timestamp", t.status().message());
    *out = *t;
    return Status::Ok();
  }
  if (!v.is_int64() && !v.is_uint64() && v.type() != simdjson::dom::element_type::DOUBLE) {
    return TypeError("timestamp", "an integer (epoch ms) or an RFC 3339 string");
  }
  uint64_t u;
  Status s = GetUnsigned(v, "timestamp", static_cast<uint64_t>(kMaxTimestampMs), &u);
  if (!s.ok()) return s;
  *out = static_cast<int64_t>(u);
  return Status::Ok();
}

template <typename Enum>
Status GetEnum(element v, std::string_view field, Enum* out) {
  std::string_view s;
  if (v.get(s) != simdjson::SUCCESS) return TypeError(field, "a string");
  return schema::ParseEnumField(field, s, out);
}

using Handler = Status (*)(element, EventView*);

struct NamedHandler {
  std::string_view name;
  Handler handler;
  uint32_t required_bit = 0;  // schema::RequiredFieldBit(name), found once
};

std::vector<NamedHandler> WithRequiredBits(std::vector<NamedHandler> table) {
  for (NamedHandler& h : table) h.required_bit = schema::RequiredFieldBit(h.name);
  return table;
}

const std::vector<NamedHandler>& Handlers() {
  static const std::vector<NamedHandler> kHandlers = WithRequiredBits({
      {"timestamp", [](element v, EventView* e) { return GetTimestamp(v, &e->timestamp_ms); }},
      {"namespace", [](element v, EventView* e) { return GetString(v, "namespace", &e->namespace_); }},
      {"sourceID", [](element v, EventView* e) { return GetString(v, "sourceID", &e->source_id); }},
      {"sourceType", [](element v, EventView* e) { return GetEnum(v, "sourceType", &e->source_type); }},
      {"sourceIP", [](element v, EventView* e) { return GetOptionalString(v, "sourceIP", &e->source_ip); }},
      {"sourceTags", [](element v, EventView* e) { return GetTags(v, "sourceTags", &e->source_tags); }},
      {"destinationID", [](element v, EventView* e) { return GetString(v, "destinationID", &e->destination_id); }},
      {"destinationType", [](element v, EventView* e) { return GetEnum(v, "destinationType", &e->destination_type); }},
      {"destinationIP",
       [](element v, EventView* e) { return GetOptionalString(v, "destinationIP", &e->destination_ip); }},
      {"destinationPort",
       [](element v, EventView* e) {
         uint64_t p;
         Status s = GetUnsigned(v, "destinationPort", 65535, &p);
         if (s.ok()) e->destination_port = static_cast<uint16_t>(p);
         return s;
       }},
      {"destinationTags", [](element v, EventView* e) { return GetTags(v, "destinationTags", &e->destination_tags); }},
      {"protocol",
       [](element v, EventView* e) {
         uint64_t p;
         Status s = GetUnsigned(v, "protocol", 255, &p);
         if (s.ok()) e->protocol = static_cast<uint8_t>(p);
         return s;
       }},
      {"action", [](element v, EventView* e) { return GetEnum(v, "action", &e->action); }},
      {"observedAction", [](element v, EventView* e) { return GetEnum(v, "observedAction", &e->observed_action); }},
      {"observed", [](element v, EventView* e) { return GetBool(v, "observed", &e->observed); }},
      {"encrypted",
       [](element v, EventView* e) {
         bool b = false;
         Status s = GetBool(v, "encrypted", &b);
         if (s.ok()) e->encrypted = b;
         return s;
       }},
      {"observedEncrypted",
       [](element v, EventView* e) {
         bool b = false;
         Status s = GetBool(v, "observedEncrypted", &b);
         if (s.ok()) e->observed_encrypted = b;
         return s;
       }},
      {"policyID", [](element v, EventView* e) { return GetOptionalString(v, "policyID", &e->details[2]); }},
      {"policyNamespace",
       [](element v, EventView* e) { return GetOptionalString(v, "policyNamespace", &e->details[3]); }},
      {"value", [](element v, EventView* e) { return GetUnsigned(v, "value", kMaxEventValue, &e->value); }},
      {"dropReason", [](element v, EventView* e) { return GetOptionalString(v, "dropReason", &e->details[0]); }},
      {"observedDropReason",
       [](element v, EventView* e) { return GetOptionalString(v, "observedDropReason", &e->details[1]); }},
      {"observedPolicyID",
       [](element v, EventView* e) { return GetOptionalString(v, "observedPolicyID", &e->details[4]); }},
      {"observedPolicyNamespace",
       [](element v, EventView* e) { return GetOptionalString(v, "observedPolicyNamespace", &e->details[5]); }},
      {"serviceType", [](element v, EventView* e) { return GetOptionalString(v, "serviceType", &e->details[6]); }},
      {"serviceID", [](element v, EventView* e) { return GetOptionalString(v, "serviceID", &e->details[7]); }},
      {"serviceURL", [](element v, EventView* e) { return GetOptionalString(v, "serviceURL", &e->details[8]); }},
  });
  return kHandlers;
}

// Reporters write fields in the same order line after line: try the field after the previous
// match first, then scan the table.
const NamedHandler* FindHandler(std::string_view key) {
  const auto& table = Handlers();
  thread_local size_t guess = 0;
  if (guess < table.size() && util::EqualsShort(table[guess].name, key)) return &table[guess++];
  for (size_t i = 0; i < table.size(); ++i) {
    if (util::EqualsShort(table[i].name, key)) {
      guess = i + 1;
      return &table[i];
    }
  }
  return nullptr;
}

simdjson::dom::parser& ThreadParser() {
  thread_local simdjson::dom::parser parser;
  return parser;
}

void AppendField(std::string* out, const char* name) {
  out->push_back(',');
  out->push_back('"');
  out->append(name);
  out->append("\":");
}

void AppendStringField(std::string* out, const char* name, std::string_view value) {
  AppendField(out, name);
  util::AppendJsonString(out, value);
}

void AppendOptional(std::string* out, const char* name, const std::optional<std::string>& value) {
  if (value) AppendStringField(out, name, *value);
}

void AppendTags(std::string* out, const char* name, const std::vector<std::string>& tags) {
  AppendField(out, name);
  out->push_back('[');
  for (size_t i = 0; i < tags.size(); ++i) {
    if (i) out->push_back(',');
    util::AppendJsonString(out, tags[i]);
  }
  out->push_back(']');
}

}  // namespace

namespace schema {

Status ParseEventJsonView(std::string_view line, EventView* event) {
  event->Clear();
  simdjson::dom::element root;
  auto error = ThreadParser().parse(line.data(), line.size(), true).get(root);
  if (error) return Status::InvalidArgument(std::string("invalid JSON: ") + simdjson::error_message(error));
  simdjson::dom::object object;
  if (root.get(object) != simdjson::SUCCESS) return Status::InvalidArgument("not a JSON object");
  uint32_t seen = 0;
  for (auto field : object) {
    const NamedHandler* named = FindHandler(field.key);
    if (!named || field.value.is_null()) continue;
    Status s = named->handler(field.value, event);
    if (!s.ok()) return s;
    seen |= named->required_bit;
  }
  Status s = schema::CheckRequired(seen);
  if (!s.ok()) return s;
  return ValidateView(event);
}

}  // namespace schema

Status ParseEventJson(std::string_view line, FlowEvent* event) {
  thread_local EventView view;
  Status s = schema::ParseEventJsonView(line, &view);
  *event = s.ok() ? schema::ToFlowEvent(view) : FlowEvent();
  return s;
}

std::string FormatEventJson(const FlowEvent& e) {
  std::string out;
  out.reserve(512);
  out.append("{\"timestamp\":").append(std::to_string(e.timestamp_ms));
  AppendStringField(&out, "namespace", e.namespace_);
  AppendStringField(&out, "sourceID", e.source_id);
  if (e.source_type != EndpointType::kUnset) AppendStringField(&out, "sourceType", schema::EnumName(e.source_type));
  AppendOptional(&out, "sourceIP", e.source_ip);
  AppendTags(&out, "sourceTags", e.source_tags);
  AppendStringField(&out, "destinationID", e.destination_id);
  if (e.destination_type != EndpointType::kUnset) {
    AppendStringField(&out, "destinationType", schema::EnumName(e.destination_type));
  }
  AppendOptional(&out, "destinationIP", e.destination_ip);
  if (e.destination_port) AppendField(&out, "destinationPort"), out.append(std::to_string(*e.destination_port));
  AppendTags(&out, "destinationTags", e.destination_tags);
  if (e.protocol) AppendField(&out, "protocol"), out.append(std::to_string(*e.protocol));
  AppendStringField(&out, "action", schema::EnumName(e.action));
  AppendStringField(&out, "observedAction", schema::EnumName(e.observed_action));
  AppendField(&out, "observed"), out.append(e.observed ? "true" : "false");
  if (e.encrypted) AppendField(&out, "encrypted"), out.append(*e.encrypted ? "true" : "false");
  if (e.observed_encrypted) {
    AppendField(&out, "observedEncrypted"), out.append(*e.observed_encrypted ? "true" : "false");
  }
  AppendOptional(&out, "dropReason", e.drop_reason);
  AppendOptional(&out, "observedDropReason", e.observed_drop_reason);
  AppendOptional(&out, "policyID", e.policy_id);
  AppendOptional(&out, "policyNamespace", e.policy_namespace);
  AppendOptional(&out, "observedPolicyID", e.observed_policy_id);
  AppendOptional(&out, "observedPolicyNamespace", e.observed_policy_namespace);
  AppendOptional(&out, "serviceType", e.service_type);
  AppendOptional(&out, "serviceID", e.service_id);
  AppendOptional(&out, "serviceURL", e.service_url);
  AppendField(&out, "value");
  out.append(std::to_string(e.value));
  out.push_back('}');
  return out;
}

}  // namespace flowstat
