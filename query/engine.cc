#include "query/engine.h"

#include <algorithm>
#include <bit>
#include <atomic>
#include <optional>
#include <thread>
#include <xxhash.h>

#include "query/plan.h"
#include "util/hash_index.h"
#include "storage/format.h"
#include "storage/keys.h"

namespace flowstat::query {
namespace {

constexpr uint64_t kMaxBuckets = 2'000'000;

// A set of small integers (dictionary ids, ports), as a bitmap: adding is one store, listing
// skips empty words.
class IdSet {
 public:
  explicit IdSet(uint32_t size = 0) : words_(size / 64 + 1, 0) {}
  void Insert(uint32_t id) {
    if (id / 64 < words_.size()) words_[id / 64] |= uint64_t{1} << (id % 64);
  }
  // Calls fn(id) for each id in the set, in increasing order.
  template <typename Fn>
  void ForEach(Fn&& fn) const {
    for (size_t w = 0; w < words_.size(); ++w) {
      for (uint64_t bits = words_[w]; bits != 0; bits &= bits - 1) {
        fn(static_cast<uint32_t>(w * 64 + static_cast<size_t>(std::countr_zero(bits))));
      }
    }
  }
  size_t size() const {
    size_t n = 0;
    for (uint64_t w : words_) n += static_cast<size_t>(std::popcount(w));
    return n;
  }
  void Merge(const IdSet& o) {
    if (o.words_.size() > words_.size()) words_.resize(o.words_.size(), 0);
    for (size_t w = 0; w < o.words_.size(); ++w) words_[w] |= o.words_[w];
  }

 private:
  std::vector<uint64_t> words_;
};

// The distinct (bucket, port) pairs of a Serie Ports. With few buckets, a port set (a 65536-bit
// IdSet, 8 KB) per bucket that has ports makes adding a pair one bit set whatever the data size;
// with many buckets, pairs are collected and sorted at the end.
class BucketPorts {
 public:
  static constexpr uint64_t kMaxBitmapBuckets = 256;

  void Reset(uint64_t buckets) {
    buckets_ = buckets;
    if (buckets <= kMaxBitmapBuckets) ports_.assign(buckets, std::nullopt);
  }

  void Add(uint64_t bucket, uint16_t port) {
    if (buckets_ > kMaxBitmapBuckets) {
      pairs_.push_back(bucket << 16 | port);
      return;
    }
    std::optional<IdSet>& ports = ports_[bucket];
    if (!ports) ports.emplace(65535);
    ports->Insert(port);
  }

  void Merge(const BucketPorts& o) {
    pairs_.insert(pairs_.end(), o.pairs_.begin(), o.pairs_.end());
    for (size_t b = 0; b < ports_.size() && b < o.ports_.size(); ++b) {
      if (!o.ports_[b]) continue;
      if (ports_[b]) ports_[b]->Merge(*o.ports_[b]);
      else ports_[b] = o.ports_[b];
    }
  }

  // Calls count(bucket, distinct ports) for each bucket with ports.
  template <typename Fn>
  void ForEachBucket(Fn&& count) {
    if (buckets_ <= kMaxBitmapBuckets) {
      for (uint64_t b = 0; b < ports_.size(); ++b) {
        if (ports_[b]) count(b, static_cast<uint64_t>(ports_[b]->size()));
      }
      return;
    }
    std::sort(pairs_.begin(), pairs_.end());
    pairs_.erase(std::unique(pairs_.begin(), pairs_.end()), pairs_.end());
    for (size_t i = 0; i < pairs_.size();) {
      const uint64_t bucket = pairs_[i] >> 16;
      size_t j = i;
      while (j < pairs_.size() && pairs_[j] >> 16 == bucket) ++j;
      count(bucket, j - i);
      i = j;
    }
  }

 private:
  uint64_t buckets_ = 0;
  std::vector<std::optional<IdSet>> ports_;  // per bucket, while buckets_ <= kMaxBitmapBuckets
  std::vector<uint64_t> pairs_;              // bucket << 16 | port, beyond
};

// Sums per (source, destination) pair of a Repartition Flows. Events add to a vector indexed by
// a HashIndex (no allocation per pair, sums contiguous for ranking); rollups, whose pairs come
// sorted, are merged into a sorted run instead: sequential, where hashing thousands of pairs
// would be a cache miss each.
class PairSums {
 public:
  void Add(uint32_t source, uint32_t destination, Count value) { Add(uint64_t{source} << 32 | destination, value); }
  // `key` is source << 32 | destination.
  void Add(uint64_t key, Count value) {
    const uint64_t hash = key * 0x9e3779b97f4a7c15ull;  // multiplicative: the high bits mix all
    uint32_t ref = index_.Find(hash, [&](uint32_t r) { return sums_[r - 1].first == key; });
    if (ref == 0) {
      sums_.emplace_back(key, 0);
      ref = static_cast<uint32_t>(sums_.size());
      index_.Insert(hash, ref);
    }
    sums_[ref - 1].second += value;
  }

  // Adds a rollup's pairs (sorted by source, destination, as stored; re-sorted if not). Each
  // merge passes over every pair so far: beyond a few runs (a window of many hour rollups),
  // hashing is cheaper.
  void AddRun(const flatbuffers::Vector<const fb::PairSum*>& run) {
    if (++runs_ > kMaxMergedRuns) {
      for (const fb::PairSum* p : run) Add(p->source_id(), p->destination_id(), p->sum());
      return;
    }
    const auto mid = static_cast<std::ptrdiff_t>(sorted_.size());
    for (const fb::PairSum* p : run) sorted_.emplace_back(uint64_t{p->source_id()} << 32 | p->destination_id(), p->sum());
    auto by_key = [](const auto& a, const auto& b) { return a.first < b.first; };
    if (!std::is_sorted(sorted_.begin() + mid, sorted_.end(), by_key)) std::sort(sorted_.begin() + mid, sorted_.end(), by_key);
    std::inplace_merge(sorted_.begin(), sorted_.begin() + mid, sorted_.end(), by_key);
    size_t out = 0;  // sum equal neighbours
    for (size_t i = 0; i < sorted_.size(); ++i) {
      if (out > 0 && sorted_[out - 1].first == sorted_[i].first) sorted_[out - 1].second += sorted_[i].second;
      else sorted_[out++] = sorted_[i];
    }
    sorted_.resize(out);
  }

  void Merge(const PairSums& o) {
    for (const auto* list : {&o.sums_, &o.sorted_}) {
      for (const auto& [key, sum] : *list) Add(key, sum);
    }
  }

  // (source << 32 | destination, sum), each pair once, in no particular order (the caller may
  // reorder them).
  std::vector<std::pair<uint64_t, Count>>& Sums() {
    if (sums_.empty()) return sorted_;
    for (const auto& [key, sum] : sorted_) Add(key, sum);
    sorted_.clear();
    return sums_;
  }

 private:
  util::HashIndex index_;
  std::vector<std::pair<uint64_t, Count>> sums_;    // of Add, indexed
  std::vector<std::pair<uint64_t, Count>> sorted_;  // of AddRun, sorted by key, each key once
  static constexpr int kMaxMergedRuns = 8;
  int runs_ = 0;
};

// Everything one mode accumulates; which members are used depends on type and metric.
struct ModeTotals {
  void Merge(const ModeTotals& o) {
    for (size_t i = 0; i < serie.size() && i < o.serie.size(); ++i) serie[i] += o.serie[i];
    bucket_ports.Merge(o.bucket_ports);
    pairs.Merge(o.pairs);
    for (size_t i = 0; i < port_sums.size() && i < o.port_sums.size(); ++i) port_sums[i] += o.port_sums[i];
    ports.Merge(o.ports);
    sources.Merge(o.sources);
    destinations.Merge(o.destinations);
  }

  std::vector<Count> serie;                       // Serie Flows: per bucket
  BucketPorts bucket_ports;                       // Serie Ports
  PairSums pairs;                                 // Repartition Flows
  std::vector<Count> port_sums;                   // Repartition Ports: per port
  IdSet ports;                                    // Repartition Ports: the ports with a sum
  IdSet sources, destinations;                    // contributing IDs
};

class Reducer {
 public:
  Reducer(const Query& q, const Window& w, uint32_t dictionary_size) : q_(q), window_(w) {
    const int64_t step = q.average_interval_ms;
    first_bucket_ = FloorDiv(w.start_ms, step) * step;
    buckets_ = static_cast<uint64_t>((FloorDiv(w.end_ms - 1, step) * step - first_bucket_) / step + 1);
    for (int mode = 0; mode < 2; ++mode) {
      if ((mode == 0 && q.action == ActionFilter::kReject) || (mode == 1 && q.action == ActionFilter::kAccept)) {
        continue;  // a mode the query does not report gets no contributions: no state needed
      }
      ModeTotals& t = totals_[mode];
      t.sources = IdSet(dictionary_size + 1);
      t.destinations = IdSet(dictionary_size + 1);
      if (q.type == StatisticType::kSerie && q.metric == Metric::kFlows) t.serie.assign(buckets_, 0);
      if (q.type == StatisticType::kSerie && q.metric == Metric::kPorts) t.bucket_ports.Reset(buckets_);
      if (q.type == StatisticType::kRepartition && q.metric == Metric::kPorts) {
        t.port_sums.assign(65536, 0);
        t.ports = IdSet(65535);
      }
    }
  }

  uint64_t buckets() const { return buckets_; }

  // True when [start_ms, start_ms + length_ms) lies inside the window and, for a Serie, inside
  // one bucket: a rollup of that hour or day can stand for its events.
  bool Covers(int64_t start_ms, int64_t length_ms) const {
    const int64_t end_ms = start_ms + length_ms;
    if (start_ms < window_.start_ms || end_ms > window_.end_ms) return false;
    return q_.type != StatisticType::kSerie ||
           FloorDiv(start_ms, q_.average_interval_ms) == FloorDiv(end_ms - 1, q_.average_interval_ms);
  }

  // Adds the rollups of the hour or day starting at `start_ms`; without `parts.ids`, the
  // contributing IDs come from elsewhere (a day's). REQUIRES: Covers(start_ms, its length);
  // `parts.pairs` for Repartition Flows.
  void AddRollup(const Plan& plan, int64_t start_ms, const storage::EventStore::ReadView::RollupParts& parts);
  // Adds the contributing IDs of a rollup.
  void AddIds(const Plan& plan, const fb::RollupIds& ids);

  void Add(const EventRecord& r, Contribution c) {
    if (c.accepted) Add(r, c.accepted, &totals_[0]);
    if (c.rejected) Add(r, c.rejected, &totals_[1]);
  }

  // Adds what `other` (a reducer of the same query) accumulated.
  void Merge(const Reducer& other) {
    for (int mode = 0; mode < 2; ++mode) totals_[mode].Merge(other.totals_[mode]);
  }

  std::vector<FlowStatistic> Finish(const storage::Dictionary::Reader& d);

 private:
  static int64_t FloorDiv(int64_t a, int64_t b) { return a / b - ((a % b != 0) && ((a < 0) != (b < 0))); }

  void Add(const EventRecord& r, uint8_t times, ModeTotals* t) {
    const Count value = static_cast<Count>(r.value()) * times;
    t->sources.Insert(r.source_id());
    t->destinations.Insert(r.destination_id());
    const uint64_t bucket = static_cast<uint64_t>((r.time_ms() - first_bucket_) / q_.average_interval_ms);
    if (q_.type == StatisticType::kSerie) {
      if (q_.metric == Metric::kFlows) t->serie[bucket] += value;
      else t->bucket_ports.Add(bucket, r.destination_port());
    } else if (q_.metric == Metric::kFlows) {
      t->pairs.Add(r.source_id(), r.destination_id(), value);
    } else {
      t->port_sums[r.destination_port()] += value;
      t->ports.Insert(r.destination_port());
    }
  }

  void FillSerie(ModeTotals& t, FlowStatistic* out) const;
  void FillRepartition(ModeTotals& t, const storage::Dictionary::Reader& d, FlowStatistic* out) const;
  std::string StatisticId(Mode mode) const;

  const Query& q_;
  const Window window_;
  int64_t first_bucket_ = 0;
  uint64_t buckets_ = 0;
  ModeTotals totals_[2];  // Accepted, Rejected
};

void Mark(const flatbuffers::Vector<uint32_t>* ids, IdSet* seen) {
  if (!ids) return;
  for (uint32_t id : *ids) seen->Insert(id);
}

void Reducer::AddIds(const Plan& plan, const fb::RollupIds& ids) {
  if (!ids.groups()) return;
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
  if (parts.ids) AddIds(plan, *parts.ids);
  const uint64_t bucket = static_cast<uint64_t>((start_ms - first_bucket_) / q_.average_interval_ms);
  const bool ports = q_.metric == Metric::kPorts;
  if (parts.summary->groups()) {
    for (const fb::RollupGroup* g : *parts.summary->groups()) {
      const int mode = plan.ModeOfRollupClass(g->class_());
      if (mode < 0 || !plan.NamespaceAllowed(g->namespace_id())) continue;
      ModeTotals& t = totals_[mode];
      if (q_.type == StatisticType::kSerie && !ports) t.serie[bucket] += g->flows();
      if (!g->ports()) continue;
      for (const fb::PortSum* p : *g->ports()) {
        if (q_.type == StatisticType::kSerie && ports) t.bucket_ports.Add(bucket, p->port());
        if (q_.type == StatisticType::kRepartition && ports) {
          t.port_sums[p->port()] += p->sum();
          t.ports.Insert(p->port());
        }
      }
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

// The first 8 bytes of `s`, big-endian, zero-padded: ordering by it, then by the whole string,
// is the strings' byte order, with most comparisons settled by one integer compare.
uint64_t OrderPrefix(std::string_view s) {
  uint64_t prefix = 0;
  for (size_t i = 0; i < 8; ++i) prefix = prefix << 8 | (i < s.size() ? static_cast<uint8_t>(s[i]) : 0);
  return prefix;
}

// The IDs of `seen`, sorted.
std::vector<std::string> IdStrings(const IdSet& seen, const storage::Dictionary::Reader& d) {
  std::vector<std::pair<uint64_t, std::string_view>> keyed;
  seen.ForEach([&](uint32_t id) {
    const auto s = d.Payload(id, schema::EntryKind::kEntityId);
    if (!s) return;  // not an ID entry (only a damaged rollup could list it)
    keyed.emplace_back(OrderPrefix(*s), *s);
  });
  std::sort(keyed.begin(), keyed.end());
  std::vector<std::string> ids;
  ids.reserve(keyed.size());
  for (const auto& [prefix, s] : keyed) ids.emplace_back(s);
  return ids;
}

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
  struct Entry {
    Count value;
    std::string_view source_id, destination_id;  // Flows
    uint32_t port;                               // Ports
  };
  // The answer's order: value descending, ties by key ascending.
  auto before = [](const Entry& a, const Entry& b) {
    if (a.value != b.value) return a.value > b.value;
    if (a.source_id != b.source_id) return a.source_id < b.source_id;
    if (a.destination_id != b.destination_id) return a.destination_id < b.destination_id;
    return a.port < b.port;
  };
  std::vector<Entry> entries;
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
        std::nth_element(sums.begin(), nth - 1, sums.end(), [](const auto& a, const auto& b) { return a.second > b.second; });
        const Count last_kept = (nth - 1)->second;
        end = std::partition(nth, sums.end(), [&](const auto& e) { return e.second == last_kept; });
      }
    }
    entries.reserve(static_cast<size_t>(end - sums.begin()));
    // A rollup naming a non-ID entry (only damage can) shows as "" rather than being dereferenced.
    auto id = [&](uint64_t i) {
      return d.Payload(static_cast<uint32_t>(i), schema::EntryKind::kEntityId).value_or(std::string_view());
    };
    for (auto it = sums.begin(); it != end; ++it) entries.push_back({it->second, id(it->first >> 32), id(it->first & 0xffffffff), 0});
  } else if (limit) {
    // Ports come in increasing order, so a port tied with a kept one loses to it: a heap of the
    // best `limit` (top: the worst kept) is exact, and most ports cost one compare.
    t.ports.ForEach([&](uint32_t port) {
      const Count value = t.port_sums[port];
      if (value == 0 || *limit == 0) return;
      if (entries.size() == *limit) {
        if (value <= entries.front().value) return;
        std::pop_heap(entries.begin(), entries.end(), before);
        entries.pop_back();
      }
      entries.push_back({value, {}, {}, port});
      std::push_heap(entries.begin(), entries.end(), before);
    });
  } else {
    entries.reserve(t.ports.size());
    t.ports.ForEach([&](uint32_t port) {
      if (t.port_sums[port] != 0) entries.push_back({t.port_sums[port], {}, {}, port});
    });
  }
  std::sort(entries.begin(), entries.end(), before);
  const size_t keep = limit ? std::min(entries.size(), *limit) : entries.size();
  out->data_points.resize(keep);
  for (size_t i = 0; i < keep; ++i) {
    DataPoint& p = out->data_points[i];
    p.value = entries[i].value;
    p.source_id = entries[i].source_id;
    p.destination_id = entries[i].destination_id;
    p.port = entries[i].port;
  }
}

std::string Reducer::StatisticId(Mode mode) const {
  std::string canon = q_.namespace_ + '\0' + (q_.recursive ? "r" : "n") + '\0' + std::to_string(first_bucket_) +
                      '\0' + std::to_string(buckets_) + '\0' + std::to_string(q_.average_interval_ms) + '\0' +
                      std::to_string(static_cast<int>(q_.metric)) + std::to_string(static_cast<int>(q_.type)) +
                      std::to_string(static_cast<int>(mode)) + std::to_string(static_cast<int>(q_.flow_mode)) +
                      '\0' + q_.user_identifier + '\0' + (q_.limit ? std::to_string(*q_.limit) : "-");
  for (const auto* list : {&q_.source_tags, &q_.destination_tags, &q_.source_ids, &q_.destination_ids}) {
    canon += '\1';
    for (const auto& s : *list) canon += s + '\0';
  }
  char hex[17];
  std::snprintf(hex, sizeof hex, "%016llx", static_cast<unsigned long long>(XXH64(canon.data(), canon.size(), 0)));
  return hex;
}

std::vector<FlowStatistic> Reducer::Finish(const storage::Dictionary::Reader& d) {
  std::vector<FlowStatistic> out;
  for (Mode mode : {Mode::kAccepted, Mode::kRejected}) {
    if (mode == Mode::kAccepted && q_.action == ActionFilter::kReject) continue;
    if (mode == Mode::kRejected && q_.action == ActionFilter::kAccept) continue;
    ModeTotals& t = totals_[mode == Mode::kAccepted ? 0 : 1];
    FlowStatistic s;
    s.id = StatisticId(mode);
    s.type = q_.type;
    s.metric = q_.metric;
    s.mode = mode;
    if (q_.type == StatisticType::kSerie) FillSerie(t, &s);
    else FillRepartition(t, d, &s);
    s.source_ids = IdStrings(t.sources, d);
    s.destination_ids = IdStrings(t.destinations, d);
    s.source_tags = q_.source_tags;
    s.destination_tags = q_.destination_tags;
    s.user_identifier = q_.user_identifier;
    out.push_back(std::move(s));
  }
  return out;
}

// Reads the planned chunks; for each day of a namespace, one hour range clipped to the window.
// The hours of days [day_first, day_last] inside the plan's window; empty when lo > hi.
std::pair<uint32_t, uint32_t> HourRange(const Plan& plan, uint32_t day_first, uint32_t day_last) {
  const Window& w = plan.window();
  return {std::max(day_first * 24, storage::HourOf(std::max<int64_t>(w.start_ms, 0))),
          std::min(day_last * 24 + 23, storage::HourOf(std::min(w.end_ms - 1, kMaxTimestampMs)))};
}

template <typename Fn>
Status ScanDays(const storage::EventStore::ReadView& view, Plan& plan, uint64_t ns, uint32_t day_first,
                uint32_t day_last, QueryStats* stats, Fn&& on_chunk) {
  const auto [hour_lo, hour_hi] = HourRange(plan, day_first, day_last);
  if (hour_lo > hour_hi) return Status::Ok();
  for (uint8_t shard : plan.shards()) {
    Status s = view.ForEachChunk(ns, shard, hour_lo, hour_hi, stats, on_chunk);
    if (!s.ok()) return s;
  }
  return Status::Ok();
}

// A range of hours of one namespace and shard whose raw chunks a query reads.
struct ScanTask {
  uint64_t ns;
  uint8_t shard;
  uint32_t hour_lo, hour_hi;
};

// Tasks for hours [lo, hi] of `ns`: one per planned shard (16 per namespace), so that two
// threads taking tasks in turn stay balanced though namespaces differ in size by orders of
// magnitude; finer tasks (per day) measured slower (one iterator each).
void AddScanTasks(const Plan& plan, uint64_t ns, uint32_t lo, uint32_t hi, std::vector<ScanTask>* tasks) {
  for (uint8_t shard : plan.shards()) tasks->push_back({ns, shard, lo, hi});
}

// Raw scans at least this large (hour-chunks) are split over two threads: decompressing and
// matching a week of events is worth a thread; a narrow query is not.
constexpr uint64_t kParallelScanChunks = 1024;

// One thread's share of a raw scan: its own plan (whose tag memos it updates) and reducer.
struct ScanShare {
  ScanShare(const Plan& p, const Query& q, uint32_t dictionary_size)
      : plan(p), reducer(q, p.window(), dictionary_size) {}
  Plan plan;
  Reducer reducer;
  QueryStats stats;
  uint64_t matched = 0;
  Status status;

  // Takes tasks from `next` until none is left.
  void Run(const storage::EventStore::ReadView& view, std::span<const ScanTask> tasks, std::atomic<size_t>* next) {
    auto on_chunk = [&](uint32_t, std::span<const EventRecord> records) {
      plan.ForEachCandidate(records, &stats, [&](const EventRecord& r) {
        Contribution c = plan.Match(r);
        if (c.accepted | c.rejected) {
          ++matched;
          reducer.Add(r, c);
        }
      });
      return Status::Ok();
    };
    for (size_t i = (*next)++; i < tasks.size() && status.ok(); i = (*next)++) {
      status = view.ForEachChunk(tasks[i].ns, tasks[i].shard, tasks[i].hour_lo, tasks[i].hour_hi, &stats, on_chunk);
    }
    if (status.ok()) status = plan.status();
  }
};

void AddStats(const QueryStats& from, QueryStats* to) {
  to->chunks_read += from.chunks_read;
  to->rollups_read += from.rollups_read;
  to->day_rollups_read += from.day_rollups_read;
  to->bytes_read += from.bytes_read;
  to->events_examined += from.events_examined;
  to->events_matched += from.events_matched;
}

// Adds the rollups of days [first_day, last_day] of `ns` (clipped to the window) to `reducer`,
// pair sums too `with_pairs`, and a scan task for each hour they do not cover. A day inside the
// window with a current day rollup is read whole when it lies in one bucket; otherwise its rollup
// gives the day's IDs and its hours' rollups give the sums without reading their IDs. Other hours
// read hour rollups.
Status AddRollups(const storage::EventStore::ReadView& view, const Plan& plan, uint64_t ns, uint32_t first_day,
                  uint32_t last_day, bool with_pairs, Reducer* reducer, QueryStats* stats,
                  std::vector<ScanTask>* tasks) {
  using Parts = storage::EventStore::ReadView::RollupParts;
  using Span = storage::EventStore::ReadView::RollupSpan;
  enum class DayUse : uint8_t { kHours, kHoursWithoutIds, kDone };
  const Window& w = plan.window();
  std::vector<DayUse> use(last_day - first_day + 1, DayUse::kHours);
  // The days wholly inside the window (a day without events needs nothing: it stays kDone).
  const int64_t inside_lo = std::max<int64_t>(first_day, (std::max<int64_t>(w.start_ms, 0) + storage::kDayMs - 1) /
                                                             storage::kDayMs);
  const int64_t inside_hi = std::min<int64_t>(last_day, w.end_ms / storage::kDayMs - 1);
  for (int64_t d = inside_lo; d <= inside_hi; ++d) use[d - first_day] = DayUse::kDone;
  if (inside_lo <= inside_hi) {
    Status s = view.ForEachRollup(
        ns, Span::kDay, static_cast<uint32_t>(inside_lo), static_cast<uint32_t>(inside_hi),
        {.ids = true, .pairs = with_pairs}, stats, [&](uint32_t day, const Parts& parts) {
          DayUse& u = use[day - first_day];
          if (!parts.summary || !parts.ids || (with_pairs && !parts.pairs)) {
            u = DayUse::kHours;
            return Status::Ok();
          }
          if (stats) stats->day_rollups_read++;
          const int64_t start = int64_t{day} * storage::kDayMs;
          if (reducer->Covers(start, storage::kDayMs)) {
            reducer->AddRollup(plan, start, parts);
          } else {
            reducer->AddIds(plan, *parts.ids);
            u = DayUse::kHoursWithoutIds;
          }
          return Status::Ok();
        });
    if (!s.ok()) return s;
  }
  for (size_t a = 0; a < use.size();) {  // runs of days whose hours are read alike
    size_t b = a;
    while (b + 1 < use.size() && use[b + 1] == use[a]) ++b;
    const auto [lo, hi] = HourRange(plan, first_day + static_cast<uint32_t>(a), first_day + static_cast<uint32_t>(b));
    const bool with_ids = use[a] == DayUse::kHours;
    if (use[a] != DayUse::kDone && lo <= hi) {
      Status s = view.ForEachRollup(ns, Span::kHour, lo, hi, {.ids = with_ids, .pairs = with_pairs}, stats,
                                    [&](uint32_t hour, const Parts& parts) {
        const int64_t start = int64_t{hour} * storage::kChunkMs;
        if (parts.summary && (parts.ids || !with_ids) && (parts.pairs || !with_pairs) &&
            reducer->Covers(start, storage::kChunkMs)) {
          if (stats) stats->rollups_read++;
          reducer->AddRollup(plan, start, parts);
        } else {
          AddScanTasks(plan, ns, hour, hour, tasks);
        }
        return Status::Ok();
      });
      if (!s.ok()) return s;
    }
    a = b + 1;
  }
  return Status::Ok();
}

}  // namespace

Result<std::vector<FlowStatistic>> Evaluate(const storage::EventStore& store,
                                            const storage::EventStore::ReadView& view, const Query& q,
                                            QueryStats* stats) {
  auto plan = Plan::Make(store, view, q);
  if (!plan.ok()) return plan.status();
  Reducer reducer(q, plan->window(), view.dictionary().size());
  if (q.type == StatisticType::kSerie && reducer.buckets() > kMaxBuckets) {
    return Status::InvalidArgument("averageInterval: the window holds " + std::to_string(reducer.buckets()) +
                                   " buckets, more than " + std::to_string(kMaxBuckets));
  }
  // Days and hours current rollups cover are added here; every other hour becomes a raw scan task.
  std::vector<ScanTask> tasks;
  const bool with_pairs = q.type == StatisticType::kRepartition && q.metric == Metric::kFlows;
  for (const auto& [ns, days] : plan->candidates()) {
    // Consecutive days form one range: one iterator per run of days.
    for (size_t i = 0; i < days.size();) {
      size_t j = i;
      while (j + 1 < days.size() && days[j + 1] == days[j] + 1) ++j;
      const uint32_t first = days[i], last = days[j];
      i = j + 1;
      const auto [lo, hi] = HourRange(*plan, first, last);
      if (lo > hi) continue;
      if (!plan->rollups_usable()) {
        AddScanTasks(*plan, ns, lo, hi, &tasks);
        continue;
      }
      Status s = AddRollups(view, *plan, ns, first, last, with_pairs, &reducer, stats, &tasks);
      if (!s.ok()) return s;
    }
  }
  uint64_t chunks = 0;
  for (const ScanTask& t : tasks) chunks += t.hour_hi - t.hour_lo + 1;
  const size_t shares = tasks.empty() ? 0 : (chunks >= kParallelScanChunks ? 2 : 1);
  std::vector<ScanShare> share;
  share.reserve(shares);
  for (size_t k = 0; k < shares; ++k) share.emplace_back(*plan, q, view.dictionary().size());
  std::atomic<size_t> next{0};
  std::jthread helper;  // joins on every way out, an exception included
  if (shares == 2) helper = std::jthread([&] { share[1].Run(view, tasks, &next); });
  if (shares > 0) share[0].Run(view, tasks, &next);
  if (helper.joinable()) helper.join();
  for (ScanShare& sh : share) {
    if (!sh.status.ok()) return sh.status;
    reducer.Merge(sh.reducer);
    sh.stats.events_matched += sh.matched;
    if (stats) AddStats(sh.stats, stats);
  }
  if (!plan->status().ok()) return plan->status();
  return reducer.Finish(view.dictionary());
}

Status ScanEvents(const storage::EventStore& store, const storage::EventStore::ReadView& view, const Query& q,
                  uint64_t limit, const std::function<bool(const FlowEvent&)>& visit) {
  auto plan = Plan::Make(store, view, q);
  if (!plan.ok()) return plan.status();
  std::map<uint32_t, std::vector<uint64_t>> namespaces_by_day;
  for (const auto& [ns, days] : plan->candidates()) {
    for (uint32_t day : days) namespaces_by_day[day].push_back(ns);
  }
  uint64_t emitted = 0;
  FlowEvent event;
  for (const auto& [day, namespaces] : namespaces_by_day) {  // one day in memory at a time
    std::vector<EventRecord> matched;
    for (uint64_t ns : namespaces) {
      Status s = ScanDays(view, *plan, ns, day, day, nullptr, [&](uint32_t, std::span<const EventRecord> records) {
        plan->ForEachCandidate(records, nullptr, [&](const EventRecord& r) {
          Contribution c = plan->Match(r);
          if (c.accepted | c.rejected) matched.push_back(r);
        });
        return Status::Ok();
      });
      if (!s.ok()) return s;
    }
    if (!plan->status().ok()) return plan->status();
    std::sort(matched.begin(), matched.end(), [](const EventRecord& a, const EventRecord& b) {
      return a.time_ms() != b.time_ms() ? a.time_ms() < b.time_ms() : schema::RecordLess(a, b);
    });
    for (const EventRecord& r : matched) {
      Status s = schema::DecodeEvent(r, view.dictionary(), &event);
      if (!s.ok()) return s;
      if (!visit(event) || (limit && ++emitted >= limit)) return Status::Ok();
    }
  }
  return Status::Ok();
}

}  // namespace flowstat::query
