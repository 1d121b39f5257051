"""Sources that change under a live mount: a truncated file must not kill the daemon, reads of
the lost bytes fail with EIO (never zeros), everything else keeps working, and the log names the
file. A file replaced by rename, or deleted, keeps serving the bytes it had at mount time."""
import errno
import mmap
import os
import signal
import subprocess
import sys

import numpy as np
import pytest

from conftest import write_model

PAGE = mmap.PAGESIZE


def make_model(path, count=4, size=1 << 20, seed=5):
    """`count` U8 tensors t0..t{count-1} of `size` random bytes each, in that data order."""
    rng = np.random.default_rng(seed)
    tensors = {f"t{index}": rng.integers(0, 256, size=size, dtype=np.uint8) for index in range(count)}
    write_model(path, tensors)
    return {name: array.tobytes() for name, array in tensors.items()}


def data_start(path):
    with open(path, "rb") as file:
        return 8 + int.from_bytes(file.read(8), "little")


def read_or_errno(path):
    """The file's bytes, or the errno its read failed with."""
    try:
        with open(path, "rb") as file:
            return file.read()
    except OSError as error:
        return error.errno


def mount_logged(mounts, tmp_path, *sources):
    log = tmp_path / "daemon.log"
    mountpoint = mounts.mount(*sources, options=("--log-file", log))
    return mountpoint, log


def test_a_truncated_source_fails_reads_of_the_lost_bytes_and_serves_the_rest(mounts, tmp_path):
    source = tmp_path / "model.safetensors"
    expected = make_model(source)
    mountpoint, log = mount_logged(mounts, tmp_path, source)
    # Cut inside t2, so that t0 and t1 survive whole and t2, t3 lose bytes.
    os.truncate(source, data_start(source) + 2 * (1 << 20) + 12345)

    assert read_or_errno(mountpoint / "t0") == expected["t0"]
    assert read_or_errno(mountpoint / "t1") == expected["t1"]
    assert read_or_errno(mountpoint / "t2") == errno.EIO
    assert read_or_errno(mountpoint / "t3") == errno.EIO
    assert read_or_errno(mountpoint / "t3.npy") == errno.EIO
    # The surviving bytes of a damaged file still read; the generated files never fail.
    with open(mountpoint / "t2", "rb") as file:
        assert file.read(4096) == expected["t2"][:4096]
    assert b'"name": "t2"' in (mountpoint / "t2.json").read_bytes()
    assert sorted(os.listdir(mountpoint))[:3] == ["__metadata__.json", "model.safetensors", "t0"]
    assert f"{source}: changed while mounted: truncated to" in log.read_text()


def test_bytes_lost_inside_the_last_page_fail_instead_of_reading_as_zeros(mounts, tmp_path):
    # A mapping reads the tail of a truncated file's last page as zeros: only a size check
    # before each read tells lost bytes from real ones.
    source = tmp_path / "model.safetensors"
    expected = make_model(source, count=2, size=3 * PAGE)
    mountpoint, log = mount_logged(mounts, tmp_path, source)
    size = os.path.getsize(source)
    os.truncate(source, size - 100)
    assert (size - 100) % PAGE != 0
    assert read_or_errno(mountpoint / "t0") == expected["t0"]
    assert read_or_errno(mountpoint / "t1") == errno.EIO
    assert "changed while mounted" in log.read_text()


def test_the_daemon_survives_a_source_truncated_to_nothing(mounts, tmp_path):
    source = tmp_path / "model.safetensors"
    make_model(source, count=3, size=256 << 10)
    mountpoint, _ = mount_logged(mounts, tmp_path, source)
    os.truncate(source, 0)
    for name in ["t0", "t1", "t2", "t1.npy"]:
        assert read_or_errno(mountpoint / name) == errno.EIO, name
    # The kernel reads a whole local file itself (passthrough), as the source is now: empty.
    assert read_or_errno(mountpoint / "model.safetensors") == b""
    assert (mountpoint / "t0.json").read_bytes().startswith(b"{")
    assert os.stat(mountpoint / "t2").st_size == 256 << 10


def test_one_truncated_shard_leaves_the_other_shards_working(mounts, tmp_path):
    first = tmp_path / "model" / "a.safetensors"
    second = tmp_path / "model" / "b.safetensors"
    rng = np.random.default_rng(9)
    a = rng.integers(0, 256, size=1 << 20, dtype=np.uint8)
    b = rng.integers(0, 256, size=1 << 20, dtype=np.uint8)
    write_model(first, {"a": a})
    write_model(second, {"b": b})
    mountpoint, log = mount_logged(mounts, tmp_path, tmp_path / "model")
    os.truncate(second, data_start(second))
    assert read_or_errno(mountpoint / "b") == errno.EIO
    assert read_or_errno(mountpoint / "a") == a.tobytes()
    # In the merged file, a's bytes still read, short of the page that a shares with b: the
    # kernel asks for whole pages, and a page holding any lost byte fails as a whole.
    merged = os.open(mountpoint / "model.safetensors", os.O_RDONLY)
    try:
        header = 8 + int.from_bytes(os.pread(merged, 8, 0), "little")
        intact = (header + len(a)) // PAGE * PAGE - header
        assert os.pread(merged, intact, header) == a.tobytes()[:intact]
        with pytest.raises(OSError) as failure:
            os.pread(merged, 4096, header + len(a))
        assert failure.value.errno == errno.EIO
    finally:
        os.close(merged)
    assert str(second) in log.read_text()


def test_pages_already_cached_by_the_mount_keep_their_old_bytes(mounts, tmp_path):
    source = tmp_path / "model.safetensors"
    expected = make_model(source, count=2)
    mountpoint, _ = mount_logged(mounts, tmp_path, source)
    assert read_or_errno(mountpoint / "t1") == expected["t1"]
    os.truncate(source, data_start(source))
    # The kernel may still hold the pages it read (keep_cache): then they are the old bytes.
    # If it dropped them, the read goes to the daemon and fails. Never anything else.
    assert read_or_errno(mountpoint / "t1") in (expected["t1"], errno.EIO)
    assert read_or_errno(mountpoint / "t0") == errno.EIO


@pytest.mark.parametrize("how", ["rename", "unlink"])
def test_a_source_replaced_or_deleted_keeps_serving_its_old_bytes_until_remount(mounts, tmp_path, how):
    source = tmp_path / "model.safetensors"
    old = make_model(source, count=3, seed=1)
    mountpoint, _ = mount_logged(mounts, tmp_path, source)
    if how == "rename":
        replacement = tmp_path / "new.safetensors"
        make_model(replacement, count=2, size=1000, seed=2)
        os.rename(replacement, source)
    else:
        os.unlink(source)
    for name, data in old.items():
        assert read_or_errno(mountpoint / name) == data
    with open(mountpoint / "model.safetensors", "rb") as file:
        assert len(file.read()) == data_start(mountpoint / "model.safetensors") + 3 * (1 << 20)
    if how == "rename":
        mounts.unmount(mountpoint)
        fresh = mounts.mount(source, name="fresh")
        assert sorted(name for name in os.listdir(fresh) if "." not in name) == ["t0", "t1"]


MAPPED_READER = """
import mmap, os, sys
with open(sys.argv[1], "rb") as file:
    view = mmap.mmap(file.fileno(), 0, prot=mmap.PROT_READ)
    # Touch nothing before the truncation: read-ahead would bring the whole tensor in.
    os.truncate(sys.argv[2], int(sys.argv[3]))
    print("touching", flush=True)
    view[len(view) - 1]
"""


def test_a_program_mapping_a_tensor_gets_sigbus_for_lost_pages_and_the_daemon_lives_on(mounts, tmp_path):
    source = tmp_path / "model.safetensors"
    expected = make_model(source, count=2)
    mountpoint, _ = mount_logged(mounts, tmp_path, source)
    reader = subprocess.run(
        [sys.executable, "-c", MAPPED_READER, str(mountpoint / "t1"), str(source), str(data_start(source) + (1 << 20))],
        capture_output=True, timeout=60)
    # As on any filesystem, touching a page the kernel cannot fill raises SIGBUS in the reader.
    assert reader.returncode == -signal.SIGBUS and reader.stdout == b"touching\n", reader
    assert read_or_errno(mountpoint / "t0") == expected["t0"]
