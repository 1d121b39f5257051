"""Many readers at once: threads and processes reading random ranges of many files (tensors,
NumPy views, the merged model) from one mount, every byte checked. Reads use O_DIRECT so that
each one reaches the daemon instead of the kernel's page cache. The daemon's own memory must
stay flat over a long run of opens and reads.

TENSORFS_SOAK_READS sets the length of the memory test (scripts/stress.sh raises it)."""
import io
import multiprocessing
import os
import random
import threading
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

from conftest import write_model
from reference import reference_bytes
from foreground import daemons  # noqa: F401  (fixture)

pytestmark = pytest.mark.slow
SEED = 20261125


def make_sharded_model(directory):
    """Two shards of tensors of assorted dtypes and sizes, some not page multiples."""
    rng = np.random.default_rng(SEED)
    shards = [
        {"embed.weight": rng.random((512, 300), dtype=np.float32), "norm.bias": rng.random(77).astype(np.float16),
         "ids": rng.integers(0, 1 << 40, size=(3, 1001), dtype=np.int64)},
        {"head.weight": rng.integers(0, 256, size=(1 << 20) + 13, dtype=np.uint8),
         "layers.0.mlp.weight": rng.random((256, 256)), "scalar": np.array(3, dtype=np.int32),
         "empty": np.zeros((0, 4), dtype=np.float32)},
    ]
    for number, tensors in enumerate(shards):
        write_model(directory / f"part-{number}.safetensors", tensors)
    return {name: array for tensors in shards for name, array in tensors.items()}


def read_whole(path):
    descriptor = os.open(path, os.O_RDONLY | os.O_DIRECT)
    try:
        chunks = []
        while chunk := os.read(descriptor, 1 << 20):
            chunks.append(chunk)
        return b"".join(chunks)
    finally:
        os.close(descriptor)


def expected_files(mountpoint, tensors):
    """{path: bytes} of every file the readers hit. Generated files are read once and checked
    against the reference first: the NumPy views with numpy, the merged model with safetensors."""
    files = {}
    for name, array in tensors.items():
        path = mountpoint / name.replace(".", "/")
        files[str(path)] = array.tobytes()
        npy = read_whole(f"{path}.npy")
        loaded = np.load(io.BytesIO(npy))
        assert loaded.dtype == array.dtype and loaded.shape == array.shape and loaded.tobytes() == array.tobytes()
        files[f"{path}.npy"] = npy
    merged = read_whole(mountpoint / "model.safetensors")
    assert reference_bytes(merged) == {
        name: array.tobytes() for name, array in tensors.items()}
    files[str(mountpoint / "model.safetensors")] = merged
    return files


def random_reads(files, seed, count):
    """`count` reads of random files at random offsets and sizes (some past the end); returns
    the number of bytes checked. Half the reads open the file afresh."""
    rng = random.Random(seed)
    paths = sorted(files)
    open_files = {}
    checked = 0
    try:
        for _ in range(count):
            path = rng.choice(paths)
            expected = files[path]
            offset = rng.randrange(0, len(expected) + 2)
            size = rng.choice([1, 7, 4096, 65536, rng.randrange(1, 3 << 20)])
            fresh = rng.random() < 0.5
            descriptor = os.open(path, os.O_RDONLY | os.O_DIRECT) if fresh else open_files.get(path)
            if descriptor is None:
                descriptor = open_files[path] = os.open(path, os.O_RDONLY | os.O_DIRECT)
            try:
                data = os.pread(descriptor, size, offset)
            finally:
                if fresh:
                    os.close(descriptor)
            assert data == expected[offset:offset + size], (path, offset, size)
            checked += len(data)
    finally:
        for descriptor in open_files.values():
            os.close(descriptor)
    return checked


@pytest.fixture
def served(mounts, tmp_path):
    tensors = make_sharded_model(tmp_path / "model")
    mountpoint = mounts.mount(tmp_path / "model")
    return expected_files(mountpoint, tensors)


def test_threads_reading_random_ranges_of_many_files_get_exact_bytes(served):
    failures = []
    checked = []

    def reader(number):
        try:
            checked.append(random_reads(served, SEED + number, 150))
        except BaseException as error:  # noqa: BLE001 (reported below)
            failures.append(error)

    threads = [threading.Thread(target=reader, args=(number,)) for number in range(12)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not failures, failures[0]
    assert sum(checked) > 0


def process_reader(arguments):
    files, seed = arguments
    return random_reads(files, seed, 150)


def test_processes_reading_random_ranges_of_many_files_get_exact_bytes(served):
    with multiprocessing.get_context("fork").Pool(4) as pool:
        checked = pool.map(process_reader, [(served, SEED + 100 + number) for number in range(8)])
    assert all(count > 0 for count in checked)


def test_the_daemons_memory_stays_flat_over_many_opens_and_reads(daemons, tmp_path):
    tensors = make_sharded_model(tmp_path / "model")
    daemon = daemons.start(tmp_path / "model")
    files = expected_files(daemon.mountpoint, tensors)
    sidecars = [f"{path}.json" for path in files if not path.endswith((".npy", ".safetensors"))]
    rounds = int(os.environ.get("TENSORFS_SOAK_READS", "3000"))

    def work(seed):
        rng = random.Random(seed)
        for _ in range(rounds // 12):
            with open(rng.choice(sidecars), "rb") as sidecar:
                assert sidecar.read(1) == b"{"
        random_reads(files, seed, rounds // 4)

    def exercise(seed):
        with ThreadPoolExecutor(4) as pool:
            list(pool.map(work, [seed * 10 + number for number in range(4)]))

    exercise(SEED)
    settled = daemon.anonymous_memory_kib()
    for repeat in range(3):
        exercise(SEED + 1 + repeat)
    grown = daemon.anonymous_memory_kib() - settled
    # Three times as much work as the warm-up; a leak of even 100 bytes per request would show.
    assert grown < 2048, f"the daemon's memory grew by {grown} KiB"
