#include "schema/event_view.h"

#include "schema/event_fields.h"
#include "util/json_text.h"
#include "util/text.h"

namespace flowstat::schema {
namespace {

using DetailMember = std::optional<std::string> FlowEvent::*;
constexpr const char* kDetailNames[9] = {"dropReason",      "observedDropReason", "policyID",
                                         "policyNamespace", "observedPolicyID",   "observedPolicyNamespace",
                                         "serviceType",     "serviceID",          "serviceURL"};
constexpr DetailMember kDetails[9] = {
    &FlowEvent::drop_reason,      &FlowEvent::observed_drop_reason, &FlowEvent::policy_id,
    &FlowEvent::policy_namespace, &FlowEvent::observed_policy_id,   &FlowEvent::observed_policy_namespace,
    &FlowEvent::service_type,     &FlowEvent::service_id,           &FlowEvent::service_url};

std::optional<std::string_view> View(const std::optional<std::string>& s) {
  return s ? std::optional<std::string_view>(*s) : std::nullopt;
}

std::optional<std::string> Own(const std::optional<std::string_view>& s) {
  return s ? std::optional<std::string>(*s) : std::nullopt;
}

Status CheckTags(std::string_view field, const std::vector<std::string_view>& tags) {
  if (tags.size() > kMaxTagsPerEndpoint)
    return FieldError(field, "more than " + std::to_string(kMaxTagsPerEndpoint) + " tags");
  for (std::string_view tag : tags) {
    const size_t eq = tag.find('=');
    if (eq == std::string_view::npos || eq == 0) {
      return FieldError(field, "tag '" + std::string(tag.substr(0, 64)) + "' is not key=value");
    }
    if (tag.size() > kMaxStringBytes) return FieldError(field, "tag longer than 8192 bytes");
  }
  return Status::Ok();
}

// Whether every string of `v` is UTF-8; else the first field that is not, named.
Status CheckUtf8(const EventView& v) {
  const std::pair<const char*, std::string_view> strings[] = {
      {"namespace", v.namespace_}, {"sourceID", v.source_id}, {"destinationID", v.destination_id}};
  for (const auto& [field, s] : strings) {
    if (!util::IsUtf8(s)) return FieldError(field, "invalid UTF-8");
  }
  for (const auto& [field, tags] :
       {std::pair{"sourceTags", &v.source_tags}, {"destinationTags", &v.destination_tags}}) {
    for (std::string_view tag : *tags) {
      if (!util::IsUtf8(tag)) return FieldError(field, "invalid UTF-8");
    }
  }
  for (const auto& [field, s] : {std::pair{"sourceIP", v.source_ip}, {"destinationIP", v.destination_ip}}) {
    if (s && !util::IsUtf8(*s)) return FieldError(field, "invalid UTF-8");
  }
  for (size_t i = 0; i < 9; ++i) {
    if (v.details[i] && !util::IsUtf8(*v.details[i])) return FieldError(kDetailNames[i], "invalid UTF-8");
  }
  return Status::Ok();
}

}  // namespace

void EventView::Clear() {
  std::vector<std::string_view> keep_src = std::move(source_tags), keep_dst = std::move(destination_tags);
  *this = EventView();
  keep_src.clear();
  keep_dst.clear();
  source_tags = std::move(keep_src);  // keeps the capacity: no allocation per event
  destination_tags = std::move(keep_dst);
}

void ViewOf(const FlowEvent& e, EventView* v) {
  v->Clear();
  v->timestamp_ms = e.timestamp_ms;
  v->namespace_ = e.namespace_;
  v->source_id = e.source_id;
  v->destination_id = e.destination_id;
  v->action = e.action;
  v->value = e.value;
  v->source_type = e.source_type;
  v->destination_type = e.destination_type;
  v->source_tags.assign(e.source_tags.begin(), e.source_tags.end());
  v->destination_tags.assign(e.destination_tags.begin(), e.destination_tags.end());
  v->source_ip = View(e.source_ip);
  v->destination_ip = View(e.destination_ip);
  v->destination_port = e.destination_port;
  v->protocol = e.protocol;
  v->observed = e.observed;
  v->observed_action = e.observed_action;
  v->encrypted = e.encrypted;
  v->observed_encrypted = e.observed_encrypted;
  for (size_t i = 0; i < 9; ++i) v->details[i] = View(e.*kDetails[i]);
}

FlowEvent ToFlowEvent(const EventView& v) {
  FlowEvent e;
  e.timestamp_ms = v.timestamp_ms;
  e.namespace_ = v.namespace_;
  e.source_id = v.source_id;
  e.destination_id = v.destination_id;
  e.action = v.action;
  e.value = v.value;
  e.source_type = v.source_type;
  e.destination_type = v.destination_type;
  e.source_tags.assign(v.source_tags.begin(), v.source_tags.end());
  e.destination_tags.assign(v.destination_tags.begin(), v.destination_tags.end());
  e.source_ip = Own(v.source_ip);
  e.destination_ip = Own(v.destination_ip);
  e.destination_port = v.destination_port;
  e.protocol = v.protocol;
  e.observed = v.observed;
  e.observed_action = v.observed_action;
  e.encrypted = v.encrypted;
  e.observed_encrypted = v.observed_encrypted;
  for (size_t i = 0; i < 9; ++i) e.*kDetails[i] = Own(v.details[i]);
  return e;
}

Status ValidateView(EventView* v) {
  if (v->timestamp_ms < 0 || v->timestamp_ms > kMaxTimestampMs) return FieldError("timestamp", "out of range");
  if (v->namespace_.empty() || v->namespace_[0] != '/') return FieldError("namespace", "namespace must start with '/'");
  v->namespace_ = util::WithoutTrailingSlashes(v->namespace_);
  if (v->source_id.empty()) return FieldError("sourceID", "must not be empty");
  if (v->destination_id.empty()) return FieldError("destinationID", "must not be empty");
  if (v->value < 1 || v->value > kMaxEventValue) return FieldError("value", "out of range (1 .. 2^53-1)");
  for (std::string_view s : {v->namespace_, v->source_id, v->destination_id}) {
    if (s.size() > kMaxStringBytes) return Status::InvalidArgument("a string is longer than 8192 bytes");
  }
  Status s = CheckTags("sourceTags", v->source_tags);
  return s.ok() ? CheckTags("destinationTags", v->destination_tags) : s;
}

Status ValidateBuiltView(EventView* view) {
  Status s = ValidateView(view);
  return s.ok() ? CheckUtf8(*view) : s;
}

}  // namespace flowstat::schema

namespace flowstat {

Status ValidateEvent(FlowEvent* event) {
  schema::EventView view;
  schema::ViewOf(*event, &view);
  Status s = schema::ValidateBuiltView(&view);
  if (s.ok()) event->namespace_.resize(view.namespace_.size());
  return s;
}

}  // namespace flowstat
