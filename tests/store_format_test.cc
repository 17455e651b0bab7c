// Store-level promises: the planner reads what a query needs, foreign and damaged stores are
// refused, reopening keeps everything.
#include <catch2/catch.hpp>

#include <rocksdb/db.h>

#include <atomic>
#include <fstream>
#include <random>
#include <thread>

#include "schema/record.h"
#include "tests/model.h"
#include "tests/test_support.h"

namespace flowstat::testing {
namespace {

constexpr int64_t kWeekStart = 1762992000000;  // 2025-11-13T00:00:00Z
constexpr int64_t kWeek = 7 * 86400000LL;

TEST_CASE("a single-source query over 7 days of 1M events reads well under 1% of them", "[planner]") {
  TempDir dir;
  auto store = OpenStore(dir.path());
  const size_t kEvents = 1'000'000;
  std::vector<FlowEvent> batch;
  uint64_t needle_events = 0;
  for (size_t i = 0; i < kEvents; ++i) {
    const int64_t t = kWeekStart + static_cast<int64_t>(i * (kWeek / kEvents));
    const bool needle = i % 10008 == 0;  // always in /ns0
    needle_events += needle;
    FlowEvent e = MakeEvent(t, "/ns" + std::to_string(i % 4), needle ? "needle" : "src" + std::to_string(i % 500),
                            "dst" + std::to_string(i % 97));
    e.source_tags = {"app=a" + std::to_string(i % 50), "tier=t" + std::to_string(i % 3)};
    batch.push_back(std::move(e));
    if (batch.size() == 50000) {
      REQUIRE(store->AppendBatch(batch).ok());
      batch.clear();
    }
  }
  Query q;
  q.namespace_ = "/";
  q.start_absolute = kWeekStart;
  q.end_absolute = kWeekStart + kWeek;
  q.action = ActionFilter::kAccept;
  QueryStats full;
  auto all = store->Query(q, &full);
  REQUIRE(all.ok());
  CHECK(full.events_examined == kEvents);

  q.source_ids = {"needle"};
  QueryStats selective;
  auto one = store->Query(q, &selective);
  REQUIRE(one.ok());
  Count total = 0;
  for (const auto& p : (*one)[0].data_points) total += p.value;
  CHECK(total == needle_events);
  CHECK(selective.events_examined == needle_events);
  CHECK(selective.events_examined * 100 < kEvents);
  CHECK(selective.chunks_read < full.chunks_read);  // only the namespace the needle lives in

  q.source_ids.clear();
  q.source_tags = {"app=a7", "tier=t1"};  // i % 50 == 7 and i % 3 == 1: one event in 150
  QueryStats tagged;
  auto t = store->Query(q, &tagged);
  REQUIRE(t.ok());
  CHECK(tagged.events_matched < kEvents / 100);
}

TEST_CASE("reopen keeps every event", "[format]") {
  TempDir dir;
  {
    auto store = OpenStore(dir.path());
    REQUIRE(store->Append(MakeEvent(kWeekStart, "/n", "s", "d", Action::kAccept, 5)).ok());
    REQUIRE(store->Flush().ok());
  }
  OpenOptions read_only;
  read_only.read_only = true;
  auto store = OpenStore(dir.path(), read_only);
  Query q;
  q.namespace_ = "/n";
  q.start_absolute = kWeekStart;
  q.end_absolute = kWeekStart + 1;
  q.action = ActionFilter::kAccept;
  auto r = store->Query(q);
  REQUIRE(r.ok());
  CHECK((*r)[0].data_points.at(0).value == 5);
  CHECK_FALSE(store->Append(MakeEvent(kWeekStart, "/n", "s", "d")).ok());
}

TEST_CASE("only canonical dotted-decimal IPv4 addresses are stored inline", "[format]") {
  using schema::InlineIpv4;
  CHECK(InlineIpv4("10.0.0.1") == std::optional<uint32_t>(0x0a000001));
  CHECK(InlineIpv4("0.0.0.0") == std::optional<uint32_t>(0));
  CHECK(InlineIpv4("255.255.255.255") == std::optional<uint32_t>(0xffffffff));
  CHECK(InlineIpv4("192.168.100.20") == std::optional<uint32_t>(0xc0a86414));
  // Texts that are not the one canonical spelling of an address keep their exact text.
  for (const char* text :
       {"", "010.0.0.1", "1.2.3.04", "1.2.3", "1.2.3.4.5", "256.0.0.1", "1.2.3.1000", " 1.2.3.4", "1.2.3.4 ", "1..2.3",
        "1.2.3.", ".1.2.3", "::1", "1.2.3.-4", "1.2.3.4/24", "0x1.2.3.4", "\xd9\xa1.2.3.4", "00.0.0.0"}) {
    INFO(text);
    CHECK_FALSE(InlineIpv4(text).has_value());
  }
  std::mt19937_64 rng(5);
  for (int i = 0; i < 10000; ++i) {
    const auto address = static_cast<uint32_t>(rng());
    REQUIRE(InlineIpv4(schema::FormatIpv4(address)) == std::optional<uint32_t>(address));
  }
}

TEST_CASE("addresses come back with their exact text, inline or not, and keep events' identity", "[format]") {
  TempDir dir;
  auto store = OpenStore(dir.path());
  const std::vector<std::optional<std::string>> addresses = {
      "10.1.2.3", "0.0.0.0", "255.255.255.255", "010.1.2.3", "10.1.2.3 ", "2001:db8::1", "::1", "", std::nullopt};
  std::vector<FlowEvent> events;
  for (size_t i = 0; i < addresses.size(); ++i) {
    for (size_t j = 0; j < addresses.size(); ++j) {
      FlowEvent e = MakeEvent(kWeekStart + static_cast<int64_t>(i * addresses.size() + j), "/n", "s", "d");
      e.source_ip = addresses[i];
      e.destination_ip = addresses[j];
      events.push_back(e);
    }
  }
  REQUIRE(store->AppendBatch(events).ok());
  REQUIRE(store->AppendBatch(events).ok());  // the same events again: still one of each
  Query q;
  q.namespace_ = "/n";
  q.start_absolute = kWeekStart;
  q.end_absolute = kWeekStart + kWeek;
  std::vector<FlowEvent> back;
  REQUIRE(store
              ->ScanEvents(q, 0,
                           [&](const FlowEvent& e) {
                             back.push_back(e);
                             return true;
                           })
              .ok());
  CHECK(back == events);
  CHECK(VerifyProblems(*store).empty());
}

TEST_CASE("foreign, other-version and missing stores are refused", "[format]") {
  TempDir dir;
  SECTION("missing, read-only") {
    OpenOptions o;
    o.read_only = true;
    auto s = Store::Open(dir.Sub("none"), o);
    CHECK(s.status().code() == Status::Code::kNotFound);
  }
  SECTION("a directory holding other files") {
    std::ofstream(dir.Sub("notes.txt")) << "hello";
    auto s = Store::Open(dir.path(), {});
    CHECK(s.status().code() == Status::Code::kIncompatible);
    CHECK(s.status().message().find("not a flowstat store") != std::string::npos);
  }
  SECTION("a RocksDB database that is not a flowstat store") {
    rocksdb::Options o;
    o.create_if_missing = true;
    rocksdb::DB* db;
    REQUIRE(rocksdb::DB::Open(o, dir.Sub("other"), &db).ok());
    REQUIRE(db->Put(rocksdb::WriteOptions(), "key", "value").ok());
    delete db;
    auto s = Store::Open(dir.Sub("other"), {});
    CHECK(s.status().code() == Status::Code::kIncompatible);
  }
  SECTION("a store of another format version") {
    { OpenStore(dir.Sub("old")); }
    rocksdb::Options o;
    rocksdb::DB* db;
    REQUIRE(rocksdb::DB::Open(o, dir.Sub("old"), &db).ok());
    REQUIRE(db->Put(rocksdb::WriteOptions(), "Mformat", "flowstat-store 99; something else").ok());
    delete db;
    auto s = Store::Open(dir.Sub("old"), {});
    CHECK(s.status().code() == Status::Code::kIncompatible);
    CHECK(s.status().message().find("flowstat-store 99") != std::string::npos);
  }
  SECTION("a second writer") {
    auto first = OpenStore(dir.Sub("locked"));
    auto second = Store::Open(dir.Sub("locked"), {});
    CHECK(second.status().code() == Status::Code::kBusy);
    CHECK(second.status().message().find("locked") != std::string::npos);
  }
}

// A read-only store reads its dictionary entries as queries need them: a missing or damaged one
// must fail the answer that needs it (or the open), never shorten the answer.
TEST_CASE("a read-only store with damaged dictionary entries refuses what needs them", "[format]") {
  TempDir dir;
  {
    auto store = OpenStore(dir.path());
    for (int i = 0; i < 4; ++i) {
      REQUIRE(store->Append(MakeEvent(kWeekStart + i, "/n", "s" + std::to_string(i), "d")).ok());
    }
    // Into tables: the plain RocksDB open below (no merge operator) must find no log to replay.
    REQUIRE(store->Compact().ok());
  }
  // Finds the 'D' key holding `entry` (kind byte + payload).
  auto key_of = [](rocksdb::DB* db, const std::string& entry) {
    std::unique_ptr<rocksdb::Iterator> it(db->NewIterator(rocksdb::ReadOptions()));
    for (it->Seek("D"); it->Valid() && it->key()[0] == 'D'; it->Next()) {
      if (it->value() == entry) return it->key().ToString();
    }
    return std::string();
  };
  auto damage = [&](const std::function<void(rocksdb::DB*)>& change) {
    rocksdb::DB* db;
    REQUIRE(rocksdb::DB::Open(rocksdb::Options(), dir.path(), &db).ok());
    change(db);
    delete db;
  };
  OpenOptions read_only;
  read_only.read_only = true;
  Query q;
  q.namespace_ = "/n";
  q.start_absolute = kWeekStart;
  q.end_absolute = kWeekStart + kWeek;
  q.type = StatisticType::kRepartition;
  REQUIRE(ValidateQuery(&q).ok());
  SECTION("an entry an answer names is gone, its index key with it") {
    damage([&](rocksdb::DB* db) {
      const std::string key = key_of(db, "is2");
      REQUIRE(!key.empty());
      REQUIRE(db->Delete(rocksdb::WriteOptions(), key).ok());
      REQUIRE(db->Delete(rocksdb::WriteOptions(), "Xis2").ok());
    });
    auto store = OpenStore(dir.path(), read_only);
    auto r = store->Query(q);
    REQUIRE_FALSE(r.ok());
    CHECK(r.status().message().find("dictionary entry") != std::string::npos);
    CHECK_FALSE(VerifyProblems(*store).empty());
    Query by_source = q;
    by_source.source_ids = {"s1"};  // needs no missing entry: still answered
    REQUIRE(ValidateQuery(&by_source).ok());
    auto one = store->Query(by_source);
    REQUIRE(one.ok());
    CHECK((*one)[0].data_points.size() == 1);
  }
  SECTION("an entry an answer names is gone, its index key is not: the answer reads the key") {
    // Both hold the ID's bytes; an answer naming many IDs reads them from the index keys in one
    // pass (here: the store is small enough for any answer). `verify` reports the missing entry.
    damage([&](rocksdb::DB* db) {
      const std::string key = key_of(db, "is2");
      REQUIRE(!key.empty());
      REQUIRE(db->Delete(rocksdb::WriteOptions(), key).ok());
    });
    auto store = OpenStore(dir.path(), read_only);
    auto r = store->Query(q);
    REQUIRE(r.ok());
    CHECK((*r)[0].source_ids == std::vector<std::string>{"s0", "s1", "s2", "s3"});
    CHECK_FALSE(VerifyProblems(*store).empty());
  }
  SECTION("the index names a namespace that is not one") {
    damage([&](rocksdb::DB* db) {
      const std::string key = key_of(db, "is0");
      REQUIRE(!key.empty());
      REQUIRE(db->Put(rocksdb::WriteOptions(), "Xn/elsewhere", key.substr(1)).ok());
    });
    auto store = Store::Open(dir.path(), read_only);
    CHECK(store.status().code() == Status::Code::kCorruption);
  }
  SECTION("an indexed entry without its index key") {
    damage([&](rocksdb::DB* db) { REQUIRE(db->Delete(rocksdb::WriteOptions(), "Xis3").ok()); });
    auto store = OpenStore(dir.path(), read_only);
    Query by_source = q;
    by_source.source_ids = {"s3"};
    REQUIRE(ValidateQuery(&by_source).ok());
    auto r = store->Query(by_source);
    REQUIRE(r.ok());  // the store does not know s3 by its text any more: verify says so
    const auto problems = VerifyProblems(*store);
    REQUIRE_FALSE(problems.empty());
    CHECK(problems.front().find("does not find this entry by its text") != std::string::npos);
  }
}

// The block cache holds decompressed blocks between reads: its size (none, smaller than one
// block, the default) may change the speed of an answer, never the answer.
TEST_CASE("the block cache size changes no answer", "[format][model]") {
  TempDir dir;
  std::mt19937_64 rng(23);
  const std::vector<FlowEvent> events = RandomEvents(rng, 3000);
  Model model;
  for (const auto& e : events) model.Add(e);
  {
    auto store = OpenStore(dir.path());
    REQUIRE(store->AppendBatch(events).ok());
    REQUIRE(store->Compact().ok());
  }
  for (size_t cache_bytes : {size_t{0}, size_t{16} << 10, OpenOptions().cache_bytes}) {
    INFO("cache " << cache_bytes << " bytes");
    OpenOptions o;
    o.read_only = true;
    o.cache_bytes = cache_bytes;
    auto store = OpenStore(dir.path(), o);
    for (int k = 0; k < 40; ++k) {
      const Query q = RandomQuery(rng);
      auto got = store->Query(q);
      REQUIRE(got.ok());
      REQUIRE(Comparable(*got, true) == Comparable(model.Answer(q), false));
    }
  }
  SECTION("nor does resizing it between queries, or while they run") {
    for (size_t opened_with : {size_t{0}, size_t{16} << 10}) {
      INFO("opened with " << opened_with << " bytes");
      OpenOptions o;
      o.read_only = true;
      o.cache_bytes = opened_with;
      auto store = OpenStore(dir.path(), o);
      std::atomic<int> resize_failures = 0;  // Catch2 asserts on the test's thread only
      // Joined when it goes out of scope, a failed REQUIRE's too.
      std::jthread resizer([&](std::stop_token stop) {
        // Shrinking evicts blocks that a running query may be reading from.
        for (size_t i = 0; !stop.stop_requested(); ++i) {
          if (!store->SetCacheBytes(i % 2 ? size_t{64} << 10 : 0).ok()) ++resize_failures;
        }
      });
      for (size_t bytes : {size_t{0}, size_t{16} << 10, OpenOptions().cache_bytes, size_t{4} << 10}) {
        REQUIRE(store->SetCacheBytes(bytes).ok());
        for (int k = 0; k < 10; ++k) {
          const Query q = RandomQuery(rng);
          auto got = store->Query(q);
          REQUIRE(got.ok());
          REQUIRE(Comparable(*got, true) == Comparable(model.Answer(q), false));
        }
      }
      resizer.request_stop();
      resizer.join();
      CHECK(resize_failures == 0);
    }
  }
}

}  // namespace
}  // namespace flowstat::testing
