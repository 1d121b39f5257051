"""The daemon's life under faults: signals during heavy reads, and a killed daemon's stale mount
(a launcher that goes away before the mount is ready: test_cli_readiness.py). No fault may leave
a reader hanging or a mount behind that `tensorfs unmount` cannot clear."""
import errno
import os
import signal
import threading

import numpy as np
import pytest

from conftest import assert_nothing_left, assert_one_line_failure, daemons_serving, is_mounted, run, wait_until, write_model
from foreground import daemons  # noqa: F401  (fixture)


def make_model(path):
    rng = np.random.default_rng(11)
    tensors = {f"layer.{index}.weight": rng.integers(0, 256, size=4 << 20, dtype=np.uint8) for index in range(4)}
    write_model(path, tensors)
    return {name.replace(".", "/"): array.tobytes() for name, array in tensors.items()}


class Readers:
    """Threads reading the mount with O_DIRECT in a loop until it goes away. Each records how it
    ended: the errno that stopped it, or None when it was still reading when told to stop."""

    def __init__(self, mountpoint, files, count=4):
        self.stop = threading.Event()
        self.endings = []
        self.bytes_read = 0
        self.lock = threading.Lock()
        self.threads = [threading.Thread(target=self.read, args=(mountpoint, files, seed)) for seed in range(count)]
        for thread in self.threads:
            thread.start()

    def read(self, mountpoint, files, seed):
        rng = np.random.default_rng(seed)
        names = sorted(files)
        try:
            while not self.stop.is_set():
                name = names[rng.integers(len(names))]
                offset = int(rng.integers(len(files[name])))
                descriptor = os.open(mountpoint / name, os.O_RDONLY | os.O_DIRECT)
                try:
                    data = os.pread(descriptor, 1 << 20, offset)
                finally:
                    os.close(descriptor)
                assert data == files[name][offset:offset + (1 << 20)]
                with self.lock:
                    self.bytes_read += len(data)
            ending = None
        except OSError as error:
            ending = error.errno
        with self.lock:
            self.endings.append(ending)

    def wait_for_progress(self, amount=32 << 20):
        wait_until(lambda: self.bytes_read >= amount, "the readers have read something")

    def finish(self):
        """Stops the readers; fails if one hangs (a reader stuck on a dead mount)."""
        self.stop.set()
        for thread in self.threads:
            thread.join(timeout=60)
            assert not thread.is_alive(), "a reader hangs"
        return self.endings


@pytest.mark.parametrize("number", [signal.SIGTERM, signal.SIGINT, signal.SIGHUP], ids=["TERM", "INT", "HUP"])
def test_a_signal_during_heavy_reads_unmounts_cleanly(daemons, tmp_path, number):
    files = make_model(tmp_path / "model.safetensors")
    daemon = daemons.start(tmp_path / "model.safetensors")
    readers = Readers(daemon.mountpoint, files)
    readers.wait_for_progress()
    daemon.signal(number)
    assert daemon.wait() == 0
    assert not is_mounted(daemon.mountpoint)
    # Readers either were between files or got an error from the vanished mount; none hangs.
    assert set(readers.finish()) <= {None, errno.ENOENT, errno.ENOTCONN, errno.ECONNABORTED, errno.EIO, errno.EINTR}
    assert "unmounting" in daemon.log.read_text()


def test_a_killed_daemon_leaves_a_stale_mount_that_unmount_clears_and_mount_reuses(tensorfs_bin, mounts, tmp_path):
    files = make_model(tmp_path / "model.safetensors")
    mountpoint = mounts.mount(tmp_path / "model.safetensors")
    readers = Readers(mountpoint, files)
    readers.wait_for_progress()
    (pid,) = daemons_serving(mountpoint)
    os.kill(pid, signal.SIGKILL)
    wait_until(lambda: not daemons_serving(mountpoint), "the killed daemon is gone")
    # Readers of a dead daemon fail at once (the kernel aborts the connection); none hangs.
    assert set(readers.finish()) <= {None, errno.ENOTCONN, errno.ECONNABORTED, errno.EIO}
    assert is_mounted(mountpoint)
    # Cached attributes still answer stat; anything that reaches the daemon fails.
    with pytest.raises(OSError) as failure:
        os.statvfs(mountpoint)
    assert failure.value.errno == errno.ENOTCONN
    with pytest.raises(OSError):
        os.listdir(mountpoint)

    again = run(tensorfs_bin, "mount", tmp_path / "model.safetensors", mountpoint)
    assert_one_line_failure(again, "stale mount", f"tensorfs unmount {mountpoint}")
    assert again.stderr.strip() == (
        f"tensorfs: {mountpoint}: a stale mount is left from a daemon that died (fuse.tensorfs); "
        f"clear it with: tensorfs unmount {mountpoint}")

    mounts.unmount(mountpoint)
    assert_nothing_left(mountpoint)
    assert os.listdir(mountpoint) == []
    remounted = mounts.mount(tmp_path / "model.safetensors")
    assert (remounted / "layer/2/weight").read_bytes() == files["layer/2/weight"]
    assert (remounted / "model.safetensors").stat().st_size == (tmp_path / "model.safetensors").stat().st_size


def test_a_mount_that_fails_to_start_leaves_nothing_mounted(tensorfs_bin, tmp_path):
    (tmp_path / "broken.safetensors").write_bytes(b"\x10" + bytes(7) + b"{}")
    mountpoint = tmp_path / "mnt"
    mountpoint.mkdir()
    result = run(tensorfs_bin, "mount", tmp_path / "broken.safetensors", mountpoint)
    assert_one_line_failure(result, str(tmp_path / "broken.safetensors"))
    assert_nothing_left(mountpoint)
