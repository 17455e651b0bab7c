// The hand-made containers against std containers on randomized data (fixed seeds): ByteArena,
// HashIndex, PresenceMemo and the Dictionary built from them; the query's BucketPorts; the
// RollupBuilder's sums and sets against plain maps when it folds repeats as it goes; chunks read
// in place against the FlatBuffers verifier; vectors of 8-byte elements moved off their alignment;
// the JSON writer's strings against simdjson, its counts read back digit by digit.
#include <simdjson.h>
#include <catch2/catch.hpp>

#include <algorithm>
#include <cstring>
#include <deque>
#include <map>
#include <random>
#include <set>
#include <string>
#include <tuple>
#include <unordered_map>

#include "query/reducer.h"
#include "schema/chunk.h"
#include "schema/flatbuffer_view.h"
#include "storage/dictionary.h"
#include "storage/format.h"
#include "storage/presence_memo.h"
#include "storage/rollup.h"
#include "storage/rollup_cursor.h"
#include "util/byte_arena.h"
#include "util/hash_index.h"
#include "util/json_text.h"
#include "util/text.h"

#include "tests/test_support.h"

namespace flowstat::testing {
namespace {

std::string RandomString(std::mt19937_64& rng, size_t max_size) {
  std::string s(rng() % (max_size + 1), '\0');
  for (char& c : s) c = static_cast<char>(rng() % 256);  // any byte, NUL included
  return s;
}

TEST_CASE("AppendJsonString writes strings that a JSON parser reads back exactly") {
  // Short pieces, so that escapes fall at every offset of the 8-byte words the writer tests at
  // once: every ASCII byte (control characters, quote and backslash among them), UTF-8 of 2 to 4
  // bytes, and a run as long as an ID.
  std::vector<std::string> pieces;
  for (int c = 0; c < 0x80; ++c) pieces.emplace_back(1, static_cast<char>(c));
  for (const char* utf8 : {"\xc3\xa9", "\xe2\x82\xac", "\xf0\x9f\x98\x80"}) pieces.emplace_back(utf8);
  pieces.emplace_back("0123456789abcdef01234567");
  std::mt19937_64 rng(20261201);
  simdjson::dom::parser parser;
  for (int trial = 0; trial < 5000; ++trial) {
    std::string s;
    for (size_t n = rng() % 24; n > 0; --n) s += pieces[rng() % pieces.size()];
    std::string json = "x";  // appends, after what is there
    util::AppendJsonString(&json, s);
    REQUIRE(json[0] == 'x');
    std::string_view got;
    // The parser refuses raw control characters in a string: everything below 0x20 is escaped.
    REQUIRE(parser.parse(json.substr(1)).get_string().get(got) == simdjson::SUCCESS);
    REQUIRE(got == s);
  }
}

TEST_CASE("AppendJsonString writes JSON whatever the bytes, each stray byte as U+FFFD") {
  // (piece, what it reads back as): valid pieces unchanged, each byte outside a well-formed
  // sequence replaced. No piece ends with a lead byte, so pieces never join into a sequence.
  const std::string kFffd = "\xef\xbf\xbd";
  const std::vector<std::pair<std::string, std::string>> pieces = {
      {"id-0123456789abcdef", "id-0123456789abcdef"},
      {"\xc3\xa9", "\xc3\xa9"},
      {"\xf0\x9f\x98\x80", "\xf0\x9f\x98\x80"},
      {"\"", "\""},
      {"\xff", kFffd},
      {"\x80", kFffd},
      {"\xc0\xaf", kFffd + kFffd},              // an overlong '/'
      {"\xed\xa0\x80", kFffd + kFffd + kFffd},  // a surrogate
      {"\xc3x", kFffd + "x"},                   // a lead byte cut short
      {"\xe2\x82x", kFffd + kFffd + "x"},
      {"\xf4\x90\x80\x80", kFffd + kFffd + kFffd + kFffd},  // past U+10FFFF
  };
  std::mt19937_64 rng(20261203);
  simdjson::dom::parser parser;
  for (int trial = 0; trial < 3000; ++trial) {
    std::string s, want;
    for (size_t n = rng() % 12; n > 0; --n) {
      const auto& [piece, read_back] = pieces[rng() % pieces.size()];
      s += piece;
      want += read_back;
    }
    CHECK(util::IsUtf8(s) == (s == want));
    std::string json;
    util::AppendJsonString(&json, s);
    std::string_view got;
    REQUIRE(parser.parse(json).get_string().get(got) == simdjson::SUCCESS);  // refuses bytes that are not UTF-8
    REQUIRE(got == want);
  }
}

TEST_CASE("EqualsShort agrees with string equality at every length and every differing byte") {
  const std::string text = "destinationNamespace=/acme/prod/web-01";
  for (size_t n = 0; n <= 24; ++n) {
    const std::string a = text.substr(0, n);
    CHECK(util::EqualsShort(a, text.substr(0, n)));
    CHECK(util::EqualsShort(a, a + "x") == false);  // a prefix is not equal
    if (n > 0) CHECK(util::EqualsShort(a, text.substr(0, n - 1)) == false);
    for (size_t i = 0; i < n; ++i) {
      std::string b = a;
      b[i] = static_cast<char>(b[i] ^ 0x20);
      CHECK(util::EqualsShort(a, b) == false);
      CHECK(util::EqualsShort(b, a) == false);
    }
  }
}

TEST_CASE("FormatCount writes every count in decimal, up to 2^128 - 1") {
  CHECK(FormatCount(0) == "0");
  CHECK(FormatCount(9) == "9");
  CHECK(FormatCount(10) == "10");
  CHECK(FormatCount(UINT64_MAX) == "18446744073709551615");
  CHECK(FormatCount(Count{UINT64_MAX} + 1) == "18446744073709551616");
  CHECK(FormatCount(Count{UINT64_MAX} * 10) == "184467440737095516150");
  CHECK(FormatCount(~Count{0}) == "340282366920938463463374607431768211455");
  std::mt19937_64 rng(7);
  for (int trial = 0; trial < 20000; ++trial) {
    const uint64_t small = rng() >> (rng() % 64);
    REQUIRE(FormatCount(small) == std::to_string(small));
    const Count big = (Count{rng()} << (rng() % 65)) + rng();
    const std::string digits = FormatCount(big);
    REQUIRE((digits.size() == 1 || digits[0] != '0'));
    Count back = 0;  // read back digit by digit: the same value
    for (char d : digits) {
      REQUIRE((d >= '0' && d <= '9'));
      back = back * 10 + static_cast<Count>(d - '0');
    }
    REQUIRE(back == big);
  }
}

TEST_CASE("ByteArena counts the bytes it handed out, with the block ends it skipped") {
  util::ByteArena arena(1024);
  CHECK(arena.used_bytes() == 0);
  arena.Allocate(600);
  CHECK(arena.used_bytes() == 600);
  arena.Allocate(600);  // 424 left in the first block: a second one
  CHECK(arena.used_bytes() == 1024 + 600);
  arena.Allocate(2000);  // larger than a block: a block of its own
  CHECK(arena.used_bytes() == 2048 + 2000);
  arena.Reset();  // the two regular blocks stay for reuse
  CHECK(arena.used_bytes() == 0);
  arena.Allocate(1000);
  arena.Allocate(1000);
  CHECK(arena.used_bytes() == 1024 + 1000);
}

TEST_CASE("ByteArena keeps every view valid and intact across growth and large requests") {
  std::mt19937_64 rng(7);
  util::ByteArena arena(1024);
  for (int round = 0; round < 3; ++round) {
    std::vector<std::pair<std::string, std::string_view>> kept;
    for (int i = 0; i < 5000; ++i) {
      // Mostly small strings, some larger than a block, some empty.
      std::string s = RandomString(rng, i % 97 == 0 ? 5000 : 40);
      kept.emplace_back(s, arena.Copy(s));
    }
    for (const auto& [want, view] : kept) REQUIRE(view == want);
    arena.Reset();  // blocks are reused by the next round: the views of this one are dead
  }
}

TEST_CASE("HashIndex finds exactly the inserted keys, even when every key has the same hash") {
  for (bool colliding : {false, true}) {
    std::mt19937_64 rng(colliding ? 11 : 12);
    util::HashIndex index;
    std::vector<std::string> keys{""};  // reference r is keys[r]; r = 0 is never used
    std::unordered_map<std::string, uint32_t> reference;
    auto hash_of = [&](const std::string& k) { return colliding ? uint64_t{42} : std::hash<std::string>()(k); };
    auto find = [&](const std::string& k) { return index.Find(hash_of(k), [&](uint32_t r) { return keys[r] == k; }); };
    const int n = colliding ? 600 : 30000;  // all-colliding keys probe linearly: keep it small
    for (int i = 0; i < n; ++i) {
      std::string k = RandomString(rng, 12);
      if (reference.count(k)) {
        REQUIRE(find(k) == reference[k]);
        continue;
      }
      REQUIRE(find(k) == 0);
      keys.push_back(k);
      const auto ref = static_cast<uint32_t>(keys.size() - 1);
      index.Insert(hash_of(k), ref);
      reference[k] = ref;
    }
    REQUIRE(index.size() == reference.size());
    for (const auto& [k, ref] : reference) REQUIRE(find(k) == ref);
    for (int i = 0; i < 1000; ++i) {
      std::string k = RandomString(rng, 12) + "#absent";
      REQUIRE(find(k) == 0);
    }
  }
}

TEST_CASE("PresenceMemo answers 'new' exactly once per entry until it starts over") {
  std::mt19937_64 rng(5);
  storage::PresenceMemo memo;
  std::set<std::tuple<uint8_t, uint32_t, uint32_t, uint64_t>> seen;
  // Few distinct values per field: many repeats, and entries that differ in one field only.
  for (int i = 0; i < 200000; ++i) {
    const auto kind = static_cast<uint8_t>(rng() % 4 + 1);
    const auto id = static_cast<uint32_t>(rng() % 300 + 1);
    const auto day = static_cast<uint32_t>(rng() % 40 + (rng() % 2 ? (1u << 24) - 41 : 0));
    const uint64_t ns = rng() % 3 == 0 ? 0 : (rng() % 5) * 0x9e3779b97f4a7c15ull;
    const bool fresh = seen.insert({kind, id, day, ns}).second;
    INFO(i);
    REQUIRE(memo.Insert(kind, id, day, ns) == fresh);
  }
  REQUIRE(seen.size() < storage::PresenceMemo::kMaxEntries);  // the test stayed within one epoch
  memo.Clear();
  REQUIRE(memo.Insert(1, 1, 1, 1));  // forgotten: written again, which is harmless
  REQUIRE_FALSE(memo.Insert(1, 1, 1, 1));
}

TEST_CASE("PresenceMemo starts over when full instead of growing") {
  storage::PresenceMemo memo;
  const auto full = static_cast<uint32_t>(storage::PresenceMemo::kMaxEntries);
  for (uint32_t id = 1; id < full; ++id) REQUIRE(memo.Insert(1, id, 0, 0));
  for (uint32_t id = 1; id < full; id += 997) REQUIRE_FALSE(memo.Insert(1, id, 0, 0));  // all remembered
  REQUIRE(memo.Insert(1, full, 0, 0));                                                  // the last entry that fits
  REQUIRE(memo.Insert(1, 1, 0, 0));  // the next lookup found it full: it started over
  REQUIRE_FALSE(memo.Insert(1, 1, 0, 0));
  REQUIRE(memo.Insert(1, 2, 0, 0));  // forgotten with the rest
}

TEST_CASE("Dictionary interns per kind, hands out stable entries and reloads them exactly") {
  using schema::EntryKind;
  std::mt19937_64 rng(3);
  const EntryKind kinds[] = {EntryKind::kNamespace, EntryKind::kEntityId, EntryKind::kTag,
                             EntryKind::kTagList,   EntryKind::kAddress,  EntryKind::kDetails};
  storage::Dictionary dict;
  std::map<std::pair<EntryKind, std::string>, uint32_t> reference;
  std::vector<std::pair<uint32_t, std::string_view>> pending;
  for (int i = 0; i < 20000; ++i) {
    const EntryKind kind = kinds[rng() % 6];
    // Short payloads repeat across kinds; one in 500 is larger than an arena block.
    std::string payload = RandomString(rng, i % 500 == 0 ? 300000 : 3);
    const uint32_t id = dict.Intern(kind, payload);
    auto [it, fresh] = reference.emplace(std::make_pair(kind, payload), id);
    REQUIRE(it->second == id);
    if (fresh) REQUIRE(id == reference.size());  // ids are 1, 2, 3, ... in first-seen order
    if (i % 1000 == 999) {
      auto taken = dict.TakePending();
      pending.insert(pending.end(), taken.begin(), taken.end());
    }
  }
  auto taken = dict.TakePending();
  pending.insert(pending.end(), taken.begin(), taken.end());
  REQUIRE(pending.size() == reference.size());

  storage::Dictionary::Reader reader(dict);
  REQUIRE(reader.size() == reference.size());
  storage::Dictionary reloaded;
  for (const auto& [id, entry] : pending) {  // views taken long before are still intact
    REQUIRE(entry == reader.Entry(id));
    REQUIRE(reloaded.Load(id, entry).ok());
  }
  {
    storage::Dictionary::Reader again(reloaded);  // (a Reader blocks Load: scoped)
    for (const auto& [key, id] : reference) {
      const auto& [kind, payload] = key;
      REQUIRE(reader.Payload(id, kind) == std::optional<std::string_view>(payload));
      REQUIRE(again.Find(kind, payload) == id);
      const EntryKind other = kind == EntryKind::kTag ? EntryKind::kAddress : EntryKind::kTag;
      REQUIRE_FALSE(reader.Payload(id, other).has_value());  // the kind is part of the identity
    }
  }
  REQUIRE_FALSE(reloaded.Load(static_cast<uint32_t>(reference.size() + 1), pending.front().second).ok());  // duplicate
  REQUIRE_FALSE(reloaded.Load(static_cast<uint32_t>(reference.size() + 5), "tx").ok());  // out of sequence
}

// The store a bounded dictionary reads what it forgot from, as a map of what was "written".
class MapEntrySource final : public storage::EntrySource {
 public:
  Status Entry(uint32_t id, std::string* entry) const override {
    ++entries_read;
    auto it = by_id.find(id);
    if (it == by_id.end()) return Status::NotFound("no entry " + std::to_string(id));
    *entry = it->second;
    return Status::Ok();
  }
  Status Find(char kind, std::string_view payload, uint32_t* id) const override {
    ++finds;
    if (fail) return Status::IOError("the disk is gone");
    auto it = by_text.find(kind + std::string(payload));
    *id = it == by_text.end() ? 0 : it->second;
    return Status::Ok();
  }
  bool IndexPassCheaper(char, size_t lookups) const override { return lookups >= pass_from; }
  Status ForEachIndexed(char kind, const std::function<bool(std::string_view, uint32_t)>& visit) const override {
    ++passes;
    if (fail) return Status::IOError("the disk is gone");
    for (auto it = by_text.lower_bound(std::string(1, kind)); it != by_text.end() && it->first[0] == kind; ++it) {
      if (!visit(std::string_view(it->first).substr(1), it->second)) break;
    }
    return Status::Ok();
  }
  void Write(uint32_t id, std::string_view entry) {
    by_id.emplace(id, std::string(entry));
    by_text.emplace(std::string(entry), id);
  }
  std::map<uint32_t, std::string> by_id;
  std::map<std::string, uint32_t> by_text;  // the index
  mutable uint64_t finds = 0, entries_read = 0, passes = 0;
  size_t pass_from = SIZE_MAX;  // IndexPassCheaper from this many lookups on
  bool fail = false;
};

// Lazy mode: the IDs an answer lists, read in one pass over the index where that is cheaper than a
// lookup each; what the index does not name (damage), or a pass not worth it, entry by entry.
TEST_CASE("a lazy dictionary reads an answer's IDs in one pass over the index, the rest one by one", "[dictionary]") {
  using schema::EntryKind;
  auto owned = std::make_unique<MapEntrySource>();
  MapEntrySource& disk = *owned;
  std::vector<uint32_t> ids;
  for (uint32_t id = 1; id <= 400; ++id) {
    if (id % 4 == 0) {
      disk.Write(id, Numbered("d", id));  // details between the IDs, as stores interleave them
    } else {
      disk.Write(id, Numbered("iid-", 1000 - id));  // kind 'i', then the ID
      ids.push_back(id);
    }
  }
  disk.by_text.erase(Numbered("iid-", 1000 - 7));  // an ID the index lost: read by its entry
  disk.pass_from = 100;
  storage::Dictionary dict;
  REQUIRE(dict.ReadLazily(std::move(owned), 400, {}).ok());
  storage::Dictionary::Reader reader(dict);
  const std::vector<uint32_t> few(ids.begin(), ids.begin() + 10);
  reader.Prefetch(EntryKind::kEntityId, few);  // 10 lookups: not worth a pass
  CHECK(disk.passes == 0);
  reader.Prefetch(EntryKind::kEntityId, ids);
  CHECK(disk.passes == 1);
  CHECK(disk.entries_read == 0);
  for (uint32_t id : ids) {
    REQUIRE(reader.Payload(id, EntryKind::kEntityId) == std::optional<std::string_view>(Numbered("id-", 1000 - id)));
  }
  CHECK(disk.entries_read == 1);                                     // id 7 alone
  CHECK_FALSE(reader.Payload(4, EntryKind::kEntityId).has_value());  // a detail stays one
  CHECK(disk.entries_read == 2);
  reader.Prefetch(EntryKind::kEntityId, ids);  // all read now: no second pass
  CHECK(disk.passes == 1);
  CHECK(reader.status().ok());

  SECTION("a pass that fails is the answer's error") {
    storage::Dictionary::Reader again(dict);
    disk.fail = true;
    std::vector<uint32_t> unread;
    for (uint32_t id = 401; id <= 600; ++id) unread.push_back(id);
    again.Prefetch(EntryKind::kEntityId, unread);
    CHECK(again.status().code() == Status::Code::kIOError);
  }
}

// A writer's dictionary with a cache of a few KB against a plain map: the same text always gets
// the same id, whether the entry is cached, forgotten (found through the index), or interned but
// not yet written (two batches in flight, as in the bulk loader: such entries are not in the index
// yet, and forgetting them would give their text a second id).
TEST_CASE("a bounded dictionary interns exactly while forgetting most addresses and details", "[dictionary]") {
  using schema::EntryKind;
  std::mt19937_64 rng(11);
  constexpr size_t kCacheBytes = 4096;
  auto owned = std::make_unique<MapEntrySource>();
  MapEntrySource& disk = *owned;
  storage::Dictionary dict;
  dict.ReadBounded(std::move(owned), 0, kCacheBytes);
  std::map<std::pair<EntryKind, std::string>, uint32_t> reference;
  std::deque<std::vector<std::pair<uint32_t, std::string>>> in_flight;  // sealed, not yet written
  auto write_oldest = [&] {
    for (const auto& [id, entry] : in_flight.front()) disk.Write(id, entry);
    if (!in_flight.front().empty()) dict.MarkWritten(in_flight.front().back().first);
    in_flight.pop_front();
  };
  const EntryKind kinds[] = {EntryKind::kNamespace, EntryKind::kEntityId, EntryKind::kTagList,
                             EntryKind::kAddress,   EntryKind::kDetails,  EntryKind::kDetails};
  size_t max_cached = 0;
  for (int i = 0; i < 60000; ++i) {
    const EntryKind kind = kinds[rng() % 6];
    // Mostly repeats of a few thousand texts, some of them far apart in time.
    const std::string payload = std::to_string(rng() % (i < 30000 ? 3000 : 6000)) + "p";
    const uint32_t id = dict.Intern(kind, payload);
    auto [it, fresh] = reference.emplace(std::make_pair(kind, payload), id);
    REQUIRE(it->second == id);
    if (fresh) REQUIRE(id == reference.size());
    max_cached = std::max(max_cached, dict.cached_bytes());
    // As a bulk load ends, now and then: what is in flight must stay.
    if (i % 9001 == 9000) dict.ForgetWrittenCache();
    if (i % 700 == 699) {  // Seal: a batch of what was interned joins the queue
      std::vector<std::pair<uint32_t, std::string>> batch;
      for (const auto& [pid, entry] : dict.TakePending()) batch.emplace_back(pid, std::string(entry));
      in_flight.push_back(std::move(batch));
      if (in_flight.size() > 2) write_oldest();
    }
  }
  REQUIRE(dict.intern_status().ok());
  CHECK(disk.finds > 10000);  // most lookups went past the cache
  // The cache holds its budget, plus what arrived while the old half still awaited its write.
  CHECK(max_cached <= kCacheBytes + 3 * 700 * 64);
  while (!in_flight.empty()) write_oldest();
  for (const auto& [id, entry] : dict.TakePending()) disk.Write(id, entry);
  dict.MarkWritten(static_cast<uint32_t>(reference.size()));
  dict.ForgetWrittenCache();
  CHECK(dict.cached_bytes() == 0);

  storage::Dictionary::Reader reader(dict);
  REQUIRE(reader.size() == reference.size());
  for (const auto& [key, id] : reference) {
    const auto& [kind, payload] = key;
    REQUIRE(reader.Payload(id, kind) == std::optional<std::string_view>(payload));  // from memory or the store
    REQUIRE(reader.Find(kind, payload) == id);
  }
  CHECK(reader.status().ok());
  CHECK(reader.NamespaceIds().size() ==
        static_cast<size_t>(std::count_if(reference.begin(), reference.end(),
                                          [](const auto& r) { return r.first.first == EntryKind::kNamespace; })));
}

TEST_CASE("a bounded dictionary restored from its index goes on interning where it stopped", "[dictionary]") {
  using schema::EntryKind;
  auto owned = std::make_unique<MapEntrySource>();
  MapEntrySource& disk = *owned;
  disk.Write(1, "n/a");
  disk.Write(2, "dfirst");
  disk.Write(3, "i/x");
  disk.Write(4, "dsecond");
  storage::Dictionary dict;
  dict.ReadBounded(std::move(owned), 4, /*cache_bytes=*/0);  // nothing cached: every detail from the index
  for (const auto& [entry, id] : disk.by_text) REQUIRE(dict.Restore(id, entry[0], entry.substr(1)).ok());
  CHECK(dict.Intern(EntryKind::kDetails, "second") == 4);
  CHECK(dict.Intern(EntryKind::kEntityId, "/x") == 3);
  CHECK(dict.Intern(EntryKind::kDetails, "third") == 5);
  CHECK(dict.Intern(EntryKind::kDetails, "third") == 5);  // pending: found in the cache, not the index
  CHECK(dict.Intern(EntryKind::kNamespace, "/b") == 6);
  const auto pending = dict.TakePending();
  REQUIRE(pending.size() == 2);
  CHECK(pending[0] == std::pair<uint32_t, std::string_view>(5, "dthird"));
  CHECK(pending[1] == std::pair<uint32_t, std::string_view>(6, "n/b"));
  {
    storage::Dictionary::Reader reader(dict);
    CHECK(reader.NamespaceIds() == std::vector<uint32_t>{1, 6});
    CHECK(reader.Payload(2, EntryKind::kDetails) == std::optional<std::string_view>("first"));
    CHECK_FALSE(reader.Payload(5, EntryKind::kDetails).has_value());  // not written: the store has no entry 5
    CHECK_FALSE(reader.status().ok());
  }
  CHECK_FALSE(dict.Restore(9, 'd', "past the end").ok());
  // A failed index lookup is reported, never silently taken for a new entry.
  disk.fail = true;
  dict.MarkWritten(6);
  for (int i = 0; i < 100; ++i) dict.Intern(EntryKind::kDetails, std::to_string(i) + "x");
  CHECK_FALSE(dict.intern_status().ok());
}

// What BucketPorts lists, merged from two halves as the scan's threads merge, against a std::set
// of (bucket, port): ascending buckets, each one's ports sorted and distinct, counts alike.
void CheckBucketPorts(query::BucketPorts (&halves)[2], const std::set<std::pair<uint64_t, uint16_t>>& want) {
  halves[0].Merge(halves[1]);
  std::set<std::pair<uint64_t, uint16_t>> listed;
  std::map<uint64_t, uint64_t> counted;
  uint64_t last_bucket = 0;
  bool first = true, ascending = true;
  halves[0].ForEachBucketPorts([&](uint64_t bucket, const std::vector<uint16_t>& ports) {
    ascending &= first || bucket > last_bucket;
    first = false;
    last_bucket = bucket;
    ascending &= std::is_sorted(ports.begin(), ports.end());
    for (uint16_t p : ports) listed.insert({bucket, p});
    CHECK(std::set<uint16_t>(ports.begin(), ports.end()).size() == ports.size());
  });
  halves[0].ForEachBucket([&](uint64_t bucket, uint64_t n) { counted[bucket] = n; });
  CHECK(ascending);
  CHECK(listed == want);
  std::map<uint64_t, uint64_t> want_counts;
  for (const auto& [bucket, port] : want) want_counts[bucket]++;
  CHECK(counted == want_counts);
}

// Each storage regime of BucketPorts (a bitmap per bucket; pairs sorted at once; pairs placed by
// bucket when there are at least as many as buckets), pairs added in no order (a raw scan).
// What the rollups of one (namespace, class) must hold, summed the plain way.
struct GroupSums {
  uint64_t flows = 0;
  std::map<uint16_t, uint64_t> ports;
  std::map<std::pair<uint32_t, uint32_t>, std::pair<uint64_t, bool>> pairs;  // sum, has port
  std::set<uint32_t> sources, destinations, port_sources, port_destinations;
  std::set<std::pair<uint32_t, uint16_t>> minute_ports;
};

// Random records of one namespace (applied Accept, or Reject observed as Accept), many more
// distinct ports and pairs than the builder holds before its first fold; in `runs` runs, each
// sorted like a chunk.
std::vector<schema::EventRecord> RandomRecords(std::mt19937_64& rng, size_t n, int64_t first_ms, int64_t span_ms,
                                               int runs) {
  std::vector<schema::EventRecord> records;
  for (size_t i = 0; i < n; ++i) {
    const bool reject = rng() % 4 == 0, has_port = rng() % 8 != 0;
    const uint16_t flags =
        (reject ? schema::kFlagReject | schema::kFlagObserved : 0) | (has_port ? schema::kFlagHasPort : 0);
    records.emplace_back(static_cast<uint32_t>(rng() % 3000 + 1), static_cast<uint32_t>(rng() % 700 + 1),
                         first_ms + static_cast<int64_t>(rng() % span_ms), rng() % 1000 + 1, 1, 2, 3, 0, 0, 0,
                         has_port ? static_cast<uint16_t>(rng() % 65536) : 0, flags, 6, 5, 0);
  }
  const size_t per_run = n / runs + 1;
  for (size_t begin = 0; begin < n; begin += per_run) {
    std::sort(records.begin() + begin, records.begin() + std::min(n, begin + per_run), schema::RecordLess);
  }
  return records;
}

void AddToSums(const schema::EventRecord& r, std::map<uint8_t, GroupSums>* sums) {
  uint8_t classes[2];
  for (int i = 0, n = storage::RollupClassesOf(r, classes); i < n; ++i) {
    GroupSums& g = (*sums)[classes[i]];
    g.flows += r.value();
    auto& pair = g.pairs[{r.source_id(), r.destination_id()}];
    pair.first += r.value();
    pair.second |= schema::HasPort(r);
    g.sources.insert(r.source_id());
    g.destinations.insert(r.destination_id());
    if (schema::HasPort(r)) {
      g.ports[r.destination_port()] += r.value();
      g.port_sources.insert(r.source_id());
      g.port_destinations.insert(r.destination_id());
      const auto minute = static_cast<uint32_t>(r.time_ms() % storage::kChunkMs / storage::kMinuteMs);
      g.minute_ports.insert({minute, r.destination_port()});
    }
  }
}

template <typename T>
std::set<uint32_t> SetOf(const flatbuffers::Vector<T>* v) {
  return v ? std::set<uint32_t>(v->begin(), v->end()) : std::set<uint32_t>();
}

void CheckRollups(const storage::RollupValues& v, const std::map<uint8_t, GroupSums>& expected) {
  const auto* summary = flatbuffers::GetRoot<fb::RollupSummary>(v.summary.data());
  const auto* ids = flatbuffers::GetRoot<fb::RollupIds>(v.ids.data());
  const auto* pairs = flatbuffers::GetRoot<fb::RollupPairs>(v.pairs.data());
  REQUIRE(summary->groups()->size() == expected.size());
  size_t i = 0;
  for (const auto& [rollup_class, want] : expected) {
    const fb::RollupGroup* s = summary->groups()->Get(i);
    const fb::IdGroup* id = ids->groups()->Get(i);
    const fb::PairGroup* p = pairs->groups()->Get(i);
    ++i;
    REQUIRE(s->class_() == rollup_class);
    CHECK(s->flows() == want.flows);
    std::map<uint16_t, uint64_t> ports;
    for (const fb::PortSum* port : *s->ports()) ports[port->port()] = port->sum();
    CHECK(s->ports()->size() == ports.size());  // ascending, no repeats
    CHECK(ports == want.ports);
    std::map<std::pair<uint32_t, uint32_t>, std::pair<uint64_t, bool>> pair_sums;
    for (const fb::PairSum* pair : *p->pairs()) {
      pair_sums[{pair->source_id(), pair->destination_id()}] = {pair->sum(), pair->has_port() != 0};
    }
    CHECK(p->pairs()->size() == pair_sums.size());
    CHECK(pair_sums == want.pairs);
    CHECK(SetOf(id->sources()) == want.sources);
    CHECK(id->sources()->size() == want.sources.size());
    CHECK(SetOf(id->destinations()) == want.destinations);
    CHECK(SetOf(id->port_sources() ? id->port_sources() : id->sources()) == want.port_sources);
    CHECK(SetOf(id->port_destinations() ? id->port_destinations() : id->destinations()) == want.port_destinations);
  }
}

TEST_CASE("RollupBuilder sums exactly while folding repeats of large hours and days", "[rollup]") {
  std::mt19937_64 rng(11);
  const int64_t day_ms = int64_t{20000} * 24 * storage::kChunkMs;
  std::map<uint8_t, GroupSums> day_sums;
  storage::RollupBuilder day;
  for (int hour = 0; hour < 6; ++hour) {  // a day of six hours: enough to fold many times
    const int64_t hour_ms = day_ms + hour * storage::kChunkMs;
    // 16 chunk-like runs of 40k records: ~1.7 times the first fold's entries in ports alone.
    const auto records = RandomRecords(rng, 40000 * (hour < 1 ? 4 : 1), hour_ms, storage::kChunkMs, 16);
    std::map<uint8_t, GroupSums> hour_sums;
    storage::RollupBuilder builder(/*by_minute=*/true);
    for (const auto& r : records) {
      builder.Add(r);
      AddToSums(r, &hour_sums);
      AddToSums(r, &day_sums);
    }
    storage::RollupValues v;
    REQUIRE(builder.Finish(1, &v));
    CheckRollups(v, hour_sums);
    // The minute rollups: each minute's distinct ports, ascending.
    const auto* minutes = flatbuffers::GetRoot<fb::RollupMinutes>(v.minutes.data());
    for (const fb::MinuteGroup* g : *minutes->groups()) {
      std::set<std::pair<uint32_t, uint16_t>> got;
      bool ascending = true;
      uint32_t begin = 0;
      for (uint32_t m = 0; m < storage::kMinutesPerHour; begin = g->port_ends()->Get(m), ++m) {
        for (uint32_t k = begin; k < g->port_ends()->Get(m); ++k) {
          ascending &= k == begin || g->ports()->Get(k - 1) < g->ports()->Get(k);
          got.insert({m, g->ports()->Get(k)});
        }
      }
      CHECK(ascending);
      CHECK(got == hour_sums.at(g->class_()).minute_ports);
    }
    day.Add(v);
  }
  storage::RollupValues v;
  REQUIRE(day.Finish(6, &v));
  CheckRollups(v, day_sums);
}

TEST_CASE("IdSet holds exactly the ids inserted up to its size, grown only as far as needed") {
  std::mt19937_64 rng(41);
  for (int trial = 0; trial < 300; ++trial) {
    const auto size = static_cast<uint32_t>(rng() % 5000), b_size = static_cast<uint32_t>(rng() % 5000);
    query::IdSet a(size), b(b_size);
    std::set<uint32_t> want;
    const uint32_t a_limit = (size / 64 + 1) * 64;  // the rest of the last word is kept too
    for (size_t n = rng() % 300; n > 0; --n) {
      const auto id = static_cast<uint32_t>(rng() % 6000);
      a.Insert(id);
      if (id < a_limit) want.insert(id);
    }
    a.Insert(UINT32_MAX);  // far beyond: ignored, nothing allocated for it
    if (rng() % 2) {
      for (size_t n = rng() % 100; n > 0; --n) {
        const auto id = static_cast<uint32_t>(rng() % 6000);
        b.Insert(id);
        if (id < (b_size / 64 + 1) * 64) want.insert(id);
      }
      a.Merge(b);
    }
    std::vector<uint32_t> got;
    a.ForEach([&](uint32_t id) { got.push_back(id); });
    REQUIRE(got == std::vector<uint32_t>(want.begin(), want.end()));  // each once, ascending
    REQUIRE(a.size() == want.size());
  }
}

TEST_CASE("PairSums sums rollup runs exactly, merged or hashed, sorted or not") {
  std::mt19937_64 rng(1201);
  for (int trial = 0; trial < 300; ++trial) {
    query::PairSums sums;
    std::map<uint64_t, Count> want;
    const int runs = static_cast<int>(rng() % 12);  // past the runs it merges, then hashes
    for (int r = 0; r < runs; ++r) {
      // Pairs from a small pool, so that runs share keys; each run's keys distinct, as stored.
      std::map<uint64_t, uint64_t> run;
      for (size_t n = rng() % 200; n > 0; --n) run[(rng() % 40 + 1) << 32 | (rng() % 40 + 1)] = rng() >> (rng() % 64);
      std::vector<fb::PairSum> structs;
      for (const auto& [key, sum] : run) {
        structs.emplace_back(static_cast<uint32_t>(key >> 32), static_cast<uint32_t>(key), sum, uint8_t{1});
        want[key] += sum;
      }
      if (rng() % 4 == 0) std::shuffle(structs.begin(), structs.end(), rng);  // out of order: sorted first
      flatbuffers::FlatBufferBuilder b;
      b.Finish(fb::CreatePairGroup(b, 1, 0, b.CreateVectorOfStructs(structs)));
      sums.AddRun(*flatbuffers::GetRoot<fb::PairGroup>(b.GetBufferPointer())->pairs());
    }
    if (rng() % 2) sums.Add(3, 4, Count{5}), want[uint64_t{3} << 32 | 4] += 5;  // raw events too
    std::map<uint64_t, Count> got;
    for (const auto& [key, sum] : sums.Sums()) {
      REQUIRE(got.count(key) == 0);  // each pair once
      got[key] = sum;
    }
    REQUIRE(got == want);
  }
}

TEST_CASE("BucketPorts lists each bucket's distinct ports in every regime") {
  std::mt19937_64 rng(17);
  for (const auto& [buckets, pairs] : std::vector<std::pair<uint64_t, size_t>>{
           {1, 50}, {200, 5000}, {256, 10}, {257, 100}, {5000, 1000}, {5000, 60000}, {10080, 200000}, {3, 0}}) {
    INFO(buckets << " buckets, " << pairs << " pairs");
    query::BucketPorts halves[2];
    for (auto& h : halves) h.Reset(buckets);
    std::set<std::pair<uint64_t, uint16_t>> want;
    for (size_t i = 0; i < pairs; ++i) {
      const uint64_t bucket = rng() % buckets;
      const auto port = static_cast<uint16_t>(rng() % 4 == 0 ? rng() % 65536 : rng() % 40);  // repeats likely
      halves[i % 2].Add(bucket, port);
      want.insert({bucket, port});
    }
    CheckBucketPorts(halves, want);
  }
}

// Pairs added as rollups add them: ascending runs (one per namespace and class), which are merged
// — as many runs as are tracked, one more, and many more in either half or only once merged.
TEST_CASE("BucketPorts merges ascending runs of pairs, however many") {
  std::mt19937_64 rng(23);
  for (const auto& [runs, per_run] : std::vector<std::pair<size_t, size_t>>{
           {1, 3000}, {2, 2000}, {7, 1500}, {63, 200}, {64, 200}, {65, 200}, {127, 100}, {128, 100}, {300, 50}}) {
    INFO(runs << " runs of " << per_run << " pairs");
    const uint64_t buckets = 10080;
    query::BucketPorts halves[2];
    for (auto& h : halves) h.Reset(buckets);
    std::set<std::pair<uint64_t, uint16_t>> want;
    for (size_t r = 0; r < runs; ++r) {
      std::vector<uint64_t> run;
      for (size_t i = 0; i < per_run; ++i) run.push_back(rng() % buckets << 16 | (rng() % 50));
      std::sort(run.begin(), run.end());  // repeats within a run stay: the merge must drop them
      for (uint64_t pair : run) {
        halves[r % 2].Add(pair >> 16, static_cast<uint16_t>(pair));
        want.insert({pair >> 16, static_cast<uint16_t>(pair)});
      }
    }
    CheckBucketPorts(halves, want);
  }
}

// The flatbuffers verifier's verdict on `bytes` (copied aligned), alignment checked or not.
bool FlatBuffersAccepts(std::string_view bytes, bool check_alignment) {
  std::vector<uint64_t> aligned(bytes.size() / 8 + 1);
  std::memcpy(aligned.data(), bytes.data(), bytes.size());
  flatbuffers::Verifier::Options options;
  options.check_alignment = check_alignment;
  flatbuffers::Verifier verifier(reinterpret_cast<const uint8_t*>(aligned.data()), bytes.size(), options);
  return verifier.VerifyBuffer<fb::Chunk>(fb::ChunkIdentifier());
}

bool SameRecords(const schema::ChunkRecords& in_place, std::span<const schema::EventRecord> want) {
  if (in_place.size() != want.size()) return false;
  for (size_t i = 0; i < want.size(); ++i) {
    const schema::EventRecord r = in_place[i];
    if (std::memcmp(&r, &want[i], sizeof r) != 0) return false;
  }
  return true;
}

TEST_CASE("a chunk read in place, at any alignment, gives what the FlatBuffers verifier gives", "[chunk]") {
  std::mt19937_64 rng(29);
  for (size_t n : {0, 1, 2, 7, 300}) {
    INFO(n << " records");
    auto records = RandomRecords(rng, n, 1763557200000, storage::kChunkMs, 1);
    schema::SortUnique(&records);
    const std::string chunk = schema::BuildChunk(records);
    std::vector<char> buffer(chunk.size() + 8);
    for (size_t misalignment = 0; misalignment < 8; ++misalignment) {
      std::memcpy(buffer.data() + misalignment, chunk.data(), chunk.size());
      const std::string_view bytes(buffer.data() + misalignment, chunk.size());
      schema::ChunkRecords in_place;
      REQUIRE(schema::ReadChunkInPlace(bytes, &in_place).ok());
      std::vector<uint64_t> scratch;
      std::span<const schema::EventRecord> verified;
      REQUIRE(schema::ReadChunk(bytes, &scratch, &verified).ok());
      CHECK(SameRecords(in_place, records));
      CHECK(SameRecords(in_place, verified));
      std::vector<schema::EventRecord> appended(1);
      in_place.AppendTo(&appended);
      REQUIRE(appended.size() == n + 1);
      CHECK((n == 0 || std::memcmp(appended.data() + 1, records.data(), n * sizeof(schema::EventRecord)) == 0));
    }
  }
}

// Damaged chunks: cut short at every length, and bytes overwritten at random (most often the
// offsets at the front). Both readers must refuse or accept alike — the verifier told to ignore
// alignment, which the in-place reader does not need — and give the same records when accepted.
TEST_CASE("a damaged chunk is refused in place exactly when the FlatBuffers verifier refuses it", "[chunk]") {
  std::mt19937_64 rng(31);
  auto records = RandomRecords(rng, 5, 1763557200000, storage::kChunkMs, 1);
  schema::SortUnique(&records);
  const std::string chunk = schema::BuildChunk(records);
  auto agree = [](std::string_view bytes) {
    schema::ChunkRecords in_place;
    const bool accepted = schema::ReadChunkInPlace(bytes, &in_place).ok();
    REQUIRE(accepted == FlatBuffersAccepts(bytes, /*check_alignment=*/false));
    if (!accepted) return false;
    REQUIRE(in_place.size() * sizeof(schema::EventRecord) <= bytes.size());
    std::vector<uint64_t> scratch;
    std::span<const schema::EventRecord> verified;
    if (schema::ReadChunk(bytes, &scratch, &verified).ok()) CHECK(SameRecords(in_place, verified));
    return true;
  };
  for (size_t length = 0; length < chunk.size(); ++length) {
    INFO("cut to " << length << " bytes");
    CHECK_FALSE(agree(std::string_view(chunk).substr(0, length)));
  }
  size_t accepted = 0;
  for (int trial = 0; trial < 20000; ++trial) {
    std::string damaged = chunk;
    const int writes = 1 + static_cast<int>(rng() % 4);
    for (int w = 0; w < writes; ++w) {
      const size_t span = rng() % 4 == 0 ? damaged.size() : std::min<size_t>(damaged.size(), 40);
      damaged[rng() % span] = static_cast<char>(rng() % 4 == 0 ? rng() % 256 : rng() % 16);
    }
    INFO("trial " << trial);
    accepted += agree(damaged);
  }
  CHECK(accepted > 0);  // some damage leaves a valid chunk (a record's bytes, an unused byte)
  CHECK(accepted < 20000);
}

// Chunks merged as sorted runs (the merge operator's way) against one sort of everything: runs of
// a shared pool (so repeats across runs), empty runs, and runs that are not strictly increasing
// (a damaged chunk: the merge must fall back to sorting).
TEST_CASE("MergeChunks gives what SortUnique gives, however the chunks come", "[chunk]") {
  std::mt19937_64 rng(37);
  for (int trial = 0; trial < 400; ++trial) {
    INFO("trial " << trial);
    auto pool = RandomRecords(rng, 1 + rng() % 300, 1763557200000, storage::kChunkMs, 1);
    const size_t runs = 1 + rng() % (trial % 10 == 0 ? 40 : 6);
    const int damage = static_cast<int>(rng() % 8);  // 0: a run out of order, 1: a repeat inside a run
    std::vector<schema::EventRecord> all;
    std::vector<std::string> buffers;
    for (size_t r = 0; r < runs; ++r) {
      std::vector<schema::EventRecord> run;
      const size_t n = rng() % 4 == 0 ? 0 : rng() % (pool.size() + 1);
      for (size_t i = 0; i < n; ++i) run.push_back(pool[rng() % pool.size()]);
      schema::SortUnique(&run);
      if (r == 0 && damage == 0 && run.size() >= 2) std::swap(run.front(), run.back());
      if (r == 0 && damage == 1 && !run.empty()) run.push_back(run.back());
      all.insert(all.end(), run.begin(), run.end());
      buffers.push_back(schema::BuildChunk(run));
    }
    std::vector<schema::ChunkRecords> chunks(buffers.size());
    for (size_t r = 0; r < buffers.size(); ++r) REQUIRE(schema::ReadChunkInPlace(buffers[r], &chunks[r]).ok());
    const size_t want_removed = schema::SortUnique(&all);
    std::string merged = "left over";
    const size_t removed = schema::MergeChunks(chunks, &merged);
    CHECK(removed == want_removed);
    CHECK(merged == schema::BuildChunk(all));
  }
}

// BuildChunk writes a chunk's header itself; it must be the bytes FlatBufferBuilder writes.
TEST_CASE("BuildChunk writes the bytes FlatBufferBuilder writes", "[chunk]") {
  std::mt19937_64 rng(41);
  for (size_t n : {0, 1, 2, 3, 7, 64, 1000}) {
    INFO(n << " records");
    auto records = RandomRecords(rng, n, 1763557200000, storage::kChunkMs, 1);
    flatbuffers::FlatBufferBuilder b;
    auto events = b.CreateVectorOfStructs(records.data(), records.size());
    b.Finish(fb::CreateChunk(b, events), fb::ChunkIdentifier());
    const std::string want(reinterpret_cast<const char*>(b.GetBufferPointer()), b.GetSize());
    const std::string chunk = schema::BuildChunk(records);
    CHECK(chunk == want);
    CHECK(FlatBuffersAccepts(chunk, /*check_alignment=*/true));
  }
}

// The bytes of the first element of a vector, to find it again in its buffer.
template <typename T>
std::string_view FirstElement(const flatbuffers::Vector<T>* v) {
  REQUIRE(v);
  REQUIRE(v->size() >= 2);
  return {reinterpret_cast<const char*>(v->Data()), sizeof(std::remove_pointer_t<T>)};
}

// A vector of 8-byte elements moved 4 bytes off its alignment passes the FlatBuffers verifier
// (which checks a vector's length for 4-byte alignment only), so each reader must check it.
TEST_CASE("records and rollup sums 4 bytes off their alignment are refused rather than read", "[chunk][rollup]") {
  // Three events of one namespace in minute 0 of an hour, every value distinct.
  const int64_t hour_ms = int64_t{490000} * storage::kChunkMs;
  std::vector<schema::EventRecord> records;
  for (uint32_t i = 1; i <= 3; ++i) {
    records.emplace_back(i, 10 + i, hour_ms + i, 1000003 * i, 1, 2, 3, 0, 0, 0, static_cast<uint16_t>(8000 + i),
                         schema::kFlagHasPort, 6, 5, 0);
  }
  const std::string chunk = schema::BuildChunk(records);
  std::vector<uint64_t> scratch;
  const std::string shifted_chunk = ShiftVectorOffAlignment(
      chunk, std::string_view(reinterpret_cast<const char*>(&records[0]), sizeof(schema::EventRecord)));
  REQUIRE_FALSE(shifted_chunk.empty());
  CHECK(schema::VerifiedRoot<fb::Chunk>(shifted_chunk, &scratch, fb::ChunkIdentifier()) != nullptr);
  std::span<const schema::EventRecord> verified;
  CHECK(schema::ReadChunk(shifted_chunk, &scratch, &verified).code() == Status::Code::kCorruption);
  // In place, the one record the damage left is read wherever it lies.
  schema::ChunkRecords in_place;
  REQUIRE(schema::ReadChunkInPlace(shifted_chunk, &in_place).ok());
  REQUIRE(in_place.size() == 1);
  const schema::EventRecord left = in_place[0];
  const size_t first_record = chunk.find(std::string_view(reinterpret_cast<const char*>(&records[0]), sizeof left));
  CHECK(std::memcmp(&left, shifted_chunk.data() + first_record + 4, sizeof left) == 0);

  storage::RollupBuilder builder(/*by_minute=*/true);
  for (const auto& r : records) builder.Add(r);
  storage::RollupValues v;
  REQUIRE(builder.Finish(7, &v));
  auto check = [&]<typename Root>(const std::string& bytes, std::string_view first_element) {
    REQUIRE(storage::CurrentRollup<Root>(rocksdb::Slice(bytes), 7, &scratch) != nullptr);
    const std::string shifted = ShiftVectorOffAlignment(bytes, first_element);
    REQUIRE_FALSE(shifted.empty());
    CHECK(schema::VerifiedRoot<Root>(shifted, &scratch) != nullptr);
    CHECK(storage::CurrentRollup<Root>(rocksdb::Slice(shifted), 7, &scratch) == nullptr);
  };
  const auto* summary = flatbuffers::GetRoot<fb::RollupSummary>(v.summary.data());
  check.operator()<fb::RollupSummary>(v.summary, FirstElement(summary->groups()->Get(0)->ports()));
  const auto* pairs = flatbuffers::GetRoot<fb::RollupPairs>(v.pairs.data());
  check.operator()<fb::RollupPairs>(v.pairs, FirstElement(pairs->groups()->Get(0)->pairs()));
  const auto* minutes = flatbuffers::GetRoot<fb::RollupMinutes>(v.minutes.data());
  check.operator()<fb::RollupMinutes>(v.minutes, FirstElement(minutes->groups()->Get(0)->flows()));
}

}  // namespace
}  // namespace flowstat::testing
