// EventView: a parsed flow event whose strings are views into someone else's buffer (the JSON
// parser's, or a FlowEvent's). The one form that validation and encoding work on, so the bulk
// path (no allocation per event) and the FlowEvent path cannot drift apart.
#pragma once

#include <array>
#include <optional>
#include <string_view>
#include <vector>

#include "flowstat/event.h"

namespace flowstat::schema {

struct EventView {
  int64_t timestamp_ms = 0;
  std::string_view namespace_, source_id, destination_id;
  Action action = Action::kAccept;
  uint64_t value = 1;
  EndpointType source_type = EndpointType::kUnset, destination_type = EndpointType::kUnset;
  std::vector<std::string_view> source_tags, destination_tags;
  std::optional<std::string_view> source_ip, destination_ip;
  std::optional<uint16_t> destination_port;
  std::optional<uint8_t> protocol;
  bool observed = false;
  ObservedAction observed_action = ObservedAction::kNotApplicable;
  std::optional<bool> encrypted, observed_encrypted;
  // drop_reason, observed_drop_reason, policy_id, policy_namespace, observed_policy_id,
  // observed_policy_namespace, service_type, service_id, service_url — in this order.
  std::array<std::optional<std::string_view>, 9> details;

  void Clear();
};

// Views of a FlowEvent's fields (valid while `event` lives).
void ViewOf(const FlowEvent& event, EventView* view);
FlowEvent ToFlowEvent(const EventView& view);

// doc/input.md invariants; strips a trailing '/' from the namespace view.
Status ValidateView(EventView* view);

// ValidateView, and that every string is UTF-8 (else InvalidArgument naming the first field that
// is not): for events whose bytes no parser checked — built in code, read from text flow logs.
// Answers and `dump` are JSON: a stored byte that is not UTF-8 would make every one naming it
// invalid. JSON and CSV lines need only ValidateView (their parsers check the whole line).
Status ValidateBuiltView(EventView* view);

// Parses one JSON line (views into a thread-local parser, valid until the next call on this
// thread) and validates it.
Status ParseEventJsonView(std::string_view line, EventView* view);

}  // namespace flowstat::schema
