// Reducing matched events and rollups to FlowStatistics: the counting containers (ID and port
// sets, pair sums, per-mode totals) and the Reducer that turns them into Serie and Repartition
// objects (doc/queries.md). Used by query/engine.cc, which decides what to feed it.
#pragma once

#include <algorithm>
#include <bit>
#include <optional>
#include <string>
#include <tuple>
#include <vector>

#include "flowstat/partial.h"
#include "flowstat/query.h"
#include "query/plan.h"
#include "storage/event_store.h"
#include "util/hash_index.h"
#include "util/merge_runs.h"

namespace flowstat::query {

// A set of small integers (dictionary ids, ports), as a bitmap: adding is one store, listing
// skips empty words.
class IdSet {
 public:
  // Holds ids up to `size` (and the rest of its last 64), ignoring larger ones. A small set (a
  // port set: 8 KB) is allocated whole; a large one grows, doubling, to the largest id inserted:
  // sized by a whole dictionary up front, two sets per mode cost every query a pass over memory
  // that grows with the store.
  explicit IdSet(uint32_t size = 0) : max_words_(size / 64 + 1) {
    if (max_words_ <= kWholeWords) words_.assign(max_words_, 0);
  }
  void Insert(uint32_t id) {
    const size_t word = id / 64;
    if (word >= words_.size() && !Grow(word)) return;
    words_[word] |= uint64_t{1} << (id % 64);
  }
  // Inserts every id of [first, last): the set grows once, to the largest, and each id is then one
  // compare and one store (Insert per id, called out of line, was a tenth of a 32M-event Serie
  // Ports).
  template <typename It>
  void InsertAll(It first, It last) {
    if (first == last) return;
    const uint32_t largest = *std::max_element(first, last);
    if (largest / 64 >= words_.size()) Grow(std::min(size_t{largest} / 64, max_words_ - 1));
    uint64_t* words = words_.data();
    const size_t limit = words_.size() * 64;
    for (; first != last; ++first) {
      const uint32_t id = *first;
      if (id < limit) words[id / 64] |= uint64_t{1} << (id % 64);
    }
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
  // Calls fn(id) in increasing order while it returns true.
  template <typename Fn>
  void ForEachWhile(Fn&& fn) const {
    for (size_t w = 0; w < words_.size(); ++w) {
      for (uint64_t bits = words_[w]; bits != 0; bits &= bits - 1) {
        if (!fn(static_cast<uint32_t>(w * 64 + static_cast<size_t>(std::countr_zero(bits))))) return;
      }
    }
  }
  size_t size() const {
    size_t n = 0;
    for (uint64_t w : words_) n += static_cast<size_t>(std::popcount(w));
    return n;
  }
  void Merge(const IdSet& o) {
    max_words_ = std::max(max_words_, o.max_words_);
    if (o.words_.size() > words_.size()) words_.resize(o.words_.size(), 0);
    for (size_t w = 0; w < o.words_.size(); ++w) words_[w] |= o.words_[w];
  }

 private:
  // Makes room for `word` (doubling); false when it lies past the set's size. Out of line, so
  // that Insert stays small enough to inline into the loops that call it per id.
  [[gnu::noinline]] bool Grow(size_t word) {
    if (word >= max_words_) return false;
    words_.resize(std::min(max_words_, std::max(word + 1, 2 * words_.size())), 0);
    return true;
  }

  static constexpr size_t kWholeWords = 1024;
  size_t max_words_;
  std::vector<uint64_t> words_;
};

// The distinct (bucket, port) pairs of a Serie Ports. With few buckets, a port set (a 65536-bit
// IdSet, 8 KB) per bucket that has ports makes adding a pair one bit set whatever the data size;
// with many buckets, pairs are collected and sorted at the end. Rollups add theirs in ascending
// runs (one per namespace and class: hours, minutes and ports in order), which are then merged
// rather than sorted.
class BucketPorts {
 public:
  static constexpr uint64_t kMaxBitmapBuckets = 256;

  void Reset(uint64_t buckets) {
    buckets_ = buckets;
    if (buckets <= kMaxBitmapBuckets) ports_.assign(buckets, std::nullopt);
  }

  void Add(uint64_t bucket, uint16_t port) {
    if (buckets_ > kMaxBitmapBuckets) {
      const uint64_t pair = bucket << 16 | port;
      if (!pairs_.empty() && pair < pairs_.back()) StartRun(pairs_.size());
      pairs_.push_back(pair);
      return;
    }
    std::optional<IdSet>& ports = ports_[bucket];
    if (!ports) ports.emplace(65535);
    ports->Insert(port);
  }

  // The port set of `bucket` while buckets are few (made when first asked for), else null: a
  // rollup's ports then go straight into it.
  IdSet* BitmapOf(uint64_t bucket) {
    if (buckets_ > kMaxBitmapBuckets) return nullptr;
    std::optional<IdSet>& ports = ports_[bucket];
    if (!ports) ports.emplace(65535);
    return &*ports;
  }

  // Adds the ports [first, last) of `bucket`, ascending (a minute rollup's list).
  template <typename It>
  void AddAscending(uint64_t bucket, It first, It last) {
    if (buckets_ <= kMaxBitmapBuckets) {
      for (; first != last; ++first) Add(bucket, *first);
      return;
    }
    if (first == last) return;
    const uint64_t base = bucket << 16;
    if (!pairs_.empty() && (base | *first) < pairs_.back()) StartRun(pairs_.size());
    for (; first != last; ++first) pairs_.push_back(base | *first);
  }

  void Merge(const BucketPorts& o) {
    if (!o.pairs_.empty()) {
      const size_t offset = pairs_.size();
      if (offset > 0) StartRun(offset);
      for (size_t start : o.run_starts_) StartRun(offset + start);
      if (o.too_many_runs_) StopTrackingRuns();
    }
    pairs_.insert(pairs_.end(), o.pairs_.begin(), o.pairs_.end());
    for (size_t b = 0; b < ports_.size() && b < o.ports_.size(); ++b) {
      if (!o.ports_[b]) continue;
      if (ports_[b])
        ports_[b]->Merge(*o.ports_[b]);
      else
        ports_[b] = o.ports_[b];
    }
  }

  // Calls fn(bucket, ports) for each bucket with ports, the ports sorted.
  template <typename Fn>
  void ForEachBucketPorts(Fn&& fn) {
    std::vector<uint16_t> ports;
    if (buckets_ <= kMaxBitmapBuckets) {
      for (uint64_t b = 0; b < ports_.size(); ++b) {
        if (!ports_[b]) continue;
        ports.clear();
        ports_[b]->ForEach([&](uint32_t p) { ports.push_back(static_cast<uint16_t>(p)); });
        fn(b, ports);
      }
      return;
    }
    SortPairs();
    for (size_t i = 0; i < pairs_.size();) {
      const uint64_t bucket = pairs_[i] >> 16;
      ports.clear();
      for (; i < pairs_.size() && pairs_[i] >> 16 == bucket; ++i) ports.push_back(static_cast<uint16_t>(pairs_[i]));
      fn(bucket, ports);
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
    SortPairs();
    for (size_t i = 0; i < pairs_.size();) {
      const uint64_t bucket = pairs_[i] >> 16;
      size_t j = i;
      while (j < pairs_.size() && pairs_[j] >> 16 == bucket) ++j;
      count(bucket, j - i);
      i = j;
    }
  }

 private:
  // pairs_[at] starts a new ascending run. Beyond kMaxRuns (events of a raw scan, in no order),
  // runs are no longer tracked and SortPairs sorts.
  void StartRun(size_t at) {
    if (too_many_runs_) return;
    if (run_starts_.size() + 1 >= kMaxRuns) return StopTrackingRuns();
    run_starts_.push_back(at);
  }
  void StopTrackingRuns() {
    too_many_runs_ = true;
    run_starts_.clear();
  }

  // Sorts pairs_ and drops repeats. A few ascending runs are merged two by two. Otherwise, with
  // as many pairs as buckets or more (a minute Serie over a week: ~10 ports a bucket), placing
  // them by bucket first and sorting each bucket's few ports beats one sort of them all.
  void SortPairs() {
    if (!too_many_runs_) {
      std::vector<std::vector<uint64_t>::iterator> bounds{pairs_.begin()};
      for (size_t start : run_starts_) bounds.push_back(pairs_.begin() + static_cast<std::ptrdiff_t>(start));
      bounds.push_back(pairs_.end());
      util::MergeRuns(std::move(bounds));
    } else if (pairs_.size() < buckets_) {
      std::sort(pairs_.begin(), pairs_.end());
    } else {
      std::vector<uint32_t> next(buckets_ + 1, 0);  // bucket b's pairs start at next[b]
      for (uint64_t p : pairs_) ++next[(p >> 16) + 1];
      for (uint64_t b = 0; b < buckets_; ++b) next[b + 1] += next[b];
      std::vector<uint64_t> placed(pairs_.size());
      for (uint64_t p : pairs_) placed[next[p >> 16]++] = p;  // next[b] ends as bucket b + 1's start
      for (uint64_t b = 0, begin = 0; b < buckets_; begin = next[b++]) {
        std::sort(placed.begin() + static_cast<std::ptrdiff_t>(begin), placed.begin() + next[b]);
      }
      pairs_ = std::move(placed);
    }
    pairs_.erase(std::unique(pairs_.begin(), pairs_.end()), pairs_.end());
    run_starts_.clear();
    too_many_runs_ = false;
  }

  uint64_t buckets_ = 0;
  std::vector<std::optional<IdSet>> ports_;  // per bucket, while buckets_ <= kMaxBitmapBuckets
  std::vector<uint64_t> pairs_;              // bucket << 16 | port, beyond
  static constexpr size_t kMaxRuns = 64;
  std::vector<size_t> run_starts_;  // where pairs_ steps down: each starts an ascending run
  bool too_many_runs_ = false;
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
  // hashing is cheaper. The merge reads the rollup in place and writes into a second buffer
  // that the next merge reuses: merging in place allocated a scratch copy and grew the vector
  // step by step, fresh pages each time (a sixth of a one-day Repartition of 32M events).
  void AddRun(const flatbuffers::Vector<const fb::PairSum*>& run) {
    if (++runs_ > kMaxMergedRuns) {
      for (const fb::PairSum* p : run) Add(p->source_id(), p->destination_id(), p->sum());
      return;
    }
    auto key_of = [](const fb::PairSum* p) { return uint64_t{p->source_id()} << 32 | p->destination_id(); };
    auto by_key = [&](const fb::PairSum* a, const fb::PairSum* b) { return key_of(a) < key_of(b); };
    if (std::is_sorted(run.begin(), run.end(), by_key)) return MergeSorted(run.begin(), run.end(), key_of);
    std::vector<const fb::PairSum*> sorted_run(run.begin(), run.end());
    std::sort(sorted_run.begin(), sorted_run.end(), by_key);
    MergeSorted(sorted_run.begin(), sorted_run.end(), key_of);
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
  // Merges pairs [first, last), ascending by key_of, into sorted_, summing equal keys.
  template <typename It, typename KeyOf>
  void MergeSorted(It first, It last, KeyOf key_of) {
    merged_.clear();
    merged_.reserve(sorted_.size() + static_cast<size_t>(last - first));
    auto emit = [&](uint64_t key, Count sum) {
      if (!merged_.empty() && merged_.back().first == key) {
        merged_.back().second += sum;
      } else {
        merged_.emplace_back(key, sum);
      }
    };
    auto old = sorted_.begin();
    for (; first != last; ++first) {
      const uint64_t key = key_of(*first);
      for (; old != sorted_.end() && old->first <= key; ++old) emit(old->first, old->second);
      emit(key, (*first)->sum());
    }
    for (; old != sorted_.end(); ++old) emit(old->first, old->second);
    sorted_.swap(merged_);
  }

  util::HashIndex index_;
  std::vector<std::pair<uint64_t, Count>> sums_;    // of Add, indexed
  std::vector<std::pair<uint64_t, Count>> sorted_;  // of AddRun, sorted by key, each key once
  std::vector<std::pair<uint64_t, Count>> merged_;  // AddRun's output buffer, then its next one
  static constexpr int kMaxMergedRuns = 8;
  int runs_ = 0;
};

// Sums per port of a Repartition Ports, exact: 64-bit words, with the rare carry past 2^64 kept
// in a second array made at the first one. At 32M events a day's ports fill most of the 65,536:
// half the memory of 128-bit sums, and no set of the ports used (a sum of 0 ranks nowhere, so
// listing scans the sums themselves).
class PortSums {
 public:
  static constexpr size_t kPorts = 65536;

  // Ready to add; until then (a mode or query that sums no ports) it holds nothing.
  void Reset() {
    low_.assign(kPorts, 0);
    high_.clear();
  }
  void Add(uint16_t port, uint64_t value) {
    if (__builtin_add_overflow(low_[port], value, &low_[port])) [[unlikely]]
      Carry(port, 1);
  }
  // Adds a wider value (an event's value times two, a merged sum).
  void Add(uint16_t port, Count value) {
    Add(port, static_cast<uint64_t>(value));
    if (const uint64_t high = static_cast<uint64_t>(value >> 64)) Carry(port, high);
  }
  // Adds each (port(), sum()) of [first, last): a rollup's list of port sums.
  template <typename It>
  void AddAll(It first, It last) {
    uint64_t* low = low_.data();  // Carry never moves it
    for (; first != last; ++first) {
      const uint16_t port = (*first)->port();
      if (__builtin_add_overflow(low[port], (*first)->sum(), &low[port])) [[unlikely]]
        Carry(port, 1);
    }
  }
  // Calls fn(port, sum) in increasing port order for each port whose sum exceeds *floor. fn may
  // raise *floor (a top N keeps its worst kept sum there): most ports then cost one compare.
  template <typename Fn>
  void ForEachAbove(const Count* floor, Fn&& fn) const {
    if (!high_.empty()) {  // a sum passed 2^64: the general path
      for (uint32_t port = 0; port < low_.size(); ++port) {
        if (const Count sum = Count{high_[port]} << 64 | low_[port]; sum > *floor) fn(port, sum);
      }
      return;
    }
    auto floor64 = [&] { return *floor >= UINT64_MAX ? UINT64_MAX : static_cast<uint64_t>(*floor); };
    uint64_t below = floor64();
    const uint64_t* low = low_.data();
    for (uint32_t port = 0; port < low_.size(); ++port) {
      if (low[port] > below) [[unlikely]] {
        fn(port, Count{low[port]});
        below = floor64();
      }
    }
  }
  // Calls fn(port, sum) for each port with a sum, in increasing order.
  template <typename Fn>
  void ForEachNonZero(Fn&& fn) const {
    const Count zero = 0;
    ForEachAbove(&zero, fn);
  }
  void Merge(const PortSums& o) {
    if (o.low_.empty()) return;
    if (low_.empty()) Reset();
    o.ForEachNonZero([&](uint32_t port, Count sum) { Add(static_cast<uint16_t>(port), sum); });
  }

 private:
  [[gnu::noinline]] void Carry(uint16_t port, uint64_t high) {
    if (high_.empty()) high_.assign(kPorts, 0);
    high_[port] += high;
  }

  std::vector<uint64_t> low_;   // the low 64 bits of each port's sum
  std::vector<uint64_t> high_;  // the high 64 bits; empty while every sum fits in 64
};

// Everything one mode accumulates; which members are used depends on type and metric.
struct ModeTotals {
  void Merge(const ModeTotals& o) {
    for (size_t i = 0; i < serie.size() && i < o.serie.size(); ++i) serie[i] += o.serie[i];
    bucket_ports.Merge(o.bucket_ports);
    pairs.Merge(o.pairs);
    port_sums.Merge(o.port_sums);
    sources.Merge(o.sources);
    destinations.Merge(o.destinations);
  }

  std::vector<Count> serie;     // Serie Flows: per bucket
  BucketPorts bucket_ports;     // Serie Ports
  PairSums pairs;               // Repartition Flows
  PortSums port_sums;           // Repartition Ports
  IdSet sources, destinations;  // contributing IDs
};

// The most buckets a Serie may hold (doc/queries.md).
inline constexpr uint64_t kMaxBuckets = 2'000'000;

// a / b rounded toward negative infinity.
inline int64_t FloorDiv(int64_t a, int64_t b) { return a / b - ((a % b != 0) && ((a < 0) != (b < 0))); }

// The order of a Repartition's entries (doc/queries.md): value descending, ties by source ID,
// destination ID and port, ascending. For any type with those four members (a reducer's entry,
// a DataPoint), so that one store's answer and merged partials rank alike.
template <typename Entry>
bool RanksBefore(const Entry& a, const Entry& b) {
  if (a.value != b.value) return a.value > b.value;
  if (a.source_id != b.source_id) return a.source_id < b.source_id;
  if (a.destination_id != b.destination_id) return a.destination_id < b.destination_id;
  return a.port < b.port;
}

// The stable ID of a statistic: a hash of the normalized query, its bucket grid and the mode.
std::string StatisticId(const Query& q, int64_t first_bucket, uint64_t buckets, Mode mode);

// The first bucket of `q`'s Serie grid over `w`, and how many buckets overlap the window.
std::pair<int64_t, uint64_t> BucketGrid(const Query& q, const Window& w);

class Reducer {
 public:
  Reducer(const Query& q, const Window& w, uint32_t dictionary_size) : q_(q), window_(w) {
    std::tie(first_bucket_, buckets_) = BucketGrid(q, w);
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
        t.port_sums.Reset();
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

  // False when no period of `length_ms` can lie inside one bucket (a Serie of narrower buckets):
  // the summaries of such periods cannot stand for their events and need not be read.
  bool CanCover(int64_t length_ms) const {
    return q_.type != StatisticType::kSerie || q_.average_interval_ms >= length_ms;
  }

  // True for a Serie whose buckets are whole minutes but not whole hours: hours then straddle
  // buckets, and their minute rollups can stand for them.
  bool MinutesHelp() const {
    return q_.type == StatisticType::kSerie && q_.average_interval_ms % storage::kMinuteMs == 0 &&
           q_.average_interval_ms % storage::kChunkMs != 0;
  }
  // True when the hour starting at `start_ms` lies inside the window and the Serie's buckets are
  // whole minutes (each minute inside one bucket): its minute rollup can stand for its events.
  bool CoversByMinutes(int64_t start_ms) const {
    return q_.type == StatisticType::kSerie && q_.average_interval_ms % storage::kMinuteMs == 0 &&
           start_ms >= window_.start_ms && start_ms + storage::kChunkMs <= window_.end_ms;
  }
  // Adds the sums (Flows) or port sets (Ports) of the hour starting at `start_ms`, minute by
  // minute; the IDs come from elsewhere (its hour or day rollup). REQUIRES: CoversByMinutes.
  // False when a group it would add from is malformed (nothing is added then).
  [[nodiscard]] bool AddMinutes(const Plan& plan, int64_t start_ms, const fb::RollupMinutes& minutes);

  // Adds the rollups of the hour or day starting at `start_ms`; without `parts.ids`, the
  // contributing IDs come from elsewhere (a day's). REQUIRES: Covers(start_ms, its length);
  // `parts.pairs` for Repartition Flows, and for any Flows query with ID filters (the sums and
  // IDs of its matching pairs are then all that is added).
  void AddRollup(const Plan& plan, int64_t start_ms, const storage::EventStore::ReadView::RollupParts& parts);
  // Adds the contributing IDs of a rollup (none with ID filters: the matching pairs name them).
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
  // What was accumulated, IDs as strings, before ranking and limits (flowstat/partial.h).
  std::vector<PartialMode> ToPartial(const storage::Dictionary::Reader& d);

 private:
  void Add(const EventRecord& r, uint8_t times, ModeTotals* t) {
    const Count value = static_cast<Count>(r.value()) * times;
    t->sources.Insert(r.source_id());
    t->destinations.Insert(r.destination_id());
    const uint64_t bucket = static_cast<uint64_t>((r.time_ms() - first_bucket_) / q_.average_interval_ms);
    if (q_.type == StatisticType::kSerie) {
      if (q_.metric == Metric::kFlows)
        t->serie[bucket] += value;
      else
        t->bucket_ports.Add(bucket, r.destination_port());
    } else if (q_.metric == Metric::kFlows) {
      t->pairs.Add(r.source_id(), r.destination_id(), value);
    } else {
      t->port_sums.Add(r.destination_port(), value);
    }
  }

  void AddMatchingPairs(const Plan& plan, uint64_t bucket, const fb::RollupPairs* pairs);
  // Adds a rollup group's ports to `t` (metric Ports), for bucket `bucket` of a Serie.
  void AddPorts(const flatbuffers::Vector<const fb::PortSum*>& list, uint64_t bucket, ModeTotals* t);
  void FillSerie(ModeTotals& t, FlowStatistic* out) const;
  void FillRepartition(ModeTotals& t, const storage::Dictionary::Reader& d, FlowStatistic* out) const;
  // Has `d` read every contributing ID at once (Dictionary::Reader::Prefetch) before they are listed.
  void PrefetchIds(const storage::Dictionary::Reader& d) const;

  const Query& q_;
  const Window window_;
  int64_t first_bucket_ = 0;
  uint64_t buckets_ = 0;
  ModeTotals totals_[2];  // Accepted, Rejected
};

}  // namespace flowstat::query
