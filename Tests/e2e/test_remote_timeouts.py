"""--read-timeout bounds every read of a remote source, also while a server trickles its answer
a byte a second and so never falls silent long enough to count as stalled; the kernel's second
try of a failed read fails at once instead of waiting the timeout out again; and a daemon whose
mount ends (unmounted, or told to stop) stops waiting for such a server at once."""
import errno
import os
import signal
import subprocess
import sys
import threading
import time

import pytest

from conftest import daemons_serving, is_mounted, tensor_path, wait_until
from remote_servers import FAILURE_MEMORY, fault_proxy, nginx, no_proxies, publish_random_model, read_all  # noqa: F401 (fixtures)

MiB = 1 << 20
PROBE = "bytes=0-262143"


@pytest.fixture
def model(nginx, tmp_path):
    return publish_random_model(nginx, f"timeouts/{tmp_path.name}.safetensors", "layer", count=3, size=6 * MiB, step=4099, seed=19)


def data_requests(proxy):
    return [requested for requested in proxy.data_requests() if requested != PROBE]


def test_a_trickling_answer_fails_the_read_with_eio_at_the_read_timeout(mounts, fault_proxy, model, tmp_path):
    name, tensors = model
    log = tmp_path / "daemon.log"
    mountpoint = mounts.mount(fault_proxy.url(name), options=["--read-timeout", "4", "--stall-timeout", "2", "--log-file", log])
    fault_proxy.trickle()
    start = time.monotonic()
    with pytest.raises(OSError) as failure:
        tensor_path(mountpoint, "layer.0").read_bytes()
    elapsed = time.monotonic() - start
    assert failure.value.errno == errno.EIO
    # Ended by the timeout, not by the answer (which would take days), and the kernel's retry
    # of the failed read did not wait the timeout out a second time.
    assert 3.5 < elapsed < 7.5, elapsed
    requested = data_requests(fault_proxy)
    assert requested and len(requested) == len(set(requested)), requested
    assert "gave up after 1 attempt in 4.0 s" in log.read_text()
    fault_proxy.trickle(None)
    time.sleep(FAILURE_MEMORY)
    read_all(mountpoint, tensors)


def test_unmount_ends_the_daemon_while_a_worker_waits_on_a_trickling_answer(mounts, fault_proxy, model):
    name, _ = model
    mountpoint = mounts.mount(fault_proxy.url(name), options=["--read-timeout", "60", "--stall-timeout", "2"])
    [daemon] = daemons_serving(mountpoint)
    fault_proxy.trickle()
    # A program that maps a tensor and touches it makes the kernel read around the page in the
    # background; killed, it leaves those reads to the daemon, with no file open any more.
    toucher = subprocess.Popen([sys.executable, "-c", "import mmap, sys; f = open(sys.argv[1], 'rb'); "
                                "mmap.mmap(f.fileno(), 0, prot=mmap.PROT_READ)[100]", str(tensor_path(mountpoint, "layer.0"))])
    wait_until(lambda: data_requests(fault_proxy), "the daemon asks for the tensor")
    toucher.kill()
    toucher.wait()
    mounts.unmount(mountpoint)
    # Well before the read timeout would end the transfer.
    wait_until(lambda: not os.path.exists(f"/proc/{daemon}"), "the daemon has exited", limit=20)
    assert not is_mounted(mountpoint)


def test_a_daemon_told_to_stop_while_a_read_waits_on_a_trickling_answer_stops_at_once(mounts, fault_proxy, model):
    name, _ = model
    mountpoint = mounts.mount(fault_proxy.url(name), options=["--read-timeout", "60", "--stall-timeout", "2"])
    [daemon] = daemons_serving(mountpoint)
    fault_proxy.trickle()
    outcome = {}

    def read():
        try:
            tensor_path(mountpoint, "layer.0").read_bytes()
            outcome["error"] = None
        except OSError as error:
            outcome["error"] = error.errno

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    wait_until(lambda: data_requests(fault_proxy), "the daemon asks for the tensor")
    os.kill(daemon, signal.SIGTERM)
    reader.join(timeout=20)
    assert not reader.is_alive(), "the read still waits"
    # EIO from the daemon, or the kernel's word for a connection ended under the read.
    assert outcome["error"] in (errno.EIO, errno.ENOTCONN, errno.ECONNABORTED), outcome
    wait_until(lambda: not os.path.exists(f"/proc/{daemon}"), "the daemon has exited", limit=20)
    wait_until(lambda: not is_mounted(mountpoint), "the mount is gone", limit=20)
