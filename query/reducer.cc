#include "query/reducer.h"

#include <xxhash.h>

#include <algorithm>
#include <numeric>

#include "storage/format.h"
#include "storage/keys.h"

namespace flowstat::query {

namespace {

void Mark(const flatbuffers::Vector<uint32_t>* ids, IdSet* seen) {
  if (ids) seen->InsertAll(ids->begin(), ids->end());
}

// The IDs of some pair sums (source id << 32 | destination id), ranked in the order of their
// strings (equal strings, equal ranks). Few IDs make many pairs, so an ID's rank is found by hash.
class IdRanks {
 public:
  template <typename Iterator>
  IdRanks(Iterator begin, Iterator end, const storage::Dictionary::Reader& d) {
    for (auto it = begin; it != end; ++it) {
      for (const auto id : {static_cast<uint32_t>(it->first >> 32), static_cast<uint32_t>(it->first)}) {
        if (Find(id) == 0) {
          ids_.push_back(id);
          index_.Insert(Hash(id), static_cast<uint32_t>(ids_.size()));
        }
      }
    }
    // A rollup naming a non-ID entry (only damage can) shows as "" rather than being dereferenced.
    std::vector<std::string_view> texts;
    texts.reserve(ids_.size());
    for (uint32_t id : ids_) texts.push_back(d.Payload(id, schema::EntryKind::kEntityId).value_or(std::string_view()));
    std::vector<uint32_t> order(ids_.size());
    std::iota(order.begin(), order.end(), 0);
    std::sort(order.begin(), order.end(), [&](uint32_t a, uint32_t b) { return texts[a] < texts[b]; });
    ranks_.resize(ids_.size());
    for (size_t k = 0; k < order.size(); ++k) {
      if (k == 0 || texts[order[k]] != texts[order[k - 1]]) texts_by_rank_.push_back(texts[order[k]]);
      ranks_[order[k]] = static_cast<uint32_t>(texts_by_rank_.size() - 1);
    }
  }
  // REQUIRES: `id` is one of the pairs'.
  uint32_t Rank(uint32_t id) const { return ranks_[Find(id) - 1]; }
  std::string_view Text(uint32_t rank) const { return texts_by_rank_[rank]; }

 private:
  static uint64_t Hash(uint32_t id) { return (uint64_t{id} + 1) * 0x9E3779B97F4A7C15ULL; }
  uint32_t Find(uint32_t id) const {
    return index_.Find(Hash(id), [&](uint32_t ref) { return ids_[ref - 1] == id; });
  }
  util::HashIndex index_;  // id -> its place in ids_, + 1
  std::vector<uint32_t> ids_, ranks_;
  std::vector<std::string_view> texts_by_rank_;
};

}  // namespace

void Reducer::AddIds(const Plan& plan, const fb::RollupIds& ids) {
  if (!ids.groups() || plan.id_filtered()) return;  // filtered: the matching pairs name them
  const bool ports = q_.metric == Metric::kPorts;
  for (const fb::IdGroup* g : *ids.groups()) {
    const int mode = plan.ModeOfRollupClass(g->class_());
    if (mode < 0 || !plan.NamespaceAllowed(g->namespace_id())) continue;
    ModeTotals& t = totals_[mode];
    Mark(ports && g->port_sources() ? g->port_sources() : g->sources(), &t.sources);
    Mark(ports && g->port_destinations() ? g->port_destinations() : g->destinations(), &t.destinations);
  }
}

void Reducer::AddRollup(const Plan& plan, int64_t start_ms, const storage::EventStore::ReadView::RollupParts& parts) {
  const uint64_t bucket = static_cast<uint64_t>((start_ms - first_bucket_) / q_.average_interval_ms);
  if (plan.id_filtered()) return AddMatchingPairs(plan, bucket, parts.pairs);
  if (parts.ids) AddIds(plan, *parts.ids);
  const bool ports = q_.metric == Metric::kPorts;
  if (parts.summary->groups()) {
    for (const fb::RollupGroup* g : *parts.summary->groups()) {
      const int mode = plan.ModeOfRollupClass(g->class_());
      if (mode < 0 || !plan.NamespaceAllowed(g->namespace_id())) continue;
      ModeTotals& t = totals_[mode];
      if (q_.type == StatisticType::kSerie && !ports) t.serie[bucket] += g->flows();
      if (g->ports() && ports) AddPorts(*g->ports(), bucket, &t);
    }
  }
  if (q_.type != StatisticType::kRepartition || ports || !parts.pairs || !parts.pairs->groups()) return;
  for (const fb::PairGroup* g : *parts.pairs->groups()) {
    const int mode = plan.ModeOfRollupClass(g->class_());
    if (mode < 0 || !plan.NamespaceAllowed(g->namespace_id()) || !g->pairs()) continue;
    ModeTotals& t = totals_[mode];
    t.pairs.AddRun(*g->pairs());
  }
}

void Reducer::AddPorts(const flatbuffers::Vector<const fb::PortSum*>& list, uint64_t bucket, ModeTotals* t) {
  // A loop per case, the sets reached once per group: the ports of a day of 32M events (tens of
  // thousands per namespace) are most of what a Ports query over it does.
  if (q_.type == StatisticType::kRepartition) {
    t->port_sums.AddAll(list.begin(), list.end());
    return;
  }
  if (IdSet* set = t->bucket_ports.BitmapOf(bucket)) {
    for (const fb::PortSum* p : list) set->Insert(p->port());
    return;
  }
  for (const fb::PortSum* p : list) t->bucket_ports.Add(bucket, p->port());
}

void Reducer::AddMatchingPairs(const Plan& plan, uint64_t bucket, const fb::RollupPairs* pairs) {
  if (!pairs || !pairs->groups()) return;
  for (const fb::PairGroup* g : *pairs->groups()) {
    const int mode = plan.ModeOfRollupClass(g->class_());
    if (mode < 0 || !plan.NamespaceAllowed(g->namespace_id()) || !g->pairs()) continue;
    ModeTotals& t = totals_[mode];
    for (const fb::PairSum* p : *g->pairs()) {
      if (!plan.PairMatches(p->source_id(), p->destination_id())) continue;
      t.sources.Insert(p->source_id());
      t.destinations.Insert(p->destination_id());
      if (q_.type == StatisticType::kSerie)
        t.serie[bucket] += p->sum();
      else
        t.pairs.Add(p->source_id(), p->destination_id(), p->sum());
    }
  }
}

bool Reducer::AddMinutes(const Plan& plan, int64_t start_ms, const fb::RollupMinutes& minutes) {
  if (!minutes.groups()) return true;
  // The groups this query adds, checked whole before anything is added; the others (classes and
  // namespaces it does not ask for: most of a rollup) are not read.
  auto used = [&](const fb::MinuteGroup* g) {
    return plan.ModeOfRollupClass(g->class_()) >= 0 && plan.NamespaceAllowed(g->namespace_id());
  };
  for (const fb::MinuteGroup* g : *minutes.groups()) {
    if (!used(g)) continue;
    const auto* flows = g->flows();
    const auto* ends = g->port_ends();
    if (!flows || !ends || flows->size() != storage::kMinutesPerHour || ends->size() != storage::kMinutesPerHour)
      return false;
    const uint32_t listed = g->ports() ? g->ports()->size() : 0;
    for (uint32_t m = 0, begin = 0; m < ends->size(); begin = ends->Get(m++)) {
      if (ends->Get(m) < begin || ends->Get(m) > listed) return false;
    }
  }
  const bool ports = q_.metric == Metric::kPorts;
  // Minute 0's bucket and its place in it; later minutes step along (buckets are whole minutes).
  const int64_t minutes_per_bucket = q_.average_interval_ms / storage::kMinuteMs;
  const auto first = static_cast<uint64_t>((start_ms - first_bucket_) / q_.average_interval_ms);
  const int64_t first_offset = (start_ms - first_bucket_) % q_.average_interval_ms / storage::kMinuteMs;
  for (const fb::MinuteGroup* g : *minutes.groups()) {
    if (!used(g)) continue;
    ModeTotals& t = totals_[plan.ModeOfRollupClass(g->class_())];
    // Read once: the adds below write memory the compiler cannot tell apart from the rollup's.
    const auto& flows = *g->flows();
    const auto& ends = *g->port_ends();
    const auto* listed = g->ports();
    uint64_t bucket = first;
    int64_t offset = first_offset;
    uint32_t begin = 0;
    for (uint32_t m = 0; m < storage::kMinutesPerHour; ++m) {
      const uint32_t end = ends.Get(m);
      if (!ports) {
        t.serie[bucket] += flows.Get(m);
      } else if (end > begin) {
        t.bucket_ports.AddAscending(bucket, listed->begin() + begin, listed->begin() + end);
      }
      begin = end;
      if (++offset == minutes_per_bucket) offset = 0, ++bucket;
    }
  }
  return true;
}

// The first 8 bytes of `s`, big-endian, zero-padded: ordering by it, then by the whole string,
// is the strings' byte order, with most comparisons settled by one integer compare.
uint64_t OrderPrefix(std::string_view s) {
  uint64_t prefix = 0;
  for (size_t i = 0; i < 8; ++i) prefix = prefix << 8 | (i < s.size() ? static_cast<uint8_t>(s[i]) : 0);
  return prefix;
}

namespace {

// The IDs of `seen`, sorted.
std::vector<std::string> IdStrings(const IdSet& seen, const storage::Dictionary::Reader& d) {
  std::vector<uint32_t> ids_seen;
  seen.ForEach([&](uint32_t id) { ids_seen.push_back(id); });
  std::vector<std::optional<std::string_view>> payloads;
  d.Payloads(ids_seen, schema::EntryKind::kEntityId, &payloads);
  std::vector<std::pair<uint64_t, std::string_view>> keyed;
  keyed.reserve(payloads.size());
  for (const auto& s : payloads) {
    if (s) keyed.emplace_back(OrderPrefix(*s), *s);  // else not an ID entry (only a damaged rollup could list it)
  }
  std::sort(keyed.begin(), keyed.end());
  std::vector<std::string> ids;
  ids.reserve(keyed.size());
  for (const auto& [prefix, s] : keyed) ids.emplace_back(s);
  return ids;
}

}  // namespace

void Reducer::FillSerie(ModeTotals& t, FlowStatistic* out) const {
  out->data_points.resize(buckets_);
  for (uint64_t i = 0; i < buckets_; ++i) {
    out->data_points[i].timestamp_ms = first_bucket_ + static_cast<int64_t>(i) * q_.average_interval_ms;
  }
  if (q_.metric == Metric::kFlows) {
    for (uint64_t i = 0; i < buckets_; ++i) out->data_points[i].value = t.serie[i];
    return;
  }
  t.bucket_ports.ForEachBucket([&](uint64_t bucket, uint64_t ports) { out->data_points[bucket].value = ports; });
}

void Reducer::FillRepartition(ModeTotals& t, const storage::Dictionary::Reader& d, FlowStatistic* out) const {
  // RanksBefore's order, with each ID string stood for by its rank among the IDs (ties on value,
  // most of an unlimited Repartition's pairs, then compare integers instead of strings).
  struct Entry {
    Count value;
    uint32_t source_rank, destination_rank;  // Flows: IdRanks
    uint32_t port;                           // Ports
  };
  auto before = [](const Entry& a, const Entry& b) {
    if (a.value != b.value) return a.value > b.value;
    if (a.source_rank != b.source_rank) return a.source_rank < b.source_rank;
    if (a.destination_rank != b.destination_rank) return a.destination_rank < b.destination_rank;
    return a.port < b.port;
  };
  std::vector<Entry> entries;
  std::optional<IdRanks> ranks;
  const std::optional<size_t> limit =
      q_.limit ? std::optional<size_t>(static_cast<size_t>(std::min<uint64_t>(*q_.limit, SIZE_MAX))) : std::nullopt;
  if (q_.metric == Metric::kFlows) {
    // With a limit, rank on values alone first: only the pairs above the limit's value and those
    // tied with it need their ID strings (ties are ordered by them).
    auto& sums = t.pairs.Sums();
    auto end = sums.end();
    if (limit && *limit < sums.size()) {
      end = sums.begin();
      if (*limit > 0) {
        const auto nth = sums.begin() + static_cast<std::ptrdiff_t>(*limit);
        std::nth_element(sums.begin(), nth - 1, sums.end(),
                         [](const auto& a, const auto& b) { return a.second > b.second; });
        const Count last_kept = (nth - 1)->second;
        end = std::partition(nth, sums.end(), [&](const auto& e) { return e.second == last_kept; });
      }
    }
    entries.reserve(static_cast<size_t>(end - sums.begin()));
    ranks.emplace(sums.begin(), end, d);
    for (auto it = sums.begin(); it != end; ++it) {
      entries.push_back({it->second, ranks->Rank(static_cast<uint32_t>(it->first >> 32)),
                         ranks->Rank(static_cast<uint32_t>(it->first)), 0});
    }
  } else if (limit) {
    // Ports come in increasing order, so a port tied with a kept one loses to it: a heap of the
    // best `limit` (top: the worst kept, whose sum is then the floor to pass) is exact.
    Count floor = *limit == 0 ? ~Count{0} : 0;
    t.port_sums.ForEachAbove(&floor, [&](uint32_t port, Count value) {
      if (entries.size() == *limit) {
        std::pop_heap(entries.begin(), entries.end(), before);
        entries.pop_back();
      }
      entries.push_back({value, 0, 0, port});
      std::push_heap(entries.begin(), entries.end(), before);
      if (entries.size() == *limit) floor = entries.front().value;
    });
  } else {
    t.port_sums.ForEachNonZero([&](uint32_t port, Count value) { entries.push_back({value, 0, 0, port}); });
  }
  std::sort(entries.begin(), entries.end(), before);
  const size_t keep = limit ? std::min(entries.size(), *limit) : entries.size();
  out->data_points.resize(keep);
  for (size_t i = 0; i < keep; ++i) {
    DataPoint& p = out->data_points[i];
    p.value = entries[i].value;
    if (ranks) {
      p.source_id = ranks->Text(entries[i].source_rank);
      p.destination_id = ranks->Text(entries[i].destination_rank);
    }
    p.port = entries[i].port;
  }
}

std::pair<int64_t, uint64_t> BucketGrid(const Query& q, const Window& w) {
  const int64_t step = q.average_interval_ms;
  const int64_t first = FloorDiv(w.start_ms, step) * step;
  return {first, static_cast<uint64_t>((FloorDiv(w.end_ms - 1, step) * step - first) / step + 1)};
}

std::string StatisticId(const Query& q, int64_t first_bucket, uint64_t buckets, Mode mode) {
  std::string canon = q.namespace_ + '\0' + (q.recursive ? "r" : "n") + '\0' + std::to_string(first_bucket) + '\0' +
                      std::to_string(buckets) + '\0' + std::to_string(q.average_interval_ms) + '\0' +
                      std::to_string(static_cast<int>(q.metric)) + std::to_string(static_cast<int>(q.type)) +
                      std::to_string(static_cast<int>(mode)) + std::to_string(static_cast<int>(q.flow_mode)) + '\0' +
                      q.user_identifier + '\0' + (q.limit ? std::to_string(*q.limit) : "-");
  for (const auto* list : {&q.source_tags, &q.destination_tags, &q.source_ids, &q.destination_ids}) {
    canon += '\1';
    for (const auto& s : *list) canon += s + '\0';
  }
  char hex[17];
  std::snprintf(hex, sizeof hex, "%016llx", static_cast<unsigned long long>(XXH64(canon.data(), canon.size(), 0)));
  return hex;
}

void Reducer::PrefetchIds(const storage::Dictionary::Reader& d) const {
  // A few of each list first: in a process that answered before (a server, `--batch`), they are
  // mostly read already, and listing and sorting thousands of IDs would cost a tenth of a query.
  constexpr size_t kSampled = 16;
  std::vector<uint32_t> ids;
  for (const ModeTotals& t : totals_) {
    for (const IdSet* seen : {&t.sources, &t.destinations}) {
      size_t taken = 0;
      seen->ForEachWhile([&](uint32_t id) {
        ids.push_back(id);
        return ++taken < kSampled;
      });
    }
  }
  if (ids.empty() || 2 * d.Unread(ids) < ids.size()) return;
  ids.clear();
  for (const ModeTotals& t : totals_) {
    for (const IdSet* seen : {&t.sources, &t.destinations}) seen->ForEach([&](uint32_t id) { ids.push_back(id); });
  }
  std::sort(ids.begin(), ids.end());
  ids.erase(std::unique(ids.begin(), ids.end()), ids.end());
  d.Prefetch(schema::EntryKind::kEntityId, ids);
}

std::vector<PartialMode> Reducer::ToPartial(const storage::Dictionary::Reader& d) {
  PrefetchIds(d);
  std::vector<PartialMode> out;
  auto id = [&](uint64_t i) {
    return std::string(d.Payload(static_cast<uint32_t>(i), schema::EntryKind::kEntityId).value_or(std::string_view()));
  };
  for (Mode mode : {Mode::kAccepted, Mode::kRejected}) {
    if (mode == Mode::kAccepted && q_.action == ActionFilter::kReject) continue;
    if (mode == Mode::kRejected && q_.action == ActionFilter::kAccept) continue;
    ModeTotals& t = totals_[mode == Mode::kAccepted ? 0 : 1];
    PartialMode p;
    p.mode = mode;
    if (q_.type == StatisticType::kSerie && q_.metric == Metric::kFlows) p.serie = t.serie;
    if (q_.type == StatisticType::kSerie && q_.metric == Metric::kPorts) {
      t.bucket_ports.ForEachBucketPorts(
          [&](uint64_t bucket, const std::vector<uint16_t>& ports) { p.bucket_ports.emplace_back(bucket, ports); });
    }
    if (q_.type == StatisticType::kRepartition && q_.metric == Metric::kFlows) {
      for (const auto& [key, sum] : t.pairs.Sums()) p.pairs.push_back({id(key >> 32), id(key & 0xffffffff), sum});
      std::sort(p.pairs.begin(), p.pairs.end(), [](const auto& a, const auto& b) {
        return std::tie(a.source_id, a.destination_id) < std::tie(b.source_id, b.destination_id);
      });
    }
    if (q_.type == StatisticType::kRepartition && q_.metric == Metric::kPorts) {
      t.port_sums.ForEachNonZero(
          [&](uint32_t port, Count value) { p.port_sums.emplace_back(static_cast<uint16_t>(port), value); });
    }
    p.source_ids = IdStrings(t.sources, d);
    p.destination_ids = IdStrings(t.destinations, d);
    out.push_back(std::move(p));
  }
  return out;
}

std::vector<FlowStatistic> Reducer::Finish(const storage::Dictionary::Reader& d) {
  PrefetchIds(d);
  std::vector<FlowStatistic> out;
  for (Mode mode : {Mode::kAccepted, Mode::kRejected}) {
    if (mode == Mode::kAccepted && q_.action == ActionFilter::kReject) continue;
    if (mode == Mode::kRejected && q_.action == ActionFilter::kAccept) continue;
    ModeTotals& t = totals_[mode == Mode::kAccepted ? 0 : 1];
    FlowStatistic s;
    s.id = StatisticId(q_, first_bucket_, buckets_, mode);
    s.type = q_.type;
    s.metric = q_.metric;
    s.mode = mode;
    if (q_.type == StatisticType::kSerie)
      FillSerie(t, &s);
    else
      FillRepartition(t, d, &s);
    s.source_ids = IdStrings(t.sources, d);
    s.destination_ids = IdStrings(t.destinations, d);
    s.source_tags = q_.source_tags;
    s.destination_tags = q_.destination_tags;
    s.user_identifier = q_.user_identifier;
    out.push_back(std::move(s));
  }
  return out;
}

}  // namespace flowstat::query
