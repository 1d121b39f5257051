"""Rows H1 and H2: hf:// sources against nginx laid out as the Hugging Face Hub on 127.0.0.1 (the
stand-in of Tests/e2e/hub_servers.py), side by side with huggingface_hub (from the loaders'
virtualenv) doing what a user does without tensorfs: snapshot_download of the repository, and
hf_hub_download of the one shard that holds the tensor wanted, then safe_open. The repository:
four 256 MiB shards of 1 MiB tensors and the sample model's companion files. Measured: the time
until the mount is live, and the time and the bytes moved (nginx's access log) to read one
1 MiB tensor. huggingface_hub's figures are timed inside its process (start-up excluded).

Run alone: python3 scripts/bench/hub.py --binary .build/release/tensorfs --work /tmp/bench-hub"""
import json
import os
import pathlib
import shutil
import statistics
import subprocess
import sys

import numpy as np
from safetensors.numpy import save_file

from common import MIB, Mount, arguments, emit, log, ratio_row, timed

REPO = pathlib.Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "Tests/e2e"))
from hub_servers import HubNginx, fake_commit  # noqa: E402

SAMPLE = REPO / ".cache/models/all-MiniLM-L6-v2"
LOADERS_PYTHON = REPO / ".cache/loaders-venv/bin/python"
WANTED, WANTED_SHARD = "layers.2.block.128", "model-00003-of-00004.safetensors"
SNAPSHOT = """import time; from huggingface_hub import snapshot_download
start = time.perf_counter(); snapshot_download("bench/model"); print(time.perf_counter() - start)"""
ONE_TENSOR = f"""import time; from huggingface_hub import hf_hub_download; from safetensors import safe_open
start = time.perf_counter()
with safe_open(hf_hub_download("bench/model", "{WANTED_SHARD}"), "np") as shard: assert shard.get_tensor("{WANTED}").nbytes == {MIB}
print(time.perf_counter() - start)"""


def repository(work):
    """The benchmark's repository, written once."""
    model, written = work / "hub-model", work / "hub-model.complete"
    if written.exists():
        return model
    log(f"bench: writing a 1 GiB model in 4 shards to {model}")
    shutil.rmtree(model, ignore_errors=True)
    model.mkdir(parents=True)
    rng = np.random.default_rng(0)
    weight_map = {}
    for shard in range(4):
        file_name = f"model-{shard + 1:05d}-of-00004.safetensors"
        tensors = {f"layers.{shard}.block.{n}": rng.integers(0, 255, size=MIB, dtype=np.uint8) for n in range(256)}
        save_file(tensors, str(model / file_name), metadata={"format": "pt"})
        weight_map.update(dict.fromkeys(tensors, file_name))
    (model / "model.safetensors.index.json").write_text(json.dumps({"metadata": {}, "weight_map": weight_map}))
    for path in SAMPLE.rglob("*"):
        if path.is_file() and not path.name.endswith(".safetensors"):
            (model / path.relative_to(SAMPLE)).parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, model / path.relative_to(SAMPLE))
    written.touch()
    return model


class Runs:
    """Timed runs against one server, each reporting the bytes the server sent. The process's
    environment points tensorfs and huggingface_hub at the server."""

    def __init__(self, binary, work, server):
        self.binary, self.work, self.server = binary, work, server
        for name in ("http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "all_proxy", "HF_TOKEN", "HF_HUB_OFFLINE"):
            os.environ.pop(name, None)
        os.environ.update(HF_ENDPOINT=server.endpoint, HF_HOME=str(work / "hub-hf-home"), HF_HUB_DISABLE_TELEMETRY="1")

    def moved(self):
        return sum(r["bytes"] for r in self.server.requests())

    def tensorfs(self, read_tensor):
        """Mounts hf://bench/model (and reads the wanted tensor); returns (seconds, bytes)."""
        self.server.clear_log()
        mount = Mount(self.binary, ["hf://bench/model"], self.work / "hub-mnt")
        with mount as mountpoint:
            seconds, data = timed(lambda: (mountpoint / WANTED.replace(".", "/")).read_bytes() if read_tensor else b"")
        assert len(data) == (MIB if read_tensor else 0)
        return mount.seconds + seconds, self.moved()

    def huggingface_hub(self, script):
        """Runs `script`, which prints its own seconds, into an empty cache; returns (seconds, bytes)."""
        shutil.rmtree(self.work / "hub-hf-cache", ignore_errors=True)
        self.server.clear_log()
        output = subprocess.run([LOADERS_PYTHON, "-c", script], check=True, capture_output=True, text=True,
                                env=dict(os.environ, HF_HUB_CACHE=str(self.work / "hub-hf-cache"))).stdout
        return float(output.split()[-1]), self.moved()


def main():
    options = arguments(__doc__)
    work = pathlib.Path(options.work).resolve()
    model = repository(work)
    shutil.rmtree(work / "hub-nginx", ignore_errors=True)
    server = HubNginx(work / "hub-nginx")
    server.publish("bench/model", {fake_commit("bench"): model}, fake_commit("bench"))
    server.start()
    for path in model.glob("*.safetensors"):
        path.read_bytes()
    runs = Runs(options.binary, work, server)
    try:
        live = [(runs.huggingface_hub(SNAPSHOT), runs.tensorfs(False)) for _ in range(options.repeats)]
        row = ratio_row("H1", "Hub: hf:// mount until live (nginx Hub, 4 x 256 MiB shards + 12 files)", "huggingface_hub snapshot_download",
                        ">= 1", [(theirs[0], ours[0]) for theirs, ours in live])
        row["tensorfs"] += f", {live[0][1][1] / MIB:.1f} MiB moved"
        row["reference"] += f", {live[0][0][1] / MIB:.1f} MiB moved"
        emit(row)
        reads = [(runs.huggingface_hub(ONE_TENSOR), runs.tensorfs(True)) for _ in range(options.repeats)]
        emit(ratio_row("H2a", "Hub: mount + read one 1 MiB tensor, time (nginx Hub)", "huggingface_hub hf_hub_download of its shard + safe_open",
                       ">= 1", [(theirs[0], ours[0]) for theirs, ours in reads]))
        ours_bytes, theirs_bytes = statistics.median(o[1] for _, o in reads), statistics.median(t[1] for t, _ in reads)
        emit({"id": "H2b", "row": "Hub: mount + read one 1 MiB tensor, bytes moved (nginx Hub)", "baseline": "huggingface_hub hf_hub_download of its shard",
              "goal": ">= 10", "value": round(theirs_bytes / ours_bytes, 3), "samples": options.repeats,
              "tensorfs": f"{ours_bytes / MIB:.2f} MiB", "reference": f"{theirs_bytes / MIB:.2f} MiB"})
    finally:
        server.stop()


if __name__ == "__main__":
    main()
