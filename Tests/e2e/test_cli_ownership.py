"""-o uid=N,gid=N,umask=NNN (and --uid, --gid, --umask): every file and directory reports that
owner, group and mode, and the kernel enforces them."""
import os
import stat
import subprocess

import pytest

from conftest import assert_nothing_left, run
from system_setup import ordinary_user, shared_directory  # noqa: F401 (fixtures)


def every_path(mountpoint):
    yield mountpoint
    for directory, names, files in os.walk(mountpoint):
        for name in names + files:
            yield os.path.join(directory, name)


@pytest.mark.parametrize("spelling", ["-o", "long options"])
def test_owner_group_and_umask_apply_to_every_file_and_directory(mounts, sample_model, spelling):
    options = ["-o", "uid=1234,gid=5678,umask=027"] if spelling == "-o" else ["--uid", "1234", "--gid", "5678", "--umask", "027"]
    mountpoint = mounts.mount(sample_model, options=options)
    seen = 0
    for path in every_path(mountpoint):
        status = os.stat(path)
        assert (status.st_uid, status.st_gid) == (1234, 5678), path
        assert stat.S_IMODE(status.st_mode) == (0o550 if stat.S_ISDIR(status.st_mode) else 0o440), path
        seen += 1
    assert seen > 400


def test_without_ownership_options_the_mounting_user_owns_files_0444_and_directories_0555(mounts, sample_model):
    mountpoint = mounts.mount(sample_model)
    for path, mode in ((mountpoint, 0o555), (mountpoint / "pooler", 0o555), (mountpoint / "pooler/dense/bias.json", 0o444)):
        status = os.stat(path)
        assert (status.st_uid, status.st_gid, stat.S_IMODE(status.st_mode)) == (os.getuid(), os.getgid(), mode)


def test_the_kernel_enforces_the_owner_and_the_umask(tensorfs_bin, ordinary_user, shared_directory):
    reader = ["python3", "-c", "import sys; sys.stdout.buffer.write(open(sys.argv[1], 'rb').read())"]
    mountpoint = shared_directory.path / "mnt"
    mountpoint.mkdir()
    run(tensorfs_bin, "mount", "-o", f"allow_other,uid={ordinary_user.uid},umask=077", shared_directory.model, mountpoint, check=True)
    try:
        owner = subprocess.run(reader + [str(mountpoint / "w")], capture_output=True, user=ordinary_user.uid, group=ordinary_user.gid, extra_groups=[])
        assert owner.returncode == 0 and len(owner.stdout) == 4096, owner.stderr
        nobody = subprocess.run(reader + [str(mountpoint / "w")], capture_output=True, user=65534, group=65534, extra_groups=[])
        assert nobody.returncode != 0 and b"Permission denied" in nobody.stderr
    finally:
        run(tensorfs_bin, "unmount", mountpoint)
    assert_nothing_left(mountpoint)


def test_a_umask_beyond_every_permission_bit_is_refused(tensorfs_bin, sample_model, tmp_path):
    result = subprocess.run([tensorfs_bin, "mount", "-o", "umask=1000", sample_model, tmp_path], capture_output=True, text=True)
    assert result.returncode != 0 and "--umask" in result.stderr
