// The CSV form of the input (doc/input.md).
#include <simdjson.h>

#include <charconv>
#include <functional>
#include <unordered_map>

#include "flowstat/event.h"
#include "schema/event_fields.h"
#include "util/text.h"

namespace flowstat {
namespace {

using schema::FieldError;

// Splits one CSV record into cells (RFC 4180 quoting, within one line).
Status SplitCsv(std::string_view line, std::vector<std::string>* cells) {
  cells->clear();
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  size_t i = 0;
  while (true) {
    std::string cell;
    if (i < line.size() && line[i] == '"') {
      ++i;
      while (true) {
        if (i >= line.size()) return Status::InvalidArgument("unbalanced quotes");
        if (line[i] == '"') {
          if (i + 1 < line.size() && line[i + 1] == '"') {
            cell.push_back('"');
            i += 2;
            continue;
          }
          ++i;
          break;
        }
        cell.push_back(line[i++]);
      }
      if (i < line.size() && line[i] != ',') return Status::InvalidArgument("text after a closing quote");
    } else {
      size_t end = line.find(',', i);
      if (end == std::string_view::npos) end = line.size();
      cell.assign(line.substr(i, end - i));
      if (cell.find('"') != std::string::npos) return Status::InvalidArgument("quote inside an unquoted field");
      i = end;
    }
    if (cell.size() > schema::kMaxStringBytes) return Status::InvalidArgument("field longer than 8192 bytes");
    cells->push_back(std::move(cell));
    if (i >= line.size()) break;
    ++i;  // the comma
  }
  return Status::Ok();
}

Status ParseUnsigned(std::string_view field, std::string_view text, uint64_t max, uint64_t* out) {
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), *out);
  if (ec == std::errc::result_out_of_range) return FieldError(field, "out of range");
  if (ec != std::errc() || end != text.data() + text.size()) return FieldError(field, "must be an integer");
  if (*out > max) return FieldError(field, "out of range (max " + std::to_string(max) + ")");
  return Status::Ok();
}

Status ParseBoolCell(std::string_view field, std::string_view text, bool* out) {
  const std::optional<bool> value = util::ParseBoolText(text);
  if (!value) return FieldError(field, "must be true or false");
  *out = *value;
  return Status::Ok();
}

// A setter for an optional bool column.
auto OptionalBool(std::string_view field, std::optional<bool> FlowEvent::*member) {
  return [field, member](std::string_view t, FlowEvent* e) {
    bool b = false;
    Status s = ParseBoolCell(field, t, &b);
    if (s.ok()) e->*member = b;
    return s;
  };
}

void SplitTags(std::string_view text, std::vector<std::string>* tags) {
  size_t start = 0;
  while (start <= text.size()) {
    size_t end = text.find(';', start);
    if (end == std::string_view::npos) end = text.size();
    if (end > start) tags->emplace_back(text.substr(start, end - start));
    start = end + 1;
  }
}

using Setter = std::function<Status(std::string_view, FlowEvent*)>;

Setter OptionalString(std::optional<std::string> FlowEvent::*member) {
  return [member](std::string_view t, FlowEvent* e) { return (e->*member).emplace(t), Status::Ok(); };
}

const std::unordered_map<std::string_view, Setter>& Setters() {
  static const std::unordered_map<std::string_view, Setter> kSetters = {
      {"timestamp",
       [](std::string_view t, FlowEvent* e) {
         auto v = ParseTime(t);
         if (!v.ok()) return FieldError("timestamp", v.status().message());
         e->timestamp_ms = *v;
         return Status::Ok();
       }},
      {"namespace", [](std::string_view t, FlowEvent* e) { return e->namespace_.assign(t), Status::Ok(); }},
      {"sourceID", [](std::string_view t, FlowEvent* e) { return e->source_id.assign(t), Status::Ok(); }},
      {"destinationID", [](std::string_view t, FlowEvent* e) { return e->destination_id.assign(t), Status::Ok(); }},
      {"action", [](std::string_view t, FlowEvent* e) { return schema::ParseEnumField("action", t, &e->action); }},
      {"value", [](std::string_view t, FlowEvent* e) { return ParseUnsigned("value", t, kMaxEventValue, &e->value); }},
      {"sourceType",
       [](std::string_view t, FlowEvent* e) { return schema::ParseEnumField("sourceType", t, &e->source_type); }},
      {"destinationType",
       [](std::string_view t, FlowEvent* e) {
         return schema::ParseEnumField("destinationType", t, &e->destination_type);
       }},
      {"sourceTags", [](std::string_view t, FlowEvent* e) { return SplitTags(t, &e->source_tags), Status::Ok(); }},
      {"destinationTags",
       [](std::string_view t, FlowEvent* e) { return SplitTags(t, &e->destination_tags), Status::Ok(); }},
      {"sourceIP", OptionalString(&FlowEvent::source_ip)},
      {"destinationIP", OptionalString(&FlowEvent::destination_ip)},
      {"destinationPort",
       [](std::string_view t, FlowEvent* e) {
         uint64_t v;
         Status s = ParseUnsigned("destinationPort", t, 65535, &v);
         if (s.ok()) e->destination_port = static_cast<uint16_t>(v);
         return s;
       }},
      {"protocol",
       [](std::string_view t, FlowEvent* e) {
         uint64_t v;
         Status s = ParseUnsigned("protocol", t, 255, &v);
         if (s.ok()) e->protocol = static_cast<uint8_t>(v);
         return s;
       }},
      {"observed", [](std::string_view t, FlowEvent* e) { return ParseBoolCell("observed", t, &e->observed); }},
      {"observedAction", [](std::string_view t,
                            FlowEvent* e) { return schema::ParseEnumField("observedAction", t, &e->observed_action); }},
      {"encrypted", OptionalBool("encrypted", &FlowEvent::encrypted)},
      {"observedEncrypted", OptionalBool("observedEncrypted", &FlowEvent::observed_encrypted)},
      {"dropReason", OptionalString(&FlowEvent::drop_reason)},
      {"observedDropReason", OptionalString(&FlowEvent::observed_drop_reason)},
      {"policyID", OptionalString(&FlowEvent::policy_id)},
      {"policyNamespace", OptionalString(&FlowEvent::policy_namespace)},
      {"observedPolicyID", OptionalString(&FlowEvent::observed_policy_id)},
      {"observedPolicyNamespace", OptionalString(&FlowEvent::observed_policy_namespace)},
      {"serviceType", OptionalString(&FlowEvent::service_type)},
      {"serviceID", OptionalString(&FlowEvent::service_id)},
      {"serviceURL", OptionalString(&FlowEvent::service_url)},
  };
  return kSetters;
}

}  // namespace

Status CsvEventParser::SetHeader(std::string_view line) {
  if (!simdjson::validate_utf8(line.data(), line.size())) return Status::InvalidArgument("invalid UTF-8");
  Status s = SplitCsv(line, &columns_);
  if (!s.ok()) return s;
  uint32_t seen = 0;
  for (const auto& c : columns_) seen |= schema::RequiredFieldBit(c);
  s = schema::CheckRequired(seen);
  return s.ok() ? s : Status::InvalidArgument("header: " + s.message());
}

Status CsvEventParser::Parse(std::string_view line, FlowEvent* event) const {
  *event = FlowEvent();
  if (!simdjson::validate_utf8(line.data(), line.size())) return Status::InvalidArgument("invalid UTF-8");
  thread_local std::vector<std::string> cells;
  Status s = SplitCsv(line, &cells);
  if (!s.ok()) return s;
  if (cells.size() != columns_.size()) {
    return Status::InvalidArgument("expected " + std::to_string(columns_.size()) + " columns, got " +
                                   std::to_string(cells.size()));
  }
  const auto& setters = Setters();
  uint32_t seen = 0;
  for (size_t i = 0; i < cells.size(); ++i) {
    if (cells[i].empty()) continue;
    auto it = setters.find(columns_[i]);
    if (it == setters.end()) continue;
    s = it->second(cells[i], event);
    if (!s.ok()) return s;
    seen |= schema::RequiredFieldBit(columns_[i]);
  }
  s = schema::CheckRequired(seen);
  if (!s.ok()) return s;
  return ValidateEvent(event);
}

}  // namespace flowstat
