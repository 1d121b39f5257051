"""Row F1: reading a 1 GiB BF16 tensor's T.f32.npy (2 GiB of float32s, converted by the daemon
as it serves each read) into memory with numpy.load, against numpy converting the source's
mapped tensor itself (an ml_dtypes bfloat16 view, then astype(np.float32)), side by side; the
source in page cache, a fresh mount each time."""
import os

import ml_dtypes
import numpy as np

from common import GIB, MIB, Mount, arguments, emit, log, ratio_row, read_range, timed, write_safetensors


def bf16_source(work):
    """A file holding `big`, a 1 GiB BF16 tensor of varied values (NaNs and subnormals among
    them); written once. Returns (path, absolute offset of the tensor, element count)."""
    path = os.path.join(work, "bf16.safetensors")
    count = GIB // 2
    pattern = (np.arange(MIB // 2, dtype=np.uint32) * 2654435761 >> 7).astype(np.uint16).tobytes()
    tensors = {"big": ("BF16", [count // 4096, 4096], GIB)}
    if not os.path.exists(path):
        log(f"bench: writing {path}")
        placed = write_safetensors(path, tensors, lambda dtype: pattern)
    else:
        with open(path, "rb") as source:
            length = int.from_bytes(source.read(8), "little")
        placed = {"big": (8 + length, GIB)}
    return path, placed["big"][0], count


def reference(source, offset, count):
    mapped = np.memmap(source, dtype=np.uint16, mode="r", offset=offset, shape=(count // 4096, 4096))
    return mapped.view(ml_dtypes.bfloat16).astype(np.float32)


def main():
    args = arguments(__doc__)
    source, offset, count = bf16_source(args.work)
    mountpoint = os.path.join(args.work, "mnt")
    options = ["--layout", "flat", "--views", "f32", *args.mount_option]
    samples = []
    for repeat in range(args.repeats):
        log(f"bench: f32 view, repeat {repeat + 1} of {args.repeats}")
        with Mount(args.binary, [source], mountpoint, options) as mounted:
            read_range(source, offset, GIB)
            converted, expected = timed(lambda: reference(source, offset, count))
            through, loaded = timed(lambda: np.load(os.path.join(mounted, "big.f32.npy")))
        rows = np.random.default_rng(repeat).integers(0, expected.shape[0], 64)
        if loaded.shape != expected.shape or not np.array_equal(loaded[rows].view(np.uint32), expected[rows].view(np.uint32)):
            raise SystemExit("bench: the f32 view differs from numpy's conversion")
        del expected, loaded
        samples.append((converted, through))
    emit(ratio_row("F1", "Read a 1 GiB BF16 tensor's T.f32.npy (2 GiB) into memory, source in page cache, fresh mount",
                   "numpy: ml_dtypes view of the mapped source, astype(np.float32)", ">= 0.5", samples, 2 * GIB))


if __name__ == "__main__":
    main()
