// `flowstat info`, `expire`, `delete` and `backup`: the store's lifecycle (doc/lifecycle.md).
#pragma once

#include <cstdint>
#include <string>

namespace flowstat::tools {

int RunInfo(const std::string& db, const std::string& format);
// `before` is RFC 3339 or epoch ms.
int RunExpire(const std::string& db, const std::string& before, const std::string& namespace_, bool keep_rollups);
int RunDelete(const std::string& db, const std::string& namespace_);
int RunBackup(const std::string& db, const std::string& to);

}  // namespace flowstat::tools
