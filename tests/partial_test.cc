// Partials (flowstat/partial.h) against one store and the model: for events split across stores
// by a hash of their content, the merged partials — carried through the wire format — answer
// exactly what one store holding everything answers, statistic IDs, limits and ties included.
#include <catch2/catch.hpp>

#include <cstring>
#include <functional>

#include "tests/model.h"
#include "tests/test_support.h"

namespace flowstat::testing {
namespace {

// The shard of an event: a hash of its content (the §6 identity), so that an event reported
// twice lands on the same store both times.
size_t ShardOf(const FlowEvent& e, size_t shards) { return std::hash<std::string>()(FormatEventJson(e)) % shards; }

Partial ThroughTheWire(const Partial& p) {
  auto decoded = DecodePartial(EncodePartial(p));
  REQUIRE(decoded.ok());
  return *decoded;
}

void CheckSplit(uint64_t seed, size_t shards, int queries) {
  std::mt19937_64 rng(seed);
  std::vector<FlowEvent> events = RandomEvents(rng, 3000);
  // Reported twice: duplicates must count once after the merge too.
  for (size_t i = 0; i < 300; ++i) events.push_back(events[rng() % events.size()]);
  TempDir dir;
  auto whole = OpenStore(dir.Sub("whole"));
  std::vector<std::unique_ptr<Store>> parts;
  std::vector<std::vector<FlowEvent>> split(shards);
  for (const auto& e : events) split[ShardOf(e, shards)].push_back(e);
  Model model;
  for (const auto& e : events) model.Add(e);
  REQUIRE(whole->AppendBatch(events).ok());
  REQUIRE(whole->Flush().ok());
  for (size_t s = 0; s < shards; ++s) {
    parts.push_back(OpenStore(dir.Sub("part" + std::to_string(s))));
    REQUIRE(parts.back()->AppendBatch(split[s]).ok());
    if (s % 2 == 0) REQUIRE(parts.back()->Flush().ok());  // some with rollups, some raw only
  }
  for (int k = 0; k < queries; ++k) {
    Query q = RandomQuery(rng);
    INFO("query " << k << " ns=" << q.namespace_ << " type=" << int(q.type) << " metric=" << int(q.metric));
    auto want = whole->Query(q);
    REQUIRE(want.ok());
    std::vector<Partial> partials;
    for (auto& store : parts) {
      auto p = store->QueryPartial(q);
      REQUIRE(p.ok());
      partials.push_back(ThroughTheWire(*p));
    }
    auto merged = MergePartials(partials);
    REQUIRE(merged.ok());
    const auto got = FinishPartial(*merged);
    REQUIRE(FormatStatisticsJson(got) == FormatStatisticsJson(*want));  // IDs included
    REQUIRE(Comparable(got, true) == Comparable(model.Answer(q), false));
  }
}

}  // namespace

TEST_CASE("merged partials of a content-hash split equal one store holding everything", "[partial][model]") {
  CheckSplit(101, 2, 120);
  CheckSplit(102, 3, 120);
  CheckSplit(103, 5, 80);
}

TEST_CASE("a single partial finishes to the store's own answer", "[partial][model]") { CheckSplit(104, 1, 80); }

TEST_CASE("partials of different queries are not merged; foreign and damaged bytes are refused", "[partial]") {
  std::mt19937_64 rng(105);
  TempDir dir;
  auto store = OpenStore(dir.path());
  REQUIRE(store->AppendBatch(RandomEvents(rng, 500)).ok());
  Query q;
  q.namespace_ = "/";
  q.start_absolute = kBaseMs;
  q.end_absolute = kBaseMs + 86400000;
  Query other = q;
  other.average_interval_ms = 900000;
  auto a = store->QueryPartial(q), b = store->QueryPartial(other);
  REQUIRE(a.ok());
  REQUIRE(b.ok());
  auto merged = MergePartials({*a, *b});
  REQUIRE_FALSE(merged.ok());
  CHECK(merged.status().message().find("another query") != std::string::npos);
  CHECK(MergePartials({}).status().code() == Status::Code::kInvalidArgument);

  std::string bytes = EncodePartial(*a);
  CHECK(DecodePartial("not a partial at all").status().code() == Status::Code::kIncompatible);
  // Another version: the version field is the first scalar of the root table; find it by value.
  std::string other_version = bytes;
  bool patched = false;
  for (size_t i = 8; i + 4 <= other_version.size() && !patched; ++i) {
    if (other_version.compare(i, 4, std::string("\x01\x00\x00\x00", 4)) == 0) {
      other_version[i] = 2;
      patched = DecodePartial(other_version).status().code() == Status::Code::kIncompatible;
      if (!patched) other_version[i] = 1;
    }
  }
  CHECK(patched);
  // Every truncation and a sweep of flipped bytes: refused or decoded, never a crash.
  for (size_t n = 0; n < bytes.size(); n += 7) (void)DecodePartial(std::string_view(bytes).substr(0, n));
  for (size_t i = 0; i < bytes.size(); i += 3) {
    std::string damaged = bytes;
    damaged[i] = static_cast<char>(damaged[i] ^ 0x5a);
    auto d = DecodePartial(damaged);
    if (d.ok()) (void)FinishPartial(*d);
  }
}

TEST_CASE("a partial is read at any address; its 8-byte lists off their alignment are refused", "[partial]") {
  std::mt19937_64 rng(106);
  TempDir dir;
  auto store = OpenStore(dir.path());
  REQUIRE(store->AppendBatch(RandomEvents(rng, 500)).ok());
  Query q;  // a Serie of flows: a list of 128-bit sums, one per bucket
  q.namespace_ = "/";
  q.start_absolute = kBaseMs;
  q.end_absolute = kBaseMs + 86400000;
  auto partial = store->QueryPartial(q);
  REQUIRE(partial.ok());
  REQUIRE_FALSE(partial->modes.empty());
  REQUIRE(partial->modes[0].serie.size() >= 2);
  const Count marker = (Count{0x5eed} << 64) | 0x0123456789abcdefULL;  // distinct bytes to find it by
  partial->modes[0].serie[0] = marker;
  const std::string bytes = EncodePartial(*partial);
  const std::string want = Comparable(FinishPartial(*partial), false);

  std::string buffer(bytes.size() + 8, '\0');
  for (size_t misalignment = 0; misalignment < 8; ++misalignment) {
    INFO("misaligned by " << misalignment);
    std::memcpy(buffer.data() + misalignment, bytes.data(), bytes.size());
    auto decoded = DecodePartial(std::string_view(buffer).substr(misalignment, bytes.size()));
    REQUIRE(decoded.ok());
    CHECK(Comparable(FinishPartial(*decoded), false) == want);
  }

  const uint64_t halves[2] = {static_cast<uint64_t>(marker), static_cast<uint64_t>(marker >> 64)};
  const std::string shifted =
      ShiftVectorOffAlignment(bytes, std::string_view(reinterpret_cast<const char*>(halves), sizeof halves));
  REQUIRE_FALSE(shifted.empty());
  auto refused = DecodePartial(shifted);
  REQUIRE_FALSE(refused.ok());
  CHECK(refused.status().code() == Status::Code::kCorruption);
  CHECK(refused.status().message().find("alignment") != std::string::npos);
}

}  // namespace flowstat::testing
