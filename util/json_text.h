// Small helpers to write JSON text: string escaping shared by every JSON writer of flowstat.
#pragma once

#include <string>
#include <string_view>

namespace flowstat::util {

// Appends `s` as a JSON string literal (quotes included). Control characters become \u00XX;
// bytes >= 0x80 are copied as they are (inputs are validated UTF-8).
void AppendJsonString(std::string* out, std::string_view s);

}  // namespace flowstat::util
