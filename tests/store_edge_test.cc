// Hand-written cases for every edge that doc/queries.md and doc/input.md name; expected values worked out by hand.
#include <catch2/catch.hpp>

#include <functional>

#include "tests/test_support.h"

namespace flowstat::testing {
namespace {

constexpr int64_t kH = 3600000;
const int64_t k13 = *ParseTime("2025-11-19T13:00:00Z");

std::vector<FlowStatistic> Run(Store& store, Query q) {
  auto r = store.Query(q);
  INFO(r.status().message());
  REQUIRE(r.ok());
  return *r;
}

Query Window(const std::string& ns, int64_t start, int64_t end) {
  Query q;
  q.namespace_ = ns;
  q.start_absolute = start;
  q.end_absolute = end;
  return q;
}

Count Total(const FlowStatistic& s) {
  Count t = 0;
  for (const auto& p : s.data_points) t += p.value;
  return t;
}

TEST_CASE("namespace queries are recursive and never match prefix siblings", "[edge]") {
  TempDir dir;
  auto store = OpenStore(dir.path());
  REQUIRE(store
              ->AppendBatch(std::vector<FlowEvent>{
                  MakeEvent(k13, "/acme/prod", "s", "d", Action::kAccept, 1),
                  MakeEvent(k13, "/acme/prod/web", "s", "d", Action::kAccept, 10),
                  MakeEvent(k13, "/acme/prod-eu", "s", "d", Action::kAccept, 100),
                  MakeEvent(k13, "/acme/prodx", "s", "d", Action::kAccept, 1000),
                  MakeEvent(k13, "/acme", "s", "d", Action::kAccept, 10000),
              })
              .ok());
  Query q = Window("/acme/prod", k13, k13 + kH);
  q.action = ActionFilter::kAccept;
  CHECK(Total(Run(*store, q)[0]) == 11);
  q.recursive = false;
  CHECK(Total(Run(*store, q)[0]) == 1);
  q.recursive = true;
  q.namespace_ = "/acme/prod/";  // a trailing slash names the same namespace
  CHECK(Total(Run(*store, q)[0]) == 11);
  q.namespace_ = "/";
  CHECK(Total(Run(*store, q)[0]) == 11111);
  q.namespace_ = "/acm";
  CHECK(Total(Run(*store, q)[0]) == 0);
}

TEST_CASE("an invalid event refuses its whole batch, naming it; nothing is stored", "[edge]") {
  TempDir dir;
  auto store = OpenStore(dir.path());
  const FlowEvent good = MakeEvent(k13, "/acme", "s", "d", Action::kAccept, 1);
  const std::pair<std::function<void(FlowEvent&)>, const char*> damaged[] = {
      {[](FlowEvent& e) { e.namespace_ = "acme"; }, "event 1: namespace: namespace must start with '/'"},
      {[](FlowEvent& e) { e.source_id.clear(); }, "event 1: sourceID: must not be empty"},
      {[](FlowEvent& e) { e.value = 0; }, "event 1: value: out of range (1 .. 2^53-1)"},
      {[](FlowEvent& e) { e.destination_tags = {"novalue"}; },
       "event 1: destinationTags: tag 'novalue' is not key=value"},
      {[](FlowEvent& e) { e.source_id = "s\xff"; }, "event 1: sourceID: invalid UTF-8"},
  };
  for (const auto& [damage, want] : damaged) {
    std::vector<FlowEvent> batch{good, good};
    damage(batch[1]);
    Status s = store->AppendBatch(batch);
    CHECK(s.code() == Status::Code::kInvalidArgument);
    CHECK(s.message() == want);
  }
  {
    auto loader = store->NewLoader();
    REQUIRE(loader.ok());
    FlowEvent bad = good;
    bad.destination_tags = {"k=\xc3"};
    CHECK((*loader)->Add(bad).message() == "destinationTags: invalid UTF-8");
    CHECK((*loader)->pending() == 0);
    REQUIRE((*loader)->Finish(nullptr).ok());
  }
  CHECK(Total(Run(*store, Window("/", k13, k13 + kH))[0]) == 0);
  // A trailing '/' is normalized, as ValidateEvent does: the event counts under /acme.
  FlowEvent slash = good;
  slash.namespace_ = "/acme/";
  REQUIRE(store->Append(slash).ok());
  Query q = Window("/acme", k13, k13 + kH);
  q.recursive = false;
  CHECK(Total(Run(*store, q)[0]) == 1);
}

TEST_CASE("windows are half-open and buckets aligned to the epoch", "[edge]") {
  TempDir dir;
  auto store = OpenStore(dir.path());
  const int64_t start = k13 - kH / 2;     // 12:30
  const int64_t end = k13 + kH + kH / 2;  // 14:30
  REQUIRE(store
              ->AppendBatch(std::vector<FlowEvent>{
                  MakeEvent(start - 1, "/n", "s", "d", Action::kAccept, 1),  // before
                  MakeEvent(start, "/n", "s", "d", Action::kAccept, 2),      // 12:00 bucket
                  MakeEvent(k13 - 1, "/n", "s", "d", Action::kAccept, 4),    // 12:00 bucket
                  MakeEvent(k13, "/n", "s", "d", Action::kAccept, 8),        // 13:00 bucket
                  MakeEvent(end - 1, "/n", "s", "d", Action::kAccept, 16),   // 14:00 bucket
                  MakeEvent(end, "/n", "s", "d", Action::kAccept, 32),       // excluded
              })
              .ok());
  Query q = Window("/n", start, end);
  q.action = ActionFilter::kAccept;
  auto s = Run(*store, q);
  REQUIRE(s.size() == 1);
  REQUIRE(s[0].data_points.size() == 3);
  CHECK(s[0].data_points[0].timestamp_ms == k13 - kH);
  CHECK(s[0].data_points[0].value == 6);
  CHECK(s[0].data_points[1].timestamp_ms == k13);
  CHECK(s[0].data_points[1].value == 8);
  CHECK(s[0].data_points[2].timestamp_ms == k13 + kH);
  CHECK(s[0].data_points[2].value == 16);
  q.average_interval_ms = 90 * 60000;  // 90 minute buckets from the epoch: 12:00, 13:30
  s = Run(*store, q);
  REQUIRE(s[0].data_points.size() == 2);
  CHECK(s[0].data_points[0].timestamp_ms == k13 - kH);
  CHECK(s[0].data_points[0].value == 14);
  CHECK(s[0].data_points[1].value == 16);
}

TEST_CASE("a Serie of more buckets than a Serie may hold is refused before any is made", "[edge]") {
  TempDir dir;
  auto store = OpenStore(dir.path());
  REQUIRE(store->Append(MakeEvent(k13, "/n", "s", "d", Action::kAccept, 1)).ok());
  Query q = Window("/n", 0, 253402300799999);  // 1970 to 9999 at 1 s: 2.5e11 buckets, ~2 TB of sums
  q.average_interval_ms = 1000;
  for (Metric metric : {Metric::kFlows, Metric::kPorts}) {
    q.metric = metric;
    auto r = store->Query(q);
    REQUIRE_FALSE(r.ok());
    CHECK(r.status().code() == Status::Code::kInvalidArgument);
    CHECK(r.status().message() == "averageInterval: the window holds 253402300800 buckets, more than 2000000");
    CHECK_FALSE(store->QueryPartial(q).ok());
  }
  q.end_absolute = 2'000'000'000;  // exactly the most buckets allowed
  q.metric = Metric::kFlows;
  auto r = store->Query(q);
  REQUIRE(r.ok());
  CHECK((*r)[0].data_points.size() == 2'000'000);
}

TEST_CASE("empty results have every attribute", "[edge]") {
  TempDir dir;
  auto store = OpenStore(dir.path());
  Query q = Window("/nothing", k13, k13 + 2 * kH);
  q.user_identifier = "me";
  q.source_tags = {"app=web"};
  const std::string serie = FormatStatisticsJson(Run(*store, q));
  CHECK(
      serie.find(
          R"("dataPoints":[{"timestamp":"2025-11-19T13:00:00Z","value":0},{"timestamp":"2025-11-19T14:00:00Z","value":0}],"destinationIDs":[],"destinationTags":{},"metric":"Flows","mode":"Accepted","sourceIDs":[],"sourceTags":{"app":"web"},"type":"Serie","userIdentifier":"me"})") !=
      std::string::npos);
  CHECK(serie.find(R"("mode":"Rejected")") != std::string::npos);
  q.type = StatisticType::kRepartition;
  q.action = ActionFilter::kReject;
  auto r = Run(*store, q);
  REQUIRE(r.size() == 1);
  CHECK(r[0].mode == Mode::kRejected);
  CHECK(r[0].data_points.empty());
}

TEST_CASE("repartition ties are ordered by key", "[edge]") {
  TempDir dir;
  auto store = OpenStore(dir.path());
  std::vector<FlowEvent> events = {
      MakeEvent(k13, "/n", "b", "x", Action::kAccept, 5), MakeEvent(k13, "/n", "a", "y", Action::kAccept, 5),
      MakeEvent(k13, "/n", "a", "x", Action::kAccept, 5), MakeEvent(k13, "/n", "B", "x", Action::kAccept, 5),
      MakeEvent(k13, "/n", "c", "c", Action::kAccept, 7)};
  events[0].destination_port = 443;
  events[1].destination_port = 80;
  events[2].destination_port = 8080;
  events[3].destination_port = 1000;
  events[4].destination_port = 22;
  REQUIRE(store->AppendBatch(events).ok());
  Query q = Window("/n", k13, k13 + kH);
  q.type = StatisticType::kRepartition;
  q.action = ActionFilter::kAccept;
  auto s = Run(*store, q)[0];
  REQUIRE(s.data_points.size() == 5);
  std::vector<std::string> order;
  for (auto& p : s.data_points) order.push_back(p.source_id + ">" + p.destination_id);
  CHECK(order == std::vector<std::string>{"c>c", "B>x", "a>x", "a>y", "b>x"});  // 'B' (0x42) < 'a'
  q.limit = 2;
  CHECK(Run(*store, q)[0].data_points.size() == 2);
  q.limit.reset();
  q.metric = Metric::kPorts;
  s = Run(*store, q)[0];
  std::vector<uint32_t> ports;
  for (auto& p : s.data_points) ports.push_back(p.port);
  CHECK(ports == std::vector<uint32_t>{22, 80, 443, 1000, 8080});  // numeric, not textual
}

TEST_CASE("equal events are one event, whatever their spelling", "[edge]") {
  TempDir dir;
  auto store = OpenStore(dir.path());
  FlowEvent a, b, c;
  REQUIRE(
      ParseEventJson(
          R"({"timestamp":1763557200123,"namespace":"/n","sourceID":"s","destinationID":"d","action":"Accept","value":3})",
          &a)
          .ok());
  REQUIRE(
      ParseEventJson(
          R"({"timestamp":"2025-11-19T14:00:00.123+01:00","namespace":"/n/","sourceID":"s","destinationID":"d","action":"accept","value":3,"observed":false})",
          &b)
          .ok());
  REQUIRE(
      ParseEventJson(
          R"({"timestamp":1763557200123,"namespace":"/n","sourceID":"s","destinationID":"d","action":"Accept","value":4})",
          &c)
          .ok());
  CHECK(a == b);
  REQUIRE(store->Append(a).ok());
  REQUIRE(store->AppendBatch(std::vector<FlowEvent>{b, b, c}).ok());
  Query q = Window("/n", k13, k13 + kH);
  q.action = ActionFilter::kAccept;
  CHECK(Total(Run(*store, q)[0]) == 7);
}

TEST_CASE("Unicode and '=' inside tag values", "[edge]") {
  TempDir dir;
  auto store = OpenStore(dir.path());
  FlowEvent e = MakeEvent(k13, "/ünï/名前", "sü", "d=1");
  e.source_tags = {"owner=ops=team a/b", "名=前"};
  REQUIRE(store->Append(e).ok());
  Query q = Window("/ünï", k13, k13 + kH);
  q.action = ActionFilter::kAccept;
  q.source_tags = {"owner=ops=team a/b", "名=前"};
  auto s = Run(*store, q);
  CHECK(Total(s[0]) == 1);
  CHECK(s[0].source_ids == std::vector<std::string>{"sü"});
  CHECK(FormatStatisticsJson(s).find(R"("sourceTags":{"owner":"ops=team a/b","名":"前"})") != std::string::npos);
  q.source_tags = {"owner=ops"};  // a prefix of a tag is not the tag
  CHECK(Total(Run(*store, q)[0]) == 0);
}

TEST_CASE("huge values sum exactly beyond 64 bits", "[edge]") {
  TempDir dir;
  auto store = OpenStore(dir.path());
  std::vector<FlowEvent> events;
  for (int i = 0; i < 4096; ++i) events.push_back(MakeEvent(k13 + i, "/n", "s", "d", Action::kAccept, kMaxEventValue));
  REQUIRE(store->AppendBatch(events).ok());
  Query q = Window("/n", k13, k13 + kH);
  q.action = ActionFilter::kAccept;
  const std::string json = FormatStatisticsJson(Run(*store, q));
  // 4096 * (2^53 - 1) = 2^65 - 4096
  CHECK(json.find(R"("value":36893488147419099136)") != std::string::npos);
}

TEST_CASE("a day whose sums pass 64 bits is read from its hours, exactly", "[edge][rollup]") {
  TempDir dir;
  auto store = OpenStore(dir.path());
  const int64_t day = k13 / 86400000 * 86400000;
  std::vector<FlowEvent> events;
  // 1500 * (2^53 - 1) fits in 64 bits: each hour has its rollup; the day's 3000 do not fit.
  for (int i = 0; i < 3000; ++i) {
    events.push_back(MakeEvent(day + (i % 2 ? 5 : 17) * kH + i, "/n", "s", "d", Action::kAccept, kMaxEventValue));
  }
  REQUIRE(store->AppendBatch(events).ok());
  REQUIRE(store->Flush().ok());
  Query q = Window("/n", day, day + 86400000);
  q.action = ActionFilter::kAccept;
  q.type = StatisticType::kRepartition;
  QueryStats stats;
  auto r = store->Query(q, &stats);
  REQUIRE(r.ok());
  CHECK(stats.rollups_read == 2);  // the two hours' rollups, no day rollup
  CHECK(stats.day_rollups_read == 0);
  CHECK(stats.chunks_read == 0);
  // 3000 * (2^53 - 1)
  CHECK(FormatStatisticsJson(*r).find(R"("value":27021597764222973000)") != std::string::npos);
  q.type = StatisticType::kSerie;
  q.average_interval_ms = 86400000;
  CHECK(FormatStatisticsJson(Run(*store, q)).find(R"("value":27021597764222973000)") != std::string::npos);
}

TEST_CASE("a Repartition of ports ranks sums past 64 bits exactly, from events and from rollups", "[edge][rollup]") {
  TempDir dir;
  auto store = OpenStore(dir.path());
  const int64_t day = k13 / 86400000 * 86400000;
  std::vector<FlowEvent> events;
  // Each hour's sum fits in 64 bits (at most 2047 events of 2^53 - 1), so each hour has a rollup;
  // the day's does not. Port 443: 3000 such events over hours 1-4, past 2^64 only once three
  // hours are added; port 80: 2100 over hours 8-10, also past 2^64 but less; port 9: a sum just
  // below 2^64 (2047 events in hour 7); port 22: 1 flow.
  for (int i = 0; i < 3000; ++i) {
    events.push_back(MakeEvent(day + (1 + i % 4) * kH + i, "/n", "s", "d", Action::kAccept, kMaxEventValue));
  }
  for (int i = 0; i < 2100; ++i) {
    events.push_back(MakeEvent(day + (8 + i % 3) * kH + i, "/n", "s80", "d", Action::kAccept, kMaxEventValue));
    events.back().destination_port = 80;
  }
  for (int i = 0; i < 2047; ++i) {
    events.push_back(MakeEvent(day + 7 * kH + i, "/n", "s9", "d", Action::kAccept, kMaxEventValue));
    events.back().destination_port = 9;
  }
  events.push_back(MakeEvent(day + 6 * kH, "/n", "s22", "d", Action::kAccept, 1));
  events.back().destination_port = 22;
  REQUIRE(store->AppendBatch(events).ok());
  Query q = Window("/n", day, day + 86400000);
  q.action = ActionFilter::kAccept;
  q.type = StatisticType::kRepartition;
  q.metric = Metric::kPorts;
  const std::vector<std::pair<uint32_t, std::string>> expected{
      {443, "27021597764222973000"}, {80, "18915118434956081100"}, {9, "18437736874454808577"}, {22, "1"}};
  auto check = [&](std::optional<uint64_t> limit, uint64_t want_rollups) {
    q.limit = limit;
    QueryStats stats;
    auto r = store->Query(q, &stats);
    REQUIRE(r.ok());
    CHECK(stats.rollups_read == want_rollups);
    const auto& points = (*r)[0].data_points;
    REQUIRE(points.size() == std::min<size_t>(expected.size(), limit.value_or(expected.size())));
    for (size_t i = 0; i < points.size(); ++i) {
      CHECK(points[i].port == expected[i].first);
      CHECK(FormatCount(points[i].value) == expected[i].second);
    }
  };
  for (auto limit : {std::optional<uint64_t>(), std::optional<uint64_t>(0), std::optional<uint64_t>(1),
                     std::optional<uint64_t>(2), std::optional<uint64_t>(3)}) {
    check(limit, 0);  // from the events: no rollups yet
  }
  REQUIRE(store->Flush().ok());
  for (auto limit : {std::optional<uint64_t>(), std::optional<uint64_t>(1), std::optional<uint64_t>(3)}) {
    check(limit, 9);  // hours 1-4 and 6-10 (the day's sums pass 64 bits: no day rollup)
  }
}

TEST_CASE("a day rollup stands for its hours only while none of them changed", "[edge][rollup]") {
  TempDir dir;
  auto store = OpenStore(dir.path());
  const int64_t day = k13 / 86400000 * 86400000;
  std::vector<FlowEvent> events;
  for (int h = 0; h < 24; h += 3) {
    events.push_back(MakeEvent(day + h * kH, "/n", "s" + std::to_string(h), "d", Action::kAccept, 1));
  }
  REQUIRE(store->AppendBatch(events).ok());
  REQUIRE(store->Flush().ok());
  Query q = Window("/n", day - kH, day + 86400000 + kH);  // the day and one hour either side
  q.type = StatisticType::kRepartition;
  QueryStats stats;
  auto before = store->Query(q, &stats);
  REQUIRE(before.ok());
  CHECK(stats.day_rollups_read == 1);
  CHECK(stats.rollups_read == 0);
  REQUIRE(Total((*before)[0]) == 8);
  CHECK((*before)[0].source_ids.size() == 8);
  // A late event in hour 10 (which had none): the day is stale until the next refresh.
  const std::vector<FlowEvent> late{MakeEvent(day + 10 * kH, "/n", "late", "d", Action::kAccept, 5)};
  REQUIRE(store->AppendBatch(late).ok());
  stats = {};
  auto stale = store->Query(q, &stats);
  REQUIRE(stale.ok());
  CHECK(stats.day_rollups_read == 0);
  CHECK(Total((*stale)[0]) == 13);
  CHECK((*stale)[0].source_ids.size() == 9);
  REQUIRE(store->Flush().ok());
  stats = {};
  auto after = store->Query(q, &stats);
  REQUIRE(after.ok());
  CHECK(stats.day_rollups_read == 1);
  CHECK(FormatStatisticsJson(*after) == FormatStatisticsJson(*stale));
  // A Serie of hours takes the sums from the hours and the IDs from the day.
  q.type = StatisticType::kSerie;
  q.average_interval_ms = kH;
  stats = {};
  auto serie = store->Query(q, &stats);
  REQUIRE(serie.ok());
  CHECK(stats.day_rollups_read == 1);
  CHECK(stats.rollups_read == 9);
  CHECK(Total((*serie)[0]) == 13);
  CHECK((*serie)[0].source_ids == (*after)[0].source_ids);
  CHECK((*serie)[0].data_points[11].value == 5);  // bucket 0 is the hour before the day
  CHECK(VerifyProblems(*store).empty());
}

TEST_CASE("a Serie of sub-hour buckets reads minutes and IDs, not the summaries", "[edge][rollup]") {
  TempDir dir;
  auto store = OpenStore(dir.path());
  const int64_t day = k13 / 86400000 * 86400000;
  std::vector<FlowEvent> events;
  // 2000 ports in one hour: its summary lists them as 16-byte PortSums (32,000 bytes, the day's
  // as many), its minute rollup as 2-byte ports (4,000 bytes and 60 minutes' sums and ends).
  constexpr int kPorts = 2000;
  for (int p = 1; p <= kPorts; ++p) {
    events.push_back(MakeEvent(day + 5 * kH + p, "/n", "s", "d"));
    events.back().destination_port = static_cast<uint16_t>(p);
  }
  REQUIRE(store->AppendBatch(events).ok());
  REQUIRE(store->Flush().ok());
  Query q = Window("/n", day, day + 86400000);
  q.metric = Metric::kPorts;
  q.average_interval_ms = 5 * 60000;
  QueryStats stats;
  auto r = store->Query(q, &stats);
  REQUIRE(r.ok());
  CHECK(stats.chunks_read == 0);
  CHECK(stats.rollups_read == 1);      // the hour's minutes
  CHECK(stats.day_rollups_read == 1);  // the day's IDs
  CHECK(stats.bytes_read < kPorts * 16);
  CHECK(Total((*r)[0]) == kPorts);
  CHECK((*r)[0].data_points[5 * 12].value == kPorts);  // all in the first 5 minutes of hour 5
  CHECK((*r)[0].destination_ids == std::vector<std::string>{"d"});
  // Buckets of an hour take the hour's summary, and read its ports.
  q.average_interval_ms = kH;
  stats = {};
  r = store->Query(q, &stats);
  REQUIRE(r.ok());
  CHECK(stats.rollups_read == 1);
  CHECK(stats.bytes_read > kPorts * 16);
  CHECK(Total((*r)[0]) == kPorts);
}

TEST_CASE("flowMode classifies by action, observedAction or both", "[edge]") {
  TempDir dir;
  auto store = OpenStore(dir.path());
  FlowEvent both_accept = MakeEvent(k13, "/n", "s1", "d", Action::kAccept, 1);
  both_accept.observed = true;
  both_accept.observed_action = ObservedAction::kAccept;
  FlowEvent would_reject = MakeEvent(k13, "/n", "s2", "d", Action::kAccept, 10);
  would_reject.observed = true;
  would_reject.observed_action = ObservedAction::kReject;
  FlowEvent not_applicable = MakeEvent(k13, "/n", "s3", "d", Action::kReject, 100);
  not_applicable.observed = true;  // observed, but NotApplicable: skipped by observed mode
  FlowEvent unobserved = MakeEvent(k13, "/n", "s4", "d", Action::kAccept, 1000);
  unobserved.observed_action = ObservedAction::kReject;  // not observed: ignored by observed mode
  REQUIRE(store->AppendBatch(std::vector<FlowEvent>{both_accept, would_reject, not_applicable, unobserved}).ok());
  Query q = Window("/n", k13, k13 + kH);
  auto applied = Run(*store, q);
  CHECK(Total(applied[0]) == 1011);
  CHECK(Total(applied[1]) == 100);
  q.flow_mode = FlowMode::kObserved;
  auto observed = Run(*store, q);
  CHECK(Total(observed[0]) == 1);
  CHECK(Total(observed[1]) == 10);
  CHECK(observed[1].source_ids == std::vector<std::string>{"s2"});
  q.flow_mode = FlowMode::kAll;
  auto all = Run(*store, q);
  CHECK(Total(all[0]) == 1012);
  CHECK(Total(all[1]) == 110);
}

TEST_CASE("Ports counts distinct destination ports, ignoring events without one", "[edge]") {
  TempDir dir;
  auto store = OpenStore(dir.path());
  std::vector<FlowEvent> events;
  for (uint16_t port : {80, 80, 443, 0}) {
    events.push_back(MakeEvent(k13 + port, "/n", "s", "d"));
    events.back().destination_port = port;
  }
  events.push_back(MakeEvent(k13 + 5, "/n", "s", "no-port"));
  events.back().destination_port.reset();
  REQUIRE(store->AppendBatch(events).ok());
  Query q = Window("/n", k13, k13 + kH);
  q.metric = Metric::kPorts;
  q.action = ActionFilter::kAccept;
  auto s = Run(*store, q)[0];
  REQUIRE(s.data_points.size() == 1);
  CHECK(s.data_points[0].value == 3);
  CHECK(s.destination_ids == std::vector<std::string>{"d"});
}

}  // namespace
}  // namespace flowstat::testing
