"""Rows 1-4: reads through a tensorfs mount against reads of the same bytes of the source file,
timed side by side in the same run, each pair in the same cache state."""
import os
import threading

from common import GIB, Mount, arguments, benchmark_source, drop_caches, emit, log, ratio_row, read_range, timed

PARTS = [f"part.{index}" for index in range(8)]


def concurrently(reads):
    """Runs read_range(path, start, length) for each triple in its own thread."""
    threads = [threading.Thread(target=read_range, args=triple) for triple in reads]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


def main():
    args = arguments(__doc__)
    source, tensors = benchmark_source(args.work)
    mountpoint = os.path.join(args.work, "mnt")
    options = ["--layout", "flat", *args.mount_option]
    start, size = tensors["big"]
    samples = {"cold": [], "hot": [], "reread": [], "parallel": []}
    for repeat in range(args.repeats):
        log(f"bench: reads, repeat {repeat + 1} of {args.repeats}")
        # Row 1, cold: caches dropped before each read. Row 3: then both again, from page cache.
        drop_caches()
        direct, _ = timed(lambda: read_range(source, start, size))
        with Mount(args.binary, [source], mountpoint, options) as mounted:
            drop_caches()
            through, _ = timed(lambda: read_range(os.path.join(mounted, "big"), 0, size))
            samples["cold"].append((direct, through))
            direct, _ = timed(lambda: read_range(source, start, size))
            through, _ = timed(lambda: read_range(os.path.join(mounted, "big"), 0, size))
            samples["reread"].append((direct, through))
        # Row 2: the source in page cache, a fresh mount, so that every read reaches the daemon.
        with Mount(args.binary, [source], mountpoint, options) as mounted:
            direct, _ = timed(lambda: read_range(source, start, size))
            through, _ = timed(lambda: read_range(os.path.join(mounted, "big"), 0, size))
            samples["hot"].append((direct, through))
        # Row 4: eight readers at once on different tensors, caches dropped.
        drop_caches()
        direct, _ = timed(lambda: concurrently([(source, *tensors[name]) for name in PARTS]))
        with Mount(args.binary, [source], mountpoint, options) as mounted:
            drop_caches()
            through, _ = timed(lambda: concurrently([(os.path.join(mounted, name), 0, tensors[name][1]) for name in PARTS]))
            samples["parallel"].append((direct, through))
    total = sum(tensors[name][1] for name in PARTS)
    emit(ratio_row("1", "Cold first read of a 1 GiB tensor (caches dropped)", "read of the same bytes of the source",
                   ">= 0.8", samples["cold"], GIB))
    emit(ratio_row("2", "First read, source in page cache, fresh mount", "read of the source from page cache",
                   ">= 0.5", samples["hot"], GIB))
    emit(ratio_row("3", "Re-read through the mount", "read of the source from page cache",
                   ">= 0.95", samples["reread"], GIB))
    emit(ratio_row("4", "8 concurrent readers on 8 tensors of 128 MiB (cold), aggregate", "the same reads of the source",
                   ">= 0.8", samples["parallel"], total))


if __name__ == "__main__":
    main()
