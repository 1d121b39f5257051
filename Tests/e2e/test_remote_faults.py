"""A remote source survives what networks and servers do (throttling, dropped connections,
stalls), fails a read with EIO after a bounded time while the daemon stays healthy, and never
mixes the bytes of two versions of an object."""
import errno
import os
import time

import numpy as np
import pytest

from conftest import is_mounted, run, tensor_path
from remote_servers import FAILURE_MEMORY, fault_proxy, nginx, no_proxies, publish_random_model, read_all, replace_published  # noqa: F401 (fixtures)

MiB = 1 << 20


@pytest.fixture
def model(nginx, tmp_path):
    """A model of a few large tensors, published on nginx; returns (name, tensors)."""
    return publish_random_model(nginx, f"faults/{tmp_path.name}.safetensors", "layer", count=3, size=6 * MiB, step=4099, seed=7)


def test_throttling_and_server_errors_are_retried(mounts, fault_proxy, model):
    name, tensors = model
    fault_proxy.fail_next(3, status=503)
    mountpoint = mounts.mount(fault_proxy.url(name))
    fault_proxy.fail_next(2, status=503)
    fault_proxy.fail_next(1, status=500)
    fault_proxy.fail_next(1, status=429)
    read_all(mountpoint, tensors)


def test_a_connection_dropped_in_the_middle_of_a_body_resumes_where_it_broke(mounts, fault_proxy, model):
    name, tensors = model
    mountpoint = mounts.mount(fault_proxy.url(name), options=["--part-size", "4M"])
    seen_before = len(fault_proxy.seen)
    fault_proxy.drop_next(2, after_bytes=300_000)
    read_all(mountpoint, tensors)
    ranges = [request["range"] for request in fault_proxy.seen[seen_before:]]
    starts = [int(text.split("=")[1].split("-")[0]) for text in ranges]
    # A resumed request starts 300000 bytes into one of the requests before it.
    assert any(start - 300_000 in starts for start in starts), ranges
    assert all(request["if_match"] for request in fault_proxy.seen[seen_before:])


def test_a_stalled_response_is_abandoned_and_retried(mounts, fault_proxy, model):
    name, tensors = model
    mountpoint = mounts.mount(fault_proxy.url(name), options=["--stall-timeout", "1"])
    fault_proxy.stall_next(1, seconds=6, after_bytes=1000)
    read_all(mountpoint, tensors)


def test_a_read_that_keeps_failing_gives_eio_and_the_daemon_stays_healthy(mounts, fault_proxy, model, tmp_path):
    name, tensors = model
    log = tmp_path / "daemon.log"
    mountpoint = mounts.mount(fault_proxy.url(name), options=["--read-timeout", "2", "--log-file", log])
    fault_proxy.fail_next(10_000, status=503)
    with pytest.raises(OSError) as failure:
        tensor_path(mountpoint, "layer.0").read_bytes()
    assert failure.value.errno == errno.EIO
    assert "503" in log.read_text()
    with fault_proxy.lock:
        fault_proxy.failures.clear()
    # A failed range fails at once for FAILURE_MEMORY seconds (the kernel's own retry of the
    # read must not wait out the timeout again); after that, reads try again.
    time.sleep(FAILURE_MEMORY)
    read_all(mountpoint, tensors)


def test_mounting_through_a_server_that_keeps_failing_fails_with_one_line(tensorfs_bin, fault_proxy, model, tmp_path):
    name, _ = model
    fault_proxy.fail_next(10_000, status=503)
    mountpoint = tmp_path / "mnt"
    mountpoint.mkdir()
    result = run(tensorfs_bin, "mount", "--read-timeout", "2", fault_proxy.url(name), mountpoint)
    assert result.returncode != 0
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "503" in lines[0] and "gave up" in lines[0], result.stderr
    assert not is_mounted(mountpoint)


def test_an_object_that_changes_under_the_mount_gives_eio_and_one_log_line(mounts, nginx, model, tmp_path):
    name, tensors = model
    log = tmp_path / "daemon.log"
    mountpoint = mounts.mount(nginx.url(name), options=["--log-file", log, "--part-size", "1M"])
    assert tensor_path(mountpoint, "layer.0").read_bytes()[:MiB] == tensors["layer.0"].tobytes()[:MiB]
    replace_published(nginx.root / name, {key: np.ascontiguousarray(255 - value) for key, value in tensors.items()})
    for tensor in tensors:
        try:
            data = tensor_path(mountpoint, tensor).read_bytes()
        except OSError as error:
            assert error.errno == errno.EIO
        else:
            # Whatever the kernel kept from before the change is the old version, whole.
            assert data == tensors[tensor].tobytes()
    lines = [line for line in log.read_text().splitlines() if "changed on the server" in line]
    assert len(lines) == 1 and nginx.url(name) in lines[0], log.read_text()


@pytest.mark.parametrize("change, tensor", [("first bytes", "layer.0"), ("size", "layer.2")])
def test_without_validators_the_mount_warns_and_pins_the_size_and_first_bytes(mounts, nginx, fault_proxy, model, tmp_path, change, tensor):
    name, _ = model
    fault_proxy.hide_validators = True
    log = tmp_path / "daemon.log"
    result = mounts.attempt(fault_proxy.url(name), options=["--log-file", log])
    assert result.returncode == 0, result.stderr
    mountpoint = tmp_path / "mnt"
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("tensorfs: warning: ") and "neither ETag nor Last-Modified" in lines[0], result.stderr
    assert fault_proxy.url(name) in lines[0]
    with open(nginx.root / name, "r+b") as published:
        if change == "size":
            published.seek(0, os.SEEK_END)
            published.write(b"\0" * 100)
        else:
            published.seek(1000)
            published.write(b"\xff" * 1000)
    with pytest.raises(OSError) as failure:
        tensor_path(mountpoint, tensor).read_bytes()
    assert failure.value.errno == errno.EIO
    assert "changed on the server" in log.read_text()
