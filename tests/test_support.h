// Helpers shared by the tests: temporary stores, random events and queries with traps.
#pragma once

#include <filesystem>
#include <random>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "flowstat/store.h"

namespace flowstat::testing {

// A directory removed when the object dies.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  const std::string& path() const { return path_; }
  std::string Sub(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

// Writes `text` to the file `path` (created or truncated).
void Write(const std::string& path, const std::string& text);

// `prefix` followed by the decimal digits of `n` ("s" + 7 -> "s7").
inline std::string Numbered(std::string_view prefix, long long n) {
  std::string out(prefix);
  out += std::to_string(n);
  return out;
}

// Opens (creating) a store or fails the test.
std::unique_ptr<Store> OpenStore(const std::string& dir, OpenOptions options = {});

// What Store::Verify reports about `store` (the check itself must run, or the test fails).
std::vector<std::string> VerifyProblems(Store& store);

// Every event the store holds (all namespaces, all time, every flow mode), each as FormatEventJson
// writes it: read back through the dictionary, details and addresses included.
std::set<std::string> StoredEventsJson(Store& store);

// Events over [kBaseMs, kBaseMs + 3 days) drawn from small pools full of traps: namespaces that
// share prefixes, Unicode, '=' inside tag values, edges of hours, huge values, duplicates.
inline constexpr int64_t kBaseMs = 1763164800000;  // 2025-11-15T00:00:00Z
std::vector<FlowEvent> RandomEvents(std::mt19937_64& rng, size_t n);
Query RandomQuery(std::mt19937_64& rng);

// Both lists as JSON with the statistic IDs blanked (checked non-empty in the store's list).
std::string Comparable(std::vector<FlowStatistic> list, bool require_ids);

// A minimal event with every required field.
FlowEvent MakeEvent(int64_t t, const std::string& ns, const std::string& src, const std::string& dst,
                    Action action = Action::kAccept, uint64_t value = 1);

// `buffer`, a FlatBuffer, with one vector moved 4 bytes on: the vector whose first element's bytes
// are `first_element` (found once in `buffer`, 8-byte aligned), its offset pointing 4 bytes further
// at a length of 1 written over that element's first 4 bytes. The FlatBuffers verifier still
// accepts it — it checks a vector's length for 4-byte alignment only — but an 8-byte element now
// lies 4 bytes off its alignment. Empty when the vector or its offset is not found.
std::string ShiftVectorOffAlignment(std::string buffer, std::string_view first_element);

}  // namespace flowstat::testing
