#include "server/server.h"

#include <arpa/inet.h>
#include <httplib.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>
#include <utility>

#include "flowstat/chart.h"
#include "flowstat/partial.h"
#include "flowstat/store.h"
#include "server/body_encoding.h"
#include "server/connection_pool.h"
#include "server/http_query.h"
#include "server/metrics.h"
#include "server/page.h"
#include "server/reports.h"
#include "server/shards.h"
#include "server/tokens.h"
#include "util/files.h"
#include "util/json_text.h"

namespace flowstat::server {
namespace {

using Clock = std::chrono::steady_clock;

const char* Title(int status) {
  switch (status) {
    case 400:
      return "Bad Request";
    case 401:
      return "Unauthorized";
    case 403:
      return "Forbidden";
    case 404:
      return "Not Found";
    case 405:
      return "Method Not Allowed";
    case 411:
      return "Length Required";
    case 413:
      return "Payload Too Large";
    case 414:
      return "URI Too Long";
    case 422:
      return "Unprocessable Entity";
    case 503:
      return "Service Unavailable";
    case 507:
      return "Insufficient Storage";
    default:
      return status >= 500 ? "Internal Server Error" : "Error";
  }
}

// One object of the original API's error list. `data` is a JSON object's text ("{}" when none).
void AppendErrorObject(std::string* out, int status, std::string_view description, std::string_view data) {
  *out += "{\"code\":" + std::to_string(status) + ",\"title\":";
  util::AppendJsonString(out, Title(status));
  *out += ",\"description\":";
  util::AppendJsonString(out, description);
  *out += ",\"subject\":\"flowstat\",\"data\":";
  *out += data;
  out->push_back('}');
}

// An error object appended to a list being built in `out` (opened when empty, closed by SendErrors).
void AppendError(std::string* out, int status, std::string_view description, std::string_view data) {
  out->push_back(out->empty() ? '[' : ',');
  AppendErrorObject(out, status, description, data);
}

std::string EventErrorData(size_t index) { return "{\"index\":" + std::to_string(index) + "}"; }

// A 422's list of errors is held whole up to this many; past it, a body of invalid events (8 MB
// of "x" lines: 4M errors, 934 MB of JSON, 2.5 GB of memory at the peak) is answered as a stream,
// each error written as the body is read again, in chunks of ~64 KB.
constexpr size_t kErrorsHeld = 1000;

// Bytes of a streamed answer sent by this thread, for its access-log line: such an answer has no
// Content-Length.
thread_local uint64_t streamed_bytes = 0;

void StreamEventErrors(httplib::Response& res, std::string body, const std::string& content_type) {
  struct Stream {
    std::string body;
    std::unique_ptr<ReportReader> reader;
    bool opened = false, any = false;
  };
  auto stream = std::make_shared<Stream>();
  stream->body = std::move(body);
  stream->reader = std::make_unique<ReportReader>(stream->body, content_type);
  res.status = 422;
  res.set_chunked_content_provider("application/json", [stream](size_t, httplib::DataSink& sink) {
    constexpr size_t kChunkBytes = 64 << 10;
    std::string out = stream->opened ? "" : "[";
    stream->opened = true;
    FlowEvent event;
    std::string reason;
    ReportReader::Item item = ReportReader::Item::kEvent;
    while (out.size() < kChunkBytes && (item = stream->reader->Next(&event, &reason)) != ReportReader::Item::kEnd) {
      if (item != ReportReader::Item::kInvalid) continue;
      if (stream->any) out.push_back(',');
      AppendErrorObject(&out, 422, reason, EventErrorData(stream->reader->index()));
      stream->any = true;
    }
    if (item == ReportReader::Item::kEnd) out.push_back(']');
    streamed_bytes += out.size();
    if (!sink.write(out.data(), out.size())) return false;
    if (item == ReportReader::Item::kEnd) sink.done();
    return true;
  });
}

void SendErrors(httplib::Response& res, int status, std::string errors) {
  errors.push_back(']');
  res.status = status;
  res.set_content(errors, "application/json");
}

void SendError(httplib::Response& res, int status, std::string_view description, std::string_view parameter = {}) {
  std::string data = "{}";
  if (!parameter.empty()) {
    data = "{\"parameter\":";
    util::AppendJsonString(&data, parameter);
    data.push_back('}');
  }
  std::string out;
  AppendError(&out, status, description, data);
  SendErrors(res, status, std::move(out));
}

// A query the store refused: a bad parameter is a 400 naming it, anything else a 500.
void SendQueryError(httplib::Response& res, const Status& s) {
  if (s.code() != Status::Code::kInvalidArgument) return SendError(res, 500, s.message());
  const ParameterError error = ParameterErrorOf(s);
  SendError(res, 400, error.description, error.parameter);
}

bool IsLoopback(const std::string& host) {
  if (host == "localhost") return true;
  in_addr v4;
  if (inet_pton(AF_INET, host.c_str(), &v4) == 1) return (ntohl(v4.s_addr) >> 24) == 127;
  in6_addr v6;
  return inet_pton(AF_INET6, host.c_str(), &v6) == 1 && IN6_IS_ADDR_LOOPBACK(&v6);
}

// "HOST:PORT" or "[V6]:PORT".
bool SplitListen(const std::string& listen, std::string* host, int* port) {
  size_t colon = listen.rfind(':');
  if (colon == std::string::npos || colon + 1 == listen.size()) return false;
  *host = listen.substr(0, colon);
  if (host->size() >= 2 && host->front() == '[' && host->back() == ']') *host = host->substr(1, host->size() - 2);
  try {
    size_t used = 0;
    *port = std::stoi(listen.substr(colon + 1), &used);
    return used == listen.size() - colon - 1 && *port >= 0 && *port <= 65535 && !host->empty();
  } catch (const std::exception&) {
    return false;
  }
}

// Every path the server answers and its methods (HEAD wherever GET); the handlers of
// Service::Install match.
struct Route {
  const char* path;
  const char* allowed;
  bool Allows(std::string_view method) const {
    const std::string_view get_head = "GET, HEAD";
    return allowed == get_head ? method == "GET" || method == "HEAD" : method == allowed;
  }
};
constexpr Route kRoutes[] = {{"/flowstatistics", "GET, HEAD"},
                             {"/flowstatistics.svg", "GET, HEAD"},
                             {"/flowstatistics/partial", "GET, HEAD"},
                             {"/", "GET, HEAD"},
                             {"/flowreports", "POST"},
                             {"/health", "GET, HEAD"},
                             {"/metrics", "GET, HEAD"},
                             {"/backup", "POST"}};

// The route of `path`; null for a path the server does not answer.
const Route* FindRoute(std::string_view path) {
  for (const Route& route : kRoutes) {
    if (path == route.path) return &route;
  }
  return nullptr;
}

// The metrics' label of a path: its route, or "other" (a bounded set, whatever clients send).
std::string RouteOf(const std::string& path) {
  const Route* route = FindRoute(path);
  return route ? route->path : "other";
}

// When a request started being served, for the access log (each connection has its own thread).
thread_local Clock::time_point request_start;

class Service {
 public:
  Service(const ServeOptions& options, std::unique_ptr<Store> store, std::shared_ptr<const TokenTable> tokens)
      : options_(options), store_(std::move(store)), tokens_(std::move(tokens)) {}

  void Install(httplib::Server& http);
  void ReloadTokens();
  void Drain() { draining_ = true; }
  // Brings rollups up to date every refresh period while reports arrive; returns on Stop.
  void RefreshLoop();
  void StopRefresh();
  Status FinalFlush() { return store_->Flush(); }

 private:
  // The grants of the request's token; nullopt after answering 401. Without a tokens file
  // everything is granted.
  std::optional<std::vector<TokenTable::Grant>> Authenticate(const httplib::Request& req, httplib::Response& res);
  // GET /flowstatistics (JSON), GET /flowstatistics.svg (the same answer drawn) and
  // GET /flowstatistics/partial (this store's share, for a broker's merge).
  enum class Answer { kJson, kSvg, kPartial };
  void Statistics(const httplib::Request& req, httplib::Response& res, Answer answer);
  // The answer merged from the shards' partials (serve --shards); nullopt when `res` holds an error.
  std::optional<std::vector<FlowStatistic>> FromShards(const httplib::Request& req, httplib::Response& res,
                                                       const std::vector<std::pair<std::string, std::string>>& params,
                                                       const Query& query);
  // --retention and --rollup-retention at `now_ms`.
  Status ApplyRetention(int64_t now_ms);
  // A POST's body, decompressed, at most --max-body bytes of it; nullopt when `res` holds an error.
  std::optional<std::string> ReadBody(const httplib::Request& req, httplib::Response& res,
                                      const httplib::ContentReader& reader);
  void Reports(const httplib::Request& req, httplib::Response& res, const httplib::ContentReader& reader);
  void Metrics(const httplib::Request& req, httplib::Response& res);
  void Backup(const httplib::Request& req, httplib::Response& res, const httplib::ContentReader& reader);
  void Log(const httplib::Request& req, const httplib::Response& res);

  const ServeOptions options_;
  const std::unique_ptr<Store> store_;
  std::mutex tokens_mu_;
  std::shared_ptr<const TokenTable> tokens_;  // guarded by tokens_mu_; null: no tokens file
  std::atomic<bool> draining_{false};
  server::Metrics metrics_;

  std::mutex refresh_mu_;
  std::condition_variable refresh_cv_;
  bool refresh_stop_ = false;         // guarded by refresh_mu_
  std::atomic<bool> written_{false};  // reports stored since the last refresh
};

std::optional<std::vector<TokenTable::Grant>> Service::Authenticate(const httplib::Request& req,
                                                                    httplib::Response& res) {
  std::shared_ptr<const TokenTable> tokens;
  {
    std::lock_guard lock(tokens_mu_);
    tokens = tokens_;
  }
  if (!tokens) return std::vector<TokenTable::Grant>{{"/", kRead | kWrite}};
  if (!req.has_header("Authorization")) {
    SendError(res, 401, "missing Authorization header (Bearer TOKEN)");
    return std::nullopt;
  }
  auto grants = tokens->GrantsOf(TokenOfAuthorization(req.get_header_value("Authorization")));
  if (grants.empty()) {
    SendError(res, 401, "unknown token");
    return std::nullopt;
  }
  return grants;
}

std::optional<std::vector<FlowStatistic>> Service::FromShards(
    const httplib::Request& req, httplib::Response& res, const std::vector<std::pair<std::string, std::string>>& params,
    const Query& query) {
  auto window = ResolveWindow(query);
  if (!window.ok()) {
    SendError(res, 400, window.status().message());
    return std::nullopt;
  }
  std::vector<std::pair<std::string, std::string>> headers;
  for (const char* name : {"X-Namespace", "Authorization"}) {
    if (req.has_header(name)) headers.emplace_back(name, req.get_header_value(name));
  }
  ShardFailure failure;
  auto partials =
      FetchPartials(options_.shards, ShardQueryString(params, *window), headers, options_.timeout_seconds, &failure);
  if (!partials.ok()) {
    if (failure.body.empty()) {
      SendError(res, 503, failure.reason + ": no answer rather than a partial one");
    } else {
      res.status = failure.status;
      res.set_content(failure.body, "application/json");
    }
    return std::nullopt;
  }
  auto merged = MergePartials(*partials);
  if (!merged.ok()) {
    SendError(res, 503, "the shards' partials do not merge: " + merged.status().message());
    return std::nullopt;
  }
  return FinishPartial(*merged);
}

void Service::Statistics(const httplib::Request& req, httplib::Response& res, Answer answer) {
  const bool svg = answer == Answer::kSvg;
  auto grants = Authenticate(req, res);
  if (!grants) return;
  const size_t question = req.target.find('?');
  auto params = ParseQueryString(question == std::string::npos ? std::string_view()
                                                               : std::string_view(req.target).substr(question + 1));
  if (!params.ok()) return SendError(res, 400, params.status().message());
  ChartOptions chart;
  if (svg) {  // the picture's width, a parameter of the drawing only
    for (auto it = params->begin(); it != params->end(); ++it) {
      if (it->first != "width") continue;
      const int width = std::atoi(it->second.c_str());
      if (width < 300 || width > 4000) return SendError(res, 400, "width: must be from 300 to 4000 pixels", "width");
      chart.width = width;
      params->erase(it);
      break;
    }
  }
  std::optional<std::string> header_namespace;
  for (size_t i = 0; i < req.get_header_value_count("X-Namespace"); ++i) {
    const std::string value = req.get_header_value("X-Namespace", i);
    if (header_namespace && !SameNamespace(*header_namespace, value)) {
      return SendError(res, 400, "namespace: X-Namespace headers with different values", "namespace");
    }
    header_namespace = value;
  }
  StatisticsRequest request;
  if (auto error = BuildStatisticsRequest(*params, header_namespace, &request)) {
    return SendError(res, 400, error->description, error->parameter);
  }
  if (!Allows(*grants, request.query.namespace_, kRead)) {
    return SendError(res, 403, "the token does not grant read on " + request.query.namespace_, "namespace");
  }
  if (answer == Answer::kPartial) {
    auto partial = store_->QueryPartial(request.query);
    if (!partial.ok()) {
      return SendQueryError(res, partial.status());
    }
    res.set_content(EncodePartial(*partial), "application/x-flowstat-partial");
    return;
  }
  std::vector<FlowStatistic> list;
  if (!options_.shards.empty()) {
    auto merged = FromShards(req, res, *params, request.query);
    if (!merged) return;
    list = std::move(*merged);
  } else {
    auto result = store_->Query(request.query);
    if (!result.ok()) {
      return SendQueryError(res, result.status());
    }
    list = std::move(*result);
  }
  res.set_header("X-Count", std::to_string(list.size()));
  if (svg) {
    auto window = ResolveWindow(request.query);
    res.set_content(RenderSvg(list, request.query, window.ok() ? *window : Window{}, chart), "image/svg+xml");
    return;
  }
  if (request.page > 0 && request.page_size > 0) {
    const uint64_t first = (request.page - 1) * request.page_size;
    if (first >= list.size())
      list.clear();
    else
      list = std::vector<FlowStatistic>(list.begin() + first,
                                        list.begin() + std::min<uint64_t>(list.size(), first + request.page_size));
  }
  std::string body = FormatStatisticsJson(list);
  body.push_back('\n');  // byte for byte the line `flowstat query --batch` prints
  res.set_content(std::move(body), "application/json");
}

// The route reads its body itself: the library bounds only a body whose Content-Length is over
// the limit, not a chunked one nor what a compressed one expands to, and would hold either whole.
// After a body left unread or half read the rest of the connection's bytes are meaningless: the
// answer asks the client to close it (`Connection: close`).
std::optional<std::string> Service::ReadBody(const httplib::Request& req, httplib::Response& res,
                                             const httplib::ContentReader& reader) {
  if (req.is_multipart_form_data()) {
    res.set_header("Connection", "close");
    SendError(res, 400, "a multipart/form-data body: send flow events as application/json or application/x-ndjson");
    return std::nullopt;
  }
  std::string body;
  bool too_large = false;
  const bool read = reader([&](const char* data, size_t size) {
    too_large = size > options_.max_body - body.size();
    if (!too_large) body.append(data, size);
    return !too_large;
  });
  if (read) return body;
  res.set_header("Connection", "close");
  if (too_large || res.status == 413) {
    SendError(
        res, 413,
        "request body larger than --max-body (" + std::to_string(options_.max_body) + " bytes once decompressed)");
  } else {
    SendError(res, 400, "request body could not be read: broken chunked encoding or compressed data");
  }
  return std::nullopt;
}

void Service::Reports(const httplib::Request& req, httplib::Response& res, const httplib::ContentReader& reader) {
  std::optional<std::string> body = ReadBody(req, res, reader);
  if (!body) return;
  auto grants = Authenticate(req, res);
  if (!grants) return;
  if (body->find_first_not_of(" \t\r\n") == std::string::npos) return SendError(res, 400, "empty body: no flow events");
  const std::string content_type = req.get_header_value("Content-Type");
  ParsedReports parsed = ParseReports(*body, content_type, kErrorsHeld);
  if (!parsed.body_error.empty()) return SendError(res, 400, parsed.body_error);
  if (parsed.error_count > parsed.errors.size()) return StreamEventErrors(res, std::move(*body), content_type);
  if (parsed.error_count > 0) {
    std::string out;
    for (const ParsedReports::EventError& e : parsed.errors)
      AppendError(&out, 422, e.description, EventErrorData(e.index));
    return SendErrors(res, 422, std::move(out));
  }
  for (size_t i = 0; i < parsed.events.size(); ++i) {
    const std::string& ns = parsed.events[i].namespace_;
    if (!Allows(*grants, ns, kWrite)) {
      std::string out;
      AppendError(&out, 403, "the token does not grant write on " + ns + ": nothing stored",
                  "{\"index\":" + std::to_string(i) + "}");
      return SendErrors(res, 403, std::move(out));
    }
  }
  AppendStats stats;
  Status s = store_->AppendBatch(parsed.events, &stats);
  if (s.ok()) s = store_->Sync();  // acknowledged only once durable; concurrent requests share the sync
  if (s.code() == Status::Code::kInvalidArgument) return SendError(res, 422, s.message() + ": nothing stored");
  if (!s.ok()) {
    const bool full = s.message().find("No space left on device") != std::string::npos;
    return SendError(res, full ? 507 : 500, s.message());
  }
  written_ = true;
  metrics_.CountReports(stats.accepted, stats.duplicates);
  res.set_content(
      "{\"accepted\":" + std::to_string(stats.accepted) + ",\"duplicates\":" + std::to_string(stats.duplicates) + "}",
      "application/json");
}

void Service::Metrics(const httplib::Request& req, httplib::Response& res) {
  if (!Authenticate(req, res)) return;
  res.set_content(metrics_.Exposition(util::DirectoryBytes(options_.db)), "text/plain; version=0.0.4; charset=utf-8");
}

// POST /backup?to=DIR: a consistent copy of the store while it keeps serving (write on "/").
void Service::Backup(const httplib::Request& req, httplib::Response& res, const httplib::ContentReader& reader) {
  if (!ReadBody(req, res, reader)) return;  // ignored, but read: the connection's next request follows it
  auto grants = Authenticate(req, res);
  if (!grants) return;
  if (!Allows(*grants, "/", kWrite)) return SendError(res, 403, "a backup needs a token with write on /");
  const std::string to = req.get_param_value("to");
  if (to.empty() || to[0] != '/') return SendError(res, 400, "to: an absolute directory path is required", "to");
  Status s = store_->Backup(to);
  if (!s.ok()) return SendError(res, s.code() == Status::Code::kInvalidArgument ? 400 : 500, s.message(), "to");
  std::string body = "{\"backup\":";
  util::AppendJsonString(&body, to);
  body.push_back('}');
  res.set_content(body, "application/json");
}

// The path as the access log shows it: the first 200 bytes, with spaces, control characters,
// '%' and bytes past ASCII written as %XX — a decoded path may hold a newline, and a line a client
// could forge would make the log lie.
std::string LoggedPath(std::string_view path) {
  static const char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (const char ch : path.substr(0, 200)) {
    const auto c = static_cast<unsigned char>(ch);
    if (c <= 0x20 || c >= 0x7f || c == '%') {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    } else {
      out += ch;
    }
  }
  return out;
}

void Service::Log(const httplib::Request& req, const httplib::Response& res) {
  const double seconds = std::chrono::duration<double>(Clock::now() - request_start).count();
  metrics_.CountRequest(RouteOf(req.path), res.status, seconds);
  char when[32];
  const std::time_t now = std::time(nullptr);
  std::tm tm;
  gmtime_r(&now, &tm);
  std::strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", &tm);
  // The path only: a query string is the client's business, and no token ever appears here.
  // The body bytes sent. Bodies go out through content providers (server/body_encoding.h), which
  // leave `body` empty: their size is the Content-Length header written with them, or what a
  // streamed one counted. HEAD sends none.
  const size_t bytes = req.method == "HEAD"               ? 0
                       : res.is_chunked_content_provider_ ? streamed_bytes
                       : res.body.empty()                 ? res.get_header_value<uint64_t>("Content-Length")
                                                          : res.body.size();
  streamed_bytes = 0;
  char line[1024];  // a logged path takes at most 600 bytes
  const int n = std::snprintf(line, sizeof line, "%s %.32s %s %d %zu %.3fms\n", when, req.method.c_str(),
                              LoggedPath(req.path).c_str(), res.status, bytes, seconds * 1000);
  if (n > 0) (void)!::write(STDERR_FILENO, line, std::min<size_t>(static_cast<size_t>(n), sizeof line - 1));
}

void Service::Install(httplib::Server& http) {
  http.set_pre_routing_handler([this](const httplib::Request& req, httplib::Response& res) {
    request_start = Clock::now();
    if (draining_) {
      SendError(res, 503, "shutting down");
      res.set_header("Connection", "close");
      return httplib::Server::HandlerResponse::Handled;
    }
    // Path and method are judged before the body is read: a body-less PUT would otherwise
    // fail as a short read (400) before reaching a route.
    const Route* route = FindRoute(req.path);
    if (!route) {
      SendError(res, 404, "no such path: " + req.path.substr(0, 200));
      return httplib::Server::HandlerResponse::Handled;
    }
    if (!route->Allows(req.method)) {
      res.set_header("Allow", route->allowed);
      SendError(res, 405, req.method + " is not allowed here (allowed: " + route->allowed + ")");
      return httplib::Server::HandlerResponse::Handled;
    }
    if (req.method == "POST" && !req.has_header("Content-Length") &&
        req.get_header_value("Transfer-Encoding").find("chunked") == std::string::npos) {
      SendError(res, 411, "Content-Length required");
      return httplib::Server::HandlerResponse::Handled;
    }
    return httplib::Server::HandlerResponse::Unhandled;
  });
  // Every answer's body is encoded here (server/body_encoding.h); error lists in the error handler.
  auto encoded = [](httplib::Server::Handler handler) {
    return [handler = std::move(handler)](const httplib::Request& req, httplib::Response& res) {
      handler(req, res);
      if (res.status < 400) EncodeBody(req, res);
    };
  };
  auto encoded_reading = [](httplib::Server::HandlerWithContentReader handler) {
    return [handler = std::move(handler)](const httplib::Request& req, httplib::Response& res,
                                          const httplib::ContentReader& reader) {
      handler(req, res, reader);
      if (res.status < 400) EncodeBody(req, res);
    };
  };
  http.Get("/flowstatistics", encoded([this](const httplib::Request& req, httplib::Response& res) {
             Statistics(req, res, Answer::kJson);
           }));
  http.Get("/flowstatistics.svg", encoded([this](const httplib::Request& req, httplib::Response& res) {
             Statistics(req, res, Answer::kSvg);
           }));
  http.Get("/flowstatistics/partial", encoded([this](const httplib::Request& req, httplib::Response& res) {
             Statistics(req, res, Answer::kPartial);
           }));
  http.Get("/", encoded([](const httplib::Request&, httplib::Response& res) {
             // The page draws what /flowstatistics.svg answers; it loads nothing from anywhere else.
             res.set_header("Content-Security-Policy",
                            "default-src 'self'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; img-src 'self' "
                            "data:");
             res.set_content(kPageHtml, "text/html; charset=utf-8");
           }));
  http.Post("/flowreports",
            encoded_reading([this](const httplib::Request& req, httplib::Response& res,
                                   const httplib::ContentReader& reader) { Reports(req, res, reader); }));
  http.Get("/health", encoded([](const httplib::Request&, httplib::Response& res) {
             res.set_content("{\"status\":\"ok\"}", "application/json");
           }));
  http.Get("/metrics", encoded([this](const httplib::Request& req, httplib::Response& res) { Metrics(req, res); }));
  http.Post("/backup", encoded_reading([this](const httplib::Request& req, httplib::Response& res,
                                              const httplib::ContentReader& reader) { Backup(req, res, reader); }));
  http.set_error_handler([](const httplib::Request& req, httplib::Response& res) {
    if (res.body.empty() && !res.content_provider_) {  // else a handler wrote or streams the error list
      const int status = res.status;
      if (status == 404)
        SendError(res, 404, "no such path: " + req.path.substr(0, 200));
      else if (status == 413)
        SendError(res, 413, "request body larger than --max-body");
      else
        SendError(res, status, Title(status));
    }
    EncodeBody(req, res);
  });
  http.set_exception_handler([](const httplib::Request&, httplib::Response& res, std::exception_ptr) {
    SendError(res, 500, "internal error");
  });
  http.set_logger([this](const httplib::Request& req, const httplib::Response& res) { Log(req, res); });
}

void Service::ReloadTokens() {
  auto loaded = TokenTable::Load(options_.tokens_path);
  if (!loaded.ok()) {
    std::fprintf(stderr, "flowstat serve: SIGHUP: keeping the previous tokens: %s\n",
                 loaded.status().message().c_str());
    return;
  }
  const size_t n = loaded->size();
  {
    std::lock_guard lock(tokens_mu_);
    tokens_ = std::make_shared<const TokenTable>(std::move(*loaded));
  }
  std::fprintf(stderr, "flowstat serve: SIGHUP: reloaded %zu grants from %s\n", n, options_.tokens_path.c_str());
}

Status Service::ApplyRetention(int64_t now_ms) {
  if (options_.rollup_retention_ms == 0) return store_->Expire(now_ms - options_.retention_ms);
  if (Status s = store_->Expire(now_ms - options_.retention_ms, "/", /*keep_rollups=*/true); !s.ok()) return s;
  // Rollups go a whole hour at a time: the hours there have no raw events left to cut.
  constexpr int64_t kHour = 3600000;
  return store_->Expire((now_ms - options_.rollup_retention_ms) / kHour * kHour);
}

void Service::RefreshLoop() {
  std::unique_lock lock(refresh_mu_);
  auto last_expiry = Clock::now() - std::chrono::hours(1);
  bool pass_saw_writes = false;
  const int period =
      options_.retention_ms > 0 ? std::min(options_.refresh_ms, options_.retention_check_ms) : options_.refresh_ms;
  while (!refresh_cv_.wait_for(lock, std::chrono::milliseconds(period), [&] { return refresh_stop_; })) {
    const bool expire_due = options_.retention_ms > 0 &&
                            Clock::now() - last_expiry >= std::chrono::milliseconds(options_.retention_check_ms);
    // A pass refreshes the hours no report touched since the pass before it began, so the hours
    // of the last reports wait for the pass after the one their writes were seen by.
    const bool written = written_.exchange(false);
    const bool follow_up = std::exchange(pass_saw_writes, written);
    if (!expire_due && !written && !follow_up) continue;
    lock.unlock();
    if (expire_due) {
      last_expiry = Clock::now();
      const int64_t now_ms =
          std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
              .count();
      if (Status s = ApplyRetention(now_ms); !s.ok()) {  // refreshes rollups too
        std::fprintf(stderr, "flowstat serve: retention: %s\n", s.message().c_str());
      }
    } else if (Status s = store_->FlushSettled(); !s.ok()) {
      std::fprintf(stderr, "flowstat serve: rollup refresh failed: %s\n", s.message().c_str());
    }
    lock.lock();
  }
}

void Service::StopRefresh() {
  {
    std::lock_guard lock(refresh_mu_);
    refresh_stop_ = true;
  }
  refresh_cv_.notify_all();
}

std::unique_ptr<httplib::Server> NewHttpServer(const ServeOptions& o) {
  if (o.tls_cert.empty()) return std::make_unique<httplib::Server>();
  auto https = std::make_unique<httplib::SSLServer>(o.tls_cert.c_str(), o.tls_key.c_str(),
                                                    o.client_ca.empty() ? nullptr : o.client_ca.c_str());
  if (!https->is_valid()) return nullptr;
  return https;
}

}  // namespace

int Serve(const ServeOptions& options) {
  std::string host;
  int port = 0;
  if (!SplitListen(options.listen, &host, &port)) {
    std::fprintf(stderr, "flowstat serve: --listen: expected HOST:PORT, got '%s'\n", options.listen.c_str());
    return 2;
  }
  if (options.tokens_path.empty() && !IsLoopback(host)) {
    std::fprintf(stderr,
                 "flowstat serve: --listen %s: without --tokens the server answers anyone, so it listens on a "
                 "loopback address only (127.0.0.1, ::1)\n",
                 options.listen.c_str());
    return 2;
  }
  if (options.tls_cert.empty() != options.tls_key.empty() || (!options.client_ca.empty() && options.tls_cert.empty())) {
    std::fprintf(stderr, "flowstat serve: --tls-cert and --tls-key go together (and --client-ca needs them)\n");
    return 2;
  }
  std::shared_ptr<const TokenTable> tokens;
  if (!options.tokens_path.empty()) {
    auto loaded = TokenTable::Load(options.tokens_path);
    if (!loaded.ok()) {
      std::fprintf(stderr, "flowstat serve: --tokens: %s\n", loaded.status().message().c_str());
      return 2;
    }
    tokens = std::make_shared<const TokenTable>(std::move(*loaded));
  }
  auto http = NewHttpServer(options);
  if (!http) {
    std::fprintf(stderr, "flowstat serve: cannot use the TLS certificate, key or client CA given\n");
    return 2;
  }
  // Signals go to one thread that waits for them (sigwait), not to handlers: every thread
  // started from here on inherits the mask.
  sigset_t signals;
  sigemptyset(&signals);
  for (int sig : {SIGTERM, SIGINT, SIGHUP}) sigaddset(&signals, sig);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  signal(SIGPIPE, SIG_IGN);

  OpenOptions open;
  open.cache_bytes = options.cache_mb << 20;
  open.dictionary_cache_bytes = options.dictionary_cache_mb << 20;
  auto store = Store::Open(options.db, open);
  if (!store.ok()) {
    std::fprintf(stderr, "flowstat serve: %s\n", store.status().message().c_str());
    return 1;
  }
  Service service(options, std::move(*store), tokens);
  service.Install(*http);
  http->new_task_queue = [&options] { return new ConnectionPool(options.threads, options.max_connections); };
  http->set_read_timeout(options.timeout_seconds, 0);
  http->set_write_timeout(options.timeout_seconds, 0);
  http->set_keep_alive_timeout(options.timeout_seconds);
  http->set_keep_alive_max_count(1000);
  http->set_tcp_nodelay(true);  // headers and body are separate writes: without it, Nagle waits for a delayed ACK
  http->set_payload_max_length(options.max_body);
  const int bound = port == 0 ? http->bind_to_any_port(host) : (http->bind_to_port(host, port) ? port : -1);
  if (bound < 0) {
    std::fprintf(stderr, "flowstat serve: cannot listen on %s\n", options.listen.c_str());
    return 1;
  }
  if (!options.port_file.empty()) std::ofstream(options.port_file) << bound << "\n";
  std::fprintf(stderr, "flowstat serve: %s on %s:%d, store %s%s\n", options.tls_cert.empty() ? "http" : "https",
               host.c_str(), bound, options.db.c_str(), tokens ? "" : " (no tokens: loopback only)");

  std::thread refresher([&] { service.RefreshLoop(); });
  std::thread signal_waiter([&] {
    while (true) {
      int sig = 0;
      if (sigwait(&signals, &sig) != 0) continue;
      if (sig == SIGHUP && !options.tokens_path.empty()) {
        service.ReloadTokens();
      } else if (sig == SIGTERM || sig == SIGINT) {
        std::fprintf(stderr, "flowstat serve: %s: finishing the requests in flight\n",
                     sig == SIGTERM ? "SIGTERM" : "SIGINT");
        service.Drain();
        http->stop();
        return;
      }
    }
  });
  const bool listened = http->listen_after_bind();  // returns once stopped, after in-flight requests
  if (!listened) {
    // Stopped for another reason than a signal: wake the signal thread so it can end.
    kill(getpid(), SIGTERM);
  }
  signal_waiter.join();
  service.StopRefresh();
  refresher.join();
  Status s = service.FinalFlush();
  if (!s.ok()) {
    std::fprintf(stderr, "flowstat serve: final flush: %s\n", s.message().c_str());
    return 1;
  }
  std::fprintf(stderr, "flowstat serve: stopped\n");
  return 0;
}

}  // namespace flowstat::server
