// Microbenchmarks per component: JSON parsing, record encoding, chunk building, key encoding,
// rollup building (an hour from its records, a day from its hours) and the bulk write path into a
// store. Inputs come from `flowstat generate`'s generator.
#include <benchmark/benchmark.h>

#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

#include "flowstat/chart.h"
#include "flowstat/query.h"
#include "flowstat/store.h"
#include "schema/chunk.h"
#include "schema/event_view.h"
#include "storage/dictionary.h"
#include "storage/keys.h"
#include "storage/rollup.h"
#include "tools/generate.h"

namespace {

// Generated JSON lines, made once.
const std::vector<std::string>& Lines() {
  static const std::vector<std::string> lines = [] {
    flowstat::tools::GenerateOptions o;
    o.events = 100000;
    char* buf = nullptr;
    size_t size = 0;
    std::FILE* mem = open_memstream(&buf, &size);
    flowstat::tools::Generate(o, mem);
    std::fclose(mem);
    std::vector<std::string> out;
    std::string all(buf, size);
    std::free(buf);
    size_t pos = 0;
    while (pos < all.size()) {
      size_t nl = all.find('\n', pos);
      out.push_back(all.substr(pos, nl - pos));
      pos = nl + 1;
    }
    return out;
  }();
  return lines;
}

void BM_ParseJson(benchmark::State& state) {
  const auto& lines = Lines();
  flowstat::schema::EventView view;
  size_t i = 0, bytes = 0;
  for (auto _ : state) {
    const std::string& line = lines[i++ % lines.size()];
    bytes += line.size();
    benchmark::DoNotOptimize(flowstat::schema::ParseEventJsonView(line, &view));
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
  state.SetBytesProcessed(static_cast<int64_t>(bytes));
}
BENCHMARK(BM_ParseJson);

void BM_ParseAndEncode(benchmark::State& state) {
  const auto& lines = Lines();
  flowstat::storage::Dictionary dict;
  flowstat::schema::RecordEncoder encoder(dict);
  flowstat::schema::EventView view;
  size_t i = 0;
  for (auto _ : state) {
    (void)flowstat::schema::ParseEventJsonView(lines[i++ % lines.size()], &view);
    benchmark::DoNotOptimize(encoder.Encode(view));
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
}
BENCHMARK(BM_ParseAndEncode);

void BM_BuildChunk(benchmark::State& state) {
  std::vector<flowstat::schema::EventRecord> records;
  for (int64_t i = 0; i < state.range(0); ++i) {
    records.emplace_back(static_cast<uint32_t>(i * 7919 % 2000), static_cast<uint32_t>(i % 300), 1763596800000 + i, 1,
                         1, 2, 3, 4, 5, 6, 443, 0, 6, 5, 0);
  }
  for (auto _ : state) {
    auto copy = records;
    flowstat::schema::SortUnique(&copy);
    benchmark::DoNotOptimize(flowstat::schema::BuildChunk(copy));
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * state.range(0)));
}
BENCHMARK(BM_BuildChunk)->Arg(1000)->Arg(10000);

// What the merge operator does with `runs` operands of one chunk (8000 records in all, each
// operand sorted), up to the merged chunk: one sort of everything, or a k-way merge of the runs.
std::pair<std::vector<flowstat::schema::EventRecord>, std::vector<size_t>> ChunkOperands(int64_t runs) {
  std::vector<flowstat::schema::EventRecord> records;
  std::vector<size_t> ends;
  for (int64_t r = 0; r < runs; ++r) {
    std::vector<flowstat::schema::EventRecord> run;
    for (int64_t i = r; i < 8000; i += runs) {
      run.emplace_back(static_cast<uint32_t>(i * 7919 % 2000 + 1), static_cast<uint32_t>(i % 300 + 1),
                       1763596800000 + i, 1, 1, 2, 3, 4, 5, 6, 443, 0, 6, 5, 0);
    }
    flowstat::schema::SortUnique(&run);
    records.insert(records.end(), run.begin(), run.end());
    ends.push_back(records.size());
  }
  return {records, ends};
}

void BM_MergeOperandsBySort(benchmark::State& state) {
  const auto [records, ends] = ChunkOperands(state.range(0));
  for (auto _ : state) {
    auto copy = records;
    flowstat::schema::SortUnique(&copy);
    benchmark::DoNotOptimize(flowstat::schema::BuildChunk(copy));
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * records.size()));
}
BENCHMARK(BM_MergeOperandsBySort)->Arg(2)->Arg(8)->Arg(32);

void BM_MergeOperandsAsRuns(benchmark::State& state) {
  const auto [records, ends] = ChunkOperands(state.range(0));
  std::vector<std::string> operands;
  for (size_t begin = 0; size_t end : ends) {
    operands.push_back(flowstat::schema::BuildChunk(std::span(records).subspan(begin, end - begin)));
    begin = end;
  }
  std::vector<flowstat::schema::ChunkRecords> chunks(operands.size());
  for (size_t i = 0; i < operands.size(); ++i) (void)flowstat::schema::ReadChunkInPlace(operands[i], &chunks[i]);
  for (auto _ : state) {
    std::string merged;  // a fresh result each time, as the merge operator gets
    benchmark::DoNotOptimize(flowstat::schema::MergeChunks(chunks, &merged));
    benchmark::DoNotOptimize(merged.data());
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * records.size()));
}
BENCHMARK(BM_MergeOperandsAsRuns)->Arg(2)->Arg(8)->Arg(32);

// An hour's records as the refresh reads them: `n` events over 2000 sources, 300 destinations
// and 500 ports, in 16 chunks (source shards), each sorted.
std::vector<flowstat::schema::EventRecord> HourRecords(int64_t n, uint32_t hour) {
  std::vector<flowstat::schema::EventRecord> shards[16];
  for (int64_t i = 0; i < n; ++i) {
    const auto source = static_cast<uint32_t>(i * 7919 % 2000 + 1);
    shards[source % 16].emplace_back(source, static_cast<uint32_t>(i % 300 + 1), int64_t{hour} * 3600000 + i % 3600000,
                                     1, 1, 2, 3, 4, 5, 6, static_cast<uint16_t>(i * 31 % 500),
                                     flowstat::schema::kFlagHasPort, 6, 5, 0);
  }
  std::vector<flowstat::schema::EventRecord> records;
  for (auto& shard : shards) {
    flowstat::schema::SortUnique(&shard);
    records.insert(records.end(), shard.begin(), shard.end());
  }
  return records;
}

void BM_RollupHour(benchmark::State& state) {
  const auto records = HourRecords(state.range(0), 490000);
  for (auto _ : state) {
    flowstat::storage::RollupBuilder builder;
    for (const auto& r : records) builder.Add(r);
    flowstat::storage::RollupValues values;
    benchmark::DoNotOptimize(builder.Finish(1, &values));
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * state.range(0)));
}
BENCHMARK(BM_RollupHour)->Arg(1000)->Arg(10000);

// A day rollup merged from its 24 hour rollups, as the refresh after an import makes it.
void BM_RollupDayFromHours(benchmark::State& state) {
  std::vector<flowstat::storage::RollupValues> hours(24);
  for (uint32_t h = 0; h < 24; ++h) {
    flowstat::storage::RollupBuilder builder;
    for (const auto& r : HourRecords(state.range(0), 490000 + h)) builder.Add(r);
    (void)builder.Finish(1, &hours[h]);
  }
  for (auto _ : state) {
    flowstat::storage::RollupBuilder builder;
    for (const auto& h : hours) {
      builder.Add(h);
    }
    flowstat::storage::RollupValues day;
    benchmark::DoNotOptimize(builder.Finish(24, &day));
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * 24 * state.range(0)));
}
BENCHMARK(BM_RollupDayFromHours)->Arg(1000)->Arg(10000);

void BM_ChunkKey(benchmark::State& state) {
  uint32_t hour = 0;
  for (auto _ : state) {
    benchmark::DoNotOptimize(flowstat::storage::ChunkKey(flowstat::storage::HashString("/acme/prod/web"), 3, hour++));
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
}
BENCHMARK(BM_ChunkKey);

// The whole bulk write path: parse, encode, sort, write (WAL on), as `flowstat import` runs it.
void BM_BulkLoad(benchmark::State& state) {
  const auto& lines = Lines();
  const std::string dir = std::filesystem::temp_directory_path() / "flowstat-bench-load";
  for (auto _ : state) {
    state.PauseTiming();
    std::filesystem::remove_all(dir);
    auto store = flowstat::Store::Open(dir, {});
    auto loader = (*store)->NewLoader();
    state.ResumeTiming();
    for (const auto& line : lines) {
      (void)(*loader)->AddJson(line);
      if ((*loader)->pending() >= 32768) (void)(*loader)->Commit();
    }
    (void)(*loader)->Finish(nullptr);
    state.PauseTiming();
    loader->reset();
    store->reset();
    state.ResumeTiming();
  }
  std::filesystem::remove_all(dir);
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * lines.size()));
}
BENCHMARK(BM_BulkLoad)->Unit(benchmark::kMillisecond);

// Drawing a week at one minute (10,080 buckets, both modes) as SVG and for a 120-column terminal.
std::vector<flowstat::FlowStatistic> WeekOfMinutes() {
  std::vector<flowstat::FlowStatistic> list(2);
  uint64_t x = 88172645463325252ull;
  for (size_t m = 0; m < 2; ++m) {
    list[m].mode = m == 0 ? flowstat::Mode::kAccepted : flowstat::Mode::kRejected;
    for (int i = 0; i < 10080; ++i) {
      x ^= x << 13, x ^= x >> 7, x ^= x << 17;
      flowstat::DataPoint p;
      p.timestamp_ms = 1762992000000 + int64_t{60000} * i;
      p.value = x % (m == 0 ? 5000 : 300);
      list[m].data_points.push_back(p);
    }
  }
  return list;
}

flowstat::Query MinuteQuery() {
  flowstat::Query q;
  q.namespace_ = "/acme";
  q.average_interval_ms = 60000;
  return q;
}
constexpr flowstat::Window kWeek{1762992000000, 1762992000000 + 7 * 86400000LL};

void BM_RenderSvgWeekOfMinutes(benchmark::State& state) {
  const auto list = WeekOfMinutes();
  const flowstat::Query q = MinuteQuery();
  const flowstat::Window w = kWeek;
  size_t bytes = 0;
  for (auto _ : state) {
    const std::string svg = flowstat::RenderSvg(list, q, w);
    bytes = svg.size();
    benchmark::DoNotOptimize(svg.data());
  }
  state.counters["svg_bytes"] = static_cast<double>(bytes);
}
BENCHMARK(BM_RenderSvgWeekOfMinutes)->Unit(benchmark::kMillisecond);

void BM_RenderTerminalWeekOfMinutes(benchmark::State& state) {
  const auto list = WeekOfMinutes();
  const flowstat::Query q = MinuteQuery();
  const flowstat::Window w = kWeek;
  flowstat::ChartOptions o;
  o.width = 120;
  o.height = 8;
  for (auto _ : state) benchmark::DoNotOptimize(flowstat::RenderTerminal(list, q, w, o).data());
}
BENCHMARK(BM_RenderTerminalWeekOfMinutes)->Unit(benchmark::kMillisecond);

// The JSON of an unlimited Repartition of 100,000 pairs of 24-hex-digit IDs (W2M's S10 has
// ~100k), and of the week of minutes above: what `--batch` and the HTTP server add to a query.
std::vector<flowstat::FlowStatistic> RepartitionOfPairs(size_t pairs) {
  std::vector<flowstat::FlowStatistic> list(1);
  list[0].type = flowstat::StatisticType::kRepartition;
  uint64_t x = 88172645463325252ull;
  auto id = [&] {
    x ^= x << 13, x ^= x >> 7, x ^= x << 17;
    char text[32];
    std::snprintf(text, sizeof text, "%024llx", static_cast<unsigned long long>(x));
    return std::string(text, 24);
  };
  for (size_t i = 0; i < pairs; ++i) {
    flowstat::DataPoint p;
    p.source_id = id();
    p.destination_id = id();
    p.value = pairs - i;
    list[0].data_points.push_back(std::move(p));
  }
  for (size_t i = 0; i < 2000; ++i) list[0].source_ids.push_back(id());
  list[0].destination_ids = list[0].source_ids;
  return list;
}

void BM_FormatJsonRepartition(benchmark::State& state) {
  const auto list = RepartitionOfPairs(100000);
  size_t bytes = 0;
  for (auto _ : state) {
    const std::string json = flowstat::FormatStatisticsJson(list);
    bytes = json.size();
    benchmark::DoNotOptimize(json.data());
  }
  state.counters["json_bytes"] = static_cast<double>(bytes);
}
BENCHMARK(BM_FormatJsonRepartition)->Unit(benchmark::kMillisecond);

void BM_FormatJsonWeekOfMinutes(benchmark::State& state) {
  const auto list = WeekOfMinutes();
  for (auto _ : state) benchmark::DoNotOptimize(flowstat::FormatStatisticsJson(list).data());
}
BENCHMARK(BM_FormatJsonWeekOfMinutes)->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
