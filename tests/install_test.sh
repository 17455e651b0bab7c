#!/usr/bin/env bash
# The installed library as another project sees it: `cmake --install` into a temporary prefix,
# then one program built through pkg-config (flowstat.pc) and one through find_package(flowstat).
# usage: tests/install_test.sh BUILD_DIR
set -euo pipefail
BUILD=$1
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
cmake --install "$BUILD" --prefix "$WORK/prefix" >/dev/null
cat > "$WORK/main.cc" <<'CC'
#include <flowstat/store.h>
#include <cstdio>
int main(int, char** argv) {
  auto store = flowstat::Store::Open(argv[1], {});
  if (!store.ok()) return 1;
  flowstat::FlowEvent e;
  flowstat::Status s = flowstat::ParseEventJson(
      R"({"timestamp":1,"namespace":"/a","sourceID":"s","destinationID":"d","action":"Accept","value":7})", &e);
  if (s.ok()) s = (*store)->Append(e);
  flowstat::Query q;
  q.namespace_ = "/";
  q.start_absolute = 0;
  q.end_absolute = 1000;
  q.type = flowstat::StatisticType::kRepartition;
  auto r = (*store)->Query(q);
  if (!s.ok() || !r.ok() || (*r)[0].data_points.size() != 1 || (*r)[0].data_points[0].value != 7) return 1;
  std::puts("ok");
  return 0;
}
CC
g++ -std=c++20 "$WORK/main.cc" -o "$WORK/with_pkg_config" \
  $(PKG_CONFIG_PATH="$WORK/prefix/lib/pkgconfig" pkg-config --cflags --libs flowstat)
[ "$("$WORK/with_pkg_config" "$WORK/store1")" = ok ]
cat > "$WORK/CMakeLists.txt" <<'CM'
cmake_minimum_required(VERSION 3.25)
project(consumer CXX)
set(CMAKE_CXX_STANDARD 20)
find_package(flowstat REQUIRED)
add_executable(with_cmake main.cc)
target_link_libraries(with_cmake PRIVATE flowstat::flowstat)
CM
cmake -S "$WORK" -B "$WORK/build" -DCMAKE_PREFIX_PATH="$WORK/prefix" >/dev/null
cmake --build "$WORK/build" >/dev/null
[ "$("$WORK/build/with_cmake" "$WORK/store2")" = ok ]
echo "pkg-config and find_package consumers both built and ran"

# The installed command: its network subcommands run through the program it installs beside it.
FS=$WORK/prefix/bin/flowstat
[ ! -e "$WORK/prefix/bin/flowstat-net" ]
"$FS" serve --db "$WORK/store3" --listen 127.0.0.1:0 --port-file "$WORK/port" 2>"$WORK/serve.log" &
SERVER=$!
for _ in $(seq 100); do [ -s "$WORK/port" ] && break; sleep 0.1; done
[ "$(curl -sS "http://127.0.0.1:$(cat "$WORK/port")/health")" = '{"status":"ok"}' ]
kill -TERM "$SERVER"
wait "$SERVER"
echo "the installed flowstat serves"
mkdir "$WORK/elsewhere"
cp "$FS" "$WORK/elsewhere/flowstat"
if "$WORK/elsewhere/flowstat" serve --db "$WORK/store4" 2>"$WORK/err"; then exit 1; fi
grep -q "^flowstat serve: its program .*/flowstat-net is missing" "$WORK/err"
[ ! -e "$WORK/store4" ]
echo "without its network program, flowstat serve says so"
