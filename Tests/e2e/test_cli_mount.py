"""`tensorfs mount`: it returns once the mount is live; every bad input fails with one clear
line and leaves nothing mounted and no daemon behind; --foreground, signals and logging."""
import os
import pathlib
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import types

import numpy as np
import pytest

from conftest import assert_nothing_left, assert_one_line_failure, daemons_serving, force_unmount, is_mounted, run, wait_until, write_model
from reference import reference_bytes

NOBODY = 65534


@pytest.fixture
def nobody_files(tensorfs_bin):
    """A directory everyone may enter, holding what a user other than root needs to mount: a
    copy of the binary, a small model readable by all, and a mountpoint owned by nobody."""
    path = pathlib.Path(tempfile.mkdtemp(prefix="tensorfs-nobody-"))
    path.chmod(0o755)
    source = write_model(path / "m.safetensors", {"a": np.zeros(4, np.float32)})
    source.chmod(0o644)
    mountpoint = path / "mnt"
    mountpoint.mkdir()
    os.chown(mountpoint, NOBODY, NOBODY)
    yield types.SimpleNamespace(directory=path, binary=shutil.copy(tensorfs_bin, path / "tensorfs"), source=source, mountpoint=mountpoint)
    force_unmount(mountpoint)
    shutil.rmtree(path)


def test_mount_returns_once_the_mount_is_live_and_prints_nothing(tensorfs_bin, sample_model, mountpoint):
    result = run(tensorfs_bin, "mount", sample_model, mountpoint)
    try:
        assert (result.returncode, result.stdout, result.stderr) == (0, "", "")
        assert is_mounted(mountpoint)
        assert (mountpoint / "pooler/dense/bias").read_bytes() == reference_bytes(sample_model)["pooler.dense.bias"]
        [daemon] = daemons_serving(mountpoint)
        assert os.getsid(daemon) == daemon, "the daemon leads a session of its own, away from the terminal"
    finally:
        run(tensorfs_bin, "unmount", mountpoint, check=True)
    assert_nothing_left(mountpoint)


def test_relative_paths_are_resolved_from_the_current_directory(tensorfs_bin, sample_model, tmp_path):
    (tmp_path / "rel").mkdir()
    shutil.copy(sample_model, tmp_path / "model.safetensors")
    result = subprocess.run([tensorfs_bin, "mount", "model.safetensors", "rel"], cwd=tmp_path, capture_output=True, text=True)
    try:
        assert result.returncode == 0, result.stderr
        assert (tmp_path / "rel/model.safetensors").stat().st_size == sample_model.stat().st_size
    finally:
        subprocess.run([tensorfs_bin, "unmount", "rel"], cwd=tmp_path, check=True)
    assert_nothing_left(tmp_path / "rel")


def test_a_missing_source_fails_with_one_line(tensorfs_bin, mountpoint, tmp_path):
    result = run(tensorfs_bin, "mount", tmp_path / "absent.safetensors", mountpoint)
    assert_one_line_failure(result, str(tmp_path / "absent.safetensors"), "No such file or directory")
    assert_nothing_left(mountpoint)


def test_an_unreadable_source_fails_with_one_line(nobody_files):
    nobody_files.source.chmod(0o600)
    result = subprocess.run([nobody_files.binary, "mount", nobody_files.source, nobody_files.mountpoint],
                            capture_output=True, text=True, user=NOBODY, group=NOBODY, extra_groups=[])
    assert_one_line_failure(result, str(nobody_files.source), "Permission denied")
    assert_nothing_left(nobody_files.mountpoint)


def test_an_invalid_file_fails_with_the_readers_message(tensorfs_bin, mountpoint, tmp_path):
    bad = tmp_path / "bad.safetensors"
    bad.write_bytes(b"\x10\x00\x00\x00\x00\x00\x00\x00{\"a\":1}        ")
    expected = run(tensorfs_bin, "inspect", bad).stderr
    result = run(tensorfs_bin, "mount", bad, mountpoint)
    assert_one_line_failure(result, str(bad))
    assert result.stderr == expected
    assert_nothing_left(mountpoint)


def test_a_bad_source_is_reported_before_a_bad_mountpoint(tensorfs_bin, tmp_path):
    result = run(tensorfs_bin, "mount", tmp_path / "absent.safetensors", tmp_path / "no-such-dir")
    assert_one_line_failure(result, "absent.safetensors")


@pytest.mark.parametrize("problem", ["missing", "a file", "a symlink to nowhere"])
def test_a_bad_mountpoint_fails_with_one_line(tensorfs_bin, sample_model, tmp_path, problem):
    target = tmp_path / "target"
    if problem == "a file":
        target.write_text("x")
    elif problem == "a symlink to nowhere":
        target.symlink_to(tmp_path / "nowhere")
    result = run(tensorfs_bin, "mount", sample_model, target)
    assert_one_line_failure(result, str(target), "not a directory" if problem == "a file" else "does not exist")
    assert_nothing_left(target)


def test_mounting_twice_fails_and_keeps_the_first_mount(mounts, tensorfs_bin, sample_model):
    mountpoint = mounts.mount(sample_model)
    result = run(tensorfs_bin, "mount", sample_model, mountpoint)
    assert_one_line_failure(result, str(mountpoint), "already a mountpoint")
    assert (mountpoint / "pooler/dense/bias").stat().st_size == 384 * 4
    assert len(daemons_serving(mountpoint)) == 1


def test_a_bad_fuse_option_fails_with_one_line(tensorfs_bin, sample_model, mountpoint):
    result = run(tensorfs_bin, "mount", "-o", "no_such_option", sample_model, mountpoint)
    assert_one_line_failure(result, "no_such_option")
    assert_nothing_left(mountpoint)


def test_without_dev_fuse_the_error_says_what_to_install(tensorfs_bin, sample_model, mountpoint):
    """In a private mount namespace whose /dev has no fuse device."""
    script = 'mount -t tmpfs none /dev && mknod -m 666 /dev/null c 1 3 && exec "$@"'
    result = subprocess.run(["unshare", "--mount", "sh", "-c", script, "sh", tensorfs_bin, "mount", sample_model, mountpoint],
                            capture_output=True, text=True)
    assert_one_line_failure(result, "/dev/fuse", "apt-get install fuse3")
    assert_nothing_left(mountpoint)


def test_without_fusermount3_the_error_says_what_to_install(nobody_files):
    """A user other than root needs fusermount3: hide it in a private mount namespace (where
    /dev/fuse is also opened up to everyone) and mount as nobody."""
    blank = nobody_files.directory / "blank"
    blank.write_bytes(b"")
    device = nobody_files.directory / "fuse"
    script = (f'mknod -m 666 {device} c 10 229 && mount --bind {device} /dev/fuse && '
              f'mount --bind {blank} "$(command -v fusermount3)" && exec setpriv --reuid={NOBODY} --regid={NOBODY} --clear-groups "$@"')
    result = subprocess.run(["unshare", "--mount", "sh", "-c", script, "sh", nobody_files.binary, "mount", nobody_files.source, nobody_files.mountpoint],
                            capture_output=True, text=True)
    assert_one_line_failure(result, "fusermount3 not found", "apt-get install fuse3")
    assert_nothing_left(nobody_files.mountpoint)


def test_foreground_stays_attached_and_sigterm_unmounts(tensorfs_bin, sample_model, mountpoint):
    for stop in (signal.SIGTERM, signal.SIGINT):
        process = subprocess.Popen([tensorfs_bin, "mount", "--foreground", sample_model, mountpoint],
                                   stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            wait_until(lambda: is_mounted(mountpoint) or process.poll() is not None, "the foreground mount is live")
            assert process.poll() is None
            assert (mountpoint / "pooler/dense/bias").stat().st_size == 384 * 4
            assert daemons_serving(mountpoint) == [process.pid]
            process.send_signal(stop)
            stdout, stderr = process.communicate(timeout=60)
        finally:
            if process.poll() is None:
                process.kill()
        assert (process.returncode, stdout, stderr) == (0, "", ""), stop
        assert_nothing_left(mountpoint)


def test_log_file_records_the_daemon_and_debug_traces_operations(tensorfs_bin, sample_model, mountpoint, tmp_path):
    quiet_log, debug_log = tmp_path / "quiet.log", tmp_path / "debug.log"
    for log, extra in ((quiet_log, []), (debug_log, ["--debug"])):
        run(tensorfs_bin, "mount", "--log-file", log, *extra, sample_model, mountpoint, check=True)
        (mountpoint / "pooler/dense/weight").read_bytes()
        run(tensorfs_bin, "unmount", mountpoint, check=True)
        assert_nothing_left(mountpoint)
    quiet, debug = quiet_log.read_text(), debug_log.read_text()
    assert f"mounted at {mountpoint}" in quiet and "unmounting" in quiet
    assert " debug: " not in quiet
    for operation in ("lookup 1/pooler", "getattr", "open", "read"):
        assert f" debug: {operation}" in debug, operation


def test_a_log_file_that_cannot_be_opened_fails_with_one_line(tensorfs_bin, sample_model, mountpoint, tmp_path):
    log = tmp_path / "no-such-dir/tensorfs.log"
    result = run(tensorfs_bin, "mount", "--log-file", log, sample_model, mountpoint)
    assert_one_line_failure(result, str(log), "cannot open the log file")
    assert_nothing_left(mountpoint)


def test_debug_in_the_background_needs_a_log_file(tensorfs_bin, sample_model, mountpoint):
    result = run(tensorfs_bin, "mount", "--debug", sample_model, mountpoint)
    assert result.returncode != 0 and "--log-file" in result.stderr
    assert_nothing_left(mountpoint)


def test_foreground_debug_traces_to_stderr(tensorfs_bin, sample_model, mountpoint):
    process = subprocess.Popen([tensorfs_bin, "mount", "--foreground", "--debug", sample_model, mountpoint],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        wait_until(lambda: is_mounted(mountpoint) or process.poll() is not None, "the foreground mount is live")
        os.listdir(mountpoint)
        process.send_signal(signal.SIGTERM)
        _, stderr = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 0
    assert " debug: readdirplus 1 " in stderr or " debug: readdir 1 " in stderr, stderr
    assert_nothing_left(mountpoint)


def test_allow_other_lets_other_users_read(tensorfs_bin, sample_model, nobody_files):
    path = "pooler/dense/bias"
    expected = reference_bytes(sample_model)["pooler.dense.bias"]
    reader = ["python3", "-c", "import sys; sys.stdout.buffer.write(open(sys.argv[1], 'rb').read())"]
    private, shared = nobody_files.directory / "private", nobody_files.directory / "shared"
    try:
        for target, options in ((private, []), (shared, ["-o", "allow_other"])):
            target.mkdir()
            run(tensorfs_bin, "mount", *options, sample_model, target, check=True)
        denied = subprocess.run(reader + [str(private / path)], capture_output=True, user=NOBODY, group=NOBODY, extra_groups=[])
        assert denied.returncode != 0 and b"Permission denied" in denied.stderr
        allowed = subprocess.run(reader + [str(shared / path)], capture_output=True, user=NOBODY, group=NOBODY, extra_groups=[])
        assert allowed.returncode == 0, allowed.stderr
        assert allowed.stdout == expected
    finally:
        for target in (private, shared):
            run(tensorfs_bin, "unmount", target)
            force_unmount(target)
    assert_nothing_left(private)
    assert_nothing_left(shared)


def test_dash_capital_v_prints_the_version(tensorfs_bin):
    short, long = run(tensorfs_bin, "-V"), run(tensorfs_bin, "--version")
    assert short.returncode == 0 and short.stdout == long.stdout and short.stdout.strip()


def test_the_source_names_the_mount_in_proc_mounts_findmnt_and_df(mounts, tensorfs_bin, sample_model, tmp_path):
    odd = tmp_path / "a model, with spaces"
    odd.mkdir()
    source = odd / "m.safetensors"
    shutil.copy(sample_model, source)
    mountpoint = mounts.mount(source)
    with open("/proc/self/mountinfo") as table:
        [fields] = [line.split() for line in table if line.split()[4] == str(mountpoint)]
    after = fields[fields.index("-") + 1:]
    assert after[0] == "fuse.tensorfs"
    assert after[1].replace("\\040", " ") == str(source)
    findmnt = subprocess.run(["findmnt", "-n", "-o", "SOURCE,FSTYPE", "--target", mountpoint], capture_output=True, text=True, check=True)
    assert findmnt.stdout.split() == [*str(source).split(), "fuse.tensorfs"]
    df = subprocess.run(["df", "--output=source", mountpoint], capture_output=True, text=True, check=True)
    assert df.stdout.splitlines()[1].strip() == str(source)


def test_a_mountpoint_holding_files_is_refused_unless_allowed(tensorfs_bin, sample_model, mountpoint):
    (mountpoint / "notes.txt").write_text("hidden while mounted")
    refused = run(tensorfs_bin, "mount", sample_model, mountpoint)
    assert_one_line_failure(refused, str(mountpoint), "not empty", "--allow-non-empty", "-o nonempty")
    assert_nothing_left(mountpoint)
    for allow in (["--allow-non-empty"], ["-o", "nonempty"]):
        run(tensorfs_bin, "mount", *allow, sample_model, mountpoint, check=True)
        try:
            assert not (mountpoint / "notes.txt").exists()
        finally:
            run(tensorfs_bin, "unmount", mountpoint, check=True)
        assert (mountpoint / "notes.txt").read_text() == "hidden while mounted"


def test_an_empty_view_list_is_refused(tensorfs_bin, sample_model, mountpoint):
    for views in (["--views", ""], ["-o", "views=,nosuid"]):
        result = run(tensorfs_bin, "mount", *views, sample_model, mountpoint)
        assert result.returncode != 0 and "--views: " in result.stderr, result.stderr
        assert_nothing_left(mountpoint)


def test_a_log_file_that_is_a_fifo_is_refused_at_once(tensorfs_bin, sample_model, mountpoint, tmp_path):
    fifo = tmp_path / "log.fifo"
    os.mkfifo(fifo)
    # Opening a FIFO for writing waits for a reader; run() fails if the mount hangs.
    result = run(tensorfs_bin, "mount", "--log-file", fifo, sample_model, mountpoint, timeout=60)
    assert_one_line_failure(result, str(fifo), "not a regular file")
    assert_nothing_left(mountpoint)


def test_options_spelled_with_o_act_as_the_long_options(mounts, sample_model):
    mountpoint = mounts.mount(sample_model, options=["-o", "layout=flat,views=raw,nosuid", "-o", "read_ahead=0"])
    names = os.listdir(mountpoint)
    assert "pooler.dense.bias" in names and not any(name.endswith((".json", ".npy")) and name != "__metadata__.json" for name in names)
    assert (mountpoint / "pooler.dense.bias").read_bytes() == reference_bytes(sample_model)["pooler.dense.bias"]


def test_a_background_daemon_without_a_log_file_logs_warnings_and_errors_to_dev_log(tensorfs_bin, sample_model, tmp_path):
    """In a private mount namespace whose /dev holds null, fuse, and a /dev/log that is the
    test's own socket; the model's index declares a wrong total size (a warning), and a source
    truncated while mounted fails a read (an error)."""
    model = tmp_path / "model"
    shard = write_model(model / "model-00001-of-00001.safetensors", {"a": np.arange(4096, dtype=np.float32)})
    (model / "model.safetensors.index.json").write_text('{"metadata": {"total_size": 1}, "weight_map": {"a": "model-00001-of-00001.safetensors"}}')
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    listener.bind(str(tmp_path / "log.socket"))
    listener.settimeout(60)
    mountpoint = tmp_path / "mnt"
    mountpoint.mkdir()
    script = f"""
        mount -t tmpfs none /dev && mknod -m 666 /dev/null c 1 3 && mknod -m 666 /dev/fuse c 10 229
        touch /dev/log && mount --bind {tmp_path}/log.socket /dev/log
        "$0" mount {model} {mountpoint} || exit 1
        truncate -s 64 {shard}
        cat {mountpoint}/a > /dev/null 2>&1
        "$0" unmount {mountpoint}
    """
    try:
        result = subprocess.run(["unshare", "--mount", "sh", "-c", script, tensorfs_bin], capture_output=True, text=True, timeout=120)
        assert result.returncode == 0, result.stderr
        assert "metadata.total_size is 1" in result.stderr
        received = [listener.recv(65536).decode(), listener.recv(65536).decode()]
    finally:
        listener.close()
    warning, error = received
    assert re.fullmatch(r"<28>tensorfs\[\d+\]: .*metadata\.total_size is 1 but .*", warning), warning
    assert re.fullmatch(r"<27>tensorfs\[\d+\]: read of inode \d+ at 0 failed: .*truncated.*", error), error
