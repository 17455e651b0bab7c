// The bytes of doc/storage-format.md, written out by hand from the document: if a key or a record
// drifts from the page, these fail. A format bump changes the page, these bytes and the fixture
// store (tests/data/store-v2) together.
#include <rocksdb/db.h>
#include <catch2/catch.hpp>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>

#include "schema/event_view.h"
#include "schema/record.h"
#include "storage/format.h"
#include "storage/keys.h"
#include "tests/model.h"
#include "tests/test_support.h"

namespace flowstat::testing {
namespace {

std::string Bytes(std::initializer_list<int> bytes) {
  std::string out;
  for (int b : bytes) out.push_back(static_cast<char>(b));
  return out;
}

// Hands out the ids a test chose for each (kind, payload); an entry it did not expect fails.
class FixedInterner final : public schema::Interner {
 public:
  explicit FixedInterner(std::map<std::pair<char, std::string>, uint32_t> ids) : ids_(std::move(ids)) {}
  uint32_t Intern(schema::EntryKind kind, std::string_view payload) override {
    auto it = ids_.find({static_cast<char>(kind), std::string(payload)});
    if (it == ids_.end()) {
      unexpected_.push_back(std::string(1, static_cast<char>(kind)) + ":" + std::string(payload));
      return 0xdead;
    }
    return it->second;
  }
  std::vector<std::string> unexpected_;

 private:
  std::map<std::pair<char, std::string>, uint32_t> ids_;
};

}  // namespace

TEST_CASE("XXH64 with seed 0 is the hash of every key", "[format][golden]") {
  CHECK(storage::HashString("") == 0xEF46DB3751D8E999ULL);
  CHECK(storage::HashString("abc") == 0x44BC2CF5AD770999ULL);
}

TEST_CASE("keys are laid out byte by byte as doc/storage-format.md draws them", "[format][golden]") {
  CHECK(storage::DictionaryKey(0x01020304) == Bytes({'D', 0x01, 0x02, 0x03, 0x04}));
  CHECK(storage::ChunkKey(0x1122334455667788ULL, 0x0f, 0xA1B2C3D4) ==
        Bytes({'C', 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88, 0x0f, 0xA1, 0xB2, 0xC3, 0xD4}));
  for (char prefix : {'G', 'R', 'I', 'Q', 'm', 'r', 'i', 'q'}) {
    CHECK(storage::HourKey(prefix, 0x0102030405060708ULL, 0x00ABCDEF) ==
          Bytes({prefix, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x00, 0xAB, 0xCD, 0xEF}));
  }
  CHECK(storage::PresenceKey('S', 0x1112131415161718ULL, 0x00004E20, 0x2122232425262728ULL) ==
        Bytes({'P',  'S',  0x11, 0x12, 0x13, 0x14, 0x15, 0x16, 0x17, 0x18, 0x00,
               0x00, 0x4E, 0x20, 0x21, 0x22, 0x23, 0x24, 0x25, 0x26, 0x27, 0x28}));
  // Chunk coordinates: XXH64 of the namespace, the top 4 bits of XXH64(sourceID), the hour.
  CHECK(storage::HourOf(1763164800123) == 489768);
  CHECK(storage::DayOf(1763164800123) == 20407);
  CHECK(storage::SourceShard(0xF000000000000000ULL) == 15);
  CHECK(storage::SourceShard(0x0FFFFFFFFFFFFFFFULL) == 0);
  CHECK(std::string(storage::kFormatKey) == "Mformat");
  CHECK(storage::HorizonKey('r', "/acme/prod") == Bytes({'H', 'r', '/', 'a', 'c', 'm', 'e', '/', 'p', 'r', 'o', 'd'}));
  CHECK(storage::HorizonKey('a', "/") == Bytes({'H', 'a', '/'}));
  CHECK(storage::EntryIndexKey('t', "tier=web") == Bytes({'X', 't', 't', 'i', 'e', 'r', '=', 'w', 'e', 'b'}));
  CHECK(storage::EntryIndexValue(0x01020304) == Bytes({0x01, 0x02, 0x03, 0x04}));
  CHECK(storage::kIndexedEntryKinds == "nitlad");  // every kind (format 5)
  CHECK(storage::kIndexedEntryKindsV4 == "nit");
}

// The minute rollup of one hour, field by field as doc/storage-format.md describes it.
TEST_CASE("a minute rollup holds 60 sums and each minute's distinct ports", "[format][golden]") {
  TempDir dir;
  const int64_t hour_start = 1763164800000;  // 2025-11-15T00:00:00Z
  {
    auto store = OpenStore(dir.path());
    FlowEvent a = MakeEvent(hour_start + 10, "/n", "s1", "d", Action::kAccept, 5);
    FlowEvent b = MakeEvent(hour_start + 59999, "/n", "s2", "d", Action::kAccept, 2);
    b.destination_port = 80;
    FlowEvent c = MakeEvent(hour_start + 20, "/n", "s3", "d", Action::kAccept, 1);  // port 443 again
    FlowEvent d = MakeEvent(hour_start + 59 * 60000 + 1, "/n", "s1", "d", Action::kAccept, 7);
    d.destination_port.reset();
    FlowEvent e = MakeEvent(hour_start + 60000, "/n", "s1", "d", Action::kReject, 3);  // class 1
    REQUIRE(store->AppendBatch(std::vector<FlowEvent>{a, b, c, d, e}).ok());
    REQUIRE(store->Compact().ok());  // into tables: the plain RocksDB open below replays no log
  }
  rocksdb::DB* raw = nullptr;
  REQUIRE(rocksdb::DB::OpenForReadOnly(rocksdb::Options(), dir.path(), &raw).ok());
  std::unique_ptr<rocksdb::DB> db(raw);
  std::string value;
  const auto hour = static_cast<uint32_t>(hour_start / 3600000);
  REQUIRE(db->Get(rocksdb::ReadOptions(), storage::HourKey('m', storage::HashString("/n"), hour), &value).ok());
  flatbuffers::Verifier verifier(reinterpret_cast<const uint8_t*>(value.data()), value.size());
  REQUIRE(verifier.VerifyBuffer<fb::RollupMinutes>(nullptr));
  const auto* minutes = flatbuffers::GetRoot<fb::RollupMinutes>(value.data());
  REQUIRE(minutes->groups()->size() == 2);
  const fb::MinuteGroup* accepted = minutes->groups()->Get(0);
  const fb::MinuteGroup* rejected = minutes->groups()->Get(1);
  CHECK(accepted->class_() == 0);
  CHECK(rejected->class_() == 1);
  CHECK(accepted->namespace_id() == rejected->namespace_id());
  REQUIRE(accepted->flows()->size() == 60);
  REQUIRE(accepted->port_ends()->size() == 60);
  for (uint32_t m = 0; m < 60; ++m) {
    CHECK(accepted->flows()->Get(m) == (m == 0 ? 8u : m == 59 ? 7u : 0u));
    CHECK(accepted->port_ends()->Get(m) == 2u);  // minute 0: 80 and 443; the others add none
    CHECK(rejected->flows()->Get(m) == (m == 1 ? 3u : 0u));
    CHECK(rejected->port_ends()->Get(m) == (m == 0 ? 0u : 1u));
  }
  REQUIRE(accepted->ports()->size() == 2);
  CHECK(accepted->ports()->Get(0) == 80);
  CHECK(accepted->ports()->Get(1) == 443);
  REQUIRE(rejected->ports()->size() == 1);
  CHECK(rejected->ports()->Get(0) == 443);
}

TEST_CASE("a malformed minute rollup fails the queries that read its group, not the others", "[format][damage]") {
  TempDir dir;
  const int64_t hour_start = 1763164800000;  // 2025-11-15T00:00:00Z
  {
    auto store = OpenStore(dir.path());
    FlowEvent accepted = MakeEvent(hour_start + 10, "/n", "s1", "d", Action::kAccept, 5);
    accepted.destination_port = 80;
    FlowEvent rejected = MakeEvent(hour_start + 60000, "/n", "s2", "d", Action::kReject, 3);
    REQUIRE(store->AppendBatch(std::vector<FlowEvent>{accepted, rejected}).ok());
    REQUIRE(store->Compact().ok());
  }
  {  // the rejected group's last minute now ends past its port list
    rocksdb::DB* raw = nullptr;
    REQUIRE(rocksdb::DB::Open(rocksdb::Options(), dir.path(), &raw).ok());
    std::unique_ptr<rocksdb::DB> db(raw);
    const std::string key =
        storage::HourKey('m', storage::HashString("/n"), static_cast<uint32_t>(hour_start / 3600000));
    std::string value;
    REQUIRE(db->Get(rocksdb::ReadOptions(), key, &value).ok());
    const auto* minutes = flatbuffers::GetRoot<fb::RollupMinutes>(value.data());
    REQUIRE(minutes->groups()->size() == 2);
    flatbuffers::FlatBufferBuilder b;
    std::vector<flatbuffers::Offset<fb::MinuteGroup>> groups;
    for (const fb::MinuteGroup* g : *minutes->groups()) {
      std::vector<uint64_t> flows(g->flows()->begin(), g->flows()->end());
      std::vector<uint32_t> ends(g->port_ends()->begin(), g->port_ends()->end());
      std::vector<uint16_t> ports(g->ports()->begin(), g->ports()->end());
      if (g->class_() == 1) ends.back() = static_cast<uint32_t>(ports.size()) + 1;
      groups.push_back(fb::CreateMinuteGroup(b, g->namespace_id(), g->class_(), b.CreateVector(flows),
                                             b.CreateVector(ends), b.CreateVector(ports)));
    }
    b.Finish(fb::CreateRollupMinutes(b, minutes->generation(), b.CreateVector(groups)));
    REQUIRE(db->Put(rocksdb::WriteOptions(), key,
                    rocksdb::Slice(reinterpret_cast<const char*>(b.GetBufferPointer()), b.GetSize()))
                .ok());
  }
  auto store = OpenStore(dir.path());
  Query q;
  q.namespace_ = "/n";
  q.start_absolute = hour_start;
  q.end_absolute = hour_start + 3600000;
  q.metric = Metric::kPorts;
  q.average_interval_ms = 60000;
  q.action = ActionFilter::kAccept;  // the accepted group alone: intact
  QueryStats stats;
  auto r = store->Query(q, &stats);
  REQUIRE(r.ok());
  CHECK(stats.chunks_read == 0);
  REQUIRE(r->size() == 1);
  REQUIRE((*r)[0].data_points.size() == 60);
  for (size_t m = 0; m < 60; ++m) CHECK((*r)[0].data_points[m].value == Count{m == 0 ? 1u : 0u});
  for (ActionFilter action : {ActionFilter::kReject, ActionFilter::kAny}) {
    q.action = action;
    r = store->Query(q);
    REQUIRE_FALSE(r.ok());
    CHECK(r.status().code() == Status::Code::kCorruption);
    CHECK(r.status().message().find("malformed minute rollup") != std::string::npos);
  }
}

TEST_CASE("one EventRecord, all 56 bytes", "[format][golden]") {
  FlowEvent e = MakeEvent(1763164800123, "/n", "src", "dst", Action::kReject, 5);
  e.observed = true;
  e.observed_action = ObservedAction::kAccept;
  e.destination_port = 443;
  e.protocol = 6;
  e.encrypted = true;
  e.source_ip = "10.0.0.1";  // canonical IPv4: stored inline
  e.destination_ip = "::1";  // anything else: a dictionary entry 'a'
  e.source_type = EndpointType::kProcessingUnit;
  e.destination_type = EndpointType::kExternalNetwork;
  e.source_tags = {"app=web"};
  FixedInterner interner({{{'i', "src"}, 0x11},
                          {{'i', "dst"}, 0x12},
                          {{'n', "/n"}, 0x13},
                          {{'a', "::1"}, 0x14},
                          {{'t', "app=web"}, 0x15},
                          {{'l', Bytes({0x15, 0, 0, 0})}, 0x16}});
  schema::RecordEncoder encoder(interner);
  schema::EventView view;
  schema::ViewOf(e, &view);
  const schema::EventRecord r = encoder.Encode(view);
  CHECK(interner.unexpected_.empty());
  REQUIRE(sizeof(r) == 56);
  std::string got(sizeof(r), '\0');
  std::memcpy(got.data(), &r, sizeof(r));
  // clang-format off
  const std::string want = Bytes({
      0x11, 0, 0, 0,                                   // 0  source_id
      0x12, 0, 0, 0,                                   // 4  destination_id
      0x7b, 0xc4, 0xcf, 0x84, 0x9a, 0x01, 0, 0,        // 8  time_ms 1763164800123 = 0x19A84CFC47B
      5, 0, 0, 0, 0, 0, 0, 0,                          // 16 value
      0x13, 0, 0, 0,                                   // 24 namespace_id
      0x16, 0, 0, 0,                                   // 28 source_tags (tag list 'l')
      0, 0, 0, 0,                                      // 32 destination_tags: none
      0x01, 0x00, 0x00, 0x0a,                          // 36 source_ip 10.0.0.1 inline = 0x0A000001
      0x14, 0, 0, 0,                                   // 40 destination_ip: entry 'a'
      0, 0, 0, 0,                                      // 44 details: none
      0xbb, 0x01,                                      // 48 destination_port 443
      0xf7, 0x04,                                      // 50 flags: reject|observed|obs=accept|port|proto|has enc|enc|src v4
      6,                                               // 52 protocol
      0x09,                                            // 53 endpoint types: source 1, destination 2 << 2
      0, 0});                                          // 54 reserved
  // clang-format on
  CHECK(got == want);
}

// tests/data/store-v2, -v3 and -v4: stores written by `flowstat import` of the same events.jsonl
// (then compacted) by the builds of formats 2, 3 and 4. Every later version must still open them
// and answer exactly — or refuse them clearly. Read-only they stay as they are (formats 2 and 3:
// the dictionary loaded whole; format 4: read lazily through its index of namespaces, IDs and
// tags); opened for writing they are upgraded to format 5 (an index key for every entry).
TEST_CASE("the committed format-2, -3 and -4 stores open and answer like the model of their events",
          "[format][golden]") {
  const std::string fixture_version = GENERATE(std::string("2"), std::string("3"), std::string("4"));
  const std::string fixture = std::string(FLOWSTAT_SOURCE_DIR) + "/tests/data/store-v" + fixture_version;
  const std::string_view written_description = fixture_version == "2"   ? storage::kFormatDescriptionV2
                                               : fixture_version == "3" ? storage::kFormatDescriptionV3
                                                                        : storage::kFormatDescriptionV4;
  const bool written_with_index = fixture_version == "4";  // and with minute rollups
  INFO("fixture " << fixture);
  TempDir dir;
  std::filesystem::copy(fixture + "/db", dir.Sub("db"), std::filesystem::copy_options::recursive);
  Model model;
  std::ifstream in(fixture + "/events.jsonl");
  std::string line;
  size_t events = 0;
  while (std::getline(in, line)) {
    FlowEvent e;
    REQUIRE(ParseEventJson(line, &e).ok());
    model.Add(e);
    events++;
  }
  REQUIRE(events > 100);
  OpenOptions read_only;
  read_only.read_only = true;
  std::vector<FlowEvent> all(model.events());
  for (int pass = 0; pass < 4; ++pass) {
    const bool writable = pass == 1 || pass == 2;
    INFO("pass " << pass);
    auto store = Store::Open(dir.Sub("db"), writable ? OpenOptions() : read_only);
    REQUIRE(store.ok());
    auto info = (*store)->Info();  // the format as stored: read-only, an old store stays old
    REQUIRE(info.ok());
    CHECK(info->format_version == (pass == 0 ? std::stoi(fixture_version) : kStoreFormatVersion));
    if (pass == 1) REQUIRE((*store)->Compact().ok());  // builds the minute rollups the old store lacks
    if (pass == 2) {
      // The same events again, encoded by this build: equal events must be equal records (the
      // identity of an event may not depend on the compiler that built the writer).
      REQUIRE((*store)->AppendBatch(all).ok());
      REQUIRE((*store)->Flush().ok());
    }
    CHECK(VerifyProblems(**store).empty());
    for (const char* ns : {"/", "/acme", "/acme/prod", "/umbrella"}) {
      for (auto type : {StatisticType::kSerie, StatisticType::kRepartition}) {
        for (auto metric : {Metric::kFlows, Metric::kPorts}) {
          for (int64_t interval : {3600000LL, 86400000LL, 900000LL}) {
            Query q;
            q.namespace_ = ns;
            q.start_absolute = 1763164800000;  // 2025-11-15, the fixture's first day
            q.end_absolute = 1763164800000 + 3 * 86400000LL;
            q.type = type;
            q.metric = metric;
            q.average_interval_ms = interval;
            REQUIRE(ValidateQuery(&q).ok());
            auto got = (*store)->Query(q);
            REQUIRE(got.ok());
            CHECK(Comparable(*got, true) == Comparable(model.Answer(q), false));
          }
        }
      }
    }
    // Selectors and IDs name entries: looked up through the index once it exists.
    for (const auto& e : std::vector<FlowEvent>(all.begin(), all.begin() + 5)) {
      Query q;
      q.namespace_ = "/";
      q.start_absolute = 1763164800000;
      q.end_absolute = 1763164800000 + 3 * 86400000LL;
      q.type = StatisticType::kRepartition;
      q.source_ids = {e.source_id};
      q.source_tags = {e.source_tags.front()};
      q.destination_ids = {e.destination_id, "no-such-destination"};
      REQUIRE(ValidateQuery(&q).ok());
      auto got = (*store)->Query(q);
      REQUIRE(got.ok());
      CHECK(Comparable(*got, true) == Comparable(model.Answer(q), false));
    }
    // Every stored event reads back as written (details and addresses through the dictionary).
    std::set<std::string> want;
    for (const auto& e : all) want.insert(FormatEventJson(e));
    CHECK(StoredEventsJson(**store) == want);
    store->reset();
    rocksdb::DB* raw = nullptr;
    REQUIRE(rocksdb::DB::OpenForReadOnly(rocksdb::Options(), dir.Sub("db"), &raw).ok());
    std::unique_ptr<rocksdb::DB> db(raw);
    std::string format;
    REQUIRE(db->Get(rocksdb::ReadOptions(), std::string(storage::kFormatKey), &format).ok());
    CHECK(format == (pass == 0 ? written_description : storage::kFormatDescription));
    // Minute rollups: none in the old store, one per hour of events after the compaction.
    std::unique_ptr<rocksdb::Iterator> minutes(db->NewIterator(rocksdb::ReadOptions()));
    minutes->Seek("m");
    CHECK((minutes->Valid() && minutes->key()[0] == 'm') == (pass > 0 || written_with_index));
    // The index as drawn: 'X' kind payload -> the id, 4 bytes big-endian, of the 'D' entry.
    std::string id_bytes, entry;
    const rocksdb::Status indexed = db->Get(rocksdb::ReadOptions(), "Xn/acme/prod", &id_bytes);
    CHECK(indexed.ok() == (pass > 0 || written_with_index));
    if (indexed.ok()) {
      REQUIRE(id_bytes.size() == 4);
      REQUIRE(db->Get(rocksdb::ReadOptions(), "D" + id_bytes, &entry).ok());
      CHECK(entry == "n/acme/prod");
    }
    // Format 5 indexes every entry, tag lists, addresses and details too: one key per 'D' entry,
    // each naming its entry.
    std::map<char, int> entries, index_keys;
    std::unique_ptr<rocksdb::Iterator> all_keys(db->NewIterator(rocksdb::ReadOptions()));
    for (all_keys->Seek("D"); all_keys->Valid() && all_keys->key()[0] == 'D'; all_keys->Next()) {
      entries[all_keys->value()[0]]++;
    }
    for (all_keys->Seek("X"); all_keys->Valid() && all_keys->key()[0] == 'X'; all_keys->Next()) {
      index_keys[all_keys->key()[1]]++;
      std::string named;
      REQUIRE(db->Get(rocksdb::ReadOptions(), "D" + all_keys->value().ToString(), &named).ok());
      CHECK(named == all_keys->key().ToString().substr(1));
    }
    REQUIRE(entries.size() == 5);  // every kind but addresses (the fixture's are IPv4, stored inline)
    for (const auto& [kind, count] : entries) {
      INFO("entries of kind " << kind);
      const bool kind_indexed =
          pass > 0 || (written_with_index && std::string_view("nit").find(kind) != std::string_view::npos);
      CHECK(index_keys[kind] == (kind_indexed ? count : 0));
    }
  }
}

}  // namespace flowstat::testing
