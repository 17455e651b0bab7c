// Expire and DeleteNamespace against the brute-force model: afterwards every query answers as if
// the removed events had never been appended — with hashes that collide too, and with events
// appended again afterwards.
#include <rocksdb/db.h>
#include <catch2/catch.hpp>

#include "tests/model.h"
#include "tests/test_support.h"

namespace flowstat::testing {
namespace {

bool Covers(const std::string& scope, const std::string& ns) {
  if (scope == "/") return true;
  return ns.size() >= scope.size() && ns.compare(0, scope.size(), scope) == 0 &&
         (ns.size() == scope.size() || ns[scope.size()] == '/');
}

Model ModelOf(const std::vector<FlowEvent>& events) {
  Model m;
  for (const auto& e : events) m.Add(e);
  return m;
}

void CheckAgainst(Store& store, const Model& model, std::mt19937_64& rng, int queries) {
  for (int k = 0; k < queries; ++k) {
    Query q = RandomQuery(rng);
    auto got = store.Query(q);
    INFO("query " << k << " ns=" << q.namespace_);
    REQUIRE(got.ok());
    REQUIRE(Comparable(*got, true) == Comparable(model.Answer(q), false));
  }
  CHECK(VerifyProblems(store).empty());
}

void AppendAll(Store& store, const std::vector<FlowEvent>& events) {
  for (size_t i = 0; i < events.size(); i += 500) {
    std::span<const FlowEvent> batch(events.data() + i, std::min<size_t>(500, events.size() - i));
    REQUIRE(store.AppendBatch(batch).ok());
  }
  REQUIRE(store.Flush().ok());
}

const std::vector<std::string> kScopes = {"/", "/a", "/a/b", "/a/b/c", "/ab", "/a/b-eu", "/x", "/nothing"};

void RunRemovals(OpenOptions options, uint64_t seed) {
  std::mt19937_64 rng(seed);
  for (int round = 0; round < 6; ++round) {
    TempDir dir;
    auto store = OpenStore(dir.path(), options);
    std::vector<FlowEvent> events = RandomEvents(rng, 2500);
    AppendAll(*store, events);
    // And some not yet flushed: their hours' rollups are still to be made when the removal runs.
    std::vector<FlowEvent> unflushed = RandomEvents(rng, 200);
    REQUIRE(store->AppendBatch(unflushed).ok());
    events.insert(events.end(), unflushed.begin(), unflushed.end());
    const std::string scope = kScopes[rng() % kScopes.size()];
    const bool delete_namespace = rng() % 3 == 0;
    // Cuts on and off hour and day boundaries, before, inside and after the data.
    const int64_t cuts[] = {kBaseMs,
                            kBaseMs + 36 * 3600000LL,
                            kBaseMs + 36 * 3600000LL + 1234567,
                            kBaseMs + 2 * 86400000LL,
                            kBaseMs - 1,
                            kBaseMs + 5 * 86400000LL,
                            kBaseMs + static_cast<int64_t>(rng() % (3 * 86400000ULL))};
    const int64_t before = delete_namespace ? kMaxTimestampMs + 1 : cuts[rng() % std::size(cuts)];
    INFO("round " << round << (delete_namespace ? " delete " : " expire ") << scope << " before " << before);
    REQUIRE((delete_namespace ? store->DeleteNamespace(scope) : store->Expire(before, scope)).ok());
    std::vector<FlowEvent> kept;
    for (const auto& e : events) {
      if (!(Covers(scope, e.namespace_) && e.timestamp_ms < before)) kept.push_back(e);
    }
    CheckAgainst(*store, ModelOf(kept), rng, 60);
    // New events, some in the removed range, after the removal: counted like any other.
    std::vector<FlowEvent> more = RandomEvents(rng, 800);
    AppendAll(*store, more);
    kept.insert(kept.end(), more.begin(), more.end());
    CheckAgainst(*store, ModelOf(kept), rng, 40);
    REQUIRE(store->Compact().ok());
    CheckAgainst(*store, ModelOf(kept), rng, 20);
  }
}

// A query rollups answer exactly: no tag or source ID selector, destination IDs only with metric
// Flows (pair sums), window and buckets on whole hours.
Query HourAlignedQuery(std::mt19937_64& rng) {
  Query q = RandomQuery(rng);
  q.source_tags.clear();
  q.destination_tags.clear();
  q.source_ids.clear();
  if (q.metric == Metric::kPorts) q.destination_ids.clear();
  const int64_t hours[] = {1, 2, 3, 6, 24};
  q.average_interval_ms = hours[rng() % std::size(hours)] * 3600000LL;
  const int64_t start = kBaseMs + static_cast<int64_t>(rng() % 72) * 3600000LL - 3600000LL;
  q.start_relative.reset();
  q.now_ms.reset();
  q.start_absolute = start;
  q.end_absolute = start + static_cast<int64_t>(1 + rng() % 72) * 3600000LL;
  return q;
}

// After expiry with kept rollups at `horizon`: every answer is the figure of all `events`, or a
// refusal naming the horizon — never a partial figure. Returns how many were refused.
int CheckKeptRollups(Store& store, const Model& all, std::mt19937_64& rng, int64_t horizon, bool aligned, int queries) {
  const std::string named = "it can be answered from " + FormatTimeSeconds(horizon);
  int refused = 0;
  for (int k = 0; k < queries; ++k) {
    Query q = aligned ? HourAlignedQuery(rng) : RandomQuery(rng);
    auto got = store.Query(q);
    INFO("query " << k << " ns=" << q.namespace_ << (aligned ? " (hour-aligned, rollups answer it)" : ""));
    if (!got.ok()) {
      INFO(got.status().message());
      REQUIRE_FALSE(aligned);  // rollups answer these exactly, whatever was expired
      REQUIRE(got.status().code() == Status::Code::kInvalidArgument);
      REQUIRE(got.status().message().find(named) != std::string::npos);
      ++refused;
      continue;
    }
    REQUIRE(Comparable(*got, true) == Comparable(all.Answer(q), false));
  }
  return refused;
}

void RunKeepRollups(OpenOptions options, uint64_t seed) {
  std::mt19937_64 rng(seed);
  int refused = 0, answered_below = 0;
  for (int round = 0; round < 5; ++round) {
    TempDir dir;
    auto store = OpenStore(dir.path(), options);
    std::vector<FlowEvent> events = RandomEvents(rng, 2500);
    AppendAll(*store, events);
    std::vector<FlowEvent> unflushed = RandomEvents(rng, 200);  // rollups still to be made
    REQUIRE(store->AppendBatch(unflushed).ok());
    events.insert(events.end(), unflushed.begin(), unflushed.end());
    const std::string scope = kScopes[rng() % kScopes.size()];
    // Off an hour boundary: the whole hours before it go, the cut hour's raw events stay.
    const int64_t before = kBaseMs + static_cast<int64_t>(12 + rng() % 48) * 3600000LL + 1234567;
    const int64_t horizon = before / 3600000 * 3600000;
    INFO("round " << round << " expire --keep-rollups " << scope << " before " << before);
    REQUIRE(store->Expire(before, scope, /*keep_rollups=*/true).ok());
    if (round % 2 == 1) {
      // As if written before minute rollups existed (format 3): the compactions below rebuild
      // them for hours with raw events, and must leave the hours below the horizon alone (a
      // rebuild there would find no events and replace the kept rollups with empty ones).
      REQUIRE(store->Compact().ok());  // into tables: the plain RocksDB open replays no log
      store.reset();
      rocksdb::DB* db = nullptr;
      REQUIRE(rocksdb::DB::Open(rocksdb::Options(), dir.path(), &db).ok());
      REQUIRE(db->DeleteRange(rocksdb::WriteOptions(), db->DefaultColumnFamily(), "m", "n").ok());
      delete db;
      store = OpenStore(dir.path(), options);
    }
    const Model all = ModelOf(events);
    CheckKeptRollups(*store, all, rng, horizon, true, 40);
    refused += CheckKeptRollups(*store, all, rng, horizon, false, 80);
    CHECK(VerifyProblems(*store).empty());

    // Below the horizon nothing may be added; above it, anything.
    std::vector<FlowEvent> late = RandomEvents(rng, 300);
    bool any_below = false;
    std::vector<FlowEvent> allowed;
    for (const auto& e : late) {
      const bool below = Covers(scope, e.namespace_) && e.timestamp_ms < horizon;
      any_below |= below;
      if (!below) allowed.push_back(e);
    }
    if (any_below) CHECK(store->AppendBatch(late).code() == Status::Code::kInvalidArgument);
    AppendAll(*store, allowed);
    events.insert(events.end(), allowed.begin(), allowed.end());
    REQUIRE(store->Compact().ok());
    const Model more = ModelOf(events);
    CheckKeptRollups(*store, more, rng, horizon, true, 30);
    refused += CheckKeptRollups(*store, more, rng, horizon, false, 30);

    // Plain expiry: not inside an hour whose raw events are gone; at a whole hour past the raw
    // horizon, everything before goes and queries answer as if it had never been.
    if (scope != "/nothing") {
      CHECK(store->Expire(horizon - 1800000, scope).code() == Status::Code::kInvalidArgument);
    }
    const int64_t plain = horizon + 3600000;
    REQUIRE(store->Expire(plain, scope).ok());
    std::vector<FlowEvent> kept;
    for (const auto& e : events) {
      if (!(Covers(scope, e.namespace_) && e.timestamp_ms < plain)) kept.push_back(e);
    }
    CheckAgainst(*store, ModelOf(kept), rng, 40);
    answered_below += 1;
  }
  // Both outcomes occurred: the property above was not vacuous.
  CHECK(refused > 0);
  CHECK(answered_below == 5);
}

}  // namespace

TEST_CASE("expire and delete answer as if the removed events had never been stored", "[lifecycle][model]") {
  RunRemovals({}, 91);
}

TEST_CASE("expire and delete stay exact when every namespace hashes alike", "[lifecycle][model]") {
  OpenOptions colliding;
  colliding.namespace_hash = [](std::string_view) -> uint64_t { return 42; };
  RunRemovals(colliding, 92);
}

TEST_CASE("expire --keep-rollups: rollups keep answering exactly, raw-only queries are refused", "[lifecycle][model]") {
  RunKeepRollups({}, 93);
}

TEST_CASE("expire --keep-rollups stays exact when every namespace hashes alike", "[lifecycle][model]") {
  OpenOptions colliding;
  colliding.namespace_hash = [](std::string_view) -> uint64_t { return 42; };
  RunKeepRollups(colliding, 94);
}

TEST_CASE("delete of a namespace leaves its prefix-sharing siblings whole", "[lifecycle]") {
  TempDir dir;
  auto store = OpenStore(dir.path());
  std::vector<FlowEvent> events;
  for (const char* ns : {"/acme/prod", "/acme/prod/web", "/acme/prodx", "/acme/prod-eu", "/acme"}) {
    for (int i = 0; i < 10; ++i) events.push_back(MakeEvent(kBaseMs + i * 600000LL, ns, "s", "d", Action::kAccept, 2));
  }
  AppendAll(*store, events);
  REQUIRE(store->DeleteNamespace("/acme/prod/").ok());  // a trailing '/' names the same namespace
  auto total = [&](const char* ns, bool recursive) {
    Query q;
    q.namespace_ = ns;
    q.recursive = recursive;
    q.start_absolute = kBaseMs;
    q.end_absolute = kBaseMs + 86400000;
    q.type = StatisticType::kRepartition;
    auto r = store->Query(q);
    REQUIRE(r.ok());
    Count sum = 0;
    for (const auto& p : (*r)[0].data_points) sum += p.value;
    return sum;
  };
  CHECK(total("/acme/prod", true) == 0);
  CHECK(total("/acme/prodx", true) == 20);
  CHECK(total("/acme/prod-eu", true) == 20);
  CHECK(total("/acme", false) == 20);
  CHECK(total("/acme", true) == 60);
  CHECK(store->DeleteNamespace("acme").code() == Status::Code::kInvalidArgument);
}

}  // namespace flowstat::testing
