// A check of every table file's footer before RocksDB opens them. RocksDB 7.8 trusts the block
// handles in a table footer (which no checksum covers): a damaged footer makes it allocate
// whatever size the bytes say, and a terabyte-sized allocation kills the process. Refusing such
// a file here turns that crash into a Corruption status.
#pragma once

#include <string>

#include "flowstat/status.h"

namespace flowstat::storage {

// Corruption naming the first *.sst file in `dir` whose footer is not a well-formed
// block-based-table footer with block handles inside the file. Table files newer than the
// current MANIFEST are skipped: those are tables a crash interrupted, never opened by RocksDB.
Status CheckTableFooters(const std::string& dir);

}  // namespace flowstat::storage
