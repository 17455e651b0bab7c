// Reading rollups in key order, shared by the rollup refresh (storage/rollup_refresh.cc) and
// the read view (storage/read_view.cc).
#pragma once

#include <rocksdb/db.h>

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "flowstat/status.h"
#include "schema/flatbuffer_view.h"
#include "storage/event_store.h"

namespace flowstat::storage {

// Reads keys in ascending order with one iterator, so that each block is read (and
// decompressed) once however many of the keys it holds: point reads with fill_cache off would
// decompress a block again for every key in it. Whole-store passes keep fill_cache off so as not
// to evict what queries use; queries leave it on.
class ForwardCursor {
 public:
  ForwardCursor(rocksdb::DB& db, const rocksdb::Snapshot* snapshot, std::string upper_bound, bool fill_cache = false)
      : upper_bound_(std::move(upper_bound)), bound_(upper_bound_) {
    rocksdb::ReadOptions ro;
    ro.snapshot = snapshot;
    ro.fill_cache = fill_cache;
    ro.iterate_upper_bound = &bound_;
    it_.reset(db.NewIterator(ro));
  }

  // The value stored under `key`, or nullopt. REQUIRES: keys asked in ascending order.
  std::optional<rocksdb::Slice> Find(std::string_view key) {
    const rocksdb::Slice target(key.data(), key.size());
    // A few steps forward beat a seek: consecutive wanted keys are usually adjacent. (An
    // iterator not yet positioned is not Valid.)
    for (int steps = 0; steps < 8 && it_->Valid() && it_->key().compare(target) < 0; ++steps) it_->Next();
    if (!started_ || (it_->Valid() && it_->key().compare(target) < 0)) {
      it_->Seek(target);
      started_ = true;
    }
    if (it_->Valid() && it_->key() == target) return it_->value();
    return std::nullopt;
  }

  Status status() const { return FromRocks(it_->status(), "reading for rollups"); }

 private:
  std::string upper_bound_;
  rocksdb::Slice bound_;
  std::unique_ptr<rocksdb::Iterator> it_;
  bool started_ = false;
};

// Whether each vector of 8-byte elements of a rollup lies at its alignment (see ElementsAligned).
inline bool VectorsAligned(const fb::RollupSummary& r) {
  return schema::EachElementsAligned(r.groups(), &fb::RollupGroup::ports);
}
inline bool VectorsAligned(const fb::RollupIds&) { return true; }  // vectors of 4-byte ids only
inline bool VectorsAligned(const fb::RollupPairs& r) {
  return schema::EachElementsAligned(r.groups(), &fb::PairGroup::pairs);
}
inline bool VectorsAligned(const fb::RollupMinutes& r) {
  return schema::EachElementsAligned(r.groups(), &fb::MinuteGroup::flows);
}

// The rollup `value` as a verified root, when present, readable and stamped `generation`. A
// damaged rollup is not current: queries then read the raw events (and `verify` reports it).
template <typename Root>
const Root* CurrentRollup(std::optional<rocksdb::Slice> value, uint64_t generation, std::vector<uint64_t>* scratch) {
  if (!value) return nullptr;
  const Root* root = schema::VerifiedRoot<Root>(std::string_view(value->data(), value->size()), scratch);
  return root && VectorsAligned(*root) && root->generation() == generation ? root : nullptr;
}

}  // namespace flowstat::storage
