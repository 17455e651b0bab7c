// A brute-force reference model of doc/queries.md, written independently of query/: it keeps the raw
// events in a vector and answers a query by looking at every one of them, with strings.
#pragma once

#include <vector>

#include "flowstat/event.h"
#include "flowstat/query.h"

namespace flowstat::testing {

class Model {
 public:
  // Adds events; an event equal to one already held is ignored (doc/input.md, identity).
  void Add(const FlowEvent& e);
  const std::vector<FlowEvent>& events() const { return events_; }

  // The expected FlowStatisticsList (IDs left empty). REQUIRES: a valid query.
  std::vector<FlowStatistic> Answer(const Query& q) const;

 private:
  std::vector<FlowEvent> events_;
  std::vector<std::string> keys_;  // canonical JSON of each event, sorted, for identity
};

}  // namespace flowstat::testing
