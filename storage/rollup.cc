#include "storage/rollup.h"

#include <algorithm>
#include <map>
#include <unordered_map>
#include <vector>

namespace flowstat::storage {
namespace {

using schema::EventRecord;

struct GroupTotals {
  uint64_t flows = 0;
  std::map<uint16_t, uint64_t> ports;
  std::vector<uint32_t> sources, destinations, port_sources, port_destinations;
  std::map<std::pair<uint32_t, uint32_t>, std::pair<uint64_t, bool>> pairs;
};

bool AddTo(uint64_t* sum, uint64_t v) { return !__builtin_add_overflow(*sum, v, sum); }

void SortUnique(std::vector<uint32_t>* v) {
  std::sort(v->begin(), v->end());
  v->erase(std::unique(v->begin(), v->end()), v->end());
}

}  // namespace

int RollupClassesOf(const EventRecord& r, uint8_t out[2]) {
  int n = 0;
  out[n++] = schema::IsReject(r) ? 1 : 0;
  if (r.flags() & schema::kFlagObserved) {
    switch (schema::ObservedActionOf(r)) {
      case ObservedAction::kAccept: out[n++] = 2; break;
      case ObservedAction::kReject: out[n++] = 3; break;
      default: break;
    }
  }
  return n;
}

bool BuildRollups(std::span<const EventRecord> records, uint64_t generation, RollupValues* out) {
  std::map<std::pair<uint32_t, uint8_t>, GroupTotals> groups;  // (namespace id, class)
  for (const EventRecord& r : records) {
    uint8_t classes[2];
    const int n = RollupClassesOf(r, classes);
    for (int i = 0; i < n; ++i) {
      GroupTotals& g = groups[{r.namespace_id(), classes[i]}];
      if (!AddTo(&g.flows, r.value())) return false;
      g.sources.push_back(r.source_id());
      g.destinations.push_back(r.destination_id());
      auto& pair = g.pairs[{r.source_id(), r.destination_id()}];
      if (!AddTo(&pair.first, r.value())) return false;
      if (schema::HasPort(r)) {
        pair.second = true;
        if (!AddTo(&g.ports[r.destination_port()], r.value())) return false;
        g.port_sources.push_back(r.source_id());
        g.port_destinations.push_back(r.destination_id());
      }
    }
  }
  flatbuffers::FlatBufferBuilder summary(4096), pairs(4096);
  std::vector<flatbuffers::Offset<fb::RollupGroup>> summary_groups;
  std::vector<flatbuffers::Offset<fb::PairGroup>> pair_groups;
  for (auto& [key, g] : groups) {
    for (auto* v : {&g.sources, &g.destinations, &g.port_sources, &g.port_destinations}) SortUnique(v);
    std::vector<fb::PortSum> ports;
    for (const auto& [port, sum] : g.ports) ports.emplace_back(port, sum);
    const bool same_sources = g.port_sources == g.sources, same_destinations = g.port_destinations == g.destinations;
    summary_groups.push_back(fb::CreateRollupGroup(
        summary, key.first, key.second, g.flows, summary.CreateVectorOfStructs(ports),
        summary.CreateVector(g.sources), summary.CreateVector(g.destinations),
        same_sources ? 0 : summary.CreateVector(g.port_sources),
        same_destinations ? 0 : summary.CreateVector(g.port_destinations)));
    std::vector<fb::PairSum> sums;
    sums.reserve(g.pairs.size());
    for (const auto& [p, s] : g.pairs) sums.emplace_back(p.first, p.second, s.first, s.second ? 1 : 0);
    pair_groups.push_back(fb::CreatePairGroup(pairs, key.first, key.second, pairs.CreateVectorOfStructs(sums)));
  }
  summary.Finish(fb::CreateRollupSummary(summary, generation, summary.CreateVector(summary_groups)));
  pairs.Finish(fb::CreateRollupPairs(pairs, generation, pairs.CreateVector(pair_groups)));
  out->summary.assign(reinterpret_cast<const char*>(summary.GetBufferPointer()), summary.GetSize());
  out->pairs.assign(reinterpret_cast<const char*>(pairs.GetBufferPointer()), pairs.GetSize());
  return true;
}

}  // namespace flowstat::storage
