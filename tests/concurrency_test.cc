// What every public Store call does while another runs (flowstat/store.h): writers take turns,
// a Loader's own thread is refused rather than deadlocked, readers and Sync never wait, and the
// answers afterwards are the brute-force model's. Run under ThreadSanitizer in CI.
#include <catch2/catch.hpp>

#include <atomic>
#include <thread>

#include "tests/model.h"
#include "tests/test_support.h"

namespace flowstat::testing {
namespace {

// Runs `work` on its own thread again and again until `stop`; counts its failures.
class Repeater {
 public:
  template <typename Fn>
  Repeater(const std::atomic<bool>& stop, Fn work)
      : thread_([this, &stop, work] {
          while (!stop.load()) {
            if (!work()) failures_++;
            runs_++;
          }
        }) {}
  ~Repeater() {
    if (thread_.joinable()) thread_.join();
  }
  int failures() const { return failures_.load(); }
  int runs() const { return runs_.load(); }
  void Join() { thread_.join(), thread_ = std::thread(); }

 private:
  std::atomic<int> failures_{0}, runs_{0};
  std::thread thread_;
};

Query AllOf(const std::string& ns, StatisticType type) {
  Query q;
  q.namespace_ = ns;
  q.start_absolute = kBaseMs;
  q.end_absolute = kBaseMs + 4 * 86400000LL;
  q.type = type;
  return q;
}

}  // namespace

TEST_CASE("Compact, Flush, Sync, Verify, Query and AppendBatch from other threads during a bulk load",
          "[concurrency]") {
  TempDir dir;
  auto store = OpenStore(dir.path());
  std::mt19937_64 rng(41);
  const std::vector<FlowEvent> loaded = RandomEvents(rng, 6000);
  const std::vector<FlowEvent> appended = RandomEvents(rng, 600);
  Model model;
  for (const auto& e : loaded) model.Add(e);
  for (const auto& e : appended) model.Add(e);

  std::atomic<bool> stop{false};
  std::atomic<size_t> next_append{0};
  {
    Repeater compact(stop, [&] { return store->Compact().ok(); });
    Repeater flush(stop, [&] { return store->Flush().ok(); });
    Repeater sync(stop, [&] { return store->Sync().ok(); });
    Repeater verify(stop, [&] {  // not VerifyProblems: Catch2 assertions are for the main thread
      std::vector<std::string> problems;
      uint64_t keys = 0;
      return store->Verify(&problems, &keys).ok() && problems.empty();
    });
    Repeater query(stop, [&] { return store->Query(AllOf("/", StatisticType::kRepartition)).ok(); });
    Repeater append(stop, [&] {
      const size_t i = next_append.fetch_add(50);
      if (i >= appended.size()) return true;
      std::span<const FlowEvent> batch(appended.data() + i, std::min<size_t>(50, appended.size() - i));
      return store->AppendBatch(batch).ok();
    });

    auto loader = store->NewLoader();
    REQUIRE(loader.ok());
    for (size_t i = 0; i < loaded.size(); ++i) {
      REQUIRE((*loader)->Add(loaded[i]).ok());
      if (i % 500 == 499) REQUIRE((*loader)->Commit().ok());
    }
    REQUIRE((*loader)->Finish(nullptr).ok());
    loader->reset();  // the other writers get their turns now
    while (next_append.load() < appended.size()) std::this_thread::yield();
    while (compact.runs() < 1 || flush.runs() < 1 || verify.runs() < 1) std::this_thread::yield();
    stop = true;
    compact.Join(), flush.Join(), sync.Join(), verify.Join(), query.Join(), append.Join();
    CHECK(compact.failures() == 0);
    CHECK(flush.failures() == 0);
    CHECK(sync.failures() == 0);
    CHECK(verify.failures() == 0);
    CHECK(query.failures() == 0);
    CHECK(append.failures() == 0);
  }
  REQUIRE(store->Flush().ok());
  CHECK(VerifyProblems(*store).empty());
  for (StatisticType type : {StatisticType::kSerie, StatisticType::kRepartition}) {
    for (const char* ns : {"/", "/acme", "/acme/prod"}) {
      Query q = AllOf(ns, type);
      q.average_interval_ms = 3600000;
      REQUIRE(ValidateQuery(&q).ok());
      auto got = store->Query(q);
      REQUIRE(got.ok());
      CHECK(Comparable(*got, true) == Comparable(model.Answer(q), false));
    }
  }
}

TEST_CASE("a Loader's own thread is refused with Busy instead of waiting for itself", "[concurrency]") {
  TempDir dir;
  auto store = OpenStore(dir.path());
  auto loader = store->NewLoader();
  REQUIRE(loader.ok());
  REQUIRE((*loader)->Add(MakeEvent(kBaseMs, "/a", "s", "d")).ok());
  for (auto call : {+[](Store& s) { return s.Flush(); }, +[](Store& s) { return s.Compact(); },
                    +[](Store& s) { return s.Append(MakeEvent(kBaseMs, "/a", "s2", "d")); },
                    +[](Store& s) { return s.NewLoader().status(); }}) {
    Status s = call(*store);
    CHECK(s.code() == Status::Code::kBusy);
    CHECK(s.message().find("Loader") != std::string::npos);
  }
  // Reads and Sync do not need the writer.
  CHECK(store->Sync().ok());
  CHECK(store->Query(AllOf("/a", StatisticType::kSerie)).ok());

  // Another thread's Flush waits for the Loader instead, and then succeeds.
  std::atomic<bool> flushed{false};
  std::thread other([&] { flushed = store->Flush().ok(); });
  REQUIRE((*loader)->Finish(nullptr).ok());
  CHECK_FALSE(flushed.load());  // still waiting: the Loader is alive
  loader->reset();
  other.join();
  CHECK(flushed.load());
  CHECK(store->Flush().ok());  // and this thread may write again
  auto r = store->Query(AllOf("/a", StatisticType::kSerie));
  REQUIRE(r.ok());
  Count total = 0;
  for (const auto& p : (*r)[0].data_points) total += p.value;
  CHECK(total == 1);
}

TEST_CASE("many threads appending small batches and syncing: every event counted once", "[concurrency]") {
  TempDir dir;
  auto store = OpenStore(dir.path());
  constexpr int kThreads = 8, kBatches = 40, kBatch = 25;
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int b = 0; b < kBatches; ++b) {
        std::vector<FlowEvent> batch;
        for (int i = 0; i < kBatch; ++i) {
          // Every thread also sends event 0 of each batch index: duplicates across threads.
          const int id = i == 0 ? 1000000 + b : t * 100000 + b * 100 + i;
          batch.push_back(MakeEvent(kBaseMs + id * 1000LL % 86400000, "/g", Numbered("s", id), "d"));
        }
        if (!store->AppendBatch(batch).ok() || !store->Sync().ok()) failures++;
      }
    });
  }
  for (auto& t : threads) t.join();
  CHECK(failures == 0);
  auto r = store->Query(AllOf("/g", StatisticType::kSerie));
  REQUIRE(r.ok());
  Count total = 0;
  for (const auto& p : (*r)[0].data_points) total += p.value;
  CHECK(total == Count(kBatches) + Count(kThreads) * kBatches * (kBatch - 1));
}

}  // namespace flowstat::testing
