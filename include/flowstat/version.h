// flowstat/version.h — the one place the version numbers are written.
//
// CMakeLists.txt reads kVersion from this file for the package version; the store format version
// is what a store records and what Store::Open checks (doc/storage-format.md, "Versions").
#pragma once

namespace flowstat {

inline constexpr const char* kVersion = "0.5.0";
inline constexpr int kStoreFormatVersion = 5;

}  // namespace flowstat
