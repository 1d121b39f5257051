"""tensorfs for a user other than root: mounting through fusermount3, fusermount3's own message
when it refuses, advice by cause when /dev/fuse cannot be opened, and an /etc/fstab line marked
`user` (in a private mount namespace, with a temporary fstab)."""
import os
import stat
import subprocess

from conftest import assert_nothing_left, assert_one_line_failure, daemons_serving, is_mounted, run
from system_setup import (as_user, directory_for, fuse_device_for_user, in_mount_namespace, installed, ordinary_user,  # noqa: F401 (fixtures)
                          shared_directory)


def test_an_ordinary_user_mounts_reads_and_unmounts(ordinary_user, fuse_device_for_user, shared_directory):
    mountpoint = directory_for(ordinary_user, shared_directory.path / "mnt")
    result = as_user(ordinary_user, shared_directory.binary, "mount", shared_directory.model, mountpoint)
    assert (result.returncode, result.stderr) == (0, "")
    try:
        [daemon] = daemons_serving(mountpoint)
        with open(f"/proc/{daemon}/status") as status:
            assert f"Uid:\t{ordinary_user.uid}\t" in status.read()
        read = as_user(ordinary_user, "cat", mountpoint / "w", text=False)
        assert read.returncode == 0 and read.stdout == shared_directory.model.read_bytes()[-4096 - 16:-16]
    finally:
        unmounted = as_user(ordinary_user, shared_directory.binary, "unmount", mountpoint)
    assert (unmounted.returncode, unmounted.stderr) == (0, "")
    assert_nothing_left(mountpoint)


def test_allow_other_without_user_allow_other_fails_with_fusermount3s_own_message(ordinary_user, fuse_device_for_user, shared_directory):
    with open("/etc/fuse.conf") as configuration:
        assert not any(line.strip() == "user_allow_other" for line in configuration), "the test needs user_allow_other unset"
    mountpoint = directory_for(ordinary_user, shared_directory.path / "mnt")
    result = as_user(ordinary_user, shared_directory.binary, "mount", "-o", "allow_other", shared_directory.model, mountpoint)
    assert_one_line_failure(result, str(mountpoint), "cannot mount: fusermount3: option allow_other only allowed if 'user_allow_other' is set in /etc/fuse.conf")
    assert_nothing_left(mountpoint)


def test_a_user_who_may_not_open_dev_fuse_is_told_what_to_ask_for(ordinary_user, shared_directory):
    mountpoint = directory_for(ordinary_user, shared_directory.path / "mnt")
    result = as_user(ordinary_user, shared_directory.binary, "mount", shared_directory.model, mountpoint)
    assert_one_line_failure(result, "/dev/fuse: permission denied for user tensorfs-e2e", "ask an administrator")
    # The advice follows the device's mode: group membership if its group may read and write it,
    # else the fuse3 package's mode (this machine's /dev/fuse is 0600 for root).
    group_may_use = stat.S_IMODE(os.stat("/dev/fuse").st_mode) & 0o060 == 0o060
    assert ("usermod -aG" if group_may_use else "chmod 0666 /dev/fuse") in result.stderr
    assert_nothing_left(mountpoint)


def test_an_ordinary_user_mounts_and_unmounts_an_fstab_line_marked_user(ordinary_user, fuse_device_for_user, installed, shared_directory):
    mountpoint = directory_for(ordinary_user, shared_directory.path / "mnt")
    fstab = shared_directory.path / "fstab"
    fstab.write_text(f"{shared_directory.model} {mountpoint} fuse.tensorfs user,noauto,views=raw,umask=022 0 0\n")
    script = f"""
        mount {mountpoint} || exit 1
        grep ' {mountpoint} ' /proc/mounts
        stat -c '%u %a' {mountpoint}/w
        umount {mountpoint} || exit 2
    """
    result = in_mount_namespace(script, user=ordinary_user, binds=[(installed, "/usr/local"), (fstab, "/etc/fstab")])
    assert result.returncode == 0, result.stdout + result.stderr
    line, owner = result.stdout.splitlines()
    assert line.split()[:3] == [str(shared_directory.model), str(mountpoint), "fuse.tensorfs"]
    assert f"user_id={ordinary_user.uid}" in line
    assert owner == f"{ordinary_user.uid} 444"
    assert not is_mounted(mountpoint)
    assert_nothing_left(mountpoint)


def test_the_ordinary_users_daemon_serves_only_that_user_without_allow_other(ordinary_user, fuse_device_for_user, shared_directory):
    mountpoint = directory_for(ordinary_user, shared_directory.path / "mnt")
    as_user(ordinary_user, shared_directory.binary, "mount", shared_directory.model, mountpoint).check_returncode()
    try:
        # Not even root gets in: FUSE keeps a mount to its user unless allow_other says otherwise.
        denied = subprocess.run(["stat", mountpoint / "w"], capture_output=True, text=True)
        assert denied.returncode != 0 and "Permission denied" in denied.stderr
    finally:
        run(shared_directory.binary, "unmount", mountpoint)
    assert_nothing_left(mountpoint)
