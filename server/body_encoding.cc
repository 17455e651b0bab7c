#include "server/body_encoding.h"

#include <zlib.h>

#include <cstdint>
#include <memory>
#include <optional>

#include "util/text.h"

namespace flowstat::server {
namespace {

// The q-value of one list member's parameters ("q=0.5"); 1 when absent. Only whether it is zero
// matters here: "0", "0.", "0.0", "0.000" are; anything else is not.
bool QualityZero(std::string_view params) {
  while (!params.empty()) {
    const size_t semicolon = params.find(';');
    const std::string_view param = util::TrimBlanks(params.substr(0, semicolon));
    params = semicolon == std::string_view::npos ? std::string_view() : params.substr(semicolon + 1);
    if (param.size() < 2 || (param[0] != 'q' && param[0] != 'Q') || param[1] != '=') continue;
    const std::string_view value = util::TrimBlanks(param.substr(2));
    if (value.empty() || value[0] != '0') return false;
    for (char c : value.substr(1)) {
      if (c != '.' && c != '0') return false;
    }
    return true;
  }
  return false;
}

// The types cpp-httplib would compress (and this server sends): JSON, SVG, HTML, text.
bool Compressible(std::string_view content_type) {
  const std::string_view type = util::TrimBlanks(content_type.substr(0, content_type.find(';')));
  return type == "application/json" || type == "image/svg+xml" || type.substr(0, 5) == "text/";
}

}  // namespace

bool AcceptsGzip(std::string_view accept_encoding) {
  std::optional<bool> gzip, any;
  while (!accept_encoding.empty()) {
    const size_t comma = accept_encoding.find(',');
    const std::string_view member = accept_encoding.substr(0, comma);
    accept_encoding = comma == std::string_view::npos ? std::string_view() : accept_encoding.substr(comma + 1);
    const size_t semicolon = member.find(';');
    const std::string_view coding = util::TrimBlanks(member.substr(0, semicolon));
    const bool admitted =
        !QualityZero(semicolon == std::string_view::npos ? std::string_view() : member.substr(semicolon + 1));
    if (util::EqualsIgnoreCase(coding, "gzip") || util::EqualsIgnoreCase(coding, "x-gzip")) gzip = admitted;
    if (coding == "*") any = admitted;
  }
  return gzip.value_or(any.value_or(false));
}

std::string Gzip(std::string_view data) {
  z_stream z{};
  // windowBits 15 + 16: a gzip header and trailer around the deflate stream.
  if (deflateInit2(&z, Z_BEST_SPEED, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK) return {};
  std::string out(deflateBound(&z, data.size()), '\0');
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
  z.avail_in = static_cast<uInt>(data.size());
  z.next_out = reinterpret_cast<Bytef*>(out.data());
  z.avail_out = static_cast<uInt>(out.size());
  const int done = deflate(&z, Z_FINISH);  // the bound leaves room for all of it in one call
  out.resize(z.total_out);
  deflateEnd(&z);
  return done == Z_STREAM_END ? out : std::string();
}

void EncodeBody(const httplib::Request& req, httplib::Response& res) {
  const std::string type = res.get_header_value("Content-Type");
  if (res.body.empty() || !Compressible(type)) return;
  auto bytes = std::make_shared<std::string>();
  // Bodies past 4 GiB are not deflated in one call; they are sent as they are.
  if (res.body.size() < (uint64_t{1} << 32) && AcceptsGzip(req.get_header_value("Accept-Encoding"))) {
    *bytes = Gzip(res.body);
    if (!bytes->empty()) res.set_header("Content-Encoding", "gzip");
  }
  if (bytes->empty()) bytes->swap(res.body);
  res.body.clear();
  res.headers.erase("Content-Type");  // set again, once, by set_content_provider
  res.set_header("Vary", "Accept-Encoding");
  res.set_content_provider(bytes->size(), type.c_str(), [bytes](size_t offset, size_t length, httplib::DataSink& sink) {
    return sink.write(bytes->data() + offset, length);
  });
}

}  // namespace flowstat::server
