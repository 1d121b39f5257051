"""A daemon run with `tensorfs mount --foreground`, for tests that need its process: to signal
it, kill it, or watch its memory. The `daemons` fixture stops every one and clears its mount."""
import signal
import subprocess
import time

import pytest

from conftest import force_unmount, is_mounted


class ForegroundDaemon:
    """One `tensorfs mount --foreground` process serving `sources` at `mountpoint`."""

    def __init__(self, tensorfs_bin, sources, mountpoint, options=(), env=None):
        self.mountpoint = mountpoint
        self.log = mountpoint.parent / f"{mountpoint.name}.log"
        mountpoint.mkdir(exist_ok=True)
        arguments = [tensorfs_bin, "mount", "--foreground", "--log-file", str(self.log), *map(str, options)]
        self.process = subprocess.Popen(
            [*arguments, *map(str, sources), str(mountpoint)],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env)
        deadline = time.monotonic() + 60
        while not is_mounted(mountpoint):
            if self.process.poll() is not None:
                raise AssertionError(f"the daemon exited ({self.process.returncode}): {self.process.stderr.read().decode()}")
            assert time.monotonic() < deadline, "the daemon did not mount within a minute"
            time.sleep(0.02)

    @property
    def pid(self):
        return self.process.pid

    def alive(self):
        return self.process.poll() is None

    def signal(self, number):
        self.process.send_signal(number)

    def wait(self, timeout=60):
        """Waits for the process to end; returns its exit status (negative for a signal)."""
        return self.process.wait(timeout=timeout)

    def anonymous_memory_kib(self):
        """The daemon's own memory (RssAnon): heap and stacks, not the source pages it maps."""
        with open(f"/proc/{self.pid}/status") as status:
            for line in status:
                if line.startswith("RssAnon:"):
                    return int(line.split()[1])
        raise AssertionError("no RssAnon in /proc/PID/status")

    def close(self):
        if self.alive():
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        force_unmount(self.mountpoint)
        self.process.stderr.close()


class Daemons:
    """Starts foreground daemons under a test's temporary directory."""

    def __init__(self, tensorfs_bin, tmp_path):
        self.bin = tensorfs_bin
        self.tmp = tmp_path
        self.started = []

    def start(self, *sources, options=(), name="mnt", env=None):
        daemon = ForegroundDaemon(self.bin, sources, self.tmp / name, options, env)
        self.started.append(daemon)
        return daemon

    def close(self):
        for daemon in self.started:
            daemon.close()
        for daemon in self.started:
            assert not is_mounted(daemon.mountpoint), f"{daemon.mountpoint} is still mounted"


@pytest.fixture
def daemons(tensorfs_bin, tmp_path):
    manager = Daemons(tensorfs_bin, tmp_path)
    yield manager
    manager.close()
