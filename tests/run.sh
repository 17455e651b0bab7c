#!/usr/bin/env bash
# Sets up (Debian packages), builds and runs every test: Release, then AddressSanitizer+UBSan.
# usage: tests/run.sh [--release-only]
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
bash "$ROOT/.ci/deps.sh"
cd "$ROOT"
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release -DFLOWSTAT_BUILD_BENCH=ON >/dev/null
cmake --build build -j2
(cd build && ctest -j2 --output-on-failure)
if [ "${1:-}" != "--release-only" ]; then
  cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=RelWithDebInfo -DFLOWSTAT_SANITIZE=ON -DFLOWSTAT_BUILD_BENCH=OFF >/dev/null
  cmake --build build-asan -j2
  (cd build-asan && ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 ctest -j2 --output-on-failure)
fi
