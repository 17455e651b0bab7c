// Cilium Hubble flows (`hubble observe -o jsonpb` or `-o json`) read as flow events; the mapping
// is in doc/formats.md.
#include <simdjson.h>

#include <array>
#include <string>

#include "schema/event_fields.h"
#include "schema/flow_logs.h"

namespace flowstat::schema {
namespace {

using simdjson::dom::element;
using simdjson::dom::object;

// The l4 member that names the protocol, and whether it carries ports.
struct Layer4Protocol {
  std::string_view key;
  uint8_t number;
  bool has_ports;
};
constexpr std::array<Layer4Protocol, 5> kLayer4 = {{
    {"TCP", 6, true},
    {"UDP", 17, true},
    {"SCTP", 132, true},
    {"ICMPv4", 1, false},
    {"ICMPv6", 58, false},
}};

// Drop reasons that are a policy's decision, as opposed to a packet the datapath could not handle.
constexpr std::array<std::string_view, 3> kPolicyDrops = {"POLICY_DENIED", "POLICY_DENY", "AUTH_REQUIRED"};

// Kinds of `hubble observe -o jsonpb` lines that carry no flow.
constexpr std::array<std::string_view, 4> kNonFlowResponses = {"node_status", "lost_events", "agent_event",
                                                               "debug_event"};

// An empty JSON object, standing for an endpoint a flow does not name. Made once, then only read.
object EmptyObject() {
  static simdjson::dom::parser parser;
  static const element empty = parser.parse(std::string_view("{}")).value_unsafe();
  return empty.get_object().value_unsafe();
}

class HubbleFlowParser : public FlowLogParser {
 public:
  explicit HubbleFlowParser(std::string prefix) : prefix_(std::move(prefix)) {}

  Result<Outcome> ParseLine(std::string_view line, FlowEvent* event, std::string* skip_reason) override {
    object top;
    if (auto error = parser_.parse(line.data(), line.size()).get(top)) {
      return Status::InvalidArgument(std::string("not a JSON object: ") + simdjson::error_message(error));
    }
    object flow = top;
    if (element inner; top["flow"].get(inner) == simdjson::SUCCESS) {
      if (inner.get(flow) != simdjson::SUCCESS) return FieldError("flow", "must be an object");
      prefix_path_ = "flow.";
    } else {
      for (std::string_view kind : kNonFlowResponses) {
        if (top[kind].error() == simdjson::SUCCESS) {
          *skip_reason = std::string(kind);
          return Outcome::kSkipped;
        }
      }
      prefix_path_.clear();
    }
    return Map(flow, event, skip_reason);
  }

 private:
  std::string Path(std::string_view field) const { return prefix_path_ + std::string(field); }

  // The string member `key` of `o`, "" when absent; an error when present and not a string.
  Status OptionalString(object o, std::string_view key, std::string_view path, std::string_view* out) const {
    *out = {};
    element v;
    if (o[key].get(v) != simdjson::SUCCESS) return Status::Ok();
    if (v.get(*out) != simdjson::SUCCESS) return FieldError(Path(path), "must be a string");
    return Status::Ok();
  }

  Status OptionalBool(object o, std::string_view key, bool* out) const {
    *out = false;
    element v;
    if (o[key].get(v) != simdjson::SUCCESS) return Status::Ok();
    if (v.get(*out) != simdjson::SUCCESS) return FieldError(Path(key), "must be true or false");
    return Status::Ok();
  }

  // An endpoint object, or an empty one when absent.
  Status Endpoint(object flow, std::string_view key, object* out) const {
    element v;
    if (flow[key].get(v) != simdjson::SUCCESS) {
      *out = EmptyObject();
      return Status::Ok();
    }
    if (v.get(*out) != simdjson::SUCCESS) return FieldError(Path(key), "must be an object");
    return Status::Ok();
  }

  Result<Outcome> Map(object flow, FlowEvent* event, std::string* skip_reason) {
    // Which records are flows: L3/L4, not replies, with a verdict that says what policy decided.
    std::string_view type;
    if (Status s = OptionalString(flow, "Type", "Type", &type); !s.ok()) return s;
    const bool has_l4 = flow["l4"].error() == simdjson::SUCCESS;
    if (!type.empty() && type != "L3_L4") return Skip(skip_reason, "Type " + std::string(type));
    if (type.empty() && !has_l4) return Skip(skip_reason, "no Type and no l4");
    bool reply = false, legacy_reply = false;
    if (Status s = OptionalBool(flow, "is_reply", &reply); !s.ok()) return s;
    if (Status s = OptionalBool(flow, "reply", &legacy_reply); !s.ok()) return s;
    if (reply || legacy_reply) return Skip(skip_reason, "reply");
    std::string_view verdict, drop_reason;
    if (Status s = OptionalString(flow, "verdict", "verdict", &verdict); !s.ok()) return s;
    if (Status s = OptionalString(flow, "drop_reason_desc", "drop_reason_desc", &drop_reason); !s.ok()) return s;

    *event = FlowEvent();
    if (verdict == "FORWARDED" || verdict == "REDIRECTED") {
      event->action = Action::kAccept;
    } else if (verdict == "DROPPED" && IsPolicyDrop(drop_reason)) {
      event->action = Action::kReject;
    } else if (verdict == "AUDIT") {
      event->action = Action::kAccept;
      event->observed = true;
      event->observed_action = ObservedAction::kReject;
    } else if (verdict == "DROPPED") {
      return Skip(skip_reason, "DROPPED " + std::string(drop_reason.empty() ? "(no drop_reason_desc)" : drop_reason));
    } else {
      return Skip(skip_reason, "verdict " + std::string(verdict.empty() ? "(none)" : verdict));
    }

    std::string_view time;
    if (Status s = OptionalString(flow, "time", "time", &time); !s.ok()) return s;
    if (time.empty()) return FieldError(Path("time"), "missing");
    auto ms = ParseTime(time);
    if (!ms.ok()) return FieldError(Path("time"), ms.status().message());
    event->timestamp_ms = *ms;
    event->value = 1;

    object source, destination;
    if (Status s = Endpoint(flow, "source", &source); !s.ok()) return s;
    if (Status s = Endpoint(flow, "destination", &destination); !s.ok()) return s;
    if (Status s = MapNamespace(flow, source, destination, event); !s.ok()) return s;
    if (Status s = MapEndpoint(source, "source", &event->source_id, &event->source_type, &event->source_tags);
        !s.ok()) {
      return s;
    }
    if (Status s = MapEndpoint(destination, "destination", &event->destination_id, &event->destination_type,
                               &event->destination_tags);
        !s.ok()) {
      return s;
    }
    if (Status s = MapAddresses(flow, event); !s.ok()) return s;
    if (Status s = MapLayer4(flow, event); !s.ok()) return s;
    if (Status s = ValidateEvent(event); !s.ok()) return s;
    return Outcome::kEvent;
  }

  static bool IsPolicyDrop(std::string_view reason) {
    for (std::string_view r : kPolicyDrops) {
      if (r == reason) return true;
    }
    return false;
  }

  static Result<Outcome> Skip(std::string* skip_reason, std::string reason) {
    *skip_reason = std::move(reason);
    return Outcome::kSkipped;
  }

  // The Kubernetes namespace of the local endpoint first (the destination of ingress traffic,
  // the source of egress traffic), then of the source, then of the destination.
  Status MapNamespace(object flow, object source, object destination, FlowEvent* event) const {
    std::string_view direction;
    if (Status s = OptionalString(flow, "traffic_direction", "traffic_direction", &direction); !s.ok()) return s;
    std::array<object, 3> order = {source, source, destination};
    if (direction == "INGRESS") order[0] = destination;
    std::string_view k8s_namespace;
    for (size_t i = 0; i < order.size() && k8s_namespace.empty(); ++i) {
      if (Status s = OptionalString(order[i], "namespace", "namespace", &k8s_namespace); !s.ok()) return s;
    }
    event->namespace_ = prefix_;
    if (!k8s_namespace.empty()) {
      if (event->namespace_ != "/") event->namespace_ += '/';
      event->namespace_ += k8s_namespace;
    }
    return Status::Ok();
  }

  Status MapEndpoint(object endpoint, std::string_view side, std::string* id, EndpointType* type,
                     std::vector<std::string>* tags) const {
    const std::string base = std::string(side) + ".";
    std::string_view k8s_namespace, pod;
    if (Status s = OptionalString(endpoint, "namespace", base + "namespace", &k8s_namespace); !s.ok()) return s;
    if (Status s = OptionalString(endpoint, "pod_name", base + "pod_name", &pod); !s.ok()) return s;
    std::string_view first_reserved;
    element labels_value;
    if (endpoint["labels"].get(labels_value) == simdjson::SUCCESS) {
      simdjson::dom::array labels;
      if (labels_value.get(labels) != simdjson::SUCCESS) return FieldError(Path(base + "labels"), "must be an array");
      for (element item : labels) {
        std::string_view label;
        if (item.get(label) != simdjson::SUCCESS) return FieldError(Path(base + "labels"), "must hold strings");
        if (first_reserved.empty() && label.substr(0, 9) == "reserved:") first_reserved = label;
        tags->push_back(LabelTag(label));
      }
    }
    if (!pod.empty()) {
      *id = std::string(k8s_namespace) + "/" + std::string(pod);
      *type = EndpointType::kProcessingUnit;
      return Status::Ok();
    }
    *type = EndpointType::kExternalNetwork;
    if (!first_reserved.empty()) {
      *id = std::string(first_reserved);
      return Status::Ok();
    }
    uint64_t identity = 0;
    element identity_value;
    if (endpoint["identity"].get(identity_value) == simdjson::SUCCESS &&
        identity_value.get(identity) != simdjson::SUCCESS) {
      return FieldError(Path(base + "identity"), "must be an unsigned integer");
    }
    *id = "identity:" + std::to_string(identity);
    return Status::Ok();
  }

  // "k8s:app=web" -> "app=web": the label's source goes. A label without a value keeps its source
  // as the key: "reserved:world" -> "reserved=world".
  static std::string LabelTag(std::string_view label) {
    const size_t colon = label.find(':');
    const size_t equals = label.find('=');
    if (equals == std::string_view::npos) {
      if (colon == std::string_view::npos) return std::string(label) + "=";
      return std::string(label.substr(0, colon)) + "=" + std::string(label.substr(colon + 1));
    }
    if (colon != std::string_view::npos && colon < equals) return std::string(label.substr(colon + 1));
    return std::string(label);
  }

  Status MapAddresses(object flow, FlowEvent* event) const {
    element ip_value;
    if (flow["IP"].get(ip_value) != simdjson::SUCCESS) return Status::Ok();
    object ip;
    if (ip_value.get(ip) != simdjson::SUCCESS) return FieldError(Path("IP"), "must be an object");
    std::string_view source, destination;
    if (Status s = OptionalString(ip, "source", "IP.source", &source); !s.ok()) return s;
    if (Status s = OptionalString(ip, "destination", "IP.destination", &destination); !s.ok()) return s;
    if (!source.empty()) event->source_ip = std::string(source);
    if (!destination.empty()) event->destination_ip = std::string(destination);
    return Status::Ok();
  }

  Status MapLayer4(object flow, FlowEvent* event) const {
    element l4_value;
    if (flow["l4"].get(l4_value) != simdjson::SUCCESS) return Status::Ok();
    object l4;
    if (l4_value.get(l4) != simdjson::SUCCESS) return FieldError(Path("l4"), "must be an object");
    for (const Layer4Protocol& p : kLayer4) {
      element fields_value;
      if (l4[p.key].get(fields_value) != simdjson::SUCCESS) continue;
      event->protocol = p.number;
      if (!p.has_ports) return Status::Ok();
      object fields;
      const std::string path = "l4." + std::string(p.key);
      if (fields_value.get(fields) != simdjson::SUCCESS) return FieldError(Path(path), "must be an object");
      element port_value;
      if (fields["destination_port"].get(port_value) != simdjson::SUCCESS) return Status::Ok();
      uint64_t port = 0;
      if (port_value.get(port) != simdjson::SUCCESS || port > 65535) {
        return FieldError(Path(path + ".destination_port"), "must be an integer from 0 to 65535");
      }
      event->destination_port = static_cast<uint16_t>(port);
      return Status::Ok();
    }
    return Status::Ok();
  }

  std::string prefix_;
  std::string prefix_path_;  // "flow." for jsonpb lines, so that messages name the field as written
  simdjson::dom::parser parser_;
};

}  // namespace

std::unique_ptr<FlowLogParser> NewHubbleFlowParser(std::string namespace_prefix) {
  return std::make_unique<HubbleFlowParser>(std::move(namespace_prefix));
}

}  // namespace flowstat::schema
