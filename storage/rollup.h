// Rollups: per (namespace hash, hour) and per (namespace hash, day), the sums and sets a query
// without tag or ID filters needs, derived from the deduplicated chunks. Each is stamped with a
// generation (the hour's counter, which every write to the hour bumps; for a day, the sum of its
// hours' counters); a reader uses a rollup only when that generation is the current one, and
// reads finer rollups or the raw chunks otherwise — so rollups can lag, never lie.
#pragma once

#include <map>
#include <string>
#include <utility>
#include <vector>

#include "schema/record.h"

namespace flowstat::storage {

// Rollup classes: 0 applied Accept, 1 applied Reject, 2 observed Accept, 3 observed Reject.
inline constexpr int kRollupClasses = 4;

// The classes an event falls in (1 or 2 of them); returns how many were written to `out`.
int RollupClassesOf(const schema::EventRecord& r, uint8_t out[2]);

struct RollupValues {
  std::string summary;  // fb::RollupSummary
  std::string ids;      // fb::RollupIds
  std::string pairs;    // fb::RollupPairs
  std::string minutes;  // fb::RollupMinutes, for a builder made by_minute; else empty
};

// Accumulates the events of one period — raw records, or the rollups of the periods that make
// it up — into that period's rollups. The result depends only on the events, not on how they
// were added: a day built from its hours' rollups is byte for byte the day built from its
// records (which is how `verify` checks day rollups against the raw events).
class RollupBuilder {
 public:
  // `by_minute`: also the minute rollups of an hour (records of one hour only; no sub-periods).
  explicit RollupBuilder(bool by_minute = false) : by_minute_(by_minute) {}
  void Add(const schema::EventRecord& r);
  // Adds the rollups of a sub-period (all three of one generation).
  void Add(const fb::RollupSummary& summary, const fb::RollupIds& ids, const fb::RollupPairs& pairs);
  // The same from what another builder's Finish returned (trusted bytes: not verified again).
  void Add(const RollupValues& finished);
  // False when a sum would not fit in 64 bits: such a period has no rollup and is read finer.
  bool Finish(uint64_t generation, RollupValues* out);

 private:
  struct Pair {
    uint64_t key;  // source << 32 | destination
    uint64_t sum;
    bool has_port;
  };
  struct Group {
    uint64_t flows = 0;
    bool overflow = false;
    std::vector<std::pair<uint16_t, uint64_t>> ports;  // (port, sum), unsorted, repeats
    std::vector<uint32_t> sources, destinations, port_sources, port_destinations;
    std::vector<Pair> pairs;
    std::vector<uint64_t> minute_flows;    // by_minute_: per minute of the hour
    std::vector<uint32_t> minute_ports;    // by_minute_: minute << 16 | port, repeats
    size_t compact_at = kFirstCompaction;  // entries (repeats included) that make it Compact
    size_t Entries() const {
      return ports.size() + sources.size() + destinations.size() + port_sources.size() + port_destinations.size() +
             pairs.size() + minute_ports.size();
    }
  };
  // Repeats are folded when a group's entries reach twice what its last folding left (and at
  // least this many): a builder holds about twice its distinct ports, IDs and pairs, not one
  // entry per event or per sub-period (a day of large hours held all 24 of them).
  static constexpr size_t kFirstCompaction = size_t{1} << 16;
  // Folds repeats of `g` as Finish does: sorted, one entry per port, ID or pair.
  static void Compact(Group& g);
  static void CompactIfDue(Group& g) {
    if (g.Entries() >= g.compact_at) Compact(g);
  }
  Group& GroupOf(uint32_t namespace_id, uint8_t rollup_class);
  std::string FinishMinutes(uint64_t generation);

  bool by_minute_;
  std::map<std::pair<uint32_t, uint8_t>, Group> groups_;  // (namespace id, class), in key order
  std::pair<uint32_t, uint8_t> last_key_{0, 0xff};
  Group* last_ = nullptr;
};

}  // namespace flowstat::storage
