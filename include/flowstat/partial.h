// flowstat/partial.h — a store's share of an answer, mergeable with other stores' shares.
//
// When events are split across stores (by a hash of their content, doc/scale-out.md), each store
// computes a Partial of a query (Store::QueryPartial): what its events contribute before any
// ranking or limit — per-bucket sums, per-bucket port sets, whole group sums, the contributing ID
// sets. MergePartials adds them up exactly; FinishPartial turns the result into the
// FlowStatisticsList that one store holding every event would have answered. EncodePartial and
// DecodePartial carry a Partial between processes (doc/partial-format.md).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "flowstat/query.h"
#include "flowstat/status.h"

namespace flowstat {

// One mode's share. Which members are used depends on the query's type and metric; every list is
// sorted by its key, each key once.
struct PartialMode {
  Mode mode = Mode::kAccepted;
  std::vector<Count> serie;                                              // Serie Flows: per bucket
  std::vector<std::pair<uint64_t, std::vector<uint16_t>>> bucket_ports;  // Serie Ports: bucket -> ports
  struct PairSum {
    std::string source_id, destination_id;
    Count sum = 0;
  };
  std::vector<PairSum> pairs;                         // Repartition Flows
  std::vector<std::pair<uint16_t, Count>> port_sums;  // Repartition Ports
  std::vector<std::string> source_ids, destination_ids;
};

struct Partial {
  Query query;                     // validated; its window resolved to absolute bounds, so every store agrees
  Window window;                   // the resolved window
  std::vector<PartialMode> modes;  // the modes the query reports, Accepted first
};

// The sum of `parts`, which must answer the same query (InvalidArgument otherwise, naming the
// first difference). An empty list is InvalidArgument.
Result<Partial> MergePartials(const std::vector<Partial>& parts);

// The FlowStatisticsList of the query over the events the partial stands for: ranked, limited,
// with the statistics' IDs — byte for byte what Store::Query answers on one store.
std::vector<FlowStatistic> FinishPartial(const Partial& partial);

// The wire format of doc/partial-format.md (FlatBuffers, versioned).
std::string EncodePartial(const Partial& partial);
// Incompatible for bytes of another version or not a partial; Corruption for a damaged one.
Result<Partial> DecodePartial(std::string_view bytes);

}  // namespace flowstat
