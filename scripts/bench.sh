#!/usr/bin/env bash
# Measures tensorfs against its baselines side by side and prints one markdown table of ratios
# (with the absolute figures), headed by the machine it ran on. Run as root (it drops caches and
# raises the mount's read-ahead). Installs what it needs, builds release, generates its inputs
# under $TENSORFS_BENCH_DIR (default /tmp/tensorfs-bench; kept between runs to save time).
#
# Every part prints its rows as JSON lines (format: scripts/bench/common.py); other parts of the
# benchmark (scripts/bench_*.sh) are run when present, with TENSORFS_BIN, TENSORFS_BENCH_DIR and
# BENCH_FORMAT=rows set, and their rows join the same table. BENCH_REPEATS sets how many times
# each pair is timed (BENCH_FIND_REPEATS for the directory walks, which take longest). The
# header-parsing micro-benchmark's table follows.
set -euo pipefail
cd "$(dirname "$0")/.."

WORK=${TENSORFS_BENCH_DIR:-/tmp/tensorfs-bench}
REPEATS=${BENCH_REPEATS:-3}
FIND_REPEATS=${BENCH_FIND_REPEATS:-2}
mkdir -p "$WORK"

scripts/setup.sh >&2
swift build -c release >&2
BIN_DIR="$(swift build -c release --show-bin-path)"
BIN=$BIN_DIR/tensorfs
export TENSORFS_BIN=$BIN TENSORFS_BENCH_DIR=$WORK BENCH_FORMAT=rows

unmount_leftovers() {
  awk -v prefix="$WORK/" 'index($2, prefix) == 1 {print $2}' /proc/mounts | while read -r mountpoint; do
    fusermount3 -uz "$mountpoint" 2>/dev/null || umount -l "$mountpoint"
  done
}
trap unmount_leftovers EXIT
unmount_leftovers

ROWS=$WORK/rows.jsonl
: >"$ROWS"
# Keeps a part's JSON rows, passes everything else it prints to standard error.
collect() {
  "$@" | while IFS= read -r line; do
    if [[ $line == "{"* ]]; then echo "$line" >>"$ROWS"; else echo "$line" >&2; fi
  done
}

collect python3 scripts/bench/reads.py --binary "$BIN" --work "$WORK" --repeats "$REPEATS"
collect python3 scripts/bench/numpy_mmap.py --binary "$BIN" --work "$WORK" --repeats "$REPEATS"
collect python3 scripts/bench/passthrough.py --binary "$BIN" --work "$WORK" --repeats "$REPEATS"
collect python3 scripts/bench/tree.py --binary "$BIN" --work "$WORK" --repeats "$FIND_REPEATS"
collect python3 scripts/bench/f32_view.py --binary "$BIN" --work "$WORK" --repeats "$REPEATS"
collect python3 scripts/bench/hub.py --binary "$BIN" --work "$WORK" --repeats "$REPEATS"
for part in scripts/bench_mount.sh scripts/bench_tp.sh scripts/bench_remote.sh; do
  if [ -x "$part" ]; then collect "$part"; fi
done

{
  python3 scripts/bench/table.py "$ROWS"
  echo
  echo "Header parsing and namespace building (\`header-benchmark\`, a 100,000-tensor header):"
  echo
  "$BIN_DIR/header-benchmark" | sed -n '/^|/,$p'
} | tee "$WORK/table.md"
