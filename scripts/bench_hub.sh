#!/usr/bin/env bash
# Benchmarks hf:// sources against nginx laid out as the Hugging Face Hub on 127.0.0.1 (the
# stand-in of Tests/e2e/hub_servers.py), side by side with huggingface_hub (from the loaders'
# virtualenv) doing what a user does without tensorfs: snapshot_download of the repository, and
# hf_hub_download of the one shard that holds the tensor wanted. Rows: the time until the mount
# is live, and the time and the bytes moved to read one 1 MiB tensor. Needs root (it mounts).
# Options: --repeat N (default 3; medians). Run by scripts/bench.sh (TENSORFS_BIN set: no build;
# TENSORFS_BENCH_DIR: where its files go, default .cache; BENCH_FORMAT=rows: JSON rows too, see
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
WORK=${TENSORFS_BENCH_DIR:-.cache}/bench-hub
mkdir -p "$WORK"
if [ -n "${TENSORFS_BIN:-}" ]; then
  BIN=$TENSORFS_BIN
else
  echo "bench: building tensorfs (release)" >&2
  swift build -c release >/dev/null
  BIN="$(swift build -c release --show-bin-path)/tensorfs"
fi

BIN="$BIN" WORK="$WORK" REPEAT="$REPEAT" PYTHONPATH="Tests/e2e" python3 - <<'PY'
import json, os, pathlib, shutil, statistics, subprocess, sys, time

import numpy as np
from safetensors.numpy import save_file
from hub_servers import HubNginx, fake_commit
from remote_servers import daemon_command_lines

BIN, WORK, REPEAT = os.environ["BIN"], pathlib.Path(os.environ["WORK"]).resolve(), int(os.environ["REPEAT"])
MiB = 1 << 20
SAMPLE = pathlib.Path(".cache/models/all-MiniLM-L6-v2").resolve()
LOADERS_PYTHON = pathlib.Path(".cache/loaders-venv/bin/python").absolute()
for name in ("http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "all_proxy", "HF_TOKEN", "HF_HUB_OFFLINE"):
    os.environ.pop(name, None)


def note(text):
    print(f"bench: {text}", file=sys.stderr, flush=True)


# ---- Data: a repository of 4 shards of 256 MiB and the sample model's companion files ----
model, written = WORK / "model", WORK / "model.complete"
if not written.exists():
    note("writing a 1 GiB model in 4 shards")
    shutil.rmtree(model, ignore_errors=True)
    model.mkdir(parents=True)
    rng = np.random.default_rng(0)
    weight_map = {}
    for shard in range(4):
        file_name = f"model-{shard + 1:05d}-of-00004.safetensors"
        tensors = {f"layers.{shard}.block.{n}": rng.integers(0, 255, size=MiB, dtype=np.uint8) for n in range(256)}
        save_file(tensors, str(model / file_name), metadata={"format": "pt"})
        weight_map.update(dict.fromkeys(tensors, file_name))
    (model / "model.safetensors.index.json").write_text(json.dumps({"metadata": {}, "weight_map": weight_map}))
    for path in SAMPLE.rglob("*"):
        if path.is_file() and not path.name.endswith(".safetensors"):
            (model / path.relative_to(SAMPLE)).parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, model / path.relative_to(SAMPLE))
    written.touch()
WANTED, WANTED_SHARD = "layers.2.block.128", "model-00003-of-00004.safetensors"
shutil.rmtree(WORK / "nginx", ignore_errors=True)
server = HubNginx(WORK / "nginx")
server.publish("bench/model", {fake_commit("bench"): model}, fake_commit("bench"))
server.start()
for path in model.glob("*.safetensors"):
    path.read_bytes()
environment = dict(os.environ, HF_ENDPOINT=server.endpoint, HF_HOME=str(WORK / "hf-home"), HF_HUB_DISABLE_TELEMETRY="1")
mountpoint = WORK / "mnt"
mountpoint.mkdir(exist_ok=True)


def moved():
    return sum(r["bytes"] for r in server.requests())


def tensorfs_run(read_tensor):
    """Mounts hf://bench/model, optionally reads the wanted tensor; returns (seconds, bytes)."""
    server.clear_log()
    start = time.perf_counter()
    subprocess.run([BIN, "mount", "hf://bench/model", mountpoint], check=True, env=environment)
    if read_tensor:
        data = (mountpoint / WANTED.replace(".", "/")).read_bytes()
        assert len(data) == MiB
    seconds = time.perf_counter() - start
    subprocess.run([BIN, "unmount", mountpoint], check=True)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and any(str(mountpoint) in line for line in daemon_command_lines()):
        time.sleep(0.05)
    return seconds, moved()


def huggingface_hub_run(script):
    """Runs `script` (which prints its own seconds) with huggingface_hub into an empty cache."""
    shutil.rmtree(WORK / "hf-cache", ignore_errors=True)
    server.clear_log()
    output = subprocess.run([LOADERS_PYTHON, "-c", script], check=True, capture_output=True, text=True,
                            env=dict(environment, HF_HUB_CACHE=str(WORK / "hf-cache"))).stdout
    return float(output.split()[-1]), moved()


SNAPSHOT = """import time; from huggingface_hub import snapshot_download
start = time.perf_counter(); snapshot_download("bench/model"); print(time.perf_counter() - start)"""
ONE_TENSOR = f"""import time; from huggingface_hub import hf_hub_download; from safetensors import safe_open
start = time.perf_counter()
with safe_open(hf_hub_download("bench/model", "{WANTED_SHARD}"), "np") as shard: assert shard.get_tensor("{WANTED}").nbytes == {MiB}
print(time.perf_counter() - start)"""

rows = []
try:
    live = [tensorfs_run(False) for _ in range(REPEAT)]
    downloads = [huggingface_hub_run(SNAPSHOT) for _ in range(REPEAT)]
    ours, theirs = statistics.median(s for s, _ in live), statistics.median(s for s, _ in downloads)
    rows.append({"id": "H1", "row": "Hub: hf:// mount until live (nginx Hub, 4 x 256 MiB shards + 12 files)",
                 "baseline": "huggingface_hub snapshot_download", "goal": ">= 1", "value": round(theirs / ours, 3), "samples": REPEAT,
                 "tensorfs": f"{ours * 1000:.0f} ms, {live[0][1] / MiB:.1f} MiB moved", "reference": f"{theirs * 1000:.0f} ms, {downloads[0][1] / MiB:.1f} MiB moved"})
    reads = [tensorfs_run(True) for _ in range(REPEAT)]
    shards = [huggingface_hub_run(ONE_TENSOR) for _ in range(REPEAT)]
    ours, theirs = statistics.median(s for s, _ in reads), statistics.median(s for s, _ in shards)
    ours_bytes, theirs_bytes = statistics.median(b for _, b in reads), statistics.median(b for _, b in shards)
    rows.append({"id": "H2a", "row": "Hub: mount + read one 1 MiB tensor, time (nginx Hub)",
                 "baseline": "huggingface_hub hf_hub_download of its shard + safe_open", "goal": ">= 1", "value": round(theirs / ours, 3), "samples": REPEAT,
                 "tensorfs": f"{ours * 1000:.0f} ms", "reference": f"{theirs * 1000:.0f} ms"})
    rows.append({"id": "H2b", "row": "Hub: mount + read one 1 MiB tensor, bytes moved (nginx Hub)",
                 "baseline": "huggingface_hub hf_hub_download of its shard", "goal": ">= 10", "value": round(theirs_bytes / ours_bytes, 3), "samples": REPEAT,
                 "tensorfs": f"{ours_bytes / MiB:.2f} MiB", "reference": f"{theirs_bytes / MiB:.2f} MiB"})
finally:
    if os.path.ismount(mountpoint):
        subprocess.run([BIN, "unmount", mountpoint])
    server.stop()

print(f"\nHub sources on loopback (nginx laid out as the Hub), {os.cpu_count()} cores, medians of {REPEAT}\n")
print("| row | tensorfs | reference | ratio | goal |")
print("| --- | --- | --- | --- | --- |")
for row in rows:
    print(f"| {row['row']} | {row['tensorfs']} | {row['baseline']}: {row['reference']} | {row['value']} | {row['goal']} |")
if os.environ.get("BENCH_FORMAT") == "rows":
    for row in rows:
        print(json.dumps(row))
PY
