#!/usr/bin/env bash
# Benchmarks remote sources on loopback and prints a markdown table, every row side by side in
# one run: nginx (from Debian) serves the models on 127.0.0.1; safetensors-streaming 0.1.1 (a
# Rust + libcurl streaming loader from PyPI) and curl are the references. Needs root (it drops
# the page cache and mounts). Options: --repeat N (default 3; medians are reported). Figures
# vary run to run on shared machines; compare within one run. Run by scripts/bench.sh
# (TENSORFS_BIN set: no build; TENSORFS_BENCH_DIR: where its files go, default .cache;
# BENCH_FORMAT=rows: the rows are also printed as JSON lines for the combined table, see
# scripts/bench/common.py).
set -euo pipefail
cd "$(dirname "$0")/.."

REPEAT=3
while (($#)); do
  case "$1" in
    --repeat) REPEAT="$2"; shift 2 ;;
    *) echo "usage: $0 [--repeat N]" >&2; exit 2 ;;
  esac
done

scripts/setup.sh
WORK=${TENSORFS_BENCH_DIR:-.cache}/bench-remote
mkdir -p "$WORK"
export PIP_BREAK_SYSTEM_PACKAGES=1 PIP_DISABLE_PIP_VERSION_CHECK=1
if [ ! -d "$WORK/streaming/safetensors_streaming" ]; then
  echo "bench: installing safetensors-streaming 0.1.1 into $WORK/streaming" >&2
  python3 -m pip install -q --target "$WORK/streaming" safetensors-streaming==0.1.1
fi
if [ -n "${TENSORFS_BIN:-}" ]; then
  BIN=$TENSORFS_BIN
else
  echo "bench: building tensorfs (release)" >&2
  swift build -c release >/dev/null
  BIN="$(swift build -c release --show-bin-path)/tensorfs"
fi

BIN="$BIN" WORK="$WORK" REPEAT="$REPEAT" PYTHONPATH="Tests/e2e:scripts/bench:$WORK/streaming" python3 - <<'PY'
import json, os, pathlib, shutil, statistics, subprocess, sys, urllib.request
from concurrent.futures import ThreadPoolExecutor

import numpy as np
from common import MIB, Mount, drop_caches, mount_seconds, timed, write_safetensors
from remote_servers import Nginx, shard_model

BIN, WORK, REPEAT = os.environ["BIN"], pathlib.Path(os.environ["WORK"]).resolve(), int(os.environ["REPEAT"])
SAMPLE = pathlib.Path(".cache/models/all-MiniLM-L6-v2/model.safetensors").resolve()
for name in ("http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "all_proxy"):
    os.environ.pop(name, None)


def note(text):
    print(f"bench: {text}", file=sys.stderr, flush=True)


def mountpoint(name):
    path = WORK / "mnt" / name
    path.mkdir(parents=True, exist_ok=True)
    return path


def command_seconds(command):
    seconds, _ = timed(lambda: subprocess.run(command, check=True, stdout=subprocess.DEVNULL))
    return seconds


def median(values):
    return statistics.median(values)


# ---- Data ----
shutil.rmtree(WORK / "nginx", ignore_errors=True)
server = Nginx(WORK / "nginx")
www = server.root
note("writing the models")
shutil.copyfile(SAMPLE, www / "real.safetensors")
shard_model(SAMPLE, www / "real-sharded", 4)
many = www / "many"
many.mkdir()
weight_map = {}
rng = np.random.default_rng(0)
values = rng.standard_normal(64, dtype=np.float32).tobytes()
for shard in range(160):
    file_name = f"model-{shard + 1:05d}-of-00160.safetensors"
    tensors = {f"model.layers.{shard}.block.{n}.weight": ("F32", [64], len(values)) for n in range(625)}
    write_safetensors(str(many / file_name), tensors, lambda dtype: values, metadata={"format": "pt"})
    weight_map.update(dict.fromkeys(tensors, file_name))
(many / "model.safetensors.index.json").write_text(json.dumps({"metadata": {}, "weight_map": weight_map}))
# `one_mib` last, at the end of the file, as the reference writer (which sorts by name) placed it.
noise = rng.integers(0, 255, size=MIB, dtype=np.uint8).tobytes()
write_safetensors(str(www / "big.safetensors"), {
    "after": ("U8", [511 * MIB - 4099], 511 * MIB - 4099),
    "before": ("U8", [512 * MIB + 4099], 512 * MIB + 4099),
    "one_mib": ("U8", [MIB], MIB)}, lambda dtype: noise)
rows = []

try:
    # ---- Row 1: mount until live vs safetensors-streaming listing keys ----
    import safetensors_streaming

    def streaming_open(urls):
        def keys(url):
            with safetensors_streaming.safe_open(url, framework="pt") as opened:
                return len(list(opened.keys()))
        with ThreadPoolExecutor(32) as pool:
            return sum(pool.map(keys, urls))

    def shard_urls(index_url):
        """The shards of the index at `index_url`, fetched as a loader would."""
        with urllib.request.urlopen(index_url) as response:
            index = json.loads(response.read())
        base = index_url.rsplit("/", 1)[0]
        return [f"{base}/{name}" for name in sorted(set(index["weight_map"].values()))]

    for label, url, sharded in [("real model (1 file)", server.url("real.safetensors"), False),
                                ("160 shards, 100k tensors", server.url("many/model.safetensors.index.json"), True)]:
        ours, theirs = [], []
        for _ in range(REPEAT):
            ours.append(mount_seconds(BIN, [url], mountpoint("live")))
            seconds, count = timed(lambda: streaming_open(shard_urls(url) if sharded else [url]))
            theirs.append(seconds)
        local = []
        for _ in range(REPEAT):
            local.append(mount_seconds(BIN, [www / (url.split("/", 3)[3])], mountpoint("live")))
        rows.append((f"1. mount until live, {label}", f"{median(ours) * 1000:.0f} ms (the same files mounted from local disk: {median(local) * 1000:.0f} ms)",
                     f"safetensors-streaming open + keys: {median(theirs) * 1000:.0f} ms ({count} keys)",
                     f"{median(theirs) / median(ours):.1f}x faster" if median(ours) < median(theirs) else f"{median(ours) / median(theirs):.1f}x slower",
                     "faster", median(theirs) / median(ours)))
        note(rows[-1])

    # ---- Row 2: sequential read through the mount, cold, vs curl ----
    for label, url, objects in [("1 GiB file", server.url("big.safetensors"), ["big.safetensors"]),
                                ("real model, 4 shards", server.url("real-sharded/model.safetensors.index.json"),
                                 ["real-sharded/" + p.name for p in sorted((www / "real-sharded").glob("*.safetensors"))])]:
        ours, theirs = [], []
        # The server's files stay in its page cache (as a CDN or S3 serves at network speed);
        # tensorfs starts cold: a fresh mount, no --cache-dir.
        for path in objects:
            (www / path).read_bytes()
        for _ in range(REPEAT):
            with Mount(BIN, [url], mountpoint("sequential")) as target:
                ours.append(command_seconds(["cat", str(target / "model.safetensors")]))
            theirs.append(command_seconds(["curl", "-s"] + [word for o in objects for word in ("-o", "/dev/null", server.url(o))]))
        size = sum((www / o).stat().st_size for o in objects)
        ratio = median(theirs) / median(ours)
        rows.append((f"2. sequential read, cold, {label}", f"{size / median(ours) / 1e9:.2f} GB/s",
                     f"curl to /dev/null: {size / median(theirs) / 1e9:.2f} GB/s", f"{ratio:.2f}", ">= 0.8", ratio))
        note(rows[-1])

    # ---- Row 3: bytes to read one 1 MiB tensor of a 1 GiB file ----
    server.clear_log()
    with Mount(BIN, [server.url("big.safetensors")], mountpoint("one")) as target:
        header = sum(r["bytes"] for r in server.requests())
        server.clear_log()
        data = (target / "one_mib").read_bytes()
        assert len(data) == MIB
        transferred = sum(r["bytes"] for r in server.requests())
    part = 8 * MIB
    rows.append(("3. bytes for one 1 MiB tensor of a 1 GiB file", f"{transferred + header} B ({transferred} data + {header} header probe)",
                 f"tensor + part + header = {MIB + part + header} B", f"{(transferred + header) / (MIB + part + header):.2f}", "<= 1",
                 (transferred + header) / (MIB + part + header)))
    note(rows[-1])

    # ---- Row 4: re-read after a remount from --cache-dir vs a local-disk mount ----
    cache = WORK / "cache"
    shutil.rmtree(cache, ignore_errors=True)
    cached = Mount(BIN, [server.url("big.safetensors")], mountpoint("cached"), ["--cache-dir", cache, "--cache-size", "4G"])
    with cached as target:
        subprocess.run(["cat", str(target / "model.safetensors")], check=True, stdout=subprocess.DEVNULL)
    ours, theirs = [], []
    for _ in range(REPEAT):
        with cached as target:
            drop_caches()
            ours.append(command_seconds(["cat", str(target / "model.safetensors")]))
        with Mount(BIN, [www / "big.safetensors"], mountpoint("local")) as local:
            drop_caches()
            theirs.append(command_seconds(["cat", str(local / "model.safetensors")]))
    size = (www / "big.safetensors").stat().st_size
    rows.append(("4. re-read after remount from --cache-dir, page cache dropped", f"{size / median(ours) / 1e9:.2f} GB/s",
                 f"local-disk mount: {size / median(theirs) / 1e9:.2f} GB/s", f"{median(theirs) / median(ours):.2f}", ">= 0.8",
                 median(theirs) / median(ours)))
    note(rows[-1])
finally:
    for name in ("live", "sequential", "one", "cached", "local"):
        path = WORK / "mnt" / name
        if path.exists() and os.path.ismount(path):
            subprocess.run([BIN, "unmount", str(path)])
    server.stop()

print(f"\nRemote sources on loopback (nginx), {os.cpu_count()} cores, medians of {REPEAT}\n")
print("| row | tensorfs | reference | ratio | goal |")
print("| --- | --- | --- | --- | --- |")
for row in rows:
    print("| " + " | ".join(row[:5]) + " |")
if os.environ.get("BENCH_FORMAT") == "rows":
    numbered = {}
    for label, figure, reference, _, goal, value in rows:
        number, text = label.split(". ", 1)
        numbered[number] = numbered.get(number, 0) + 1
        print(json.dumps({"id": f"R{number}{'abcdefgh'[numbered[number] - 1]}", "row": f"Remote: {text}",
                          "baseline": reference, "goal": ">= 1" if goal == "faster" else goal, "value": round(value, 3),
                          "samples": REPEAT, "tensorfs": figure, "reference": reference.split(": ", 1)[-1]}))
PY
