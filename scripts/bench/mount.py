"""Rows 5 and 8: mounting the 100,000-tensor model of 160 shards until the mount is live, against
the reference library opening every shard with safe_open and listing its keys in one Python
process (interpreter start included), both on a warm page cache and interleaved; and the
daemon's anonymous memory (RssAnon) when ready and after reading every sidecar."""
import os
import subprocess
import sys

from common import Mount, arguments, daemon_pid, emit, log, mount_seconds, ratio_row, sharded_model, timed

REFERENCE = """
import glob, sys
from safetensors import safe_open
count = 0
for path in sorted(glob.glob(sys.argv[1] + "/*.safetensors")):
    with safe_open(path, "np") as handle:
        count += len(handle.keys())
print(count)
"""
TENSORS = 100_000


def reference_seconds(model):
    elapsed, output = timed(lambda: subprocess.run(
        [sys.executable, "-c", REFERENCE, model], check=True, capture_output=True, text=True).stdout)
    assert int(output) == TENSORS, output
    return elapsed


def anonymous_mib(pid):
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("RssAnon:"):
                return int(line.split()[1]) / 1024
    raise RuntimeError(f"no RssAnon in /proc/{pid}/status")


def memory_after_sidecars(mountpoint):
    pid = daemon_pid(mountpoint)
    if pid is None:
        raise RuntimeError(f"no tensorfs daemon serves {mountpoint}")
    ready = anonymous_mib(pid)
    sidecars = 0
    for root, _, files in os.walk(mountpoint):
        for name in files:
            if name.endswith(".json"):
                with open(os.path.join(root, name), "rb") as handle:
                    handle.read()
                sidecars += 1
    return ready, anonymous_mib(pid), sidecars


def main():
    args = arguments(__doc__)
    index = sharded_model(args.work)
    model = os.path.dirname(index)
    mountpoint = os.path.join(args.work, "mnt")
    # Warm the page cache and both code paths once, then interleave the pairs.
    reference_seconds(model)
    mount_seconds(args.binary, [index], mountpoint, args.mount_option)
    samples = []
    for repeat in range(max(args.repeats, 5)):
        log(f"bench: mount, repeat {repeat + 1}")
        ours = mount_seconds(args.binary, [index], mountpoint, args.mount_option)
        samples.append((reference_seconds(model), ours))
    emit(ratio_row("5", "mount of 100k tensors in 160 shards until live",
                   "reference: safe_open every shard and list its keys (one Python process)", ">= 1", samples))
    with Mount(args.binary, [index], mountpoint, args.mount_option) as mounted:
        ready, walked, sidecars = memory_after_sidecars(mounted)
    emit({"id": "8", "row": f"daemon RssAnon after mounting and reading all {sidecars} .json files",
          "baseline": f"RssAnon when the mount is ready: {ready:.1f} MiB", "goal": "<= 64", "value": round(walked, 1), "unit": "MiB"})


if __name__ == "__main__":
    main()
