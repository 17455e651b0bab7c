// The page `flowstat serve` answers at GET / (server/page.html, embedded at build time).
#pragma once

namespace flowstat::server {

extern const char kPageHtml[];

}  // namespace flowstat::server
