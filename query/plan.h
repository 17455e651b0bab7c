// Planning a query: the exact filters (as dictionary ids) and the chunks worth reading.
#pragma once

#include <algorithm>
#include <cstdint>
#include <map>
#include <vector>

#include "flowstat/query.h"
#include "storage/event_store.h"

namespace flowstat::query {

using schema::EventRecord;

// How many times an event counts toward each mode (flowMode=all may count an event twice).
struct Contribution {
  uint8_t accepted = 0;
  uint8_t rejected = 0;
};

class Plan {
 public:
  // Resolves `q` against the dictionary and presence keys of `view`.
  static Result<Plan> Make(const storage::EventStore& store, const storage::EventStore::ReadView& view, const Query& q);

  const Window& window() const { return window_; }
  // Namespace hash -> days (sorted) whose chunks may hold matching events.
  const std::map<uint64_t, std::vector<uint32_t>>& candidates() const { return candidates_; }
  // The source shards that can hold matching events: all, or those of the wanted sources.
  const std::vector<uint8_t>& shards() const { return shards_; }

  // The records of a chunk that can match: all, or the runs of the wanted sources.
  template <typename Fn>
  void ForEachCandidate(const schema::ChunkRecords& records, QueryStats* stats, Fn&& fn);

  // The contribution of a record to each mode, after every filter; zero when it does not match.
  // Inline (below): called per scanned record.
  inline Contribution Match(const EventRecord& r);

  // The first hour of namespace hash `ns` whose raw events are kept (0: all are): expiry with
  // kept rollups removed those before it.
  uint32_t RawHorizonHour(uint64_t ns) const {
    auto it = raw_horizon_hour_.find(ns);
    return it == raw_horizon_hour_.end() ? 0 : it->second;
  }

  // Rollups (storage/rollup.h) may stand for raw events: without tag filters, and with ID filters
  // only for metric Flows, whose pair sums carry both IDs (PairMatches) — used for destination IDs
  // alone, buckets of whole hours (Plan::Make says why).
  bool rollups_usable() const { return rollups_usable_; }
  // The query names source or destination IDs: rollups answer it from their pair sums alone.
  bool id_filtered() const { return id_filtered_; }
  // Whether events of (source, destination) pass the ID filters (dictionary ids).
  bool PairMatches(uint32_t source_id, uint32_t destination_id) const {
    if (impossible_) return false;
    if (!source_ids_.empty() && !std::binary_search(source_ids_.begin(), source_ids_.end(), source_id)) return false;
    return destination_allowed_.empty() ||
           (destination_id < destination_allowed_.size() && destination_allowed_[destination_id]);
  }
  bool NamespaceAllowed(uint32_t id) const { return id < namespace_allowed_.size() && namespace_allowed_[id]; }
  // The mode (0 Accepted, 1 Rejected) a rollup class counts toward, or -1 when it does not.
  int ModeOfRollupClass(uint8_t rollup_class) const;

  // Corruption if a record seen by Match referenced an id the dictionary does not have.
  Status status() const {
    return corrupt_ ? Status::Corruption("a stored event references an unknown dictionary id") : Status::Ok();
  }

 private:
  // Whether tag list `list_id` holds every `wanted` tag, from `memo` once known: the scan calls
  // this per record, so the known case is inline and the first look at a list is not.
  bool TagsMatch(uint32_t list_id, const std::vector<uint32_t>& wanted, std::vector<int8_t>* memo) const {
    if (wanted.empty()) return true;
    if (list_id == 0 || list_id >= memo->size()) return false;
    const int8_t known = (*memo)[list_id];
    return known >= 0 ? known == 1 : LearnTags(list_id, wanted, memo);
  }
  bool LearnTags(uint32_t list_id, const std::vector<uint32_t>& wanted, std::vector<int8_t>* memo) const;
  Status PlanCandidates(const storage::EventStore& store, const storage::EventStore::ReadView& view, const Query& q);

  const storage::Dictionary::Reader* dict_ = nullptr;
  Window window_;
  FlowMode flow_mode_ = FlowMode::kApplied;
  ActionFilter action_ = ActionFilter::kAny;
  bool ports_only_ = false;  // metric Ports: events without a destination port never match
  bool impossible_ = false;  // a wanted ID or tag is unknown to the store
  bool corrupt_ = false;
  bool rollups_usable_ = false;
  bool id_filtered_ = false;
  uint64_t id_limit_ = 0;                     // dictionary ids are below
  std::vector<uint8_t> namespace_allowed_;    // by dictionary id, up to the highest namespace's
  std::vector<uint32_t> source_ids_;          // sorted; empty: any
  std::vector<uint8_t> destination_allowed_;  // by dictionary id; empty: any
  std::vector<uint32_t> source_tag_ids_, destination_tag_ids_;
  std::vector<int8_t> source_memo_, destination_memo_;  // tag list id -> -1 unknown, 0/1; with tag filters
  std::map<uint64_t, std::vector<uint32_t>> candidates_;
  std::map<uint64_t, uint32_t> raw_horizon_hour_;
  std::vector<uint8_t> shards_;
};

// How far ahead of the record it reads a scan prefetches (1.8 KB): 8 and 16 measured slower on W2M's Q3.
inline constexpr size_t kPrefetchRecords = 32;

template <typename Fn>
void Plan::ForEachCandidate(const schema::ChunkRecords& records, QueryStats* stats, Fn&& fn) {
  if (impossible_) return;
  auto visit = [&](size_t first, size_t last) {
    if (stats) stats->events_examined += last - first;
    for (size_t i = first; i != last; ++i) {
      records.Prefetch(i + kPrefetchRecords);
      fn(records[i]);
    }
  };
  if (source_ids_.empty()) return visit(0, records.size());
  // Records are sorted by source_id first: the first record at or past `id`, by bisection.
  auto first_at_least = [&](uint32_t id, size_t lo) {
    for (size_t hi = records.size(); lo < hi;) {
      const size_t mid = lo + (hi - lo) / 2;
      if (records[mid].source_id() < id) {
        lo = mid + 1;
      } else {
        hi = mid;
      }
    }
    return lo;
  };
  for (uint32_t id : source_ids_) {
    const size_t lo = first_at_least(id, 0);
    visit(lo, id == UINT32_MAX ? records.size() : first_at_least(id + 1, lo));
  }
}

inline Contribution Plan::Match(const EventRecord& r) {
  Contribution c;
  if (r.source_id() >= id_limit_ || r.destination_id() >= id_limit_ || r.source_id() == 0 || r.destination_id() == 0) {
    corrupt_ = true;
    return c;
  }
  if (r.time_ms() < window_.start_ms || r.time_ms() >= window_.end_ms) return c;
  if (r.namespace_id() >= namespace_allowed_.size() || !namespace_allowed_[r.namespace_id()]) return c;
  if (!destination_allowed_.empty() &&
      (r.destination_id() >= destination_allowed_.size() || !destination_allowed_[r.destination_id()])) {
    return c;
  }
  if (ports_only_ && !schema::HasPort(r)) return c;
  if (!TagsMatch(r.source_tags(), source_tag_ids_, &source_memo_)) return c;
  if (!TagsMatch(r.destination_tags(), destination_tag_ids_, &destination_memo_)) return c;
  if (flow_mode_ != FlowMode::kObserved) (schema::IsReject(r) ? c.rejected : c.accepted)++;
  if (flow_mode_ != FlowMode::kApplied && (r.flags() & schema::kFlagObserved)) {
    switch (schema::ObservedActionOf(r)) {
      case ObservedAction::kAccept:
        c.accepted++;
        break;
      case ObservedAction::kReject:
        c.rejected++;
        break;
      default:
        break;
    }
  }
  if (action_ == ActionFilter::kAccept) c.rejected = 0;
  if (action_ == ActionFilter::kReject) c.accepted = 0;
  return c;
}

}  // namespace flowstat::query
