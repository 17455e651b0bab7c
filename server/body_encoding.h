// The encoding of response bodies. cpp-httplib compresses a JSON, SVG, HTML or text body on its
// own, and picks brotli at its slowest quality whenever the client lists "br" (every browser
// does): 3 ms for a 149-byte error, 100 ms for a 76 KB answer, 14 s for a 9 MB one. The server
// encodes those bodies itself instead: gzip at zlib's fastest level when the client accepts gzip,
// else the bytes as they are, handed to the library as a sized content provider, which it sends
// untouched (doc/http.md).
#pragma once

#include <httplib.h>

#include <string>
#include <string_view>

namespace flowstat::server {

// True when an Accept-Encoding value admits gzip: "gzip" (or "x-gzip") listed with a q-value above
// 0, or not listed and "*" is (RFC 9110 §12.5.3).
bool AcceptsGzip(std::string_view accept_encoding);

// The gzip member (RFC 1952) of `data`, deflated at zlib's fastest level.
std::string Gzip(std::string_view data);

// Takes res's body, when it is of a type the server compresses, and sends it gzipped when `req`
// accepts gzip, else as it is; either way as a sized content provider, with "Vary:
// Accept-Encoding". Other bodies (a partial answer's bytes) and empty ones are left alone. Call
// once, after the body is complete.
void EncodeBody(const httplib::Request& req, httplib::Response& res);

}  // namespace flowstat::server
