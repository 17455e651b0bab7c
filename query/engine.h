// Evaluating queries on a consistent view: scanning the planned chunks and reducing matching
// events into FlowStatistic objects (Serie / Repartition × Flows / Ports).
#pragma once

#include <functional>
#include <vector>

#include "flowstat/partial.h"
#include "flowstat/query.h"
#include "storage/event_store.h"

namespace flowstat::query {

// With `partial`, the answer is left unranked there (flowstat/partial.h) and the result is empty.
Result<std::vector<FlowStatistic>> Evaluate(const storage::EventStore& store, const storage::EventStore::ReadView& view,
                                            const Query& q, QueryStats* stats, Partial* partial = nullptr);

// The matching events of `q` in time order (ties in stored order), at most `limit` (0: all).
Status ScanEvents(const storage::EventStore& store, const storage::EventStore::ReadView& view, const Query& q,
                  uint64_t limit, const std::function<bool(const FlowEvent&)>& visit);

}  // namespace flowstat::query
