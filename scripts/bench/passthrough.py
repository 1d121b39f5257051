"""Rows P1-P4: a one-file model's model.safetensors (1 GiB of 16 MiB F16 tensors), which the
kernel reads itself through FUSE passthrough, against the same reads of the source; the same rows
with --no-passthrough (P1o-P4o) show what passthrough gains. Timed side by side in the same run,
each pair in the same cache state, a fresh mount for every pair."""
import os

from common import MIB, Mount, arguments, drop_caches, emit, log, ratio_row, read_range, timed, write_safetensors


def model(work):
    """The 1 GiB model of 64 F16 tensors of 16 MiB (written once)."""
    import numpy as np

    path = os.path.join(work, "passthrough.safetensors")
    if not os.path.exists(path):
        log(f"bench: writing {path}")
        tensors = {f"layers.{index}.weight": ("F16", [4096, 2048], 16 * MIB) for index in range(64)}
        block = (np.arange(MIB // 2) % 1000).astype(np.float16).tobytes()
        write_safetensors(path, tensors, lambda dtype: block, metadata={"format": "pt"})
    return path


def load_every_tensor(path):
    """safe_open's way: every tensor of the file into memory."""
    from safetensors import safe_open

    with safe_open(path, "np") as opened:
        for name in opened.keys():
            opened.get_tensor(name)


def main():
    args = arguments(__doc__)
    source = model(args.work)
    size = os.path.getsize(source)
    mountpoint = os.path.join(args.work, "mnt-passthrough")
    modes = {"": [], "o": ["--no-passthrough"]}
    samples = {(row, mode): [] for row in ("hot", "reread", "load", "cold") for mode in modes}
    for repeat in range(args.repeats):
        log(f"bench: passthrough, repeat {repeat + 1} of {args.repeats}")
        for mode, options in modes.items():
            mounted_file = os.path.join(mountpoint, "model.safetensors")
            read_range(source, 0, size)
            with Mount(args.binary, [source], mountpoint, [*options, *args.mount_option]):
                direct, _ = timed(lambda: read_range(source, 0, size))
                through, _ = timed(lambda: read_range(mounted_file, 0, size))
                samples[("hot", mode)].append((direct, through))
                direct, _ = timed(lambda: read_range(source, 0, size))
                through, _ = timed(lambda: read_range(mounted_file, 0, size))
                samples[("reread", mode)].append((direct, through))
            with Mount(args.binary, [source], mountpoint, [*options, *args.mount_option]):
                direct, _ = timed(lambda: load_every_tensor(source))
                through, _ = timed(lambda: load_every_tensor(mounted_file))
                samples[("load", mode)].append((direct, through))
            drop_caches()
            direct, _ = timed(lambda: read_range(source, 0, size))
            with Mount(args.binary, [source], mountpoint, [*options, *args.mount_option]):
                drop_caches()
                through, _ = timed(lambda: read_range(mounted_file, 0, size))
            samples[("cold", mode)].append((direct, through))
    for mode, (suffix, label) in {"": ("", "passthrough"), "o": ("o", "--no-passthrough")}.items():
        goal = {"hot": ">= 0.95", "reread": ">= 0.95", "load": ">= 0.95", "cold": ">= 0.9"} if mode == "" else dict.fromkeys(("hot", "reread", "load", "cold"), "-")
        emit(ratio_row(f"P1{suffix}", f"model.safetensors of one 1 GiB file, first read, source in page cache ({label})",
                       "read of the source from page cache", goal["hot"], samples[("hot", mode)], size))
        emit(ratio_row(f"P2{suffix}", f"model.safetensors, re-read ({label})", "read of the source from page cache",
                       goal["reread"], samples[("reread", mode)], size))
        emit(ratio_row(f"P3{suffix}", f"safe_open(model.safetensors) loading every tensor, source in page cache ({label})",
                       "safe_open of the source, the same", goal["load"], samples[("load", mode)], size))
        emit(ratio_row(f"P4{suffix}", f"model.safetensors, first read, caches dropped ({label})", "read of the source, caches dropped",
                       goal["cold"], samples[("cold", mode)], size))


if __name__ == "__main__":
    main()
