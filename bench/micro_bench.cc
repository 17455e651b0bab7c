// Microbenchmarks per component: JSON parsing, record encoding, chunk building, key encoding,
// and the bulk write path into a store. Inputs come from `flowstat generate`'s generator.
#include <benchmark/benchmark.h>

#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

#include "flowstat/store.h"
#include "schema/chunk.h"
#include "schema/event_view.h"
#include "storage/dictionary.h"
#include "storage/keys.h"
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
    records.emplace_back(static_cast<uint32_t>(i * 7919 % 2000), static_cast<uint32_t>(i % 300), 1763596800000 + i,
                         1, 1, 2, 3, 4, 5, 6, 443, 0, 6, 5, 0);
  }
  for (auto _ : state) {
    auto copy = records;
    flowstat::schema::SortUnique(&copy);
    benchmark::DoNotOptimize(flowstat::schema::BuildChunk(copy));
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * state.range(0)));
}
BENCHMARK(BM_BuildChunk)->Arg(1000)->Arg(10000);

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

}  // namespace

BENCHMARK_MAIN();
