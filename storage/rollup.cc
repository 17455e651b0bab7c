#include "storage/rollup.h"

#include <algorithm>
#include <functional>
#include <iterator>

#include "storage/format.h"
#include "util/merge_runs.h"

namespace flowstat::storage {
namespace {

using schema::EventRecord;

bool AddTo(uint64_t* sum, uint64_t v) { return !__builtin_add_overflow(*sum, v, sum); }

// Appends `id` unless it is the last one appended.
void PushNew(std::vector<uint32_t>* ids, uint32_t id) {
  if (ids->empty() || ids->back() != id) ids->push_back(id);
}

// Sorts [first, last) by `less`. What a builder sorts is mostly a few ascending runs — an hour's
// sources and pairs come a chunk (shard) at a time, a day's lists an hour at a time — and those
// are merged two by two instead; a sort where the runs are many (destinations in no order), and
// past 64K items, where a merge's buffer (half the range) would add to a large import's peak
// memory and std::sort needs none.
template <typename It, typename Less>
void SortRuns(It first, It last, Less less) {
  constexpr size_t kMaxMergedRuns = 32;
  constexpr std::ptrdiff_t kMaxMergedItems = std::ptrdiff_t{1} << 16;
  if (last - first > kMaxMergedItems) return std::sort(first, last, less);
  std::vector<It> bounds{first};
  for (It i = first; i != last && std::next(i) != last; ++i) {
    if (!less(*std::next(i), *i)) continue;
    if (bounds.size() == kMaxMergedRuns) return std::sort(first, last, less);
    bounds.push_back(std::next(i));
  }
  bounds.push_back(last);
  util::MergeRuns(std::move(bounds), less);
}

void SortUnique(std::vector<uint32_t>* v) {
  SortRuns(v->begin(), v->end(), std::less<uint32_t>());
  v->erase(std::unique(v->begin(), v->end()), v->end());
}

template <typename T>
void Append(const flatbuffers::Vector<T>* from, std::vector<T>* to) {
  if (from) to->insert(to->end(), from->begin(), from->end());
}

// Sorts `items` by key and folds the items of each key into the first (`fold(into, from)`,
// false on overflow); false when a fold overflowed.
template <typename T, typename Key, typename Fold>
bool FoldRuns(std::vector<T>* items, Key key, Fold fold) {
  SortRuns(items->begin(), items->end(), [&](const T& a, const T& b) { return key(a) < key(b); });
  bool ok = true;
  size_t out = 0;
  for (size_t i = 0; i < items->size(); ++i) {
    if (out > 0 && key((*items)[out - 1]) == key((*items)[i])) {
      ok &= fold(&(*items)[out - 1], (*items)[i]);
    } else {
      (*items)[out++] = (*items)[i];
    }
  }
  items->resize(out);
  return ok;
}

}  // namespace

int RollupClassesOf(const EventRecord& r, uint8_t out[2]) {
  int n = 0;
  out[n++] = schema::IsReject(r) ? 1 : 0;
  if (r.flags() & schema::kFlagObserved) {
    switch (schema::ObservedActionOf(r)) {
      case ObservedAction::kAccept:
        out[n++] = 2;
        break;
      case ObservedAction::kReject:
        out[n++] = 3;
        break;
      default:
        break;
    }
  }
  return n;
}

RollupBuilder::Group& RollupBuilder::GroupOf(uint32_t namespace_id, uint8_t rollup_class) {
  const std::pair<uint32_t, uint8_t> key{namespace_id, rollup_class};
  if (last_ == nullptr || key != last_key_) {  // records come in runs of one namespace
    last_key_ = key;
    last_ = &groups_[key];
  }
  return *last_;
}

void RollupBuilder::Add(const EventRecord& r) {
  uint8_t classes[2];
  const int n = RollupClassesOf(r, classes);
  const uint64_t pair_key = uint64_t{r.source_id()} << 32 | r.destination_id();
  for (int i = 0; i < n; ++i) {
    Group& g = GroupOf(r.namespace_id(), classes[i]);
    g.overflow |= !AddTo(&g.flows, r.value());
    // Chunks come sorted by (source, destination): a repeat of the previous source or pair is
    // folded in here rather than sorted out in Finish.
    PushNew(&g.sources, r.source_id());
    PushNew(&g.destinations, r.destination_id());
    if (!g.pairs.empty() && g.pairs.back().key == pair_key) {
      g.overflow |= !AddTo(&g.pairs.back().sum, r.value());
      g.pairs.back().has_port |= schema::HasPort(r);
    } else {
      g.pairs.push_back({pair_key, r.value(), schema::HasPort(r)});
    }
    if (schema::HasPort(r)) {
      g.ports.emplace_back(r.destination_port(), r.value());
      PushNew(&g.port_sources, r.source_id());
      PushNew(&g.port_destinations, r.destination_id());
    }
    if (by_minute_) {
      const auto minute = static_cast<uint32_t>(r.time_ms() % kChunkMs / kMinuteMs);
      if (g.minute_flows.empty()) g.minute_flows.assign(kMinutesPerHour, 0);
      g.overflow |= !AddTo(&g.minute_flows[minute], r.value());
      if (schema::HasPort(r)) g.minute_ports.push_back(minute << 16 | r.destination_port());
    }
    CompactIfDue(g);
  }
}

void RollupBuilder::Add(const fb::RollupSummary& summary, const fb::RollupIds& ids, const fb::RollupPairs& pairs) {
  if (summary.groups()) {
    for (const fb::RollupGroup* s : *summary.groups()) {
      Group& g = GroupOf(s->namespace_id(), s->class_());
      g.overflow |= !AddTo(&g.flows, s->flows());
      if (s->ports()) {
        for (const fb::PortSum* p : *s->ports()) g.ports.emplace_back(p->port(), p->sum());
      }
    }
  }
  if (ids.groups()) {
    for (const fb::IdGroup* s : *ids.groups()) {
      Group& g = GroupOf(s->namespace_id(), s->class_());
      Append(s->sources(), &g.sources);
      Append(s->destinations(), &g.destinations);
      Append(s->port_sources() ? s->port_sources() : s->sources(), &g.port_sources);
      Append(s->port_destinations() ? s->port_destinations() : s->destinations(), &g.port_destinations);
    }
  }
  if (pairs.groups()) {
    for (const fb::PairGroup* s : *pairs.groups()) {
      Group& g = GroupOf(s->namespace_id(), s->class_());
      if (!s->pairs()) continue;
      for (const fb::PairSum* p : *s->pairs()) {
        g.pairs.push_back({uint64_t{p->source_id()} << 32 | p->destination_id(), p->sum(), p->has_port() != 0});
      }
    }
  }
  for (auto& [key, g] : groups_) CompactIfDue(g);
}

void RollupBuilder::Compact(Group& g) {
  const bool ports_ok = FoldRuns(
      &g.ports, [](const auto& p) { return p.first; },
      [](auto* into, const auto& from) { return AddTo(&into->second, from.second); });
  const bool pairs_ok = FoldRuns(
      &g.pairs, [](const Pair& p) { return p.key; },
      [](Pair* into, const Pair& from) {
        into->has_port |= from.has_port;
        return AddTo(&into->sum, from.sum);
      });
  g.overflow |= !ports_ok || !pairs_ok;
  for (auto* v : {&g.sources, &g.destinations, &g.port_sources, &g.port_destinations, &g.minute_ports}) {
    SortUnique(v);
  }
  g.compact_at = std::max(kFirstCompaction, 2 * g.Entries());
}

void RollupBuilder::Add(const RollupValues& finished) {
  Add(*flatbuffers::GetRoot<fb::RollupSummary>(finished.summary.data()),
      *flatbuffers::GetRoot<fb::RollupIds>(finished.ids.data()),
      *flatbuffers::GetRoot<fb::RollupPairs>(finished.pairs.data()));
}

bool RollupBuilder::Finish(uint64_t generation, RollupValues* out) {
  flatbuffers::FlatBufferBuilder summary(4096), ids(4096), pairs(4096);
  std::vector<flatbuffers::Offset<fb::RollupGroup>> summary_groups;
  std::vector<flatbuffers::Offset<fb::IdGroup>> id_groups;
  std::vector<flatbuffers::Offset<fb::PairGroup>> pair_groups;
  std::vector<fb::PortSum> port_sums;
  std::vector<fb::PairSum> pair_sums;
  for (auto& [key, g] : groups_) {
    Compact(g);
    if (g.overflow) return false;
    port_sums.clear();
    for (const auto& [port, sum] : g.ports) port_sums.emplace_back(port, sum);
    pair_sums.clear();
    for (const Pair& p : g.pairs) {
      pair_sums.emplace_back(static_cast<uint32_t>(p.key >> 32), static_cast<uint32_t>(p.key), p.sum,
                             p.has_port ? 1 : 0);
    }
    const bool same_sources = g.port_sources == g.sources, same_destinations = g.port_destinations == g.destinations;
    summary_groups.push_back(
        fb::CreateRollupGroup(summary, key.first, key.second, g.flows, summary.CreateVectorOfStructs(port_sums)));
    // One statement per vector, last field first: as arguments of one call their order would be
    // the compiler's, and so would the bytes (GCC's right-to-left order is kept).
    const auto port_destinations = same_destinations ? 0 : ids.CreateVector(g.port_destinations);
    const auto port_sources = same_sources ? 0 : ids.CreateVector(g.port_sources);
    const auto destinations = ids.CreateVector(g.destinations);
    const auto sources = ids.CreateVector(g.sources);
    id_groups.push_back(
        fb::CreateIdGroup(ids, key.first, key.second, sources, destinations, port_sources, port_destinations));
    pair_groups.push_back(fb::CreatePairGroup(pairs, key.first, key.second, pairs.CreateVectorOfStructs(pair_sums)));
  }
  summary.Finish(fb::CreateRollupSummary(summary, generation, summary.CreateVector(summary_groups)));
  ids.Finish(fb::CreateRollupIds(ids, generation, ids.CreateVector(id_groups)));
  pairs.Finish(fb::CreateRollupPairs(pairs, generation, pairs.CreateVector(pair_groups)));
  auto bytes = [](const flatbuffers::FlatBufferBuilder& b) {
    return std::string(reinterpret_cast<const char*>(b.GetBufferPointer()), b.GetSize());
  };
  out->summary = bytes(summary);
  out->ids = bytes(ids);
  out->pairs = bytes(pairs);
  out->minutes = by_minute_ ? FinishMinutes(generation) : std::string();
  return true;
}

std::string RollupBuilder::FinishMinutes(uint64_t generation) {
  flatbuffers::FlatBufferBuilder b(4096);
  std::vector<flatbuffers::Offset<fb::MinuteGroup>> groups;
  std::vector<uint32_t> ends(kMinutesPerHour);
  std::vector<uint16_t> ports;
  for (auto& [key, g] : groups_) {
    SortUnique(&g.minute_ports);
    ports.clear();
    size_t next = 0;
    for (uint32_t minute = 0; minute < kMinutesPerHour; ++minute) {
      for (; next < g.minute_ports.size() && g.minute_ports[next] >> 16 == minute; ++next) {
        ports.push_back(static_cast<uint16_t>(g.minute_ports[next]));
      }
      ends[minute] = static_cast<uint32_t>(ports.size());
    }
    // Last field first, one statement each: the bytes may not depend on argument evaluation order.
    const auto port_list = b.CreateVector(ports);
    const auto port_ends = b.CreateVector(ends);
    const auto flows = b.CreateVector(g.minute_flows);
    groups.push_back(fb::CreateMinuteGroup(b, key.first, key.second, flows, port_ends, port_list));
  }
  b.Finish(fb::CreateRollupMinutes(b, generation, b.CreateVector(groups)));
  return std::string(reinterpret_cast<const char*>(b.GetBufferPointer()), b.GetSize());
}

}  // namespace flowstat::storage
