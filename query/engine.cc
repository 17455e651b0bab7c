#include "query/engine.h"

#include <xxhash.h>
#include <algorithm>
#include <atomic>
#include <bit>
#include <iterator>
#include <optional>
#include <thread>

#include "query/plan.h"
#include "query/reducer.h"
#include "storage/format.h"
#include "storage/keys.h"
#include "util/hash_index.h"

namespace flowstat::query {
namespace {

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

// A query whose raw scans reach below a raw horizon needs events that expiry removed (keeping
// their rollups): refused, never answered in part. It can be answered from the latest such horizon.
Status RefuseExpiredRaw(const Plan& plan, const std::vector<ScanTask>& tasks) {
  int64_t answerable_from = 0;
  for (const ScanTask& t : tasks) {
    const uint32_t horizon = plan.RawHorizonHour(t.ns);
    if (t.hour_lo < horizon) answerable_from = std::max(answerable_from, int64_t{horizon} * storage::kChunkMs);
  }
  if (answerable_from == 0) return Status::Ok();
  const std::string from = FormatTimeSeconds(answerable_from);
  return Status::InvalidArgument(
      "the raw events before " + from +
      " were expired with their hour and day rollups kept, and this query needs them (a tag or ID selector, or a "
      "window or bucket not on whole hours there): it can be answered from " +
      from);
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
    auto on_chunk = [&](uint32_t, const schema::ChunkRecords& records) {
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
// read hour rollups, or their minute rollups when an hour spans several buckets.
Status AddRollups(const storage::EventStore::ReadView& view, const Plan& plan, uint64_t ns, uint32_t first_day,
                  uint32_t last_day, bool with_pairs, Reducer* reducer, QueryStats* stats,
                  std::vector<ScanTask>* tasks) {
  using Parts = storage::EventStore::ReadView::RollupParts;
  using Span = storage::EventStore::ReadView::RollupSpan;
  using RollupWanted = storage::EventStore::ReadView::RollupWanted;
  enum class DayUse : uint8_t { kHours, kHoursWithoutIds, kDone };
  const Window& w = plan.window();
  std::vector<DayUse> use(last_day - first_day + 1, DayUse::kHours);
  // The days wholly inside the window (a day without events needs nothing: it stays kDone).
  const int64_t inside_lo =
      std::max<int64_t>(first_day, (std::max<int64_t>(w.start_ms, 0) + storage::kDayMs - 1) / storage::kDayMs);
  const int64_t inside_hi = std::min<int64_t>(last_day, w.end_ms / storage::kDayMs - 1);
  for (int64_t d = inside_lo; d <= inside_hi; ++d) use[d - first_day] = DayUse::kDone;
  if (inside_lo <= inside_hi) {
    const bool day_sums = reducer->CanCover(storage::kDayMs);
    Status s = view.ForEachRollup(ns, Span::kDay, static_cast<uint32_t>(inside_lo), static_cast<uint32_t>(inside_hi),
                                  {.summary = day_sums, .ids = true, .pairs = with_pairs}, stats,
                                  [&](uint32_t day, const Parts& parts) {
                                    DayUse& u = use[day - first_day];
                                    if ((day_sums && !parts.summary) || !parts.ids || (with_pairs && !parts.pairs)) {
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
      const bool with_minutes = reducer->MinutesHelp();
      const RollupWanted wanted{.summary = reducer->CanCover(storage::kChunkMs),
                                .ids = with_ids,
                                .pairs = with_pairs,
                                .minutes = with_minutes};
      Status s = view.ForEachRollup(ns, Span::kHour, lo, hi, wanted, stats, [&](uint32_t hour, const Parts& parts) {
        const int64_t start = int64_t{hour} * storage::kChunkMs;
        if (parts.summary && (parts.ids || !with_ids) && (parts.pairs || !with_pairs) &&
            reducer->Covers(start, storage::kChunkMs)) {
          if (stats) stats->rollups_read++;
          reducer->AddRollup(plan, start, parts);
        } else if (parts.minutes && (parts.ids || !with_ids) && reducer->CoversByMinutes(start)) {
          if (stats) stats->rollups_read++;
          if (parts.ids) reducer->AddIds(plan, *parts.ids);
          if (!reducer->AddMinutes(plan, start, *parts.minutes)) {
            return Status::Corruption("malformed minute rollup of hour " + std::to_string(hour));
          }
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

Result<std::vector<FlowStatistic>> Evaluate(const storage::EventStore& store, const storage::EventStore::ReadView& view,
                                            const Query& q, QueryStats* stats, Partial* partial) {
  auto plan = Plan::Make(store, view, q);
  if (!plan.ok()) return plan.status();
  // Checked before the reducer exists: it allocates each bucket (1-second buckets over the whole
  // time range would be 2.5e11 of them).
  if (const uint64_t buckets = BucketGrid(q, plan->window()).second;
      q.type == StatisticType::kSerie && buckets > kMaxBuckets) {
    return Status::InvalidArgument("averageInterval: the window holds " + std::to_string(buckets) +
                                   " buckets, more than " + std::to_string(kMaxBuckets));
  }
  Reducer reducer(q, plan->window(), view.dictionary().size());
  // Days and hours current rollups cover are added here; every other hour becomes a raw scan task.
  std::vector<ScanTask> tasks;
  // Pair sums: what Repartition Flows ranks, and what ID filters select from.
  const bool with_pairs = q.metric == Metric::kFlows && (q.type == StatisticType::kRepartition || plan->id_filtered());
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
  if (Status s = RefuseExpiredRaw(*plan, tasks); !s.ok()) return s;
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
  if (partial) {
    // The window as resolved here, so that every store's share stands for the same one.
    partial->query = q;
    partial->query.start_absolute = plan->window().start_ms;
    partial->query.end_absolute = plan->window().end_ms;
    partial->query.start_relative.reset();
    partial->query.end_relative.reset();
    partial->query.now_ms.reset();
    partial->query.flow_offset_ms = 0;
    partial->window = plan->window();
    partial->modes = reducer.ToPartial(view.dictionary());
    if (Status s = view.dictionary().status(); !s.ok()) return s;
    return std::vector<FlowStatistic>();
  }
  auto answer = reducer.Finish(view.dictionary());
  // A dictionary read lazily may have failed to read an entry an answer names.
  if (Status s = view.dictionary().status(); !s.ok()) return s;
  return answer;
}

Status ScanEvents(const storage::EventStore& store, const storage::EventStore::ReadView& view, const Query& q,
                  uint64_t limit, const std::function<bool(const FlowEvent&)>& visit) {
  auto plan = Plan::Make(store, view, q);
  if (!plan.ok()) return plan.status();
  // Only the days that hold events: a dump over a century must not visit 36,500 empty days.
  std::map<uint32_t, std::vector<uint64_t>> namespaces_by_day;
  for (const auto& [ns, days] : plan->candidates()) {
    if (days.empty()) continue;
    std::vector<uint32_t> with_events;
    if (Status s = view.DaysWithEvents(ns, days.front(), days.back(), &with_events); !s.ok()) return s;
    std::vector<uint32_t> both;
    std::set_intersection(days.begin(), days.end(), with_events.begin(), with_events.end(), std::back_inserter(both));
    for (uint32_t day : both) namespaces_by_day[day].push_back(ns);
  }
  uint64_t emitted = 0;
  FlowEvent event;
  for (const auto& [day, namespaces] : namespaces_by_day) {  // one day in memory at a time
    std::vector<EventRecord> matched;
    for (uint64_t ns : namespaces) {
      Status s = ScanDays(view, *plan, ns, day, day, nullptr, [&](uint32_t, const schema::ChunkRecords& records) {
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
      if (Status s = schema::DecodeEvent(r, view.dictionary(), &event); !s.ok()) {
        Status unread = view.dictionary().status();  // the cause when a lazy read failed
        return unread.ok() ? s : unread;
      }
      if (!visit(event) || (limit && ++emitted >= limit)) return Status::Ok();
    }
  }
  return Status::Ok();
}

}  // namespace flowstat::query
