#include "query/plan.h"

#include <algorithm>
#include <cstring>
#include <set>

#include "storage/keys.h"

namespace flowstat::query {
namespace {

using schema::EntryKind;
using DaySet = std::set<std::pair<uint32_t, uint64_t>>;  // (day, namespace hash)

// Resolves strings to ids; false if one is unknown (then nothing can match all of them).
bool ResolveAll(const storage::Dictionary::Reader& d, EntryKind kind, const std::vector<std::string>& items,
                std::vector<uint32_t>* ids) {
  for (const auto& item : items) {
    uint32_t id = d.Find(kind, item);
    if (id == 0) return false;
    ids->push_back(id);
  }
  return true;
}

}  // namespace

Result<Plan> Plan::Make(const storage::EventStore& store, const storage::EventStore::ReadView& view, const Query& q) {
  auto window = ResolveWindow(q);
  if (!window.ok()) return window.status();
  Plan p;
  const auto& d = view.dictionary();
  p.dict_ = &d;
  p.window_ = *window;
  p.flow_mode_ = q.flow_mode;
  p.action_ = q.action;
  p.ports_only_ = q.metric == Metric::kPorts;
  p.id_filtered_ = !q.source_ids.empty() || !q.destination_ids.empty();
  // Pair rollups hold every pair of their hour or day. They are worth reading instead of chunks
  // for destination IDs; a source ID already narrows the raw scan to its shard of the chunks (and
  // to the days it occurs), which reads less. A Serie needs buckets of whole hours from them
  // (minute rollups hold no IDs).
  const bool pairs_answer = q.metric == Metric::kFlows && q.source_ids.empty() &&
                            (q.type == StatisticType::kRepartition || q.average_interval_ms % storage::kChunkMs == 0);
  p.rollups_usable_ = q.source_tags.empty() && q.destination_tags.empty() && (!p.id_filtered_ || pairs_answer);
  // Vectors by dictionary id, sized by what they index (namespaces, tag lists): sized by the
  // whole dictionary, they cost every query a pass over memory growing with the store.
  p.id_limit_ = uint64_t{d.size()} + 1;
  p.namespace_allowed_.assign(d.NamespaceIds().empty() ? 0 : d.NamespaceIds().back() + 1, 0);
  for (uint32_t id : d.NamespaceIds()) {
    const std::string_view ns = d.Entry(id).substr(1);
    if (q.recursive ? NamespaceCovers(q.namespace_, ns) : ns == q.namespace_) p.namespace_allowed_[id] = 1;
  }
  if (!q.source_ids.empty()) {
    for (const auto& id : q.source_ids) {
      if (uint32_t v = d.Find(EntryKind::kEntityId, id)) p.source_ids_.push_back(v);
    }
    std::sort(p.source_ids_.begin(), p.source_ids_.end());
    p.source_ids_.erase(std::unique(p.source_ids_.begin(), p.source_ids_.end()), p.source_ids_.end());
    p.impossible_ |= p.source_ids_.empty();
  }
  if (!q.destination_ids.empty()) {
    p.destination_allowed_.assign(d.size() + 1, 0);
    bool any = false;
    for (const auto& id : q.destination_ids) {
      if (uint32_t v = d.Find(EntryKind::kEntityId, id)) p.destination_allowed_[v] = 1, any = true;
    }
    p.impossible_ |= !any;
  }
  p.impossible_ |= !ResolveAll(d, EntryKind::kTag, q.source_tags, &p.source_tag_ids_);
  p.impossible_ |= !ResolveAll(d, EntryKind::kTag, q.destination_tags, &p.destination_tag_ids_);
  for (int shard = 0; shard < storage::kSourceShards && q.source_ids.empty(); ++shard) {
    p.shards_.push_back(static_cast<uint8_t>(shard));
  }
  for (const auto& id : q.source_ids) p.shards_.push_back(storage::SourceShard(storage::HashString(id)));
  std::sort(p.shards_.begin(), p.shards_.end());
  p.shards_.erase(std::unique(p.shards_.begin(), p.shards_.end()), p.shards_.end());
  if (!q.source_tags.empty()) p.source_memo_.assign(d.size() + 1, -1);
  if (!q.destination_tags.empty()) p.destination_memo_.assign(d.size() + 1, -1);
  if (p.impossible_) return p;
  Status s = p.PlanCandidates(store, view, q);
  if (!s.ok()) return s;
  return p;
}

Status Plan::PlanCandidates(const storage::EventStore& store, const storage::EventStore::ReadView& view,
                            const Query& q) {
  std::set<uint64_t> namespaces;
  for (uint32_t id : view.dictionary().NamespaceIds()) {
    if (!namespace_allowed_[id]) continue;
    const std::string_view ns = view.dictionary().Entry(id).substr(1);
    const uint64_t hash = store.NamespaceHash(ns);
    namespaces.insert(hash);
    if (const int64_t horizon = store.RawHorizon(ns)) {
      uint32_t& hour = raw_horizon_hour_[hash];
      hour = std::max(hour, storage::HourOf(horizon));
    }
  }
  const uint32_t day_lo = storage::DayOf(window_.start_ms < 0 ? 0 : window_.start_ms);
  const uint32_t day_hi = storage::DayOf(std::clamp<int64_t>(window_.end_ms - 1, 0, kMaxTimestampMs));
  if (window_.end_ms <= 0 || window_.start_ms > kMaxTimestampMs) return Status::Ok();
  // Each selective parameter narrows the (day, namespace) pairs to those where it occurs.
  std::optional<DaySet> narrowed;
  auto lookup = [&](uint8_t kind, const std::string& item, DaySet* into) -> Status {
    std::vector<std::pair<uint32_t, uint64_t>> found;
    Status s = view.Presence(kind, storage::HashString(item), day_lo, day_hi, &found);
    into->insert(found.begin(), found.end());
    return s;
  };
  auto intersect = [&](DaySet set) {
    if (!narrowed) return void(narrowed = std::move(set));
    DaySet both;
    std::set_intersection(narrowed->begin(), narrowed->end(), set.begin(), set.end(), std::inserter(both, both.end()));
    narrowed = std::move(both);
  };
  for (auto [kind, ids] : {std::pair{storage::kPresenceSourceId, &q.source_ids},
                           std::pair{storage::kPresenceDestinationId, &q.destination_ids}}) {
    if (ids->empty()) continue;
    DaySet any_of;
    for (const auto& id : *ids) {
      Status s = lookup(kind, id, &any_of);
      if (!s.ok()) return s;
    }
    intersect(std::move(any_of));
  }
  for (auto [kind, tags] : {std::pair{storage::kPresenceSourceTag, &q.source_tags},
                            std::pair{storage::kPresenceDestinationTag, &q.destination_tags}}) {
    for (const auto& tag : *tags) {
      DaySet where;
      Status s = lookup(kind, tag, &where);
      if (!s.ok()) return s;
      intersect(std::move(where));
    }
  }
  if (narrowed) {
    for (auto [day, ns] : *narrowed) {
      if (namespaces.count(ns)) candidates_[ns].push_back(day);
    }
  } else {
    for (uint64_t ns : namespaces) {
      auto& days = candidates_[ns];
      for (uint32_t day = day_lo; day <= day_hi; ++day) days.push_back(day);
    }
  }
  return Status::Ok();
}

bool Plan::LearnTags(uint32_t list_id, const std::vector<uint32_t>& wanted, std::vector<int8_t>* memo) const {
  auto list = dict_->Payload(list_id, EntryKind::kTagList);
  std::vector<uint32_t> have;
  if (list) {
    have.resize(list->size() / 4);
    std::memcpy(have.data(), list->data(), have.size() * 4);
  }
  int8_t& known = (*memo)[list_id];
  known = 1;
  for (uint32_t tag : wanted) {
    if (std::find(have.begin(), have.end(), tag) == have.end()) known = 0;
  }
  return known == 1;
}

int Plan::ModeOfRollupClass(uint8_t rollup_class) const {
  const bool observed = rollup_class >= 2;
  if (observed && flow_mode_ == FlowMode::kApplied) return -1;
  if (!observed && flow_mode_ == FlowMode::kObserved) return -1;
  const int mode = rollup_class % 2;  // 0 Accept -> Accepted, 1 Reject -> Rejected
  if (mode == 0 && action_ == ActionFilter::kReject) return -1;
  if (mode == 1 && action_ == ActionFilter::kAccept) return -1;
  return mode;
}

}  // namespace flowstat::query
