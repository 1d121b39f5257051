"""`tensorfs unmount`: a live mount and what it refuses. (A stale mount left by a killed daemon:
test_faults_lifecycle.py.)"""
import os
import subprocess

from conftest import assert_nothing_left, assert_one_line_failure, daemons_serving, force_unmount, is_mounted, run


def test_unmount_leaves_a_plain_directory_and_no_daemon(mounts, tensorfs_bin, sample_model):
    mountpoint = mounts.mount(sample_model)
    assert daemons_serving(mountpoint)
    result = run(tensorfs_bin, "unmount", mountpoint)
    mounts.active.remove(mountpoint)
    assert (result.returncode, result.stdout, result.stderr) == (0, "", "")
    assert_nothing_left(mountpoint)
    assert os.listdir(mountpoint) == []


def test_unmount_of_a_directory_that_is_not_mounted_fails_with_one_line(tensorfs_bin, tmp_path):
    result = run(tensorfs_bin, "unmount", tmp_path)
    assert_one_line_failure(result, str(tmp_path), "not mounted")


def test_unmount_refuses_a_mount_that_is_not_fuse(tensorfs_bin, tmp_path):
    target = tmp_path / "tmpfs"
    target.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "none", target], check=True)
    try:
        result = run(tensorfs_bin, "unmount", target)
        assert_one_line_failure(result, "not a FUSE mount")
        assert is_mounted(target)
    finally:
        subprocess.run(["umount", target], check=True)


def test_open_files_hold_the_mount_until_a_lazy_unmount(mounts, tensorfs_bin, sample_model):
    mountpoint = mounts.mount(sample_model)
    with open(mountpoint / "pooler/dense/weight", "rb") as held:
        busy = run(tensorfs_bin, "unmount", mountpoint)
        assert_one_line_failure(busy, "files are open", "--lazy")
        assert is_mounted(mountpoint)
        run(tensorfs_bin, "unmount", "--lazy", mountpoint, check=True)
        mounts.active.remove(mountpoint)
        assert not is_mounted(mountpoint)
        assert len(held.read()) == 384 * 384 * 4
    assert_nothing_left(mountpoint)
    force_unmount(mountpoint)


def test_a_mountpoint_named_through_a_symlink_is_one_mountpoint(tensorfs_bin, sample_model, tmp_path):
    real, link = tmp_path / "real", tmp_path / "link"
    real.mkdir()
    link.symlink_to(real)
    run(tensorfs_bin, "mount", sample_model, link, check=True)
    try:
        assert is_mounted(real)
        for again in (link, real):
            assert_one_line_failure(run(tensorfs_bin, "mount", sample_model, again), "already a mountpoint")
        run(tensorfs_bin, "unmount", link, check=True)
    finally:
        force_unmount(real)
    assert_nothing_left(real)


def test_a_mountpoint_path_that_passes_through_itself_mounts(tensorfs_bin, sample_model, tmp_path):
    """`mnt/../mnt` names the mountpoint through itself: resolving it after mounting would wait
    on the daemon that is doing the resolving."""
    mountpoint = tmp_path / "mnt"
    mountpoint.mkdir()
    try:
        result = subprocess.run([tensorfs_bin, "mount", sample_model, "../mnt"], cwd=mountpoint, capture_output=True, text=True, timeout=60)
        assert result.returncode == 0, result.stderr
        assert (mountpoint / "model.safetensors").stat().st_size == sample_model.stat().st_size
        run(tensorfs_bin, "unmount", mountpoint / "../mnt", check=True)
    finally:
        force_unmount(mountpoint)
    assert_nothing_left(mountpoint)
