#include "server/tokens.h"

#include <openssl/crypto.h>

#include <fstream>
#include <sstream>

#include "flowstat/event.h"
#include "util/text.h"

namespace flowstat::server {
namespace {

constexpr size_t kMinTokenLength = 16;

Result<unsigned> ParsePermissions(std::string_view text) {
  unsigned permissions = 0;
  size_t start = 0;
  while (start <= text.size()) {
    size_t comma = text.find(',', start);
    if (comma == std::string_view::npos) comma = text.size();
    const std::string_view word = text.substr(start, comma - start);
    if (word == "read")
      permissions |= kRead;
    else if (word == "write")
      permissions |= kWrite;
    else
      return Status::InvalidArgument("permissions must be read, write or read,write, got '" + std::string(text) + "'");
    start = comma + 1;
  }
  return permissions;
}

}  // namespace

Result<TokenTable> TokenTable::Load(const std::string& path) {
  std::ifstream in(path);
  if (!in) return Status::InvalidArgument(path + ": cannot open tokens file");
  std::stringstream text;
  text << in.rdbuf();
  return Parse(text.str(), path);
}

Result<TokenTable> TokenTable::Parse(std::string_view text, const std::string& name) {
  TokenTable table;
  size_t line_no = 0;
  size_t start = 0;
  while (start < text.size()) {
    size_t end = text.find('\n', start);
    if (end == std::string_view::npos) end = text.size();
    std::string_view line = text.substr(start, end - start);
    start = end + 1;
    ++line_no;
    if (const size_t hash = line.find('#'); hash != std::string_view::npos) line = line.substr(0, hash);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    const std::vector<std::string_view> words = util::SplitOnBlanks(line);
    if (words.empty()) continue;
    auto error = [&](const std::string& reason) {
      return Status::InvalidArgument(name + ":" + std::to_string(line_no) + ": " + reason);
    };
    if (words.size() != 3) return error("expected TOKEN NAMESPACE PERMISSIONS");
    if (words[0].size() < kMinTokenLength) return error("token shorter than 16 characters");
    if (words[1].empty() || words[1][0] != '/') return error("namespace must start with '/'");
    std::string ns(util::WithoutTrailingSlashes(words[1]));
    auto permissions = ParsePermissions(words[2]);
    if (!permissions.ok()) return error(permissions.status().message());
    table.entries_.push_back({std::string(words[0]), {std::move(ns), *permissions}});
  }
  return table;
}

std::vector<TokenTable::Grant> TokenTable::GrantsOf(std::string_view token) const {
  std::vector<Grant> grants;
  for (const Entry& e : entries_) {
    // Every entry is compared, and each comparison reads the whole stored token: the time does
    // not depend on where a guess first differs.
    bool same = e.token.size() == token.size();
    const std::string_view probe = same ? token : std::string_view(e.token);
    same &= CRYPTO_memcmp(e.token.data(), probe.data(), e.token.size()) == 0;
    if (same) grants.push_back(e.grant);
  }
  return grants;
}

bool Allows(const std::vector<TokenTable::Grant>& grants, std::string_view ns, Permission permission) {
  for (const auto& g : grants) {
    if ((g.permissions & permission) && NamespaceCovers(g.namespace_, ns)) return true;
  }
  return false;
}

std::string_view TokenOfAuthorization(std::string_view header) {
  header = util::TrimBlanks(header);
  // The scheme's name is case-insensitive (RFC 9110 §11.1): "bearer" is "Bearer".
  constexpr std::string_view kBearer = "Bearer";
  const size_t blank = header.find_first_of(" \t");
  if (blank == kBearer.size() && util::EqualsIgnoreCase(header.substr(0, blank), kBearer)) {
    header = util::TrimBlanks(header.substr(blank));
  }
  return header;
}

}  // namespace flowstat::server
