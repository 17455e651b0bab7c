#include "flowstat/formats.h"

#include <algorithm>

#include "schema/event_fields.h"
#include "util/text.h"

namespace flowstat {
namespace {

bool Present(std::string_view v) { return !v.empty() && v != "-"; }

template <typename T>
Status Number(std::string_view field, std::string_view text, T max, T* out) {
  const auto value = util::ParseInteger<T>(text);
  if (value) *out = *value;
  if (!value || *value > max) {
    return schema::FieldError(field, "must be an integer from 0 to " + std::to_string(max) + ", got '" +
                                         std::string(text.substr(0, 32)) + "'");
  }
  return Status::Ok();
}

}  // namespace

bool VpcFlowLogParser::IsHeader(std::string_view line) {
  const auto words = util::SplitOnBlanks(line);
  if (words.empty()) return false;
  for (std::string_view w : words) {
    if (!std::all_of(w.begin(), w.end(), [](char c) { return (c >= 'a' && c <= 'z') || c == '-'; })) return false;
  }
  return true;
}

Status VpcFlowLogParser::SetHeader(std::string_view line) {
  std::vector<std::string> fields;
  for (std::string_view w : util::SplitOnBlanks(line)) {
    if (std::find(fields.begin(), fields.end(), w) != fields.end()) {
      return Status::InvalidArgument("header: field '" + std::string(w) + "' named twice");
    }
    fields.emplace_back(w);
  }
  for (const char* needed : {"action", "start"}) {
    if (std::find(fields.begin(), fields.end(), needed) == fields.end()) {
      return Status::InvalidArgument(std::string("header: a flow log format without '") + needed +
                                     "' cannot be imported (flowstat needs when and whether each flow was accepted)");
    }
  }
  fields_ = std::move(fields);
  return Status::Ok();
}

int VpcFlowLogParser::Index(std::string_view field) const {
  auto it = std::find(fields_.begin(), fields_.end(), field);
  return it == fields_.end() ? -1 : static_cast<int>(it - fields_.begin());
}

Result<FlowLogParser::Outcome> VpcFlowLogParser::ParseLine(std::string_view line, FlowEvent* event,
                                                           std::string* skip_reason) {
  const bool first = first_line_;
  first_line_ = false;
  if (first && IsHeader(line)) {
    Status s = SetHeader(line);
    if (!s.ok()) return Status::Incompatible(s.message());
    return Outcome::kHeader;
  }
  return Parse(line, event, skip_reason);
}

Result<VpcFlowLogParser::Outcome> VpcFlowLogParser::Parse(std::string_view line, FlowEvent* event,
                                                          std::string* skip_reason) const {
  const auto values = util::SplitOnBlanks(line);
  if (values.size() != fields_.size()) {
    return Status::InvalidArgument("expected " + std::to_string(fields_.size()) + " fields, got " +
                                   std::to_string(values.size()));
  }
  auto get = [&](std::string_view field) -> std::string_view {
    const int i = Index(field);
    return i < 0 ? std::string_view() : values[static_cast<size_t>(i)];
  };
  const std::string_view status = get("log-status");
  if (status == "NODATA" || status == "SKIPDATA") {
    *skip_reason = std::string(status);
    return Outcome::kSkipped;
  }
  *event = FlowEvent();
  uint64_t start = 0;
  if (Status s = Number<uint64_t>("start", get("start"), kMaxTimestampMs / 1000, &start); !s.ok()) return s;
  event->timestamp_ms = static_cast<int64_t>(start) * 1000;
  const std::string_view action = get("action");
  if (action == "ACCEPT")
    event->action = Action::kAccept;
  else if (action == "REJECT")
    event->action = Action::kReject;
  else
    return schema::FieldError("action", "must be ACCEPT or REJECT, got '" + std::string(action.substr(0, 32)) + "'");
  if (Present(get("protocol"))) {
    uint16_t protocol = 0;
    if (Status s = Number<uint16_t>("protocol", get("protocol"), 255, &protocol); !s.ok()) return s;
    event->protocol = static_cast<uint8_t>(protocol);
  }
  const bool icmp = event->protocol == 1 || event->protocol == 58;
  if (Present(get("dstport")) && !icmp) {
    uint16_t port = 0;
    if (Status s = Number<uint16_t>("dstport", get("dstport"), 65535, &port); !s.ok()) return s;
    event->destination_port = port;
  }
  // The addresses of the packets when the record has them (behind a NAT gateway, say).
  auto address = [&](std::string_view packet_field, std::string_view field) {
    return Present(get(packet_field)) ? get(packet_field) : get(field);
  };
  const std::string_view source = address("pkt-srcaddr", "srcaddr"), destination = address("pkt-dstaddr", "dstaddr");
  if (!Present(source)) return schema::FieldError("srcaddr", "missing");
  if (!Present(destination)) return schema::FieldError("dstaddr", "missing");
  event->source_id = std::string(source);
  event->destination_id = std::string(destination);
  event->source_ip = event->source_id;
  event->destination_ip = event->destination_id;
  event->namespace_ = prefix_;
  for (const char* part : {"account-id", "vpc-id"}) {
    if (Present(get(part))) {
      if (event->namespace_ != "/") event->namespace_ += '/';
      event->namespace_ += get(part);
    }
  }
  // The interface's own tags go to the side it is on: the destination of ingress traffic (and
  // when the direction is not recorded), the source of egress traffic.
  auto& interface_tags = get("flow-direction") == "egress" ? event->source_tags : event->destination_tags;
  for (const char* field : {"interface-id", "instance-id", "subnet-id", "vpc-id", "az-id", "region"}) {
    if (Present(get(field))) interface_tags.push_back(std::string(field) + "=" + std::string(get(field)));
  }
  if (Present(get("pkt-src-aws-service")))
    event->source_tags.push_back("aws-service=" + std::string(get("pkt-src-aws-service")));
  if (Present(get("pkt-dst-aws-service"))) {
    event->destination_tags.push_back("aws-service=" + std::string(get("pkt-dst-aws-service")));
  }
  if (Status s = ValidateEvent(event); !s.ok()) return s;
  return Outcome::kEvent;
}

}  // namespace flowstat
