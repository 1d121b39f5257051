"""FUSE passthrough: a file that shows one whole local file (a one-file model's
model.safetensors, a companion file) is read and mapped by the kernel straight from that file,
and no read of it reaches the daemon. The bytes are the same either way; without the privilege
(an ordinary user) or with --no-passthrough every file is served through the daemon."""
import mmap
import os
import random
import subprocess

import numpy as np
import pytest
from safetensors import safe_open

from conftest import SAMPLE_MODEL, write_model
from foreground import daemons  # noqa: F401 (a fixture)
from system_setup import as_user, directory_for, fuse_device_for_user, ordinary_user, shared_directory  # noqa: F401 (fixtures)

SAMPLE_DIRECTORY = SAMPLE_MODEL.parent


def reads_served(daemon):
    """How many read requests the daemon has logged (it runs with --debug)."""
    return daemon.log.read_text().count("debug: read ")


def assert_same_bytes_at_random_offsets(mounted, source, count=200):
    data = source.read_bytes()
    generator = random.Random(7)
    with open(mounted, "rb") as file:
        for _ in range(count):
            offset = generator.randrange(len(data))
            length = generator.randrange(1, 1 << 20)
            assert os.pread(file.fileno(), length, offset) == data[offset:offset + length], (offset, length)
        with mmap.mmap(file.fileno(), 0, prot=mmap.PROT_READ) as mapped:
            for _ in range(count):
                offset = generator.randrange(len(data))
                assert mapped[offset:offset + 4096] == data[offset:offset + 4096], offset


def test_whole_local_files_are_read_by_the_kernel_not_the_daemon(daemons):
    daemon = daemons.start(SAMPLE_DIRECTORY, options=["--debug"])
    assert "passthrough on" in daemon.log.read_text()
    before = reads_served(daemon)
    assert_same_bytes_at_random_offsets(daemon.mountpoint / "model.safetensors", SAMPLE_MODEL)
    assert (daemon.mountpoint / "tokenizer.json").read_bytes() == (SAMPLE_DIRECTORY / "tokenizer.json").read_bytes()
    with safe_open(str(daemon.mountpoint / "model.safetensors"), "np") as mounted, safe_open(str(SAMPLE_MODEL), "np") as source:
        for name in source.keys():
            assert np.array_equal(mounted.get_tensor(name), source.get_tensor(name)), name
    assert reads_served(daemon) == before
    # A tensor's file is a range inside its source: the daemon serves it.
    (daemon.mountpoint / "pooler" / "dense" / "weight").read_bytes()
    assert reads_served(daemon) > before


class Overlays:
    """Mounts overlayfs roots (a container's root is one) and the tmpfs below them; unmounts
    them all at the end."""

    def __init__(self, tmp_path):
        self.tmp = tmp_path
        self.mounted = []

    def tmpfs(self, name):
        root = self.tmp / name
        root.mkdir()
        self.mount(["-t", "tmpfs", "tmpfs"], root)
        return root

    def __call__(self, name, lower):
        # The upper layer may not be on an overlayfs itself: it goes on a tmpfs of its own.
        layers = self.tmpfs(f"{name}-layers")
        upper, work, root = layers / "upper", layers / "work", self.tmp / name
        for directory in (upper, work, root):
            directory.mkdir()
        self.mount(["-t", "overlay", "overlay", "-o", f"lowerdir={lower},upperdir={upper},workdir={work}"], root)
        return root

    def mount(self, arguments, root):
        subprocess.run(["mount", *arguments, str(root)], check=True)
        self.mounted.append(root)

    def close(self):
        for root in reversed(self.mounted):
            subprocess.run(["umount", "-l", str(root)], check=False)


@pytest.fixture
def overlays(tmp_path):
    mounts = Overlays(tmp_path)
    yield mounts
    mounts.close()


def test_a_source_on_overlayfs_is_read_by_the_kernel_and_one_stacked_deeper_by_the_daemon(daemons, overlays, tmp_path):
    # A source on an overlayfs (stacked once) is passed through; one on an overlayfs over another
    # is as deep as the kernel stacks filesystems, so the kernel refuses it: that file alone is
    # served by the daemon.
    plain = overlays.tmpfs("plain")  # not stacked, whatever the test's own directory is on
    write_model(plain / "a.safetensors", {"w": np.arange(1 << 16, dtype=np.float32)})
    write_model(plain / "b.safetensors", {"w": np.arange(1 << 16, dtype=np.int32)})
    once = overlays("once", plain)
    twice = overlays("twice", once)
    daemon = daemons.start(once / "a.safetensors", twice / "b.safetensors", options=["--debug", "--separate"])
    before = reads_served(daemon)
    assert (daemon.mountpoint / "a" / "model.safetensors").read_bytes() == (once / "a.safetensors").read_bytes()
    assert reads_served(daemon) == before
    assert (daemon.mountpoint / "b" / "model.safetensors").read_bytes() == (twice / "b.safetensors").read_bytes()
    assert reads_served(daemon) > before
    refusals = [line for line in daemon.log.read_text().splitlines() if "passthrough off" in line]
    assert len(refusals) == 1 and "passthrough off for " in refusals[0], refusals
    assert str(twice / "b.safetensors") in refusals[0] and "Too many levels of symbolic links" in refusals[0], refusals


def test_without_passthrough_the_daemon_serves_the_same_bytes(daemons):
    daemon = daemons.start(SAMPLE_DIRECTORY, options=["--debug", "--no-passthrough"])
    assert "passthrough off: --no-passthrough" in daemon.log.read_text()
    assert_same_bytes_at_random_offsets(daemon.mountpoint / "model.safetensors", SAMPLE_MODEL)
    assert reads_served(daemon) > 0


def test_a_sharded_models_merged_file_is_served_by_the_daemon(daemons, tmp_path):
    write_model(tmp_path / "model" / "a.safetensors", {"x": np.arange(4096, dtype=np.float32)})
    write_model(tmp_path / "model" / "b.safetensors", {"y": np.arange(4096, dtype=np.float32)})
    daemon = daemons.start(tmp_path / "model", options=["--debug"])
    with safe_open(str(daemon.mountpoint / "model.safetensors"), "np") as mounted:
        assert np.array_equal(mounted.get_tensor("y"), np.arange(4096, dtype=np.float32))
    assert reads_served(daemon) > 0


def test_a_source_truncated_under_passthrough_reads_short_as_the_kernel_gives(daemons, tmp_path):
    # The kernel reads the backing file as it is now: a read past its new end returns what is
    # left (here, nothing), where the daemon's own path would fail with EIO.
    source = write_model(tmp_path / "model.safetensors", {"w": np.arange(1 << 20, dtype=np.float32)})
    size = source.stat().st_size
    daemon = daemons.start(source)
    mounted = daemon.mountpoint / "model.safetensors"
    assert mounted.stat().st_size == size
    os.truncate(source, size // 2)
    with open(mounted, "rb") as file:
        assert os.pread(file.fileno(), 4096, size // 2 - 4096) == source.read_bytes()[-4096:]
        assert os.pread(file.fileno(), 4096, size // 2 + 4096) == b""
    assert daemon.alive()


def test_an_ordinary_user_without_the_privilege_falls_back_with_one_log_line(ordinary_user, fuse_device_for_user, shared_directory):
    mountpoint = directory_for(ordinary_user, shared_directory.path / "mnt")
    log = directory_for(ordinary_user, shared_directory.path / "logs") / "tensorfs.log"
    result = as_user(ordinary_user, shared_directory.binary, "mount", "--log-file", log, shared_directory.model, mountpoint)
    assert (result.returncode, result.stderr) == (0, "")
    try:
        read = as_user(ordinary_user, "cat", mountpoint / "model.safetensors", text=False)
        assert read.returncode == 0 and read.stdout == shared_directory.model.read_bytes()
    finally:
        as_user(ordinary_user, shared_directory.binary, "unmount", mountpoint).check_returncode()
    lines = [line for line in log.read_text().splitlines() if "passthrough" in line]
    assert any("passthrough off" in line and "CAP_SYS_ADMIN" in line for line in lines), lines
