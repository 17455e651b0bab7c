// Sorting a range that is a few ascending runs by merging them, which beats a sort that ignores
// them: the rollup builders' lists (an hour's chunks per shard, a day's hours) and a Serie's port
// pairs (one run per rollup read).
#pragma once

#include <algorithm>
#include <cstddef>
#include <functional>
#include <utility>
#include <vector>

namespace flowstat::util {

// Sorts the range whose ascending runs start at `bounds` (the first run's start, each next run's
// start, then the range's end) by merging neighbouring runs two by two: log2(runs) passes.
template <typename It, typename Less = std::less<>>
void MergeRuns(std::vector<It> bounds, Less less = {}) {
  while (bounds.size() > 2) {
    std::vector<It> merged{bounds.front()};
    for (size_t i = 0; i + 2 < bounds.size(); i += 2) {  // runs i and i + 1 become one
      std::inplace_merge(bounds[i], bounds[i + 1], bounds[i + 2], less);
      merged.push_back(bounds[i + 2]);
    }
    if (bounds.size() % 2 == 0) merged.push_back(bounds.back());  // an odd run out, as it is
    bounds = std::move(merged);
  }
}

}  // namespace flowstat::util
