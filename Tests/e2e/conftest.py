"""Fixtures for end-to-end tests: the built binary, the sample model, model generators and
real mounts that are always unmounted afterwards."""
import json
import os
import pathlib
import signal
import struct
import subprocess
import time

import numpy as np
import pytest
from safetensors.numpy import save_file

REPO = pathlib.Path(__file__).resolve().parents[2]
SAMPLE_MODEL = REPO / ".cache/models/all-MiniLM-L6-v2/model.safetensors"


def pytest_configure(config):
    config.addinivalue_line(
        "markers", "slow: a scale, stress or fuzzing test; the fast tier (scripts/test.sh --fast) leaves it out with -m 'not slow'")
    # A test run started in the background of a script (`scripts/test.sh &`) inherits SIGINT
    # ignored, and so would every daemon it starts: libfuse leaves an ignored signal alone, and
    # the tests that stop a daemon with SIGINT would wait on it in vain.
    if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
        signal.signal(signal.SIGINT, signal.default_int_handler)


@pytest.fixture(scope="session")
def tensorfs_bin():
    path = os.environ.get("TENSORFS_BIN")
    path = os.path.abspath(path) if path else None
    if not path:
        bin_dir = subprocess.check_output(["swift", "build", "--show-bin-path"], cwd=REPO, text=True).strip()
        path = os.path.join(bin_dir, "tensorfs")
    assert os.access(path, os.X_OK), f"build tensorfs first: {path} is missing"
    return path


@pytest.fixture(scope="session")
def sample_model():
    assert SAMPLE_MODEL.exists(), "run scripts/setup.sh to fetch the sample model"
    return SAMPLE_MODEL


def run(tensorfs_bin, *args, check=False, timeout=120):
    """Runs the tensorfs binary; returns the CompletedProcess (text mode)."""
    result = subprocess.run([tensorfs_bin, *map(str, args)], capture_output=True, text=True, timeout=timeout)
    if check and result.returncode != 0:
        raise AssertionError(f"tensorfs {' '.join(map(str, args))} failed ({result.returncode}): {result.stderr}")
    return result


def is_mounted(path):
    path = os.path.realpath(os.path.dirname(os.path.abspath(path))) + "/" + os.path.basename(os.path.abspath(path))
    with open("/proc/self/mountinfo") as table:
        return any(line.split()[4] == path for line in table)


def force_unmount(path):
    if is_mounted(path):
        subprocess.run(["fusermount3", "-uz", str(path)], capture_output=True)
    if is_mounted(path):
        subprocess.run(["umount", "-l", str(path)], capture_output=True)


@pytest.fixture
def mountpoint(tmp_path):
    """An empty directory to mount on, cleared of any mount left at the end."""
    path = tmp_path / "mnt"
    path.mkdir()
    yield path
    force_unmount(path)


class Mounts:
    """Mounts sources with the real binary; every mount is unmounted at teardown."""

    def __init__(self, tensorfs_bin, tmp_path):
        self.bin = tensorfs_bin
        self.tmp = tmp_path
        self.active = []

    def attempt(self, *sources, options=(), name="mnt", timeout=120):
        """Runs `tensorfs mount` at `name`; returns the CompletedProcess, for tests that read its
        stderr or expect a refusal. A mount that succeeded is unmounted at teardown."""
        mountpoint = self.tmp / name
        mountpoint.mkdir(exist_ok=True)
        result = run(self.bin, "mount", *options, *sources, mountpoint, timeout=timeout)
        if result.returncode == 0:
            self.active.append(mountpoint)
        return result

    def mount(self, *sources, options=(), name="mnt"):
        result = self.attempt(*sources, options=options, name=name)
        if result.returncode != 0:
            raise AssertionError(f"mount failed ({result.returncode}): {result.stderr}")
        mountpoint = self.tmp / name
        assert is_mounted(mountpoint)
        return mountpoint

    def unmount(self, mountpoint):
        run(self.bin, "unmount", mountpoint, check=True)
        self.active.remove(mountpoint)

    def close(self):
        for mountpoint in self.active:
            run(self.bin, "unmount", mountpoint)
            force_unmount(mountpoint)
        for mountpoint in self.active:
            assert not is_mounted(mountpoint), f"{mountpoint} is still mounted"


@pytest.fixture
def mounts(tensorfs_bin, tmp_path):
    manager = Mounts(tensorfs_bin, tmp_path)
    yield manager
    manager.close()


def write_model(path, tensors, metadata=None):
    """Writes a safetensors file with the reference library; returns its path."""
    path = pathlib.Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    # np.require keeps scalars 0-d; np.ascontiguousarray would make them 1-d.
    save_file({name: np.require(array, requirements="C") for name, array in tensors.items()}, str(path), metadata=metadata)
    return path


def write_raw_model(path, entries, metadata=None):
    """Writes a safetensors file by hand, for names and dtypes the reference writer refuses:
    `entries` is a list of (name, dtype, shape, data bytes), laid out in that order. Returns
    its path."""
    path = pathlib.Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    header, offset = {}, 0
    if metadata is not None:
        header["__metadata__"] = metadata
    for name, dtype, shape, data in entries:
        header[name] = {"dtype": dtype, "shape": list(shape), "data_offsets": [offset, offset + len(data)]}
        offset += len(data)
    text = json.dumps(header, ensure_ascii=False).encode()
    text += b" " * (-len(text) % 8)
    path.write_bytes(struct.pack("<Q", len(text)) + text + b"".join(entry[3] for entry in entries))
    return path


def tensor_path(mountpoint, name):
    """The file of tensor `name` in the default tree layout, for names that need no escaping."""
    return pathlib.Path(mountpoint) / name.replace(".", "/")


def process_command_lines():
    """(process id, arguments) of every process whose command line can still be read."""
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/cmdline", "rb") as file:
                arguments = file.read().split(b"\0")
        except OSError:
            continue
        yield int(entry), arguments


def daemons_serving(mountpoint, launchers=True):
    """Process ids of tensorfs processes whose command line names `mountpoint`: the daemons
    and, unless `launchers` is false, the `tensorfs mount` commands that start them."""
    target = os.fsencode(str(mountpoint))
    return [pid for pid, arguments in process_command_lines()
            if b"mount" in arguments and target in arguments and any(argument.endswith(b"tensorfs") for argument in arguments[:1])
            and (launchers or b"--launcher-descriptor" in arguments)]


def wait_until(condition, what, limit=60):
    """Polls `condition` until it holds; fails after `limit` seconds (a hang, not a speed test)."""
    deadline = time.monotonic() + limit
    while not condition():
        assert time.monotonic() < deadline, f"gave up waiting until {what}"
        time.sleep(0.05)


def assert_one_line_failure(result, *fragments):
    """The command failed with exit 1 and one line on stderr that holds every fragment."""
    assert result.returncode == 1, result
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("tensorfs: "), result.stderr
    for fragment in fragments:
        assert fragment in lines[0], (fragment, lines[0])
    assert result.stdout == ""


def assert_nothing_left(mountpoint):
    """Nothing is mounted at `mountpoint` and no daemon for it is still running."""
    assert not is_mounted(mountpoint)
    wait_until(lambda: not daemons_serving(mountpoint), f"no daemon serves {mountpoint}")
