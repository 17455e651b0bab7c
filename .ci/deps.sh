#!/usr/bin/env bash
# Installs the Debian 12 packages flowstat builds with (skips apt when all are present).
set -euo pipefail
PACKAGES="build-essential cmake pkg-config librocksdb-dev libflatbuffers-dev flatbuffers-compiler
  libxxhash-dev catch2 libbenchmark-dev libsimdjson-dev libcli11-dev python3 clang-14 clang-format-14 libclang-rt-14-dev git
  libcpp-httplib-dev libssl-dev zlib1g-dev libbrotli-dev openssl curl python3-requests
  libhowardhinnant-date-dev tzdata nfdump libfmt-dev librdkafka-dev kcat"
missing=$(dpkg-query -W -f='${Package} ${Status}\n' $PACKAGES 2>/dev/null | grep -vc "install ok installed" || true)
listed=$(dpkg-query -W -f='${Package}\n' $PACKAGES 2>/dev/null | wc -l || true)
if [ "$missing" != "0" ] || [ "$listed" -lt "$(echo $PACKAGES | wc -w)" ]; then
  SUDO=""
  [ "$(id -u)" = 0 ] || SUDO=sudo
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends $PACKAGES >/dev/null
fi
# The browser for the page tests (tests/chart_test.py): optional, since it is large and not every
# mirror has it; without it those tests are skipped with the reason printed.
if ! command -v chromium >/dev/null 2>&1; then
  SUDO=""
  [ "$(id -u)" = 0 ] || SUDO=sudo
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends chromium fonts-dejavu-core \
    >/dev/null 2>&1 || echo "deps: chromium could not be installed: the page tests will be skipped"
fi
