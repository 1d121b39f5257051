"""Rows 5 and 8: mounting the 100,000-tensor model of 160 shards until the mount is live, against
the reference library opening every shard with safe_open and listing its keys in one Python
process (interpreter start included), both on a warm page cache and interleaved; and the
daemon's anonymous memory (RssAnon) when ready and after reading every sidecar."""
import os
import subprocess
import sys
import time

from common import arguments, emit, log, ratio_row, sharded_model

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
    start = time.perf_counter()
    output = subprocess.run([sys.executable, "-c", REFERENCE, model], check=True, capture_output=True, text=True).stdout
    elapsed = time.perf_counter() - start
    assert int(output) == TENSORS, output
    return elapsed


def daemon_pid(mountpoint):
    target = os.fsencode(os.path.realpath(mountpoint))
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as handle:
                words = handle.read().split(b"\0")
        except OSError:
            continue
        if b"--launcher-descriptor" in words and target in words:
            return pid
    raise RuntimeError(f"no tensorfs daemon serves {mountpoint}")


def anonymous_mib(pid):
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("RssAnon:"):
                return int(line.split()[1]) / 1024
    raise RuntimeError(f"no RssAnon in /proc/{pid}/status")


def mount_seconds(binary, index, mountpoint, options, after=None):
    """Times `tensorfs mount` until it returns; runs `after(mountpoint)` before unmounting."""
    os.makedirs(mountpoint, exist_ok=True)
    start = time.perf_counter()
    subprocess.run([binary, "mount", *options, index, mountpoint], check=True)
    elapsed = time.perf_counter() - start
    try:
        return elapsed, after(mountpoint) if after else None
    finally:
        subprocess.run([binary, "unmount", mountpoint], check=True)


def memory_after_sidecars(mountpoint):
    pid = daemon_pid(mountpoint)
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
    mount_seconds(args.binary, index, mountpoint, args.mount_option)
    samples = []
    for repeat in range(max(args.repeats, 5)):
        log(f"bench: mount, repeat {repeat + 1}")
        ours, _ = mount_seconds(args.binary, index, mountpoint, args.mount_option)
        samples.append((reference_seconds(model), ours))
    emit(ratio_row("5", "mount of 100k tensors in 160 shards until live",
                   "reference: safe_open every shard and list its keys (one Python process)", ">= 1", samples))
    _, (ready, walked, sidecars) = mount_seconds(args.binary, index, mountpoint, args.mount_option, memory_after_sidecars)
    emit({"id": "8", "row": f"daemon RssAnon after mounting and reading all {sidecars} .json files",
          "baseline": f"RssAnon when the mount is ready: {ready:.1f} MiB", "goal": "<= 64", "value": round(walked, 1), "unit": "MiB"})


if __name__ == "__main__":
    main()
