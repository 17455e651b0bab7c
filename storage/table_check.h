// Table files are checked as RocksDB opens them. RocksDB 7.8 trusts the block handles in a table
// footer (which no checksum covers): a damaged footer makes it allocate whatever size the bytes
// say, and a terabyte-sized allocation kills the process; it also parses the properties block
// before checking its checksum, and Debian's build asserts on malformed blocks. A FileSystem
// wrapper refuses to open such a file, so the damage surfaces as a Corruption status instead.
// Only the tables RocksDB actually opens are checked: the live ones of the MANIFEST, never a
// table a crash interrupted.
#pragma once

#include <rocksdb/env.h>
#include <rocksdb/file_system.h>

#include <memory>
#include <string>

namespace flowstat::storage {

// An Env whose file system is the default one, except that opening a *.sst file for reading
// fails with Corruption unless the file ends in a well-formed block-based-table footer
// (format_version 1..5, XXH3 checksums) whose block handles lie inside the file, and its
// metaindex block and the properties block it names pass their checksums.
std::unique_ptr<rocksdb::Env> NewTableCheckingEnv();

}  // namespace flowstat::storage
