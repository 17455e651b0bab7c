// Horizon records: what expiry removed from a namespace subtree, and since when (format.h).
//
// Expiry with kept rollups leaves hours whose rollups stand for raw events that are gone. The
// planner must then refuse what only raw events could answer, and writers must not add events
// there (the hour's rollup would go stale, and rebuilding it from what is left would lose the
// expired events' figures). A raw horizon record tells both. Plain expiry records an 'all'
// horizon, for `info` only: below it nothing is left, and queries answer as if nothing had been.
#include <algorithm>

#include "flowstat/event.h"
#include "schema/event_view.h"
#include "storage/event_store.h"
#include "storage/keys.h"
#include "util/coding.h"

namespace flowstat::storage {

Status EventStore::LoadHorizons() {
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions()));
  std::vector<Horizon> loaded;
  const std::string first(1, kHorizonPrefix);
  for (it->Seek(first); it->Valid() && it->key()[0] == kHorizonPrefix; it->Next()) {
    uint8_t kind;
    std::string_view ns;
    const std::string_view key(it->key().data(), it->key().size());
    if (!ParseHorizonKey(key, &kind, &ns) || it->value().size() != 8) {
      return Status::Corruption("malformed horizon record");
    }
    loaded.push_back({kind, std::string(ns), static_cast<int64_t>(util::DecodeFixed64(it->value().data()))});
  }
  if (Status s = FromRocks(it->status(), "loading horizons"); !s.ok()) return s;
  util::MutexLock lock(&horizon_mu_);
  horizons_ = std::move(loaded);
  has_raw_horizons_ =
      std::any_of(horizons_.begin(), horizons_.end(), [](const Horizon& h) { return h.kind == kHorizonRaw; });
  return Status::Ok();
}

std::vector<EventStore::Horizon> EventStore::Horizons() const {
  util::MutexLock lock(&horizon_mu_);
  return horizons_;
}

int64_t EventStore::RawHorizon(std::string_view ns) const {
  if (!has_raw_horizons_) return 0;
  util::MutexLock lock(&horizon_mu_);
  int64_t latest = 0;
  for (const Horizon& h : horizons_) {
    if (h.kind == kHorizonRaw && NamespaceCovers(h.namespace_, ns)) latest = std::max(latest, h.before_ms);
  }
  return latest;
}

std::map<uint64_t, uint32_t> EventStore::RawHorizonHours(const Dictionary::Reader& dict) const {
  std::map<uint64_t, uint32_t> hours;
  if (!has_raw_horizons_) return hours;
  for (uint32_t id : dict.NamespaceIds()) {
    const std::string_view ns = dict.Entry(id).substr(1);
    if (const int64_t horizon = RawHorizon(ns)) {
      uint32_t& hour = hours[NamespaceHash(ns)];
      hour = std::max(hour, static_cast<uint32_t>(horizon / kChunkMs));
    }
  }
  return hours;
}

Status EventStore::CheckHorizon(const schema::EventView& event) const {
  if (!has_raw_horizons_) return Status::Ok();
  const int64_t horizon = RawHorizon(event.namespace_);
  if (event.timestamp_ms >= horizon) return Status::Ok();
  return Status::InvalidArgument("timestamp: before " + FormatTimeSeconds(horizon) + ", where the raw events of " +
                                 std::string(event.namespace_) +
                                 " were expired and only their rollups kept: an event there cannot be counted "
                                 "exactly any more");
}

Status EventStore::RecordHorizon(uint8_t kind, const std::string& ns, int64_t before_ms) {
  rocksdb::WriteBatch wb;
  std::vector<Horizon> next;
  const bool forget = before_ms > kMaxTimestampMs;  // the subtree is deleted: its records go with it
  {
    util::MutexLock lock(&horizon_mu_);
    for (const Horizon& h : horizons_) {
      const bool covered = NamespaceCovers(ns, h.namespace_);
      // A record of this subtree that an expiry reaching further makes meaningless: a raw horizon
      // at or below a plain one (nothing is left there), or an older record of the same kind.
      const bool superseded =
          covered &&
          (forget || (h.before_ms <= before_ms && (h.kind == kind || (kind == kHorizonAll && h.kind == kHorizonRaw))));
      if (superseded) {
        wb.Delete(HorizonKey(h.kind, h.namespace_));
      } else {
        next.push_back(h);
      }
    }
    if (!forget) {
      int64_t value = before_ms;
      for (const Horizon& h : next) {
        if (h.kind == kind && h.namespace_ == ns) value = std::max(value, h.before_ms);
      }
      std::erase_if(next, [&](const Horizon& h) { return h.kind == kind && h.namespace_ == ns; });
      next.push_back({kind, ns, value});
      wb.Put(HorizonKey(kind, ns), util::EncodeFixed64(static_cast<uint64_t>(value)));
    }
  }
  if (wb.Count() == 0) return Status::Ok();
  rocksdb::WriteOptions wo;
  wo.sync = true;  // before any event goes: a crash in between leaves queries refused, never partial
  if (Status s = WriteToDb(wo, &wb, "recording the expiry horizon"); !s.ok()) return s;
  util::MutexLock lock(&horizon_mu_);
  horizons_ = std::move(next);
  has_raw_horizons_ =
      std::any_of(horizons_.begin(), horizons_.end(), [](const Horizon& h) { return h.kind == kHorizonRaw; });
  return Status::Ok();
}

}  // namespace flowstat::storage
