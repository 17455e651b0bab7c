// Reliability (doc/input.md, identity and durability): damaged stores are refused (never misread), readers see
// consistent snapshots while a writer appends, and Verify finds what is wrong.
#include <catch2/catch.hpp>

#include <rocksdb/db.h>
#include <rocksdb/perf_context.h>
#include <rocksdb/perf_level.h>

#include <atomic>
#include <fstream>
#include <functional>
#include <thread>

#include "storage/chunk_merge.h"
#include "tests/model.h"
#include "tests/test_support.h"

namespace flowstat::testing {
namespace {

std::string LargestSst(const std::string& dir) {
  std::string best;
  uintmax_t size = 0;
  for (const auto& f : std::filesystem::directory_iterator(dir)) {
    if (f.path().extension() == ".sst" && f.file_size() > size) size = f.file_size(), best = f.path().string();
  }
  return best;
}

// A store of `events` random events, compacted; returns its largest table file.
std::string CompactedStoreTable(const std::string& dir, uint64_t seed, size_t events) {
  {
    auto store = OpenStore(dir);
    std::mt19937_64 rng(seed);
    REQUIRE(store->AppendBatch(RandomEvents(rng, events)).ok());
    REQUIRE(store->Compact().ok());
  }
  std::string sst = LargestSst(dir);
  REQUIRE(!sst.empty());
  return sst;
}

void Overwrite(const std::string& path, uintmax_t offset, std::string_view bytes) {
  std::fstream f(path, std::ios::in | std::ios::out | std::ios::binary);
  f.seekp(static_cast<std::streamoff>(offset));
  f.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

void CheckRefusedAsDamagedTable(const std::string& dir, const OpenOptions& options) {
  auto store = Store::Open(dir, options);
  CHECK(store.status().code() == Status::Code::kCorruption);
  CHECK(store.status().message().find("damaged table file") != std::string::npos);
}

void FlipByte(const std::string& path, uintmax_t offset) {
  const auto written = std::filesystem::last_write_time(path);
  struct Restore {  // bit rot changes bytes, not time stamps
    const std::string& path;
    std::filesystem::file_time_type time;
    ~Restore() { std::filesystem::last_write_time(path, time); }
  } restore{path, written};
  std::fstream f(path, std::ios::in | std::ios::out | std::ios::binary);
  f.seekg(static_cast<std::streamoff>(offset));
  char c;
  f.read(&c, 1);
  c = static_cast<char>(c ^ 0x5a);
  f.seekp(static_cast<std::streamoff>(offset));
  f.write(&c, 1);
}

TEST_CASE("flipped bytes in table files are detected, never misread", "[reliability]") {
  for (int trial = 0; trial < 6; ++trial) {
    DYNAMIC_SECTION("trial " << trial) {
      std::mt19937_64 rng(100 + trial);
      TempDir dir;
      Model model;
      {
        auto store = OpenStore(dir.path());
        auto events = RandomEvents(rng, 5000);
        REQUIRE(store->AppendBatch(events).ok());
        for (const auto& e : events) model.Add(e);
        REQUIRE(store->Flush().ok());
        REQUIRE(store->Compact().ok());
      }
      const std::string sst = LargestSst(dir.path());
      REQUIRE(!sst.empty());
      const auto size = std::filesystem::file_size(sst);
      FlipByte(sst, size / 8 + rng() % (size / 2));
      OpenOptions read_only;
      read_only.read_only = true;
      auto store = Store::Open(dir.path(), read_only);
      if (!store.ok()) {
        CHECK(store.status().code() == Status::Code::kCorruption);
        continue;
      }
      int refused = 0;
      for (int k = 0; k < 40; ++k) {
        Query q = RandomQuery(rng);
        auto got = (*store)->Query(q);
        if (!got.ok()) {
          CHECK(got.status().code() == Status::Code::kCorruption);
          ++refused;
          continue;
        }
        REQUIRE(Comparable(*got, true) == Comparable(model.Answer(q), false));  // exact or refused
      }
      const std::vector<std::string> problems = VerifyProblems(**store);
      CHECK_FALSE(problems.empty());
      INFO("queries refused: " << refused);
    }
  }
}

// Regression (found by fuzz_store_open): a table footer whose metaindex handle claims a
// terabyte made RocksDB allocate it and abort. Such a store must be refused as corrupt.
TEST_CASE("a table footer with an impossible block handle is refused", "[reliability]") {
  TempDir dir;
  const std::string sst = CompactedStoreTable(dir.path(), 3, 500);
  const auto written = std::filesystem::last_write_time(sst);
  // The metaindex handle, 52 bytes from the end.
  Overwrite(sst, std::filesystem::file_size(sst) - 52, "\xb9\xb4\xb4\xb4\xb4\xb4\x34");
  SECTION("bit rot: the bytes change, the time does not") { std::filesystem::last_write_time(sst, written); }
  SECTION("a copied store: the table is newer than the MANIFEST") {
    std::filesystem::last_write_time(sst, written + std::chrono::hours(1));
  }
  for (bool read_only : {true, false}) {
    OpenOptions o;
    o.read_only = read_only;
    CheckRefusedAsDamagedTable(dir.path(), o);
  }
}

TEST_CASE("a damaged properties block is refused before RocksDB parses it", "[reliability]") {
  // RocksDB 7.8 parses a table's properties block before checking its checksum (and Debian's
  // build asserts on what it finds): flowstat checks that block first.
  TempDir dir;
  const std::string sst = CompactedStoreTable(dir.path(), 4, 500);
  std::string bytes;
  {
    std::ifstream in(sst, std::ios::binary);
    bytes.assign(std::istreambuf_iterator<char>(in), {});
  }
  const size_t at = bytes.find("rocksdb.block.based.table.index.type");  // the first property's key
  REQUIRE(at != std::string::npos);
  Overwrite(sst, at - 3, "\xff\xff\x7f");  // its length prefixes
  CheckRefusedAsDamagedTable(dir.path(), {});
}

TEST_CASE("verify finds a rollup that disagrees with its raw events", "[reliability]") {
  TempDir dir;
  {
    auto store = OpenStore(dir.path());
    std::mt19937_64 rng(5);
    REQUIRE(store->AppendBatch(RandomEvents(rng, 2000)).ok());
    REQUIRE(store->Flush().ok());
    CHECK(VerifyProblems(*store).empty());
  }
  // Swap two hours' summaries: both stay well-formed, but each now describes other events.
  rocksdb::Options o;
  o.merge_operator = std::make_shared<storage::ChunkMergeOperator>();
  rocksdb::DB* raw;
  REQUIRE(rocksdb::DB::Open(o, dir.path(), &raw).ok());
  std::vector<std::pair<std::string, std::string>> summaries;
  std::unique_ptr<rocksdb::Iterator> it(raw->NewIterator(rocksdb::ReadOptions()));
  for (it->Seek("R"); it->Valid() && it->key()[0] == 'R' && summaries.size() < 2; it->Next()) {
    summaries.emplace_back(it->key().ToString(), it->value().ToString());
  }
  REQUIRE(it->status().ok());
  it.reset();
  REQUIRE(summaries.size() == 2);
  REQUIRE(raw->Put(rocksdb::WriteOptions(), summaries[0].first, summaries[1].second).ok());
  delete raw;
  OpenOptions read_only;
  read_only.read_only = true;
  auto store = OpenStore(dir.path(), read_only);
  const std::vector<std::string> problems = VerifyProblems(*store);
  REQUIRE_FALSE(problems.empty());
  CHECK(problems[0].find("rollup differs from its raw events") != std::string::npos);
}

// Opens the store's RocksDB directly (as a crash or a bad disk would leave it), runs `edit`.
void EditRaw(const std::string& path, const std::function<void(rocksdb::DB&)>& edit) {
  rocksdb::Options o;
  o.merge_operator = std::make_shared<storage::ChunkMergeOperator>();
  rocksdb::DB* raw;
  REQUIRE(rocksdb::DB::Open(o, path, &raw).ok());
  edit(*raw);
  delete raw;
}

// The keys of `prefix` with their values.
std::vector<std::pair<std::string, std::string>> KeysOf(rocksdb::DB& db, char prefix) {
  std::vector<std::pair<std::string, std::string>> out;
  std::unique_ptr<rocksdb::Iterator> it(db.NewIterator(rocksdb::ReadOptions()));
  for (it->Seek(std::string(1, prefix)); it->Valid() && it->key()[0] == prefix; it->Next()) {
    out.emplace_back(it->key().ToString(), it->value().ToString());
  }
  REQUIRE(it->status().ok());
  return out;
}

TEST_CASE("a crash between hour and day rollups costs speed until compact, never answers", "[reliability][rollup]") {
  TempDir dir;
  std::mt19937_64 rng(8);
  const auto events = RandomEvents(rng, 3000);
  Query q;
  q.namespace_ = "/";
  q.start_absolute = kBaseMs;
  q.end_absolute = kBaseMs + 2 * 86400000LL;  // two whole days
  q.type = StatisticType::kRepartition;
  std::string expected;
  {
    auto store = OpenStore(dir.path());
    REQUIRE(store->AppendBatch(events).ok());
    REQUIRE(store->Flush().ok());
    QueryStats stats;
    auto r = store->Query(q, &stats);
    REQUIRE(r.ok());
    REQUIRE(stats.day_rollups_read > 0);
    expected = FormatStatisticsJson(*r);
  }
  EditRaw(dir.path(), [](rocksdb::DB& db) {  // as if the process died before writing the days
    for (char prefix : {'r', 'i', 'q'}) {
      for (const auto& [key, value] : KeysOf(db, prefix)) REQUIRE(db.Delete(rocksdb::WriteOptions(), key).ok());
    }
  });
  auto store = OpenStore(dir.path());
  QueryStats stats;
  auto hours = store->Query(q, &stats);
  REQUIRE(hours.ok());
  CHECK(stats.day_rollups_read == 0);
  CHECK(stats.rollups_read > 0);
  CHECK(FormatStatisticsJson(*hours) == expected);
  REQUIRE(store->Compact().ok());  // finds the stale days and rebuilds them
  stats = {};
  auto days = store->Query(q, &stats);
  REQUIRE(days.ok());
  CHECK(stats.day_rollups_read > 0);
  CHECK(FormatStatisticsJson(*days) == expected);
  CHECK(VerifyProblems(*store).empty());
}

TEST_CASE("verify finds a day rollup that disagrees with its raw events", "[reliability][rollup]") {
  TempDir dir;
  {
    auto store = OpenStore(dir.path());
    std::vector<FlowEvent> events;  // one event in every hour of two days: equal generation sums
    for (int h = 0; h < 48; ++h) {
      events.push_back(MakeEvent(kBaseMs + h * 3600000LL, "/v", "s" + std::to_string(h / 24), "d", Action::kAccept,
                                 static_cast<uint64_t>(1 + h / 24)));
    }
    REQUIRE(store->AppendBatch(events).ok());
    REQUIRE(store->Flush().ok());
  }
  EditRaw(dir.path(), [](rocksdb::DB& db) {  // swap the two days' summaries
    const auto days = KeysOf(db, 'r');
    REQUIRE(days.size() == 2);
    REQUIRE(db.Put(rocksdb::WriteOptions(), days[0].first, days[1].second).ok());
  });
  OpenOptions read_only;
  read_only.read_only = true;
  auto store = OpenStore(dir.path(), read_only);
  const std::vector<std::string> problems = VerifyProblems(*store);
  REQUIRE(problems.size() == 1);
  CHECK(problems[0].find("day ") == 0);
  CHECK(problems[0].find("rollup differs from its raw events") != std::string::npos);
}

TEST_CASE("readers see whole batches while one writer appends", "[reliability][concurrency]") {
  TempDir dir;
  auto store = OpenStore(dir.path());
  constexpr int kBatch = 97, kBatches = 60;
  std::atomic<bool> done{false};
  std::atomic<int> checks{0}, failures{0};  // Catch2 assertions are not thread-safe: count here
  auto reader = [&] {
    Query q;
    q.namespace_ = "/c";
    q.start_absolute = kBaseMs;
    q.end_absolute = kBaseMs + 86400000;
    q.action = ActionFilter::kAccept;
    q.type = StatisticType::kRepartition;
    Count last = 0;
    while (!done.load()) {
      auto r = store->Query(q);
      if (!r.ok()) {
        failures++;
        continue;
      }
      Count total = 0;
      for (const auto& p : (*r)[0].data_points) total += p.value;
      if (total % kBatch != 0) failures++;  // a batch is seen whole or not at all
      if (total < last) failures++;         // and never unseen
      last = total;
      checks++;
    }
  };
  std::thread r1(reader), r2(reader), r3(reader);
  for (int b = 0; b < kBatches; ++b) {
    std::vector<FlowEvent> batch;
    for (int i = 0; i < kBatch; ++i) {
      batch.push_back(MakeEvent(kBaseMs + (b * kBatch + i) * 7919 % 86400000, Numbered("/c/", i % 5),
                                Numbered("s", i % 13), Numbered("d", b % 7)));
    }
    REQUIRE(store->AppendBatch(batch).ok());
    if (b % 10 == 9) REQUIRE(store->Flush().ok());  // rollups rebuilt while readers run
  }
  done = true;
  r1.join();
  r2.join();
  r3.join();
  CHECK(checks.load() > 0);
  CHECK(failures.load() == 0);
}

TEST_CASE("threads working in a store leave RocksDB's per-thread counters off", "[reliability]") {
  TempDir dir;
  auto store = OpenStore(dir.path());
  std::vector<FlowEvent> events;
  for (int i = 0; i < 200; ++i)
    events.push_back(MakeEvent(1763560800000 + i * 1000, "/n", "s" + std::to_string(i), "d"));
  REQUIRE(store->AppendBatch(events).ok());
  REQUIRE(store->Flush().ok());
  Query q;
  q.namespace_ = "/n";
  q.start_absolute = 1763560800000;
  q.end_absolute = 1763560800000 + 3600000;
  q.source_ids = {"s7"};  // read raw: the chunk's keys are compared
  // Assertions stay on this thread: one failing on another would end the process.
  rocksdb::PerfLevel fresh_level{}, level_after{};
  bool answered = false;
  uint64_t comparisons = 1;
  std::thread([&] { fresh_level = rocksdb::GetPerfLevel(); }).join();
  std::thread([&] {
    rocksdb::get_perf_context()->Reset();
    answered = store->Query(q).ok();
    comparisons = rocksdb::get_perf_context()->user_key_comparison_count;
    level_after = rocksdb::GetPerfLevel();
  }).join();
  // RocksDB's default counts every key comparison; a thread that queried counted none.
  CHECK(fresh_level == rocksdb::PerfLevel::kEnableCount);
  REQUIRE(answered);
  CHECK(level_after == rocksdb::PerfLevel::kDisable);
  CHECK(comparisons == 0);
}

TEST_CASE("opening a store for writing again and again leaves no write-ahead logs behind", "[reliability]") {
  // As an hourly `flowstat backup` of an idle store, or a server restarted without reports, does.
  TempDir dir;
  auto logs = [&] {
    int n = 0;
    for (const auto& f : std::filesystem::directory_iterator(dir.path())) n += f.path().extension() == ".log";
    return n;
  };
  REQUIRE(OpenStore(dir.path())->Append(MakeEvent(1763560800000, "/n", "s", "d")).ok());
  for (int session = 0; session < 12; ++session) {
    auto store = OpenStore(dir.path());
    CHECK(logs() <= 2);
    if (session == 5) REQUIRE(store->Append(MakeEvent(1763560800001, "/n", "s", "d")).ok());
  }
  CHECK(logs() <= 2);
  auto store = OpenStore(dir.path(), OpenOptions{.read_only = true});
  Query q;
  q.namespace_ = "/n";
  q.start_absolute = 1763560800000;
  q.end_absolute = 1763560800000 + 3600000;
  q.type = StatisticType::kRepartition;
  auto r = store->Query(q);
  REQUIRE(r.ok());
  CHECK(r->at(0).data_points.at(0).value == 2);
}

}  // namespace
}  // namespace flowstat::testing
