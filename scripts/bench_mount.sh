#!/usr/bin/env bash
# Measures mounting a large sharded checkpoint: a synthetic model of SHARDS x TENSORS_PER_SHARD
# tensors (160 x 625 = 100k by default) with a hub-style index. It times `tensorfs mount` until
# it returns (the mount live) against the reference library opening every shard with safe_open
# and listing its keys in one Python process, interpreter start included; both sides run in
# the same session, interleaved, on a warm page cache. It also reads the daemon's anonymous
# memory (RssAnon) once the mount is ready and again after reading every sidecar.
#
# Usage: scripts/bench_mount.sh [RUNS]   (environment: SHARDS, TENSORS_PER_SHARD)
# Prints a markdown table. Needs root or FUSE access, and the packages of scripts/setup.sh.
set -euo pipefail
cd "$(dirname "$0")/.."

RUNS=${1:-5}
SHARDS=${SHARDS:-160}
TENSORS_PER_SHARD=${TENSORS_PER_SHARD:-625}

swift build -c release --product tensorfs >&2
BIN="$(swift build -c release --show-bin-path)/tensorfs"
WORK=$(mktemp -d /tmp/tensorfs-bench-mount.XXXXXX)
MOUNTPOINT="$WORK/mnt"
mkdir -p "$MOUNTPOINT"
cleanup() {
  "$BIN" unmount "$MOUNTPOINT" >/dev/null 2>&1 || true
  fusermount3 -uz "$MOUNTPOINT" >/dev/null 2>&1 || true
  rm -rf "$WORK"
}
trap cleanup EXIT

echo "bench_mount: writing $SHARDS x $TENSORS_PER_SHARD tensors into $WORK/model" >&2
python3 scripts/synthetic_sharded_model.py "$WORK/model" "$SHARDS" "$TENSORS_PER_SHARD"

python3 - "$BIN" "$WORK/model" "$MOUNTPOINT" "$RUNS" "$SHARDS" "$TENSORS_PER_SHARD" <<'PY'
import os
import statistics
import subprocess
import sys
import time

binary, model, mountpoint, runs, shards, per_shard = sys.argv[1:]
runs = int(runs)

REFERENCE = """
import glob, sys
from safetensors import safe_open
count = 0
for path in sorted(glob.glob(sys.argv[1] + "/*.safetensors")):
    with safe_open(path, "np") as handle:
        count += len(handle.keys())
print(count)
"""


def reference_seconds():
    start = time.perf_counter()
    output = subprocess.run([sys.executable, "-c", REFERENCE, model], check=True, capture_output=True, text=True).stdout
    elapsed = time.perf_counter() - start
    assert int(output) == int(shards) * int(per_shard), output
    return elapsed


def daemon_pid():
    target = os.path.realpath(mountpoint)
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as handle:
                words = handle.read().split(b"\0")
        except OSError:
            continue
        if b"--readiness-descriptor" in words and os.fsencode(target) in words:
            return pid
    raise RuntimeError("no tensorfs daemon found for " + target)


def anonymous_kib(pid):
    with open(f"/proc/{pid}/status") as handle:
        for line in handle:
            if line.startswith("RssAnon:"):
                return int(line.split()[1])
    raise RuntimeError("no RssAnon in /proc/%s/status" % pid)


def mount_seconds(measure_memory):
    start = time.perf_counter()
    subprocess.run([binary, "mount", model, mountpoint], check=True)
    elapsed = time.perf_counter() - start
    memory = None
    try:
        if measure_memory:
            pid = daemon_pid()
            ready = anonymous_kib(pid)
            sidecars = 0
            for root, _, files in os.walk(mountpoint):
                for name in files:
                    if name.endswith(".json"):
                        with open(os.path.join(root, name), "rb") as handle:
                            handle.read()
                        sidecars += 1
            memory = (ready, anonymous_kib(pid), sidecars)
    finally:
        subprocess.run([binary, "unmount", mountpoint], check=True)
    return elapsed, memory


# Warm the page cache and both code paths once, then interleave the runs.
reference_seconds()
mount_seconds(False)
mounts, references = [], []
for _ in range(runs):
    mounts.append(mount_seconds(False)[0])
    references.append(reference_seconds())
_, (ready, walked, sidecars) = mount_seconds(True)

mount_median, reference_median = statistics.median(mounts), statistics.median(references)
# Both sides share the machine with whatever else runs: say how busy it was.
load = os.getloadavg()[0]
print(f"### Mounting {int(shards) * int(per_shard)} tensors in {shards} shards ({runs} runs, warm cache, {os.cpu_count()} CPUs, load average {load:.1f})\n")
print("| measure | median | best |")
print("| --- | ---: | ---: |")
print(f"| `tensorfs mount` until it returns | {mount_median * 1000:.0f} ms | {min(mounts) * 1000:.0f} ms |")
print(f"| reference: `safe_open` every shard and list keys, one Python process | {reference_median * 1000:.0f} ms | {min(references) * 1000:.0f} ms |")
print(f"| ratio tensorfs / reference (lower is better) | {mount_median / reference_median:.2f} | {min(mounts) / min(references):.2f} |")
print(f"| daemon RssAnon, mount ready | {ready / 1024:.1f} MiB | |")
print(f"| daemon RssAnon, after reading all {sidecars} sidecars | {walked / 1024:.1f} MiB | |")
PY
