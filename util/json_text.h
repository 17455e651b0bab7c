// Small helpers to write JSON text: string escaping shared by every JSON writer of flowstat.
#pragma once

#include <string>
#include <string_view>

namespace flowstat::util {

// Appends `s` as a JSON string literal (quotes included). Control characters become \u00XX; UTF-8
// sequences are copied as they are, and each byte that is not part of one becomes U+FFFD, so the
// text written is JSON whatever `s` holds (stored strings are validated UTF-8; an error message
// may quote a request's raw bytes).
void AppendJsonString(std::string* out, std::string_view s);

// Whether `s` is well-formed UTF-8 (no overlong forms, surrogates or code points past U+10FFFF).
bool IsUtf8(std::string_view s);

}  // namespace flowstat::util
