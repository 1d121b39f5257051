#!/usr/bin/env bash
# Rows 5 and 8 of the benchmark on their own: mounting a synthetic 100,000-tensor model of 160
# shards (with a hub-style index) until the mount is live, against the reference library opening
# every shard and listing its keys, and the daemon's anonymous memory. Prints a markdown table,
# or JSON rows when BENCH_FORMAT=rows (as scripts/bench.sh runs it).
#
# Usage: scripts/bench_mount.sh [REPEATS]   (at least 5; the model is written once under
# $TENSORFS_BENCH_DIR, default /tmp/tensorfs-bench)
set -euo pipefail
cd "$(dirname "$0")/.."

WORK=${TENSORFS_BENCH_DIR:-/tmp/tensorfs-bench}
mkdir -p "$WORK"
if [ -z "${TENSORFS_BIN:-}" ]; then
  swift build -c release --product tensorfs >&2
  TENSORFS_BIN="$(swift build -c release --show-bin-path)/tensorfs"
fi
rows=$(python3 scripts/bench/mount.py --binary "$TENSORFS_BIN" --work "$WORK" --repeats "${1:-5}")
if [ "${BENCH_FORMAT:-}" = rows ]; then
  echo "$rows"
else
  python3 scripts/bench/table.py <(echo "$rows")
fi
