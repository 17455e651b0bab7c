// Rollups: per (namespace hash, hour), the sums and sets a query without tag or ID filters needs,
// derived from the hour's deduplicated chunks. Each is stamped with the hour's generation (a
// counter every write to the hour bumps); a reader uses a rollup only when its generation is the
// current one, and reads the raw chunks otherwise — so rollups can lag, never lie.
#pragma once

#include <span>
#include <string>

#include "schema/record.h"

namespace flowstat::storage {

// Rollup classes: 0 applied Accept, 1 applied Reject, 2 observed Accept, 3 observed Reject.
inline constexpr int kRollupClasses = 4;

// The classes an event falls in (1 or 2 of them); returns how many were written to `out`.
int RollupClassesOf(const schema::EventRecord& r, uint8_t out[2]);

struct RollupValues {
  std::string summary;  // fb::RollupSummary
  std::string pairs;    // fb::RollupPairs
};

// Builds the rollups of every record of one (namespace hash, hour). False when a sum would not
// fit in 64 bits: such an hour has no rollup and is always read raw.
bool BuildRollups(std::span<const schema::EventRecord> records, uint64_t generation, RollupValues* out);

}  // namespace flowstat::storage
