// `flowstat serve`: a store behind the original FlowStatistic HTTP API (doc/http.md).
//
// One process holds the store open for writing; it answers GET /flowstatistics on snapshots while
// POST /flowreports appends, each report acknowledged once durable. The server uses the public
// library API only (flowstat/store.h).
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "flowstat/loader.h"

namespace flowstat::server {

struct ServeOptions {
  std::string db;                         // created if missing
  std::string listen = "127.0.0.1:8080";  // HOST:PORT, [IPv6]:PORT; port 0 picks a free one
  std::string tokens_path;                // empty: no tokens, loopback only
  std::string tls_cert, tls_key, client_ca;
  size_t threads = 8;                  // threads kept ready for connections
  size_t max_connections = 2048;       // connections served at once (one thread each)
  size_t max_body = size_t{64} << 20;  // request body bytes
  int timeout_seconds = 5;             // read, write and keep-alive idle timeouts
  int refresh_ms = 5000;               // rollup refresh period while reports arrive
  int64_t retention_ms = 0;            // > 0: expire events older than this, once a minute
  // > 0 (and >= retention_ms): raw events older than retention_ms go but their hour and day
  // rollups stay until they are this old (Store::Expire with keep_rollups).
  int64_t rollup_retention_ms = 0;
  int retention_check_ms = 60000;
  size_t cache_mb = kDefaultCacheBytes >> 20;                       // decompressed blocks kept for queries, MiB
  size_t dictionary_cache_mb = kDefaultDictionaryCacheBytes >> 20;  // addresses and details kept, MiB
  std::string port_file;  // when set, the bound port is written there once listening
  // When set, GET /flowstatistics (and .svg) merge the partials of these flowstat servers
  // ("http://host:port") instead of asking the local store; a shard that fails makes it a 503.
  std::vector<std::string> shards;
};

// Runs until SIGTERM or SIGINT, then finishes the requests in flight, flushes and returns 0.
// Returns 2 for unusable options (non-loopback address without tokens, a bad tokens file,
// unreadable certificates), 1 when the store cannot be opened or the address bound.
int Serve(const ServeOptions& options);

}  // namespace flowstat::server
