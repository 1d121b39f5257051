"""--cache-dir keeps fetched parts across remounts within --cache-size, never serves the bytes of
an object that changed, and refetches a torn or corrupted entry instead of serving it."""
import os

import numpy as np
import pytest

from conftest import daemons_serving, is_mounted, write_model
from remote_servers import fill_cache, nginx, no_proxies, publish_random_model, read_all, replace_published  # noqa: F401 (fixtures)

MiB = 1 << 20
PROBE = "bytes=0-262143"


@pytest.fixture
def model(nginx, tmp_path):
    return publish_random_model(nginx, f"cache/{tmp_path.name}.safetensors", "block", count=4, size=3 * MiB, step=1021, seed=11)


def cache_files(directory):
    return sorted(path for path in directory.rglob("*") if path.is_file())


def evict_from_page_cache(paths):
    """Drops the pages of `paths` from the page cache, so that reading them goes to the disk.
    (Only these files: dropping the whole cache would disturb tests running alongside.)"""
    for path in paths:
        descriptor = os.open(path, os.O_RDONLY)
        try:
            os.fsync(descriptor)
            os.posix_fadvise(descriptor, 0, 0, os.POSIX_FADV_DONTNEED)
        finally:
            os.close(descriptor)


def test_a_remount_reads_from_the_cache_without_fetching_data(mounts, nginx, model, tmp_path):
    name, tensors = model
    options = ["--cache-dir", tmp_path / "cache", "--part-size", "1M"]
    fill_cache(mounts, nginx.url(name), options, tensors)
    assert cache_files(tmp_path / "cache")
    evict_from_page_cache(cache_files(tmp_path / "cache"))
    nginx.clear_log()
    mountpoint = mounts.mount(nginx.url(name), options=options)
    read_all(mountpoint, tensors)
    assert [r["range"] for r in nginx.requests()] == [PROBE]


def test_a_corrupted_or_torn_entry_is_refetched_never_served(mounts, nginx, model, tmp_path):
    name, tensors = model
    log = tmp_path / "daemon.log"
    options = ["--cache-dir", tmp_path / "cache", "--part-size", "1M", "--log-file", log]
    fill_cache(mounts, nginx.url(name), options, tensors)
    entries = cache_files(tmp_path / "cache")
    flipped, torn = entries[3], entries[7]
    data = bytearray(flipped.read_bytes())
    data[1000] ^= 0x40
    flipped.write_bytes(bytes(data))
    with open(torn, "r+b") as file:
        file.truncate(torn.stat().st_size // 2)
    evict_from_page_cache(cache_files(tmp_path / "cache"))
    nginx.clear_log()
    mountpoint = mounts.mount(nginx.url(name), options=options)
    read_all(mountpoint, tensors)
    refetched = [r for r in nginx.requests() if r["range"] != PROBE]
    assert 2 <= len(refetched) <= 4 and sum(r["bytes"] for r in refetched) <= 4 * MiB, refetched
    text = log.read_text()
    assert "checksum" in text and "torn" in text


def test_a_changed_object_never_finds_its_old_bytes_in_the_cache(mounts, nginx, model, tmp_path):
    name, tensors = model
    options = ["--cache-dir", tmp_path / "cache", "--part-size", "1M"]
    fill_cache(mounts, nginx.url(name), options, tensors)
    changed = {key: np.ascontiguousarray(value[::-1]) for key, value in tensors.items()}
    replace_published(nginx.root / name, changed)
    mountpoint = mounts.mount(nginx.url(name), options=options)
    read_all(mountpoint, changed)


def test_the_cache_stays_within_its_size(mounts, nginx, model, tmp_path):
    name, tensors = model
    cache = tmp_path / "cache"
    fill_cache(mounts, nginx.url(name), ["--cache-dir", cache, "--cache-size", "4M", "--part-size", "1M"], tensors)
    assert 0 < sum(path.stat().st_size for path in cache_files(cache)) <= 4 * MiB


def test_a_cache_file_truncated_under_a_tensor_parallel_read_never_kills_the_daemon(mounts, nginx, tmp_path):
    weight = np.random.default_rng(5).standard_normal((2048, 1024), dtype=np.float32)
    name = f"cache/{tmp_path.name}-tp.safetensors"
    write_model(nginx.root / name, {"w": weight})
    cache = tmp_path / "cache"
    options = ["--cache-dir", cache, "--part-size", "1M", "--tp", "2", "--tp-rule", "w 1"]
    halves = [np.ascontiguousarray(half) for half in np.split(weight, 2, axis=1)]
    fill_cache(mounts, nginx.url(name), options, {"tp-2.rank-0.w": halves[0], "tp-2.rank-1.w": halves[1]})
    mountpoint = mounts.mount(nginx.url(name), options=options)
    # Rank 0's slice strides over every part of the tensor, which come from the cache files.
    assert (mountpoint / "tp-2" / "rank-0" / "w").read_bytes() == halves[0].tobytes()
    for entry in cache_files(cache):
        os.truncate(entry, entry.stat().st_size // 2)
    evict_from_page_cache(cache_files(cache))
    # Rank 1's slice is copied out of the same parts while their files are cut short.
    assert (mountpoint / "tp-2" / "rank-1" / "w").read_bytes() == halves[1].tobytes()
    assert is_mounted(mountpoint) and daemons_serving(mountpoint)
