// Field-level rules of the input format (doc/input.md) shared by the JSON and CSV readers.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "flowstat/event.h"

namespace flowstat::schema {

inline constexpr size_t kMaxStringBytes = 8192;      // any one string field
inline constexpr size_t kMaxTagsPerEndpoint = 1024;  // tags of one source or destination

// "FIELD: reason", the message of a rejected field.
Status FieldError(std::string_view field, std::string_view reason);

// Case-insensitive names of the enumerations, as in the original API.
Status ParseEnumField(std::string_view field, std::string_view text, Action* out);
Status ParseEnumField(std::string_view field, std::string_view text, ObservedAction* out);
Status ParseEnumField(std::string_view field, std::string_view text, EndpointType* out);
const char* EnumName(Action a);
const char* EnumName(ObservedAction a);
const char* EnumName(EndpointType t);

// Bit of a required field name (0 for others), and the check that all were seen.
uint32_t RequiredFieldBit(std::string_view field);
Status CheckRequired(uint32_t seen_bits);

// Strips trailing '/' (but keeps "/"); InvalidArgument if empty or not starting with '/'.
Status NormalizeNamespace(std::string_view field, std::string* ns);

}  // namespace flowstat::schema
