#include "server/shards.h"

#include <httplib.h>

#include <future>

namespace flowstat::server {

std::string ShardQueryString(const std::vector<std::pair<std::string, std::string>>& params, const Window& window) {
  std::string out;
  auto add = [&](const std::string& name, const std::string& value) {
    if (!out.empty()) out += '&';
    out += httplib::detail::encode_query_param(name) + "=" + httplib::detail::encode_query_param(value);
  };
  for (const auto& [name, value] : params) {
    if (name == "startAbsolute" || name == "endAbsolute" || name == "startRelative" || name == "endRelative" ||
        name == "flowOffset" || name == "page" || name == "pagesize") {
      continue;  // the window is sent resolved; paging applies to the merged list
    }
    add(name, value);
  }
  add("startAbsolute", std::to_string(window.start_ms));
  add("endAbsolute", std::to_string(window.end_ms));
  return out;
}

namespace {

Result<Partial> FetchOne(const std::string& shard, const std::string& path,
                         const std::vector<std::pair<std::string, std::string>>& headers, int timeout_seconds,
                         ShardFailure* failure) {
  httplib::Client client(shard);
  client.set_connection_timeout(timeout_seconds, 0);
  client.set_read_timeout(timeout_seconds, 0);
  client.set_write_timeout(timeout_seconds, 0);
  httplib::Headers h;
  for (const auto& [name, value] : headers) h.emplace(name, value);
  auto res = client.Get(path, h);
  if (!res) {
    failure->reason = "shard " + shard + " did not answer: " + httplib::to_string(res.error());
    return Status::IOError(failure->reason);
  }
  if (res->status != 200) {
    failure->status = res->status >= 500 ? 503 : res->status;
    failure->body = res->status >= 500 ? "" : res->body;
    failure->reason = "shard " + shard + " answered " + std::to_string(res->status);
    return Status::IOError(failure->reason);
  }
  auto partial = DecodePartial(res->body);
  if (!partial.ok()) {
    failure->reason = "shard " + shard + " sent an unreadable partial: " + partial.status().message();
    return partial.status();
  }
  return partial;
}

}  // namespace

Result<std::vector<Partial>> FetchPartials(const std::vector<std::string>& shards, const std::string& query_string,
                                           const std::vector<std::pair<std::string, std::string>>& headers,
                                           int timeout_seconds, ShardFailure* failure) {
  const std::string path = "/flowstatistics/partial?" + query_string;
  std::vector<ShardFailure> failures(shards.size());
  std::vector<std::future<Result<Partial>>> pending;
  for (size_t i = 0; i < shards.size(); ++i) {
    pending.push_back(std::async(std::launch::async,
                                 [&, i] { return FetchOne(shards[i], path, headers, timeout_seconds, &failures[i]); }));
  }
  std::vector<Partial> partials;
  Status first_error;
  for (size_t i = 0; i < pending.size(); ++i) {
    auto r = pending[i].get();  // every request finishes before returning: none outlives this call
    if (!r.ok() && first_error.ok()) {
      first_error = r.status();
      *failure = failures[i];
    }
    if (r.ok()) partials.push_back(std::move(*r));
  }
  if (!first_error.ok()) return first_error;
  return partials;
}

}  // namespace flowstat::server
