"""When `tensorfs mount` says the mount is ready: only once it answers (the kernel's handshake
done and a request served), to its caller and to systemd (sd_notify); a daemon that fails before
that, or whose launcher goes away, leaves nothing mounted."""
import os
import pty
import select
import signal
import socket
import subprocess

import numpy as np
import pytest

from conftest import assert_nothing_left, assert_one_line_failure, daemons_serving, is_mounted, run, wait_until, write_model
from remote_servers import fault_proxy, nginx, no_proxies  # noqa: F401 (fixtures)


@pytest.fixture
def notify_socket(tmp_path):
    """A datagram socket listening where $NOTIFY_SOCKET will point, as systemd's does."""
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    listener.bind(str(tmp_path / "notify"))
    listener.settimeout(60)
    yield listener
    listener.close()


def environment_with(**variables):
    return {**os.environ, **variables}


def test_a_mount_whose_kernel_handshake_fails_exits_non_zero_with_the_reason_and_leaves_nothing(tensorfs_bin, sample_model, mountpoint):
    # libfuse refuses to complete INIT when -o max_read differs from what its init() asked for.
    result = run(tensorfs_bin, "mount", "-o", "max_read=65536", sample_model, mountpoint)
    assert_one_line_failure(result, str(mountpoint), "did not complete the mount", "maximum read size")
    assert_nothing_left(mountpoint)


def test_the_foreground_mount_tells_systemd_it_is_ready_once_it_answers_and_when_it_stops(tensorfs_bin, sample_model, mountpoint, notify_socket):
    process = subprocess.Popen([tensorfs_bin, "mount", "--foreground", sample_model, mountpoint],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               env=environment_with(NOTIFY_SOCKET=notify_socket.getsockname()))
    try:
        assert notify_socket.recv(4096) == b"READY=1"
        # Ready means answering: nothing below may wait for the daemon to start.
        assert (mountpoint / "pooler/dense/bias").stat().st_size == 384 * 4
        process.send_signal(signal.SIGTERM)
        assert notify_socket.recv(4096) == b"STOPPING=1"
        assert process.wait(timeout=60) == 0
    finally:
        if process.poll() is None:
            process.kill()
    assert_nothing_left(mountpoint)


def test_a_background_mount_hands_systemd_over_to_its_daemon(tensorfs_bin, sample_model, mountpoint, notify_socket):
    result = subprocess.run([tensorfs_bin, "mount", sample_model, mountpoint], capture_output=True, text=True, timeout=120,
                            env=environment_with(NOTIFY_SOCKET=notify_socket.getsockname()))
    try:
        assert result.returncode == 0, result.stderr
        [daemon] = daemons_serving(mountpoint)
        assert notify_socket.recv(4096) == f"MAINPID={daemon}\nREADY=1".encode()
    finally:
        run(tensorfs_bin, "unmount", mountpoint)
    assert notify_socket.recv(4096) == b"STOPPING=1"
    assert_nothing_left(mountpoint)


class SilentServer:
    """A TCP port that accepts connections and never answers: a mount of a source there loads
    until its read timeout."""

    def __init__(self):
        self.socket = socket.socket()
        self.socket.bind(("127.0.0.1", 0))
        self.socket.listen(64)

    def url(self, name):
        return f"http://127.0.0.1:{self.socket.getsockname()[1]}/{name}"

    def close(self):
        self.socket.close()


@pytest.fixture
def silent_server():
    server = SilentServer()
    yield server
    server.close()


def test_a_daemon_whose_launcher_is_killed_while_it_loads_ends_and_mounts_nothing(tensorfs_bin, mountpoint, silent_server):
    launcher = subprocess.Popen([tensorfs_bin, "mount", "--read-timeout", "600", "--stall-timeout", "600",
                                 silent_server.url("m.safetensors"), mountpoint],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_until(lambda: daemons_serving(mountpoint, launchers=False), "the daemon has started")
        launcher.kill()
        launcher.wait(timeout=60)
        wait_until(lambda: not daemons_serving(mountpoint), "the daemon has ended")
    finally:
        if launcher.poll() is None:
            launcher.kill()
    assert_nothing_left(mountpoint)


def test_a_daemon_whose_launcher_is_killed_after_it_mounted_but_before_it_answered_unmounts(tensorfs_bin, tmp_path, mountpoint):
    """The launcher is killed in the moment between the daemon's mount and its first answer,
    held open by delaying the daemon's readiness probe (its statfs) with strace."""
    source = write_model(tmp_path / "m.safetensors", {"x": np.arange(8, dtype=np.float32)})
    log = tmp_path / "daemon.log"
    traced = subprocess.Popen(["strace", "-f", "-o", "/dev/null", "-e", "trace=statfs", "-e", "inject=statfs:delay_enter=3000000",
                               tensorfs_bin, "mount", "--log-file", log, source, mountpoint],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_until(lambda: is_mounted(mountpoint), "the daemon has mounted")
        [launcher] = children(traced.pid)
        assert daemons_serving(mountpoint, launchers=False) == children(launcher)
        os.kill(launcher, signal.SIGKILL)
        wait_until(lambda: not is_mounted(mountpoint) and not daemons_serving(mountpoint), "the daemon has unmounted and ended")
        traced.wait(timeout=60)
    finally:
        if traced.poll() is None:
            traced.kill()
    assert "nobody waits for the mount any more; unmounting" in log.read_text()
    assert_nothing_left(mountpoint)


def children(pid):
    with open(f"/proc/{pid}/task/{pid}/children") as listing:
        return [int(child) for child in listing.read().split()]


def test_a_daemon_given_no_handoff_exits_at_once_and_mounts_nothing(tensorfs_bin, sample_model, mountpoint):
    # The daemon's own command line, with its channel's other end already closed.
    ours, theirs = socket.socketpair()
    ours.close()
    daemon = subprocess.Popen(["bash", "-c", f'exec "$0" "$@" 3>&{theirs.fileno()}', tensorfs_bin, "mount", "--launcher-descriptor", "3",
                               "--", sample_model, mountpoint], pass_fds=(theirs.fileno(),), stdin=subprocess.DEVNULL,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    theirs.close()
    try:
        assert daemon.wait(timeout=60) == 1
    finally:
        if daemon.poll() is None:
            daemon.kill()
    assert_nothing_left(mountpoint)


def run_on_a_terminal(arguments):
    """Runs `arguments` with stderr on a pseudo-terminal; returns the exit status and what it wrote there."""
    main, secondary = pty.openpty()
    process = subprocess.Popen(arguments, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=secondary)
    os.close(secondary)
    output = b""
    while True:
        ready, _, _ = select.select([main], [], [], 60)
        assert ready, "no output and no end within a minute"
        try:
            chunk = os.read(main, 4096)
        except OSError:
            break
        if not chunk:
            break
        output += chunk
    os.close(main)
    return process.wait(timeout=60), output.decode()


def test_a_slow_remote_mount_shows_progress_on_a_terminal_and_nothing_elsewhere(tensorfs_bin, nginx, fault_proxy, sample_model, mountpoint):
    (nginx.root / "progress").mkdir(exist_ok=True)
    (nginx.root / "progress/m.safetensors").write_bytes(sample_model.read_bytes())
    url = fault_proxy.url("progress/m.safetensors")
    try:
        fault_proxy.fail_next(2)
        status, output = run_on_a_terminal([tensorfs_bin, "mount", url, str(mountpoint)])
        assert status == 0, output
        assert "\r\x1b[K" in output
        assert "retrying m.safetensors (HTTP 503" in output
        assert "1 header fetched" in output
        assert output.endswith("\r\x1b[K"), "the progress line is cleared at the end"
        run(tensorfs_bin, "unmount", mountpoint, check=True)

        fault_proxy.fail_next(2)
        quiet = run(tensorfs_bin, "mount", url, mountpoint)
        assert (quiet.returncode, quiet.stderr) == (0, "")
    finally:
        run(tensorfs_bin, "unmount", mountpoint)
    assert_nothing_left(mountpoint)
