#!/usr/bin/env bash
# A full disk: the store lives on a 24 MiB tmpfs (mounted in a private mount namespace, as an
# unprivileged user namespace's root) that an import fills. The write must stop with a clear
# error — no crash, no hang — every event acknowledged before stays, the store answers while the
# disk is full, and once space returns it opens, verifies and takes writes again.
#
# Usage: full_disk_test.sh FLOWSTAT_BINARY. Exit 77 (skipped, with the reason) where no
# tmpfs can be mounted (no user namespaces and not root).
set -euo pipefail
FLOWSTAT=$(realpath "$1")
WORK=$(mktemp -d /tmp/flowstat-full-disk-XXXXXX)
trap 'rm -rf "$WORK"' EXIT

if ! unshare -rm true 2>/dev/null && [ "$(id -u)" != 0 ]; then
  echo "skipped: cannot mount a small file system here (no user namespaces, not root)"
  exit 77
fi
"$FLOWSTAT" generate --events 3000 --seed 5 > "$WORK/acknowledged.jsonl"
"$FLOWSTAT" generate --events 300000 --seed 6 > "$WORK/too-big.jsonl"
"$FLOWSTAT" generate --events 500 --seed 7 > "$WORK/later.jsonl"
# What the acknowledged events are, stored on a disk with room: the reference.
"$FLOWSTAT" import --no-progress --db "$WORK/reference" "$WORK/acknowledged.jsonl" > /dev/null 2>&1
dump() {
  "$FLOWSTAT" dump --db "$1" --namespace / --start 2000-01-01T00:00:00Z --end 2100-01-01T00:00:00Z --flow-mode all |
    sort
}
dump "$WORK/reference" > "$WORK/reference.dump"

run_in_namespace() {
  if [ "$(id -u)" = 0 ] && mount -t tmpfs -o size=1m tmpfs "$WORK" 2>/dev/null; then
    umount "$WORK"
    bash -c "$1"
  else
    unshare -rm bash -c "$1"
  fi
}

run_in_namespace "
set -euo pipefail
FLOWSTAT='$FLOWSTAT'; WORK='$WORK'
$(declare -f dump)
fail() { echo \"FAIL: \$*\"; exit 1; }
mkdir -p \$WORK/fs
mount -t tmpfs -o size=24m tmpfs \$WORK/fs
DB=\$WORK/fs/db

\$FLOWSTAT import --no-progress --db \$DB \$WORK/acknowledged.jsonl > /dev/null 2>&1 || fail 'the first import'
set +e
timeout 300 \$FLOWSTAT import --no-progress --db \$DB \$WORK/too-big.jsonl > \$WORK/full.out 2> \$WORK/full.err
code=\$?
set -e
cat \$WORK/full.err | grep -v '^rocksdb:' | head -5
[ \$code = 1 ] || fail \"the import on a full disk exited \$code (1 expected: an error, not a crash or a hang)\"
grep -q 'No space left on device' \$WORK/full.err || fail 'the error does not say the disk is full'
echo 'ok   the write on a full disk stops with a clear error (exit 1)'

# While the disk is full: still answers, with every acknowledged event.
dump \$DB > \$WORK/full.dump || fail 'dump on a full disk'
comm -23 \$WORK/reference.dump \$WORK/full.dump > \$WORK/lost
[ ! -s \$WORK/lost ] || fail \"\$(wc -l < \$WORK/lost) acknowledged events are missing\"
echo \"ok   queries answer on the full disk; all \$(wc -l < \$WORK/reference.dump) acknowledged events are there\"

# Space returns: the store opens for writing, verifies, and takes events again.
mount -o remount,size=512m \$WORK/fs
\$FLOWSTAT verify --db \$DB > \$WORK/verify.out 2>&1 || { cat \$WORK/verify.out; fail 'verify after the full disk'; }
\$FLOWSTAT import --no-progress --db \$DB \$WORK/later.jsonl > /dev/null 2>&1 || fail 'an import once space returned'
dump \$DB > \$WORK/after.dump
comm -23 \$WORK/reference.dump \$WORK/after.dump > \$WORK/lost
[ ! -s \$WORK/lost ] || fail 'acknowledged events went missing after reopening'
\$FLOWSTAT verify --db \$DB > \$WORK/verify.out 2>&1 || { cat \$WORK/verify.out; fail 'verify after the later import'; }
echo 'ok   once space returns the store opens, verifies clean and takes writes again'
umount \$WORK/fs
"
