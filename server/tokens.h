// Tokens: who may read or write which namespaces (doc/http.md, "Tokens").
//
// A tokens file holds one grant per line, `TOKEN NAMESPACE PERMISSIONS`: PERMISSIONS is `read`,
// `write` or `read,write`; `#` starts a comment; a token is at least 16 characters and may appear
// on several lines (one grant each). A grant covers its namespace and every namespace below it,
// with the same rule as a recursive query (`/acme/prod` covers `/acme/prod/web`, never
// `/acme/prodx`).
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "flowstat/status.h"

namespace flowstat::server {

enum Permission : unsigned { kRead = 1, kWrite = 2 };

class TokenTable {
 public:
  // Parses a tokens file. InvalidArgument "FILE:LINE: reason" for the first bad line.
  static Result<TokenTable> Load(const std::string& path);
  // Parses the text of a tokens file; `name` labels errors.
  static Result<TokenTable> Parse(std::string_view text, const std::string& name);

  struct Grant {
    std::string namespace_;
    unsigned permissions = 0;
  };
  // The grants of `token`, compared in constant time against every known token (the time taken
  // does not tell how much of a guess was right). Empty when the token is unknown.
  std::vector<Grant> GrantsOf(std::string_view token) const;

  size_t size() const { return entries_.size(); }

 private:
  struct Entry {
    std::string token;
    Grant grant;
  };
  std::vector<Entry> entries_;
};

// Whether `grants` allow `permission` on namespace `ns`.
bool Allows(const std::vector<TokenTable::Grant>& grants, std::string_view ns, Permission permission);

// The token of an Authorization header value: "Bearer TOKEN" (the scheme in any case) or the
// bare "TOKEN".
std::string_view TokenOfAuthorization(std::string_view header);

}  // namespace flowstat::server
