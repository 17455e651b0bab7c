#include "schema/event_fields.h"

#include <array>

#include "util/text.h"

namespace flowstat::schema {
namespace {

template <typename Enum, size_t N>
Status ParseNamed(std::string_view field, std::string_view text, const util::NameTable<Enum, N>& names, Enum* out) {
  const std::optional<Enum> value = util::FindName(text, names);
  if (!value) return FieldError(field, util::UnknownNameReason(text, names));
  *out = *value;
  return Status::Ok();
}

constexpr util::NameTable<Action, 2> kActions{{{"Accept", Action::kAccept}, {"Reject", Action::kReject}}};
constexpr util::NameTable<ObservedAction, 3> kObservedActions{{{"NotApplicable", ObservedAction::kNotApplicable},
                                                               {"Accept", ObservedAction::kAccept},
                                                               {"Reject", ObservedAction::kReject}}};
constexpr util::NameTable<EndpointType, 3> kEndpointTypes{{{"ProcessingUnit", EndpointType::kProcessingUnit},
                                                           {"ExternalNetwork", EndpointType::kExternalNetwork},
                                                           {"Claims", EndpointType::kClaims}}};

constexpr std::array<std::string_view, 5> kRequired{"timestamp", "namespace", "sourceID", "destinationID", "action"};

}  // namespace

Status FieldError(std::string_view field, std::string_view reason) {
  return Status::InvalidArgument(std::string(field) + ": " + std::string(reason));
}

Status ParseEnumField(std::string_view f, std::string_view t, Action* out) { return ParseNamed(f, t, kActions, out); }
Status ParseEnumField(std::string_view f, std::string_view t, ObservedAction* out) {
  return ParseNamed(f, t, kObservedActions, out);
}
Status ParseEnumField(std::string_view f, std::string_view t, EndpointType* out) {
  return ParseNamed(f, t, kEndpointTypes, out);
}

const char* EnumName(Action a) { return kActions[static_cast<size_t>(a)].first.data(); }
const char* EnumName(ObservedAction a) { return kObservedActions[static_cast<size_t>(a)].first.data(); }
const char* EnumName(EndpointType t) {
  return t == EndpointType::kUnset ? "" : kEndpointTypes[static_cast<size_t>(t) - 1].first.data();
}

uint32_t RequiredFieldBit(std::string_view field) {
  for (size_t i = 0; i < kRequired.size(); ++i) {
    if (field == kRequired[i]) return 1u << i;
  }
  return 0;
}

Status CheckRequired(uint32_t seen_bits) {
  for (size_t i = 0; i < kRequired.size(); ++i) {
    if (!(seen_bits & (1u << i))) return FieldError(kRequired[i], "missing required field");
  }
  return Status::Ok();
}

}  // namespace flowstat::schema

namespace flowstat {

bool NamespaceCovers(std::string_view scope, std::string_view ns) {
  if (scope == "/" || ns == scope) return true;
  return ns.size() > scope.size() && ns.compare(0, scope.size(), scope) == 0 && ns[scope.size()] == '/';
}

}  // namespace flowstat

namespace flowstat::schema {

Status NormalizeNamespace(std::string_view field, std::string* ns) {
  if (ns->empty() || (*ns)[0] != '/') return FieldError(field, "namespace must start with '/'");
  ns->resize(util::WithoutTrailingSlashes(*ns).size());
  return Status::Ok();
}

}  // namespace flowstat::schema
