// Expire and DeleteNamespace against the brute-force model: afterwards every query answers as if
// the removed events had never been appended — with hashes that collide too, and with events
// appended again afterwards.
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

}  // namespace

TEST_CASE("expire and delete answer as if the removed events had never been stored", "[lifecycle][model]") {
  RunRemovals({}, 91);
}

TEST_CASE("expire and delete stay exact when every namespace hashes alike", "[lifecycle][model]") {
  OpenOptions colliding;
  colliding.namespace_hash = [](std::string_view) -> uint64_t { return 42; };
  RunRemovals(colliding, 92);
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
