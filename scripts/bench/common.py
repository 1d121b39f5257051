"""What every part of the benchmark shares: cache control, timed reads, mounts that are always
unmounted, generated safetensors files, and the row format that scripts/bench/table.py prints.

A row is one JSON object on one line of standard output:
  {"id": "1", "row": "what is measured", "baseline": "what it is compared with",
   "goal": ">= 0.8", "value": 0.93, "spread": [0.85, 1.02], "samples": 3,
   "tensorfs": "1.43 GB/s", "reference": "1.57 GB/s"}
`value` is a ratio (higher is better: tensorfs's speed over the baseline's) unless the row says
otherwise through `unit` (then `value` is an absolute figure, e.g. {"unit": "MiB"}); `goal` is a
comparison with a number. `spread` is the lowest and highest sample, `tensorfs` and `reference`
the absolute figures of the median sample. Anything else a part prints goes to standard error.
"""
import argparse
import json
import os
import statistics
import struct
import subprocess
import sys
import time

KIB = 1 << 10
MIB = 1 << 20
GIB = 1 << 30
CHUNK = MIB


def arguments(description):
    """The command line every part takes: the tensorfs binary, a work directory for inputs and
    mountpoints, how many times each pair is timed, extra mount arguments (to try a setting)."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--binary", required=True)
    parser.add_argument("--work", required=True)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--mount-option", action="append", default=[], help="extra tensorfs mount argument")
    return parser.parse_args()


def log(message):
    print(message, file=sys.stderr, flush=True)


def drop_caches():
    """Writes back and drops the page cache, dentries and inodes (root only)."""
    os.sync()
    with open("/proc/sys/vm/drop_caches", "w") as control:
        control.write("3\n")


def read_range(path, start, length, chunk=CHUNK):
    """Reads bytes [start, start+length) of `path` with preads of `chunk` bytes; returns the count."""
    view = memoryview(bytearray(chunk))
    done = 0
    descriptor = os.open(path, os.O_RDONLY)
    try:
        while done < length:
            count = os.preadv(descriptor, [view[:min(chunk, length - done)]], start + done)
            if count <= 0:
                break
            done += count
    finally:
        os.close(descriptor)
    if done != length:
        raise RuntimeError(f"{path}: read {done} bytes of {length}")
    return done


def timed(action):
    """Runs `action`; returns (seconds, its value)."""
    start = time.perf_counter()
    value = action()
    return time.perf_counter() - start, value


def daemon_pid(mountpoint):
    """The process id of the background daemon serving `mountpoint`, or None."""
    target = os.fsencode(os.path.realpath(mountpoint))
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as handle:
                words = handle.read().split(b"\0")
        except OSError:
            continue
        if b"--launcher-descriptor" in words and target in words:
            return int(pid)
    return None


class Mount:
    """`with Mount(binary, [sources], mountpoint, options) as path:` mounts (a fresh daemon, so an
    empty page cache for the mounted files) and always unmounts, then waits for the daemon to exit
    (its last writes to a disk cache done, its CPU free for what is timed next). `seconds` is how
    long `tensorfs mount` took to return, that is until the mount was live."""

    def __init__(self, binary, sources, mountpoint, options=()):
        self.binary, self.sources, self.mountpoint, self.options = binary, list(sources), mountpoint, list(options)
        self.seconds = None

    def __enter__(self):
        os.makedirs(self.mountpoint, exist_ok=True)
        command = [self.binary, "mount", *map(str, self.options), *map(str, self.sources), str(self.mountpoint)]
        self.seconds, _ = timed(lambda: subprocess.run(command, check=True))
        return self.mountpoint

    def __exit__(self, *exc):
        subprocess.run([self.binary, "unmount", str(self.mountpoint)], check=True)
        deadline = time.monotonic() + 30
        while daemon_pid(self.mountpoint) is not None and time.monotonic() < deadline:
            time.sleep(0.02)


def mount_seconds(binary, sources, mountpoint, options=()):
    """How long `tensorfs mount` takes until the mount is live; unmounts again."""
    mount = Mount(binary, sources, mountpoint, options)
    with mount:
        pass
    return mount.seconds


def write_safetensors(path, tensors, fill, metadata=None):
    """Writes a safetensors file of `tensors` {name: (dtype, shape, nbytes)} in order, each filled
    by repeating `fill(dtype)` (bytes), with `metadata` {key: value} if given; returns
    {name: (absolute offset, nbytes)}."""
    header = {} if metadata is None else {"__metadata__": metadata}
    offset = 0
    for name, (dtype, shape, nbytes) in tensors.items():
        header[name] = {"dtype": dtype, "shape": shape, "data_offsets": [offset, offset + nbytes]}
        offset += nbytes
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-(8 + len(text)) % 8)
    data_start = 8 + len(text)
    with open(path + ".partial", "wb") as out:
        out.write(struct.pack("<Q", len(text)) + text)
        for dtype, _, nbytes in tensors.values():
            block = fill(dtype)
            remaining = nbytes
            while remaining:
                out.write(block[:min(len(block), remaining)])
                remaining -= min(len(block), remaining)
    os.replace(path + ".partial", path)
    return {name: (data_start + header[name]["data_offsets"][0], nbytes) for name, (_, _, nbytes) in tensors.items()}


def ratio_row(row_id, row, baseline, goal, samples, amount=None, unit="GB/s"):
    """A row from paired samples [(baseline seconds, tensorfs seconds)] measured side by side:
    the ratio is the baseline's time over tensorfs's (tensorfs's speed relative to the baseline).
    With `amount` (bytes), the absolute figures are throughputs, else times."""
    ratios = [base / ours for base, ours in samples]
    median_sample = sorted(samples, key=lambda pair: pair[0] / pair[1])[len(samples) // 2]

    def figure(seconds):
        return f"{amount / seconds / 1e9:.2f} {unit}" if amount else f"{seconds:.2f} s"

    return {
        "id": row_id, "row": row, "baseline": baseline, "goal": goal,
        "value": round(statistics.median(ratios), 3), "spread": [round(min(ratios), 3), round(max(ratios), 3)],
        "samples": len(samples), "tensorfs": figure(median_sample[1]), "reference": figure(median_sample[0]),
    }


def emit(row):
    print(json.dumps(row), flush=True)


def benchmark_source(work):
    """The source file the read rows share (written once): `big`, a 1 GiB F32 tensor, then eight
    128 MiB U8 tensors `part.0`..`part.7`. Returns (path, {name: (absolute offset, nbytes)})."""
    import numpy as np

    tensors = {"big": ("F32", [GIB // 4], GIB)}
    tensors.update({f"part.{index}": ("U8", [128 * MIB], 128 * MIB) for index in range(8)})
    path = os.path.join(work, "reads.safetensors")
    blocks = {
        "F32": (np.arange(MIB // 4) % 1000).astype(np.float32).tobytes(),
        "U8": np.arange(MIB, dtype=np.uint8).tobytes(),
    }
    if not os.path.exists(path):
        log(f"bench: writing {path}")
        return path, write_safetensors(path, tensors, blocks.__getitem__)
    with open(path, "rb") as source:
        length = struct.unpack("<Q", source.read(8))[0]
        header = json.loads(source.read(length))
    return path, {name: (8 + length + entry["data_offsets"][0], entry["data_offsets"][1] - entry["data_offsets"][0])
                  for name, entry in header.items() if name in tensors}


def sharded_model(work):
    """The 100,000-tensor model of 160 shards with a hub-style index that rows 5, 6 and 8 share,
    written once by scripts/synthetic_sharded_model.py; returns the path of its index."""
    import importlib.util

    directory = os.path.join(work, "sharded-model")
    index = os.path.join(directory, "model.safetensors.index.json")
    marker = os.path.join(directory, ".complete")
    if not os.path.exists(marker):
        log(f"bench: writing a model of 100000 tensors in 160 shards to {directory}")
        script = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "synthetic_sharded_model.py")
        spec = importlib.util.spec_from_file_location("synthetic_sharded_model", script)
        generator = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(generator)
        generator.write(directory, 160, 625)
        open(marker, "wb").close()
    return index
