// Input parsing (doc/input.md) and query parameters (doc/queries.md).
#include <catch2/catch.hpp>

#include <functional>

#include "flowstat/event.h"
#include "flowstat/query.h"

namespace flowstat {
namespace {

const char* kMinimal =
    R"({"timestamp":1763557200000,"namespace":"/a","sourceID":"s","destinationID":"d","action":"Reject"})";

std::string ErrorOf(const std::string& line) {
  FlowEvent e;
  Status s = ParseEventJson(line, &e);
  return s.ok() ? "" : s.message();
}

std::string With(const std::string& field_json) {
  std::string line = kMinimal;
  line.insert(line.size() - 1, "," + field_json);
  return line;
}

TEST_CASE("a minimal event gets the defaults", "[parse]") {
  FlowEvent e;
  REQUIRE(ParseEventJson(kMinimal, &e).ok());
  CHECK(e.value == 1);
  CHECK(e.action == Action::kReject);
  CHECK_FALSE(e.observed);
  CHECK(e.observed_action == ObservedAction::kNotApplicable);
  CHECK_FALSE(e.destination_port.has_value());
}

TEST_CASE("every field round-trips through FormatEventJson", "[parse]") {
  FlowEvent e;
  REQUIRE(
      ParseEventJson(
          With(
              R"("sourceType":"processingunit","destinationType":"ExternalNetwork","sourceTags":["a=b","c=d=e"],"destinationTags":["x=ü"],"sourceIP":"10.0.0.1","destinationIP":"::1","destinationPort":65535,"protocol":255,"observed":true,"observedAction":"reject","dropReason":"policy","observedDropReason":"o","policyID":"p","policyNamespace":"/a","observedPolicyID":"op","observedPolicyNamespace":"/b","serviceType":"HTTP","serviceID":"sid","serviceURL":"http://x/\"q\"","encrypted":true,"observedEncrypted":false,"value":9007199254740991,"unknown":{"deep":[1,2]})"),
          &e)
          .ok());
  FlowEvent back;
  REQUIRE(ParseEventJson(FormatEventJson(e), &back).ok());
  CHECK(back == e);
  CHECK(e.source_type == EndpointType::kProcessingUnit);
  CHECK(*e.service_url == "http://x/\"q\"");
  CHECK(e.value == kMaxEventValue);
}

TEST_CASE("bad events are refused with the field named", "[parse]") {
  CHECK(ErrorOf("{").find("invalid JSON") == 0);
  CHECK(ErrorOf("[1,2]") == "not a JSON object");
  CHECK(ErrorOf(R"({"namespace":"/a","sourceID":"s","destinationID":"d","action":"Accept"})") ==
        "timestamp: missing required field");
  CHECK(ErrorOf(With(R"("value":0)")).find("value: out of range") == 0);
  CHECK(ErrorOf(With(R"("value":9007199254740992)")).find("value: out of range") == 0);
  CHECK(ErrorOf(With(R"("value":-1)")).find("value: out of range") == 0);
  CHECK(ErrorOf(With(R"("value":1.5)")) == "value: must be an integer");
  CHECK(ErrorOf(With(R"("value":"3")")) == "value: must be an integer");
  CHECK(ErrorOf(With(R"("destinationPort":65536)")).find("destinationPort: out of range") == 0);
  CHECK(ErrorOf(With(R"("sourceTags":"a=b")")).find("sourceTags: must be an array") == 0);
  CHECK(ErrorOf(With(R"("sourceTags":["novalue"])")).find("sourceTags: tag 'novalue' is not key=value") == 0);
  CHECK(ErrorOf(With(R"("observed":"yes")")) == "observed: must be true or false");
  CHECK(ErrorOf(R"({"timestamp":1,"namespace":"a","sourceID":"s","destinationID":"d","action":"Accept"})") ==
        "namespace: namespace must start with '/'");
  CHECK(ErrorOf(R"({"timestamp":1,"namespace":"/a","sourceID":"","destinationID":"d","action":"Accept"})") ==
        "sourceID: must not be empty");
  CHECK(ErrorOf(R"({"timestamp":1,"namespace":"/a","sourceID":"s","destinationID":"d","action":"Maybe"})")
            .find("action: must be one of Accept|Reject") == 0);
  CHECK(ErrorOf(R"({"timestamp":"yesterday","namespace":"/a","sourceID":"s","destinationID":"d","action":"Accept"})")
            .find("timestamp: bad RFC 3339 time") == 0);
  CHECK(ErrorOf(R"({"timestamp":1e12,"namespace":"/a","sourceID":"s","destinationID":"d","action":"Accept"})") ==
        "timestamp: must be an integer");
  CHECK(ErrorOf(R"({"timestamp":-5,"namespace":"/a","sourceID":"s","destinationID":"d","action":"Accept"})")
            .find("timestamp: out of range") == 0);
  CHECK(
      ErrorOf(
          "{\"timestamp\":1,\"namespace\":\"/\xff\",\"sourceID\":\"s\",\"destinationID\":\"d\",\"action\":\"Accept\"}")
          .find("invalid JSON") == 0);
  CHECK(ErrorOf(std::string(kMinimal) + " {}").find("invalid JSON") == 0);
}

TEST_CASE("an event built in code is checked for UTF-8 field by field", "[parse]") {
  FlowEvent good;
  REQUIRE(ParseEventJson(With(R"("sourceTags":["app=ü"],"sourceIP":"::1","serviceURL":"http://x")"), &good).ok());
  REQUIRE(ValidateEvent(&good).ok());
  const std::pair<std::function<void(FlowEvent&)>, const char*> damaged[] = {
      {[](FlowEvent& e) { e.namespace_ = "/a\xc3"; }, "namespace: invalid UTF-8"},
      {[](FlowEvent& e) { e.destination_id = "d\xff"; }, "destinationID: invalid UTF-8"},
      {[](FlowEvent& e) { e.source_tags.push_back("k=\xed\xa0\x80"); }, "sourceTags: invalid UTF-8"},  // a surrogate
      {[](FlowEvent& e) { e.source_ip = "10.0.0.1\x80"; }, "sourceIP: invalid UTF-8"},
      {[](FlowEvent& e) { e.service_url = "http://\xc0\xaf"; }, "serviceURL: invalid UTF-8"},  // overlong
  };
  for (const auto& [damage, want] : damaged) {
    FlowEvent e = good;
    damage(e);
    CHECK(ValidateEvent(&e).message() == want);
  }
  CHECK(ErrorOf(std::string(10000, '[') + std::string(10000, ']')).find("invalid JSON") == 0);
}

TEST_CASE("RFC 3339 times", "[parse][time]") {
  CHECK(*ParseTime("1970-01-01T00:00:00Z") == 0);
  CHECK(*ParseTime("2025-11-19T13:05:00.123Z") == 1763557500123);
  CHECK(*ParseTime("2025-11-19T14:05:00.123+01:00") == 1763557500123);
  CHECK(*ParseTime("2025-11-19T12:35:00.123-00:30") == 1763557500123);
  CHECK(*ParseTime("2025-11-19t13:05:00.1239999z") == 1763557500123);  // sub-ms truncated
  CHECK(*ParseTime("2024-02-29T00:00:00Z") == 1709164800000);
  CHECK(*ParseTime("1763557500123") == 1763557500123);
  for (const char* bad :
       {"2025-02-29T00:00:00Z", "2025-13-01T00:00:00Z", "2025-11-19T24:00:00Z", "2025-11-19 13:05:00Z",
        "2025-11-19T13:05:00", "2025-11-19T13:05:00.Z", "2025-11-19T13:05:00+1:00", "", "1969-12-31T23:59:59Z",
        "10000-01-01T00:00:00Z", "99999999999999999999"}) {
    INFO(bad);
    CHECK_FALSE(ParseTime(bad).ok());
  }
  CHECK(FormatTimeSeconds(1763557500123) == "2025-11-19T13:05:00Z");
  CHECK(FormatTimeSeconds(0) == "1970-01-01T00:00:00Z");
  CHECK(FormatTimeSeconds(-1) == "1969-12-31T23:59:59Z");
  CHECK(FormatTimeSeconds(951782399999) == "2000-02-28T23:59:59Z");
  CHECK(FormatTimeSeconds(951782400000) == "2000-02-29T00:00:00Z");
  CHECK(FormatTimeSeconds(253402300799999) == "9999-12-31T23:59:59Z");
  CHECK(FormatTimeSeconds(253402300800000) == "10000-01-01T00:00:00Z");
  CHECK(FormatTimeSeconds(-62135596800000) == "0001-01-01T00:00:00Z");
}

TEST_CASE("durations", "[parse][query]") {
  CHECK(*ParseDuration("90s") == 90000);
  CHECK(*ParseDuration("15m") == 900000);
  CHECK(*ParseDuration("1h") == 3600000);
  CHECK(*ParseDuration("7d") == 604800000);
  CHECK(*ParseDuration("-3s") == -3000);
  CHECK(*ParseDuration("250ms") == 250);
  for (const char* bad : {"", "h", "1x", "1.5h", "1h30m", "--1s", "99999999999999999d"}) {
    INFO(bad);
    CHECK_FALSE(ParseDuration(bad).ok());
  }
}

TEST_CASE("query strings that are not UTF-8 are refused, naming the parameter", "[query]") {
  for (const std::string name :
       {"namespace", "sourceTags", "destinationTags", "sourceID", "destinationID", "userIdentifier"}) {
    auto validated = [&](const std::string& value) {
      Query q;
      q.namespace_ = "/";
      REQUIRE(SetQueryParameter(&q, name, value).ok());
      return ValidateQuery(&q);
    };
    const std::string prefix = name == "namespace" ? "/a" : "k=";  // list parameters repeat: one each
    CHECK(validated(prefix + "\xff").message() == name + ": invalid UTF-8");
    CHECK(validated(prefix + "\xc3").message() == name + ": invalid UTF-8");
    CHECK(validated(prefix + "\xc3\xa9").ok());
  }
}

TEST_CASE("window combinations", "[query]") {
  const int64_t now = 1763596800000, h = 3600000, d = 24 * h;
  auto window = [&](std::vector<std::pair<const char*, const char*>> params) -> Result<Window> {
    Query q;
    q.namespace_ = "/";
    q.now_ms = now;
    for (auto [k, v] : params) {
      Status s = SetQueryParameter(&q, k, v);
      if (!s.ok()) return s;
    }
    return ResolveWindow(q);
  };
  auto is = [](const Result<Window>& w, int64_t s, int64_t e) { return w.ok() && w->start_ms == s && w->end_ms == e; };
  CHECK(is(window({}), now - d, now));
  CHECK(is(window({{"startAbsolute", "1000"}, {"endAbsolute", "2000"}}), 1000, 2000));
  CHECK(is(window({{"startAbsolute", "1000"}, {"endRelative", "1h"}}), 1000, now - h));
  CHECK(is(window({{"startRelative", "2h"}, {"endAbsolute", "1763596800000"}}), now - 2 * h, now));
  CHECK(is(window({{"startRelative", "2h"}, {"endRelative", "-1h"}}), now - 3 * h, now - h));
  CHECK(is(window({{"startRelative", "15m"}}), now - 15 * 60000, now));
  CHECK(is(window({{"endRelative", "1d"}}), now - 2 * d, now - d));
  CHECK(is(window({{"startRelative", "1h"}, {"flowOffset", "-3s"}}), now - h - 3000, now - 3000));
  CHECK_FALSE(window({{"startAbsolute", "1000"}}).ok());
  CHECK_FALSE(window({{"endAbsolute", "1000"}}).ok());
  CHECK_FALSE(window({{"startAbsolute", "1000"}, {"startRelative", "1h"}, {"endAbsolute", "5000"}}).ok());
  CHECK_FALSE(window({{"startRelative", "1h"}, {"endAbsolute", "5000000000"}, {"endRelative", "1h"}}).ok());
  CHECK_FALSE(window({{"startAbsolute", "2000"}, {"endAbsolute", "2000"}}).ok());
  CHECK_FALSE(window({{"startAbsolute", "3000"}, {"endAbsolute", "2000"}}).ok());
}

TEST_CASE("batch query lines", "[query]") {
  Query q;
  REQUIRE(
      ParseQueryJson(
          R"({"name":"Q","namespace":"/acme/","startAbsolute":1762992000000,"endAbsolute":"2025-11-20T00:00:00Z","averageInterval":"1h","type":"repartition","metric":"Ports","action":"reject","flowMode":"all","sourceTags":["tier=frontend"],"destinationTags":{"tier":"backend"},"sourceID":["a","b"],"destinationID":"c","recursive":false,"limit":20,"userIdentifier":"u"})",
          &q)
          .ok());
  CHECK(q.namespace_ == "/acme");
  CHECK(q.type == StatisticType::kRepartition);
  CHECK(q.metric == Metric::kPorts);
  CHECK(q.action == ActionFilter::kReject);
  CHECK(q.flow_mode == FlowMode::kAll);
  CHECK(q.source_tags == std::vector<std::string>{"tier=frontend"});
  CHECK(q.destination_tags == std::vector<std::string>{"tier=backend"});
  CHECK(q.source_ids == std::vector<std::string>{"a", "b"});
  CHECK(q.destination_ids == std::vector<std::string>{"c"});
  CHECK_FALSE(q.recursive);
  CHECK(*q.limit == 20);
  CHECK(*q.end_absolute == 1763596800000);
  CHECK(ParseQueryJson(R"({"startRelative":"1h"})", &q).message() == "namespace: is required");
  CHECK(ParseQueryJson(R"({"namespace":"/","averageInterval":"1500ms"})", &q).message().find("averageInterval") == 0);
  CHECK(ParseQueryJson(R"({"namespace":"/","metric":"Bytes"})", &q).message().find("metric: must be one of") == 0);
  CHECK(ParseQueryJson(R"({"namespace":"/","limit":-1})", &q).message().find("limit") == 0);
  CHECK(ParseQueryJson(R"({"namespace":"/","sourceTags":["app"]})", &q).message().find("sourceTags") == 0);
  CHECK_FALSE(ParseQueryJson("not json", &q).ok());
}

TEST_CASE("CSV events", "[parse][csv]") {
  CsvEventParser csv;
  REQUIRE(csv.SetHeader("timestamp,namespace,sourceID,destinationID,action,sourceTags,destinationPort,value\r").ok());
  FlowEvent e;
  REQUIRE(csv.Parse(R"(2025-11-19T13:00:00Z,/a,s,"d,1",accept,"app=web;k=v=w",443,5)", &e).ok());
  CHECK(e.destination_id == "d,1");
  CHECK(e.source_tags == std::vector<std::string>{"app=web", "k=v=w"});
  CHECK(e.value == 5);
  CHECK(csv.Parse(R"(1,/a,s,"d,1,accept,,443,5)", &e).message() == "unbalanced quotes");
  CHECK(csv.Parse("1,/a,s,d,accept", &e).message() == "expected 8 columns, got 5");
  CHECK(csv.Parse("1,/a,s,d,accept,,70000,5", &e).message().find("destinationPort: out of range") == 0);
  CHECK(csv.Parse("1,/a,,d,accept,,,", &e).message() == "sourceID: missing required field");
  // A column named twice: the last counts, as a field given twice in JSON does.
  CsvEventParser twice;
  REQUIRE(twice.SetHeader("timestamp,namespace,sourceID,destinationID,action,timestamp").ok());
  REQUIRE(twice.Parse("1,/a,s,d,accept,2", &e).ok());
  CHECK(e.timestamp_ms == 2);
  REQUIRE(ParseEventJson(With(R"("timestamp":5,"action":"accept")"), &e).ok());
  CHECK(e.timestamp_ms == 5);
  CHECK(e.action == Action::kAccept);
  CsvEventParser no_action;
  CHECK(no_action.SetHeader("timestamp,namespace,sourceID,destinationID").message() ==
        "header: action: missing required field");
}

}  // namespace
}  // namespace flowstat
