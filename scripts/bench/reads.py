"""Read-throughput rows of the benchmark: each row times the same bytes read through a tensorfs
mount and directly from the source file, in the same run, and reports their ratio."""
import argparse
import json
import os
import struct
import subprocess
import sys
import threading
import time

import numpy as np

CHUNK = 1 << 20
GIB = 1 << 30


def drop_caches():
    os.sync()
    with open("/proc/sys/vm/drop_caches", "w") as control:
        control.write("3\n")


def read_range(path, start, length, buffer):
    """Reads [start, start+length) of path in 1 MiB preads; returns bytes read."""
    view = memoryview(buffer)
    done = 0
    fd = os.open(path, os.O_RDONLY)
    try:
        while done < length:
            count = os.preadv(fd, [view[:min(CHUNK, length - done)]], start + done)
            if count <= 0:
                break
            done += count
    finally:
        os.close(fd)
    return done


def timed(action):
    start = time.perf_counter()
    value = action()
    return time.perf_counter() - start, value


def write_source(path, tensors):
    """A safetensors file of U8 tensors {name: size}, filled with a cheap non-zero pattern."""
    header = {}
    offset = 0
    for name, size in tensors.items():
        header[name] = {"dtype": "U8", "shape": [size], "data_offsets": [offset, offset + size]}
        offset += size
    text = json.dumps(header).encode()
    text += b" " * (-(8 + len(text)) % 64)
    block = np.arange(CHUNK, dtype=np.uint8).tobytes()
    with open(path, "wb") as out:
        out.write(struct.pack("<Q", len(text)) + text)
        remaining = offset
        while remaining:
            out.write(block[:min(CHUNK, remaining)])
            remaining -= min(CHUNK, remaining)
    return 8 + len(text)


class Mount:
    def __init__(self, binary, source, mountpoint, options=()):
        self.binary, self.source, self.mountpoint, self.options = binary, source, mountpoint, options

    def __enter__(self):
        os.makedirs(self.mountpoint, exist_ok=True)
        subprocess.run([self.binary, "mount", "--layout", "flat", *self.options, self.source, self.mountpoint], check=True)
        return self.mountpoint

    def __exit__(self, *exc):
        subprocess.run([self.binary, "unmount", self.mountpoint], check=True)


def row(results, name, goal, direct_seconds, mount_seconds, nbytes):
    ratio = direct_seconds / mount_seconds
    results.append({
        "row": name, "goal": goal, "ratio": ratio,
        "direct": f"{nbytes / direct_seconds / 1e9:.2f} GB/s", "tensorfs": f"{nbytes / mount_seconds / 1e9:.2f} GB/s",
    })


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--binary", required=True)
    parser.add_argument("--work", required=True)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    os.makedirs(args.work, exist_ok=True)
    source = os.path.join(args.work, "big.safetensors")
    tensors = {"big": GIB}
    tensors.update({f"part.{index}": 128 << 20 for index in range(8)})
    data_start = write_source(source, tensors) if not os.path.exists(source) else None
    if data_start is None:
        data_start = 8 + struct.unpack("<Q", open(source, "rb").read(8))[0]
    offsets = {}
    position = data_start
    for name, size in tensors.items():
        offsets[name] = (position, size)
        position += size
    mountpoint = os.path.join(args.work, "mnt")
    buffer = bytearray(CHUNK)
    samples = {key: [] for key in ["cold", "hot", "reread", "parallel"]}
    for _ in range(args.repeats):
        start, size = offsets["big"]
        # Row 1: cold first read.
        drop_caches()
        direct, _ = timed(lambda: read_range(source, start, size, buffer))
        drop_caches()
        with Mount(args.binary, source, mountpoint) as mnt:
            through, read = timed(lambda: read_range(os.path.join(mnt, "big"), 0, size, buffer))
            assert read == size
            # Row 3: re-read from the mount's page cache vs a direct page-cache read.
            hot_direct, _ = timed(lambda: read_range(source, start, size, buffer))
            reread, _ = timed(lambda: read_range(os.path.join(mnt, "big"), 0, size, buffer))
        samples["cold"].append((direct, through, size))
        samples["reread"].append((hot_direct, reread, size))
        # Row 2: source in page cache, fresh mount.
        read_range(source, start, size, buffer)
        with Mount(args.binary, source, mountpoint) as mnt:
            hot_direct, _ = timed(lambda: read_range(source, start, size, buffer))
            first, _ = timed(lambda: read_range(os.path.join(mnt, "big"), 0, size, buffer))
        samples["hot"].append((hot_direct, first, size))
        # Row 4: 8 concurrent readers on different tensors, caches dropped, fresh mount.
        names = [f"part.{index}" for index in range(8)]
        total = sum(offsets[name][1] for name in names)

        def parallel(paths):
            threads = [threading.Thread(target=read_range, args=(path, begin, length, bytearray(CHUNK))) for path, begin, length in paths]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()

        drop_caches()
        direct_parallel, _ = timed(lambda: parallel([(source, *offsets[name]) for name in names]))
        drop_caches()
        with Mount(args.binary, source, mountpoint) as mnt:
            mount_parallel, _ = timed(lambda: parallel([(os.path.join(mnt, name), 0, offsets[name][1]) for name in names]))
        samples["parallel"].append((direct_parallel, mount_parallel, total))
    results = []
    labels = {
        "cold": ("1. cold first read of a 1 GiB tensor vs direct", ">= 0.8"),
        "hot": ("2. first read, source in page cache, fresh mount vs direct", ">= 0.5"),
        "reread": ("3. re-read through the mount vs direct page-cache read", ">= 0.95"),
        "parallel": ("4. 8 concurrent readers (cold) vs direct", ">= 0.8"),
    }
    for key, (label, goal) in labels.items():
        ratios = sorted(direct / through for direct, through, _ in samples[key])
        direct, through, nbytes = sorted(samples[key], key=lambda sample: sample[0] / sample[1])[len(samples[key]) // 2]
        row(results, label, goal, direct, through, nbytes)
        results[-1]["spread"] = f"{ratios[0]:.2f}-{ratios[-1]:.2f}"
    json.dump(results, sys.stdout)


if __name__ == "__main__":
    main()
