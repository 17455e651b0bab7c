// GET /flowstatistics: the URL's query string to a Query (doc/http.md).
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "flowstat/query.h"

namespace flowstat::server {

// The name=value pairs of a URL query string, percent-decoded ('+' is a space), in order; a
// parameter may repeat. Only the first '=' separates name from value ("sourceTags=app=web").
// InvalidArgument for a malformed escape.
Result<std::vector<std::pair<std::string, std::string>>> ParseQueryString(std::string_view query);

// A bad request's reason and the parameter it concerns ("" when none).
struct ParameterError {
  std::string parameter;
  std::string description;
};

// A library error as a bad request: "name: reason" messages name their parameter first
// ("averageInterval: the window holds ... buckets"); parameter "" when the name is no parameter's.
ParameterError ParameterErrorOf(const Status& s);

// Whether `a` and `b` name one namespace: "/acme/" is "/acme" (a query's namespace is normalized so).
bool SameNamespace(std::string_view a, std::string_view b);

// What a GET /flowstatistics asks for.
struct StatisticsRequest {
  Query query;
  // Paging of the returned list, as the original clients send it (page from 1; 0: all).
  uint64_t page = 0;
  uint64_t page_size = 0;
};

// Builds the request from the URL parameters and the X-Namespace header (`header_namespace`,
// nullopt when absent). The parameters of doc/queries.md keep their names; the list
// parameters of the original clients (page, pagesize, order, override, q) are accepted; any
// other name is an error naming it.
std::optional<ParameterError> BuildStatisticsRequest(const std::vector<std::pair<std::string, std::string>>& params,
                                                     const std::optional<std::string>& header_namespace,
                                                     StatisticsRequest* request);

}  // namespace flowstat::server
