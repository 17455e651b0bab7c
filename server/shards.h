// serve --shards: answering GET /flowstatistics from the partials of other flowstat servers.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "flowstat/partial.h"
#include "flowstat/status.h"

namespace flowstat::server {

// What a shard answered that was not a partial: its status and body, passed on (a 4xx is the
// query's fault and the same everywhere); status 503 with `body` empty for a shard that could
// not be reached, timed out or failed, `reason` naming it.
struct ShardFailure {
  int status = 503;
  std::string body;
  std::string reason;
};

// Asks every shard ("http://host:port") for GET /flowstatistics/partial?`query_string` with
// `headers` (X-Namespace, Authorization), all at once, each within `timeout_seconds`. Every
// partial, in shard order, or the first failure: never some of them.
Result<std::vector<Partial>> FetchPartials(const std::vector<std::string>& shards, const std::string& query_string,
                                           const std::vector<std::pair<std::string, std::string>>& headers,
                                           int timeout_seconds, ShardFailure* failure);

// The query string a broker sends its shards: the client's parameters with the window replaced by
// the absolute bounds the broker resolved, so that every shard answers for the same window.
std::string ShardQueryString(const std::vector<std::pair<std::string, std::string>>& params, const Window& window);

}  // namespace flowstat::server
