// flowstat/info.h — what a store holds, as Store::Info reports it. Included by flowstat/store.h.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace flowstat {

// What a store holds (Store::Info).
struct StoreInfo {
  uint64_t events = 0;                       // distinct events stored
  uint64_t namespaces = 0;                   // namespaces holding at least one event
  std::optional<int64_t> first_ms, last_ms;  // the earliest and latest event timestamps
  // Bytes on disk by part (RocksDB's estimate, memtables included): events (chunks and the
  // presence keys that index them), rollups (hour and day, with their generation counters),
  // dictionary (the strings and their index), other (format record, checkpoints, horizons).
  uint64_t bytes_events = 0, bytes_rollups = 0, bytes_dictionary = 0, bytes_other = 0;
  int format_version = 0;
  // What expiry removed, per namespace subtree it was run on: before `raw_before_ms` the raw
  // events are gone; before `rollups_before_ms` the hour and day rollups too (Store::Expire).
  struct Horizon {
    std::string namespace_;
    std::optional<int64_t> raw_before_ms, rollups_before_ms;
  };
  std::vector<Horizon> horizons;  // by namespace
};

}  // namespace flowstat
