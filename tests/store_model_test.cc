// The store against the brute-force model on randomized data (fixed seeds).
#include <catch2/catch.hpp>

#include <algorithm>
#include <chrono>
#include <set>
#include <thread>

#include "tests/model.h"
#include "tests/test_support.h"

namespace flowstat::testing {
namespace {

// Appends `events` in random batch sizes (so chunks are merged from many operands).
void AppendInRandomBatches(Store& store, Model& model, std::mt19937_64& rng, std::vector<FlowEvent> events) {
  std::shuffle(events.begin(), events.end(), rng);
  size_t i = 0;
  while (i < events.size()) {
    size_t n = std::min<size_t>(events.size() - i, 1 + rng() % 400);
    std::vector<FlowEvent> batch(events.begin() + i, events.begin() + i + n);
    REQUIRE(store.AppendBatch(batch).ok());
    for (const auto& e : batch) model.Add(e);
    i += n;
  }
}

struct RollupUse {
  uint64_t hours = 0, days = 0;
};

// Answers `q` from the store, requires the model's answer, and returns what the store read.
QueryStats CheckQuery(Store& store, const Model& model, const Query& q) {
  QueryStats stats;
  auto got = store.Query(q, &stats);
  REQUIRE(got.ok());
  REQUIRE(Comparable(*got, true) == Comparable(model.Answer(q), false));
  return stats;
}

// Returns how many hour and day rollups the queries used (to show every path was exercised).
RollupUse CheckQueries(Store& store, const Model& model, std::mt19937_64& rng, int queries) {
  RollupUse rollups;
  for (int k = 0; k < queries; ++k) {
    Query q = RandomQuery(rng);
    INFO("query " << k << " ns=" << q.namespace_ << " type=" << int(q.type) << " metric=" << int(q.metric)
                  << " action=" << int(q.action) << " mode=" << int(q.flow_mode));
    const QueryStats stats = CheckQuery(store, model, q);
    rollups.hours += stats.rollups_read;
    rollups.days += stats.day_rollups_read;
  }
  return rollups;
}

std::vector<FlowEvent> SortedByTime(std::vector<FlowEvent> events) {
  std::stable_sort(events.begin(), events.end(),
                   [](const FlowEvent& a, const FlowEvent& b) { return a.timestamp_ms < b.timestamp_ms; });
  return events;
}

TEST_CASE("random queries match the reference model", "[model]") {
  for (uint64_t seed : {1, 2, 3, 4, 5, 6, 7, 8}) {
    DYNAMIC_SECTION("seed " << seed) {
      std::mt19937_64 rng(seed);
      TempDir dir;
      Model model;
      auto store = OpenStore(dir.path());
      AppendInRandomBatches(*store, model, rng, RandomEvents(rng, 3000));
      RollupUse use = CheckQueries(*store, model, rng, 50);
      CHECK(use.hours + use.days == 0);  // no rollups before a flush
      REQUIRE(store->Flush().ok());      // builds the rollups
      use = CheckQueries(*store, model, rng, 100);
      CHECK(use.hours > 0);
      CHECK(use.days > 0);
      AppendInRandomBatches(*store, model, rng, RandomEvents(rng, 300));  // some hours and days now stale
      CheckQueries(*store, model, rng, 100);
      REQUIRE(store->Flush().ok());  // refreshes scattered hours among current ones
      use = CheckQueries(*store, model, rng, 100);
      CHECK(use.hours > 0);
      CHECK(use.days > 0);
      CHECK(VerifyProblems(*store).empty());
    }
  }
}

TEST_CASE("answers survive reopen, compaction and re-import", "[model]") {
  std::mt19937_64 rng(42);
  TempDir dir;
  Model model;
  auto events = RandomEvents(rng, 4000);
  {
    auto store = OpenStore(dir.path());
    AppendInRandomBatches(*store, model, rng, events);
    REQUIRE(store->Flush().ok());
  }
  auto store = OpenStore(dir.path());
  CheckQueries(*store, model, rng, 60);
  AppendInRandomBatches(*store, model, rng, events);  // everything again: nothing changes
  REQUIRE(model.events().size() < events.size());     // the data really holds duplicates
  CheckQueries(*store, model, rng, 60);
  REQUIRE(store->Compact().ok());
  CheckQueries(*store, model, rng, 60);
}

// Every event's details and destination address drawn from a thousand or so, so that a writer
// whose dictionary cache holds a few dozen of them forgets and finds them through the index.
std::vector<FlowEvent> EventsWithManyDetails(std::mt19937_64& rng, size_t n) {
  std::vector<FlowEvent> events = RandomEvents(rng, n);
  for (FlowEvent& e : events) {
    e.policy_id = "policy-" + std::to_string(rng() % 1200);
    if (rng() % 3 == 0) e.destination_ip = "fd00::" + std::to_string(rng() % 700);  // IPv6: an address entry
  }
  return events;
}

TEST_CASE("a writer keeping a few KB of its dictionary stores and deduplicates exactly", "[model][dictionary]") {
  std::mt19937_64 rng(5);
  TempDir dir;
  Model model;
  OpenOptions small;
  small.dictionary_cache_bytes = 3000;
  const std::vector<FlowEvent> first = EventsWithManyDetails(rng, 5000);
  {
    auto store = OpenStore(dir.path(), small);
    // Through a Loader: batches sealed while earlier ones are still being written.
    auto loader = store->NewLoader();
    REQUIRE(loader.ok());
    for (size_t i = 0; i < first.size(); ++i) {
      REQUIRE((*loader)->Add(first[i]).ok());
      model.Add(first[i]);
      if (i % 97 == 96) REQUIRE((*loader)->Commit().ok());
    }
    REQUIRE((*loader)->Finish(nullptr).ok());
  }
  auto store = OpenStore(dir.path(), small);  // restored from the index: far more than the cache holds
  CheckQueries(*store, model, rng, 40);
  // The same events again, and new ones mixed in: every repeat must encode to the same record
  // (same ids for its details and addresses) to be recognized as a duplicate.
  std::vector<FlowEvent> again = EventsWithManyDetails(rng, 2000);
  again.insert(again.end(), first.begin(), first.end());
  AppendInRandomBatches(*store, model, rng, again);
  REQUIRE(store->Flush().ok());
  CheckQueries(*store, model, rng, 60);
  // verify counts one index key per entry: a text interned twice (two 'D' entries, one key) fails it.
  CHECK(VerifyProblems(*store).empty());
  std::set<std::string> want;
  for (const auto& e : model.events()) want.insert(FormatEventJson(e));
  CHECK(StoredEventsJson(*store) == want);  // every detail and address read back through the store
}

// A Serie of daily buckets over day `day` of the random events, from every namespace.
Query DayQuery(int day) {
  Query q;
  q.namespace_ = "/";
  q.start_absolute = kBaseMs + day * 86400000LL;
  q.end_absolute = kBaseMs + (day + 1) * 86400000LL;
  q.average_interval_ms = 86400000LL;
  return q;
}

TEST_CASE("a bulk load in time order refreshes the days it has moved past; a late event makes one stale again",
          "[model][rollup]") {
  std::mt19937_64 rng(17);
  TempDir dir;
  Model model;
  auto store = OpenStore(dir.path());
  const std::vector<FlowEvent> events = SortedByTime(RandomEvents(rng, 6000));
  auto loader = store->NewLoader();
  REQUIRE(loader.ok());
  // Days 0 and 1 in batches of 100, in time order: day 0 is then long past.
  size_t i = 0;
  for (; i < events.size() && events[i].timestamp_ms < kBaseMs + 2 * 86400000LL; ++i) {
    REQUIRE((*loader)->Add(events[i]).ok());
    model.Add(events[i]);
    if (i % 100 == 99) REQUIRE((*loader)->Commit().ok());
  }
  REQUIRE((*loader)->Commit().ok());
  REQUIRE((*loader)->WaitWritten().ok());
  // Before the load finishes, day 0's rollups come current: day 1's batches left it unwritten for
  // more than two batches, and the background refresh runs after each batch written, on its own
  // thread, so it is waited for.
  QueryStats stats;
  for (int attempt = 0; attempt < 2000 && stats.day_rollups_read == 0; ++attempt) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
    stats = CheckQuery(*store, model, DayQuery(0));
  }
  CHECK(stats.day_rollups_read > 0);
  CHECK(stats.chunks_read == 0);
  // A late event for day 0, then day 2: day 0 is stale until it is refreshed again.
  FlowEvent late = events.front();
  late.destination_port = 4242;
  late.value = 7;
  REQUIRE((*loader)->Add(late).ok());
  model.Add(late);
  for (; i < events.size(); ++i) {
    REQUIRE((*loader)->Add(events[i]).ok());
    model.Add(events[i]);
    if (i % 100 == 99) REQUIRE((*loader)->Commit().ok());
  }
  REQUIRE((*loader)->Finish(nullptr).ok());
  for (int day = 0; day < 3; ++day) {
    stats = CheckQuery(*store, model, DayQuery(day));
    CHECK(stats.day_rollups_read > 0);  // every day refreshed by the end, day 0 twice
    CHECK(stats.chunks_read == 0);
  }
  CheckQueries(*store, model, rng, 60);
  CHECK(VerifyProblems(*store).empty());
}

// The start of hour `hour` of day 0.
int64_t HourStart(int hour) { return kBaseMs + hour * 3600000LL; }

// A Serie of hourly buckets over hours [from, to) of day 0, from every namespace.
Query HoursQuery(int from, int to) {
  Query q;
  q.namespace_ = "/";
  q.start_absolute = HourStart(from);
  q.end_absolute = HourStart(to);
  q.average_interval_ms = 3600000;
  return q;
}

TEST_CASE("a live load refreshes the hours it has moved past while their day is still being written",
          "[model][rollup]") {
  std::mt19937_64 rng(23);
  TempDir dir;
  Model model;
  auto store = OpenStore(dir.path());
  std::vector<FlowEvent> events = SortedByTime(RandomEvents(rng, 6000));
  std::erase_if(events, [](const FlowEvent& e) { return e.timestamp_ms >= HourStart(24); });
  auto loader = store->NewLoader();
  REQUIRE(loader.ok());
  auto load_until = [&, i = size_t{0}](int64_t end_ms) mutable {
    for (; i < events.size() && events[i].timestamp_ms < end_ms; ++i) {
      REQUIRE((*loader)->Add(events[i]).ok());
      model.Add(events[i]);
      if (i % 50 == 49) REQUIRE((*loader)->Commit().ok());  // ~35 minutes of events a batch
    }
    REQUIRE((*loader)->Commit().ok());
    REQUIRE((*loader)->WaitWritten().ok());
  };
  // Hours 0..15 in time order: hours 0..11 were last written more than two batches ago.
  load_until(HourStart(16));
  auto check = [&](const Query& q) { return CheckQuery(*store, model, q); };
  // Their rollups come current before the day is done (the background refresh runs after each
  // batch written, on its own thread, so it is waited for); the day's rollup waits for its last hour.
  QueryStats stats;
  for (int attempt = 0; attempt < 2000 && (stats.rollups_read == 0 || stats.chunks_read > 0); ++attempt) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
    stats = check(HoursQuery(0, 12));
  }
  CHECK(stats.rollups_read > 0);
  CHECK(stats.chunks_read == 0);
  stats = check(DayQuery(0));  // hours from rollups and from chunks
  CHECK(stats.day_rollups_read == 0);
  CHECK(stats.chunks_read > 0);
  // A late event in hour 2: its rollup is stale, and the answer counts the event at once.
  FlowEvent late =
      *std::find_if(events.begin(), events.end(), [](const FlowEvent& e) { return e.timestamp_ms >= HourStart(2); });
  late.destination_port = 4242;
  late.value = 9;
  REQUIRE((*loader)->Add(late).ok());
  model.Add(late);
  REQUIRE((*loader)->Commit().ok());
  REQUIRE((*loader)->WaitWritten().ok());
  check(HoursQuery(0, 12));
  check(HoursQuery(2, 3));
  load_until(HourStart(24));
  REQUIRE((*loader)->Finish(nullptr).ok());
  stats = check(DayQuery(0));
  CHECK(stats.day_rollups_read > 0);
  CHECK(stats.chunks_read == 0);
  stats = check(HoursQuery(0, 24));
  CHECK(stats.chunks_read == 0);
  CheckQueries(*store, model, rng, 60);
  CHECK(VerifyProblems(*store).empty());
}

TEST_CASE("FlushSettled refreshes the hours no write touched since its previous call", "[model][rollup]") {
  std::mt19937_64 rng(29);
  TempDir dir;
  Model model;
  auto store = OpenStore(dir.path());
  std::vector<FlowEvent> events = RandomEvents(rng, 6000);
  std::erase_if(events, [](const FlowEvent& e) { return e.timestamp_ms >= HourStart(24); });
  auto append_hours = [&](int from, int to) {
    std::vector<FlowEvent> batch;
    for (const FlowEvent& e : events) {
      if (e.timestamp_ms >= HourStart(from) && e.timestamp_ms < HourStart(to)) batch.push_back(e);
    }
    REQUIRE(!batch.empty());
    REQUIRE(store->AppendBatch(batch).ok());
    for (const FlowEvent& e : batch) model.Add(e);
  };
  auto check = [&](const Query& q) { return CheckQuery(*store, model, q); };
  append_hours(0, 1);
  REQUIRE(store->FlushSettled().ok());  // hour 0 was written since the (absent) call before
  CHECK(check(HoursQuery(0, 1)).chunks_read > 0);
  append_hours(1, 2);
  REQUIRE(store->FlushSettled().ok());  // hour 0 untouched since the previous call began; hour 1 not
  QueryStats stats = check(HoursQuery(0, 1));
  CHECK(stats.rollups_read > 0);
  CHECK(stats.chunks_read == 0);
  CHECK(check(HoursQuery(1, 2)).chunks_read > 0);
  // A late event in hour 0, and hour 2: both wait for the next call; hour 1 is refreshed.
  FlowEvent late =
      *std::find_if(events.begin(), events.end(), [](const FlowEvent& e) { return e.timestamp_ms < HourStart(1); });
  late.destination_port = 4242;
  late.value = 9;
  REQUIRE(store->Append(late).ok());
  model.Add(late);
  append_hours(2, 3);
  REQUIRE(store->FlushSettled().ok());
  CHECK(check(HoursQuery(1, 2)).chunks_read == 0);
  CHECK(check(HoursQuery(0, 1)).chunks_read > 0);
  CHECK(check(HoursQuery(2, 3)).chunks_read > 0);
  // No write since: every hour, and the day, whose stale hours are all settled now.
  REQUIRE(store->FlushSettled().ok());
  CHECK(check(HoursQuery(0, 3)).chunks_read == 0);
  stats = check(DayQuery(0));
  CHECK(stats.day_rollups_read > 0);
  CHECK(stats.chunks_read == 0);
  append_hours(3, 24);
  REQUIRE(store->Flush().ok());  // everything, written or not since
  CHECK(check(DayQuery(0)).chunks_read == 0);
  CheckQueries(*store, model, rng, 60);
  CHECK(VerifyProblems(*store).empty());
}

TEST_CASE("every type x metric x action x flowMode combination", "[model]") {
  std::mt19937_64 rng(99);
  TempDir dir;
  Model model;
  auto store = OpenStore(dir.path());
  AppendInRandomBatches(*store, model, rng, RandomEvents(rng, 2000));
  for (auto type : {StatisticType::kSerie, StatisticType::kRepartition}) {
    for (auto metric : {Metric::kFlows, Metric::kPorts}) {
      for (auto action : {ActionFilter::kAny, ActionFilter::kAccept, ActionFilter::kReject}) {
        for (auto mode : {FlowMode::kApplied, FlowMode::kObserved, FlowMode::kAll}) {
          Query q;
          q.namespace_ = "/a";
          q.start_absolute = kBaseMs + 1234567;
          q.end_absolute = kBaseMs + 2 * 86400000LL - 7654321;
          q.type = type;
          q.metric = metric;
          q.action = action;
          q.flow_mode = mode;
          CheckQuery(*store, model, q);
        }
      }
    }
  }
}

TEST_CASE("hours whose chunks fill table blocks refresh to the same answers", "[model][rollup]") {
  // 200 sources, each 60 events an hour: ~750 events (42 KB) per chunk, so the refresh reads
  // chunks by point reads instead of cursors. Hours 22-23 of one day and 0-1 of the next: one
  // day for each refresh thread.
  TempDir dir;
  auto store = OpenStore(dir.path());
  Model model;
  std::mt19937_64 rng(21);
  std::vector<FlowEvent> events;
  const int64_t first_hour = kBaseMs + 22 * 3600000LL;
  for (int hour = 0; hour < 4; ++hour) {
    for (int i = 0; i < 200 * 60; ++i) {
      FlowEvent e =
          MakeEvent(first_hour + hour * 3600000LL + i * 300, "/big", Numbered("s", i % 200), Numbered("d", rng() % 40),
                    rng() % 5 == 0 ? Action::kReject : Action::kAccept, 1 + rng() % 9);
      e.destination_port = static_cast<uint16_t>(rng() % 2000);
      events.push_back(std::move(e));
    }
  }
  AppendInRandomBatches(*store, model, rng, events);
  REQUIRE(store->Flush().ok());
  uint64_t rollups_read = 0;
  for (auto type : {StatisticType::kRepartition, StatisticType::kSerie}) {
    for (auto metric : {Metric::kFlows, Metric::kPorts}) {
      Query q;
      q.namespace_ = "/big";
      q.start_absolute = kBaseMs;
      q.end_absolute = kBaseMs + 2 * 86400000LL;
      q.type = type;
      q.metric = metric;
      const QueryStats stats = CheckQuery(*store, model, q);
      rollups_read += stats.rollups_read + stats.day_rollups_read;
    }
  }
  CHECK(rollups_read > 0);
  CHECK(VerifyProblems(*store).empty());
}

TEST_CASE("exact answers when every namespace hashes alike", "[model][collision]") {
  std::mt19937_64 rng(7);
  TempDir dir;
  Model model;
  OpenOptions options;
  options.namespace_hash = [](std::string_view) -> uint64_t { return 42; };  // every key collides
  auto store = OpenStore(dir.path(), options);
  AppendInRandomBatches(*store, model, rng, RandomEvents(rng, 2000));
  CheckQueries(*store, model, rng, 120);
}

}  // namespace
}  // namespace flowstat::testing

namespace flowstat::testing {

// ScanEvents (flowstat dump) returns exactly the events a query counts: together they give the
// model's answer, each one alone counts, they come in time order — over windows of hours and of
// a century alike.
TEST_CASE("dump returns exactly the events a query counts, for any window width", "[model]") {
  std::mt19937_64 rng(77);
  TempDir dir;
  auto store = OpenStore(dir.path());
  Model all;
  std::vector<FlowEvent> events = RandomEvents(rng, 4000);
  REQUIRE(store->AppendBatch(events).ok());
  REQUIRE(store->Flush().ok());
  for (const auto& e : events) all.Add(e);
  for (int k = 0; k < 60; ++k) {
    Query q = RandomQuery(rng);
    q.limit.reset();
    if (k % 5 == 0) {  // a century: the empty days must cost nothing
      q.start_relative.reset();
      q.now_ms.reset();
      q.start_absolute = 946684800000;  // 2000-01-01
      q.end_absolute = 4102444800000;   // 2100-01-01
      q.average_interval_ms = 86400000LL * 365;
    }
    std::vector<FlowEvent> dumped;
    REQUIRE(store
                ->ScanEvents(q, 0,
                             [&](const FlowEvent& e) {
                               dumped.push_back(e);
                               return true;
                             })
                .ok());
    INFO("query " << k << " ns=" << q.namespace_ << " dumped " << dumped.size());
    Model dumped_model;
    for (size_t i = 0; i < dumped.size(); ++i) {
      dumped_model.Add(dumped[i]);
      if (i > 0) REQUIRE(dumped[i - 1].timestamp_ms <= dumped[i].timestamp_ms);
    }
    REQUIRE(Comparable(dumped_model.Answer(q), false) == Comparable(all.Answer(q), false));
    for (size_t i = 0; i < dumped.size(); i += 7) {  // each one counts on its own
      Model one;
      one.Add(dumped[i]);
      bool counted = false;
      for (const auto& s : one.Answer(q)) {
        for (const auto& p : s.data_points) counted |= p.value > 0;
      }
      REQUIRE(counted);
    }
  }
}

}  // namespace flowstat::testing
