#include "schema/event_fields.h"

#include <array>
#include <strings.h>

namespace flowstat::schema {
namespace {

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    char x = a[i], y = b[i];
    if (x >= 'A' && x <= 'Z') x = static_cast<char>(x - 'A' + 'a');
    if (y >= 'A' && y <= 'Z') y = static_cast<char>(y - 'A' + 'a');
    if (x != y) return false;
  }
  return true;
}

template <typename Enum, size_t N>
Status ParseNamed(std::string_view field, std::string_view text,
                  const std::array<std::pair<const char*, Enum>, N>& names, Enum* out) {
  for (const auto& [name, value] : names) {
    if (EqualsIgnoreCase(text, name)) {
      *out = value;
      return Status::Ok();
    }
  }
  std::string allowed;
  for (const auto& entry : names) allowed += (allowed.empty() ? "" : "|") + std::string(entry.first);
  return FieldError(field, "must be one of " + allowed + ", got '" + std::string(text.substr(0, 64)) + "'");
}

constexpr std::array<std::pair<const char*, Action>, 2> kActions{
    {{"Accept", Action::kAccept}, {"Reject", Action::kReject}}};
constexpr std::array<std::pair<const char*, ObservedAction>, 3> kObservedActions{
    {{"NotApplicable", ObservedAction::kNotApplicable}, {"Accept", ObservedAction::kAccept},
     {"Reject", ObservedAction::kReject}}};
constexpr std::array<std::pair<const char*, EndpointType>, 3> kEndpointTypes{
    {{"ProcessingUnit", EndpointType::kProcessingUnit}, {"ExternalNetwork", EndpointType::kExternalNetwork},
     {"Claims", EndpointType::kClaims}}};

constexpr std::array<const char*, 5> kRequired{"timestamp", "namespace", "sourceID", "destinationID", "action"};

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

const char* EnumName(Action a) { return kActions[static_cast<size_t>(a)].first; }
const char* EnumName(ObservedAction a) { return kObservedActions[static_cast<size_t>(a)].first; }
const char* EnumName(EndpointType t) { return t == EndpointType::kUnset ? "" : kEndpointTypes[static_cast<size_t>(t) - 1].first; }

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

Status NormalizeNamespace(std::string_view field, std::string* ns) {
  if (ns->empty() || (*ns)[0] != '/') return FieldError(field, "namespace must start with '/'");
  while (ns->size() > 1 && ns->back() == '/') ns->pop_back();
  return Status::Ok();
}

}  // namespace flowstat::schema

