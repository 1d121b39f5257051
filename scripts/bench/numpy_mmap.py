"""Row 7: numpy.load(T.npy, mmap_mode="r").sum() of a 1 GiB tensor through the mount against the
reference library's safe_open(source).get_tensor(name).sum(), side by side; (a) with caches
dropped before each, (b) with the source in page cache and a fresh mount."""
import os

import numpy as np
from safetensors import safe_open

from common import GIB, Mount, arguments, benchmark_source, drop_caches, emit, log, ratio_row, read_range, timed


def reference_sum(source):
    with safe_open(source, framework="np") as opened:
        return opened.get_tensor("big").sum()


def mounted_sum(mountpoint):
    return np.load(os.path.join(mountpoint, "big.npy"), mmap_mode="r").sum()


def main():
    args = arguments(__doc__)
    source, tensors = benchmark_source(args.work)
    mountpoint = os.path.join(args.work, "mnt")
    options = ["--layout", "flat", "--views", "npy", *args.mount_option]
    samples = {"cold": [], "hot": []}
    for repeat in range(args.repeats):
        log(f"bench: numpy mmap, repeat {repeat + 1} of {args.repeats}")
        for state in samples:
            with Mount(args.binary, [source], mountpoint, options) as mounted:
                if state == "cold":
                    drop_caches()
                else:
                    read_range(source, *tensors["big"])
                reference, expected = timed(lambda: reference_sum(source))
                if state == "cold":
                    drop_caches()
                through, total = timed(lambda: mounted_sum(mounted))
            if total != expected:
                raise SystemExit(f"bench: the sums differ: {total} through the mount, {expected} from the source")
            samples[state].append((reference, through))
    baseline = "safe_open(source).get_tensor(name).sum()"
    emit(ratio_row("7a", 'numpy.load(T.npy, mmap_mode="r").sum(), 1 GiB F32, caches dropped', baseline,
                   ">= 0.9", samples["cold"], GIB))
    emit(ratio_row("7b", 'numpy.load(T.npy, mmap_mode="r").sum(), source in page cache, fresh mount', baseline,
                   ">= 0.9", samples["hot"], GIB))


if __name__ == "__main__":
    main()
