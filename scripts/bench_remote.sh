#!/usr/bin/env bash
# Benchmarks remote sources on loopback and prints a markdown table, every row side by side in
# one run: nginx (from Debian) serves the models on 127.0.0.1, moto (S3) a 1 GiB model too;
# safetensors-streaming 0.1.1 (a Rust + libcurl streaming loader from PyPI) and curl are the
# references, and two other FUSE filesystems from Debian are the peers, with their default
# settings on the same files: rclone mount (HTTP backend, on nginx) and s3fs-fuse (on moto).
# Needs root (it drops the page cache and mounts). Options: --repeat N (default 3; medians are
# reported), --moto-repeat N for the sequential read from moto (default 1: s3fs takes minutes
# per read). Figures vary run to run on shared machines; compare within one run. Run by scripts/bench.sh
# (TENSORFS_BIN set: no build; TENSORFS_BENCH_DIR: where its files go, default .cache;
# BENCH_FORMAT=rows: the rows are also printed as JSON lines for the combined table, see
# scripts/bench/common.py).
set -euo pipefail
cd "$(dirname "$0")/.."

REPEAT=3
MOTO_REPEAT=1
while (($#)); do
  case "$1" in
    --repeat) REPEAT="$2"; shift 2 ;;
    --moto-repeat) MOTO_REPEAT="$2"; shift 2 ;;
    *) echo "usage: $0 [--repeat N] [--moto-repeat N]" >&2; exit 2 ;;
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

BIN="$BIN" WORK="$WORK" REPEAT="$REPEAT" MOTO_REPEAT="$MOTO_REPEAT" PYTHONPATH="Tests/e2e:scripts/bench:$WORK/streaming" python3 - <<'PY'
import json, os, pathlib, shutil, statistics, struct, subprocess, sys, time, urllib.request
from concurrent.futures import ThreadPoolExecutor

import numpy as np
from common import MIB, Mount, drop_caches, mount_seconds, timed, write_safetensors
from remote_servers import Moto, Nginx, shard_model

BIN, WORK, REPEAT = os.environ["BIN"], pathlib.Path(os.environ["WORK"]).resolve(), int(os.environ["REPEAT"])
MOTO_REPEAT = int(os.environ["MOTO_REPEAT"])
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


def wait_mounted(path, process=None):
    deadline = time.monotonic() + 30
    while not os.path.ismount(path):
        if time.monotonic() > deadline or (process and process.poll() is not None):
            raise RuntimeError(f"{path} was not mounted")
        time.sleep(0.01)


def fuse_unmount(path, process=None):
    subprocess.run(["fusermount3", "-u", str(path)], check=True)
    if process:
        process.wait(timeout=30)
    deadline = time.monotonic() + 30
    while os.path.ismount(path) and time.monotonic() < deadline:
        time.sleep(0.05)


class Rclone:
    """rclone mount of nginx's root (HTTP backend), default settings, live once mounted."""
    name = "rclone mount " + subprocess.run(["rclone", "version"], capture_output=True, text=True).stdout.split()[1].split("-")[0]

    def __init__(self, server):
        self.server = server

    def mount(self, path):
        self.process = subprocess.Popen(["rclone", "mount", ":http:", str(path), "--http-url", self.server.url(""), "--read-only"],
                                        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_mounted(path, self.process)

    def unmount(self, path):
        fuse_unmount(path, self.process)


class S3fs:
    """s3fs-fuse mounting moto's bucket, default settings."""
    name = "s3fs " + subprocess.run(["s3fs", "--version"], capture_output=True, text=True).stdout.split()[6].lstrip("V")

    def __init__(self, moto, bucket, passwords):
        self.moto, self.bucket, self.passwords = moto, bucket, passwords

    def mount(self, path):
        subprocess.run(["s3fs", f"{self.bucket}:/", str(path), "-o",
                        f"url={self.moto.endpoint},use_path_request_style,passwd_file={self.passwords},ro"], check=True)
        wait_mounted(path)

    def unmount(self, path):
        fuse_unmount(path)


def read_tensor_as_a_loader(path, name):
    """One tensor of the safetensors file at `path`, read as a loader does: the header's length,
    the header, then the tensor's bytes."""
    with open(path, "rb") as file:
        length = struct.unpack("<Q", file.read(8))[0]
        start, end = json.loads(file.read(length))[name]["data_offsets"]
        file.seek(8 + length + start)
        return file.read(end - start)


def throughput_ratio(ours, theirs):
    """Medians of paired (bytes, seconds) samples: our speed over theirs, and both in GB/s."""
    ratio = median([(b1 / s1) / (b2 / s2) for (b1, s1), (b2, s2) in zip(ours, theirs)])
    return ratio, median([b / s for b, s in ours]) / 1e9, median([b / s for b, s in theirs]) / 1e9


# ---- Data ----
shutil.rmtree(WORK / "nginx", ignore_errors=True)
server = Nginx(WORK / "nginx", http_config="autoindex on;")  # rclone finds files in listings
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
# The peers' model: 64 tensors of 16 MiB, on nginx and in moto.
write_safetensors(str(www / "tensors.safetensors"), {f"layers.{n}.weight": ("U8", [16 * MIB], 16 * MIB) for n in range(64)},
                  lambda dtype: noise)
note("starting moto and uploading the 1 GiB model")
moto = Moto(request_log=WORK / "moto-requests.jsonl")
moto.client().create_bucket(Bucket="bench")
moto.client().upload_file(str(www / "tensors.safetensors"), "bench", "tensors.safetensors")
os.environ.update(moto.environment())  # for tensorfs's s3:// mounts
passwords = WORK / "s3fs-passwords"
passwords.write_text("test:test\n")
passwords.chmod(0o600)
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
    # Both through the daemon: the local mount would otherwise hand its whole file to the kernel
    # (passthrough), which no cache of parts can do; the row measures the cache's read path.
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
        with Mount(BIN, [www / "big.safetensors"], mountpoint("local"), ["--no-passthrough"]) as local:
            drop_caches()
            theirs.append(command_seconds(["cat", str(local / "model.safetensors")]))
    size = (www / "big.safetensors").stat().st_size
    rows.append(("4. re-read after remount from --cache-dir, page cache dropped", f"{size / median(ours) / 1e9:.2f} GB/s",
                 f"local-disk mount, --no-passthrough: {size / median(theirs) / 1e9:.2f} GB/s", f"{median(theirs) / median(ours):.2f}", ">= 0.8",
                 median(theirs) / median(ours)))
    note(rows[-1])

    # ---- Rows 5 and 6: against rclone (nginx) and s3fs (moto) on the same 1 GiB model ----
    # Each pair is timed back to back, in alternating order; every mount is fresh, so the
    # kernel's page cache of the mounted file starts empty for both.
    peers = [("nginx", server, Rclone(server), server.url("tensors.safetensors"), REPEAT),
             ("S3 (moto)", moto, S3fs(moto, "bench", passwords), "s3://bench/tensors.safetensors", MOTO_REPEAT)]
    size = (www / "tensors.safetensors").stat().st_size
    theirs_mount = mountpoint("peer")
    for where, _, peer, source, repeat in peers:
        ours, theirs = [], []
        for round_number in range(repeat):
            for turn in ((0, 1) if round_number % 2 == 0 else (1, 0)):
                if turn == 0:
                    with Mount(BIN, [source], mountpoint("tensorfs")) as target:
                        ours.append(((target / "model.safetensors").stat().st_size, command_seconds(["cat", str(target / "model.safetensors")])))
                else:
                    peer.mount(theirs_mount)
                    theirs.append((size, command_seconds(["cat", str(theirs_mount / "tensors.safetensors")])))
                    peer.unmount(theirs_mount)
        ratio, ours_speed, theirs_speed = throughput_ratio(ours, theirs)
        rows.append((f"5. sequential read, cold, 1 GiB model of 16 MiB tensors, {where}", f"{ours_speed:.3f} GB/s",
                     f"{peer.name}: {theirs_speed:.3f} GB/s", f"{ratio:.2f}", ">= 1", ratio, repeat))
        note(rows[-1])

    expected = read_tensor_as_a_loader(www / "tensors.safetensors", "layers.32.weight")
    for where, host, peer, source, _ in peers:
        ours, theirs = [], []
        for round_number in range(REPEAT):
            for turn in ((0, 1) if round_number % 2 == 0 else (1, 0)):
                host.clear_log()
                if turn == 0:
                    mount = Mount(BIN, [source], mountpoint("tensorfs"))
                    with mount as target:
                        seconds, data = timed(lambda: (target / "layers/32/weight").read_bytes())
                    seconds += mount.seconds
                else:
                    seconds, data = timed(lambda: (peer.mount(theirs_mount), read_tensor_as_a_loader(theirs_mount / "tensors.safetensors", "layers.32.weight"))[1])
                    peer.unmount(theirs_mount)
                assert data == expected
                (ours if turn == 0 else theirs).append((seconds, sum(r["bytes"] for r in host.requests())))
        ours_time, theirs_time = median([t for t, _ in ours]), median([t for t, _ in theirs])
        ours_bytes, theirs_bytes = median([b for _, b in ours]), median([b for _, b in theirs])
        speed = median([t2 / t1 for (t1, _), (t2, _) in zip(ours, theirs)])
        rows.append((f"6. mount + read of one 16 MiB tensor, {where}: time", f"{ours_time * 1000:.0f} ms",
                     f"{peer.name}: {theirs_time * 1000:.0f} ms", f"{speed:.2f}", ">= 1", speed))
        note(rows[-1])
        rows.append((f"6. mount + read of one 16 MiB tensor, {where}: bytes sent", f"{ours_bytes / MIB:.1f} MiB",
                     f"{peer.name}: {theirs_bytes / MIB:.1f} MiB", f"{ours_bytes / theirs_bytes:.2f}", "<= 1", ours_bytes / theirs_bytes))
        note(rows[-1])
finally:
    for name in ("live", "sequential", "one", "cached", "local", "tensorfs"):
        path = WORK / "mnt" / name
        if path.exists() and os.path.ismount(path):
            subprocess.run([BIN, "unmount", str(path)])
    if os.path.ismount(WORK / "mnt" / "peer"):
        subprocess.run(["fusermount3", "-u", str(WORK / "mnt" / "peer")])
    server.stop()
    moto.stop()

print(f"\nRemote sources on loopback (nginx, moto), {os.cpu_count()} cores, medians of {REPEAT} (moto's sequential reads: {MOTO_REPEAT})\n")
print("| row | tensorfs | reference | ratio | goal |")
print("| --- | --- | --- | --- | --- |")
for row in rows:
    print("| " + " | ".join(row[:5]) + " |")
if os.environ.get("BENCH_FORMAT") == "rows":
    numbered = {}
    for label, figure, reference, _, goal, value, *samples in rows:
        number, text = label.split(". ", 1)
        numbered[number] = numbered.get(number, 0) + 1
        print(json.dumps({"id": f"R{number}{'abcdefgh'[numbered[number] - 1]}", "row": f"Remote: {text}",
                          "baseline": reference, "goal": ">= 1" if goal == "faster" else goal, "value": round(value, 3),
                          "samples": samples[0] if samples else REPEAT, "tensorfs": figure, "reference": reference.split(": ", 1)[-1]}))
PY
