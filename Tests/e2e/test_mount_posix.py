"""The mount behaves like a read-only disk: truthful stat, modes, owner and times; ls, stat, du
and find work; every change fails with EROFS; extended attributes and statfs answer."""
import errno
import os
import stat
import subprocess

import pytest

from reference import reference_bytes

TENSOR = "encoder/layer/0/attention/self/query/weight"


def all_paths(mountpoint):
    for directory, subdirectories, files in os.walk(mountpoint):
        for name in subdirectories + files:
            yield os.path.join(directory, name)


def test_stat_reports_true_sizes_modes_owner_and_times(mounts, sample_model):
    mountpoint = mounts.mount(sample_model)
    source = os.stat(sample_model)
    expected = reference_bytes(sample_model)
    for path in [str(mountpoint)] + list(all_paths(mountpoint)):
        status = os.stat(path)
        assert (status.st_uid, status.st_gid) == (os.getuid(), os.getgid()), path
        assert status.st_mtime_ns == source.st_mtime_ns, path
        if stat.S_ISDIR(status.st_mode):
            assert stat.S_IMODE(status.st_mode) == 0o555, path
            subdirectories = sum(entry.is_dir() for entry in os.scandir(path))
            assert status.st_nlink == 2 + subdirectories, path
        else:
            assert stat.S_ISREG(status.st_mode) and stat.S_IMODE(status.st_mode) == 0o444, path
            assert status.st_nlink == 1
            with open(path, "rb") as file:
                assert status.st_size == len(file.read()), path
            assert status.st_blocks == (status.st_size + 511) // 512
    for name, data in expected.items():
        assert os.stat(mountpoint / name.replace(".", "/")).st_size == len(data)


def test_ls_stat_du_and_find_behave(mounts, sample_model):
    mountpoint = mounts.mount(sample_model)
    listing = subprocess.run(["ls", "-l", mountpoint / "encoder/layer/0/attention/self/query"], capture_output=True, text=True, check=True).stdout
    lines = listing.splitlines()[1:]
    assert len(lines) == 6 and all(line.startswith("-r--r--r-- 1 ") for line in lines), listing
    size = int(subprocess.run(["stat", "-c", "%s", mountpoint / TENSOR], capture_output=True, text=True, check=True).stdout)
    assert size == 384 * 384 * 4

    files = subprocess.run(["find", mountpoint, "-type", "f"], capture_output=True, text=True, check=True).stdout.split()
    directories = subprocess.run(["find", mountpoint, "-type", "d"], capture_output=True, text=True, check=True).stdout.split()
    tensors = len(reference_bytes(sample_model))
    assert len(files) == 3 * tensors + 2
    assert sorted(files) == sorted(path for path in all_paths(mountpoint) if os.path.isfile(path))
    assert len(directories) == 1 + sum(1 for path in all_paths(mountpoint) if os.path.isdir(path))
    named = subprocess.run(["find", mountpoint, "-name", "weight"], capture_output=True, text=True, check=True).stdout.split()
    assert str(mountpoint / TENSOR) in named

    apparent = int(subprocess.run(["du", "-sb", mountpoint], capture_output=True, text=True, check=True).stdout.split()[0])
    assert apparent == sum(os.lstat(path).st_size for path in [str(mountpoint), *all_paths(mountpoint)])
    kilobytes = int(subprocess.run(["du", "-sk", mountpoint / "model.safetensors"], capture_output=True, text=True, check=True).stdout.split()[0])
    assert kilobytes == (sample_model.stat().st_size + 1023) // 1024


def test_directories_list_in_byte_order_with_types(mounts, sample_model):
    mountpoint = mounts.mount(sample_model)
    entries = list(os.scandir(mountpoint / "embeddings"))
    names = [entry.name for entry in entries]
    assert names == sorted(names, key=os.fsencode)
    assert {entry.name for entry in entries if entry.is_dir()} == {"LayerNorm", "position_embeddings", "token_type_embeddings", "word_embeddings"}
    assert all(entry.inode() == os.stat(entry.path).st_ino for entry in entries)


def test_missing_names_are_not_found(mounts, sample_model):
    mountpoint = mounts.mount(sample_model)
    for missing in ["nothing", "encoder/layer/99", "pooler/dense/weight.txt", "pooler/dense/weight/x"]:
        with pytest.raises(OSError) as failure:
            os.stat(mountpoint / missing)
        assert failure.value.errno in (errno.ENOENT, errno.ENOTDIR), missing
    with pytest.raises(IsADirectoryError):
        open(mountpoint / "pooler", "rb")


def mutations(mountpoint):
    """Every kind of change, each a callable that must fail with EROFS."""
    tensor = mountpoint / TENSOR
    directory = mountpoint / "pooler"
    return {
        "open for writing": lambda: open(tensor, "r+b"),
        "open for appending": lambda: open(tensor, "ab"),
        "truncate on open": lambda: os.open(tensor, os.O_WRONLY | os.O_TRUNC),
        "create": lambda: open(directory / "new", "wb"),
        "mkdir": lambda: os.mkdir(directory / "new"),
        "mknod": lambda: os.mkfifo(directory / "fifo"),
        "unlink": lambda: os.unlink(tensor),
        "rmdir": lambda: os.rmdir(directory),
        "rename": lambda: os.rename(tensor, directory / "moved"),
        "hard link": lambda: os.link(tensor, directory / "linked"),
        "symlink": lambda: os.symlink("weight", directory / "symlink"),
        "chmod": lambda: os.chmod(tensor, 0o644),
        "chown": lambda: os.chown(tensor, 1, 1),
        "truncate": lambda: os.truncate(tensor, 0),
        "utime": lambda: os.utime(tensor, (0, 0)),
        "setxattr": lambda: os.setxattr(tensor, "user.test", b"1"),
        "removexattr": lambda: os.removexattr(tensor, "user.tensorfs.name"),
    }


def assert_every_mutation_fails_with_erofs(mountpoint):
    for description, change in mutations(mountpoint).items():
        with pytest.raises(OSError) as failure:
            change()
        assert failure.value.errno == errno.EROFS, description


def test_every_change_fails_with_erofs(mounts, sample_model):
    mountpoint = mounts.mount(sample_model)
    assert "ro" in mount_options(mountpoint)
    assert_every_mutation_fails_with_erofs(mountpoint)


def test_the_daemon_refuses_changes_itself_when_the_kernel_lets_them_through(mounts, sample_model):
    """Remounted read-write behind tensorfs's back, the kernel passes changes on: the daemon
    answers each with EROFS."""
    mountpoint = mounts.mount(sample_model)
    subprocess.run(["mount", "-i", "-o", "remount,rw", mountpoint], check=True, capture_output=True)
    assert "rw" in mount_options(mountpoint)
    assert_every_mutation_fails_with_erofs(mountpoint)
    assert (mountpoint / TENSOR).read_bytes() == reference_bytes(sample_model)[TENSOR.replace("/", ".")]


def test_user_options_cannot_make_the_mount_writable(mounts, sample_model):
    mountpoint = mounts.mount(sample_model, options=["-o", "rw"])
    assert "ro" in mount_options(mountpoint)


def mount_options(mountpoint):
    with open("/proc/self/mountinfo") as table:
        for line in table:
            fields = line.split()
            if fields[4] == str(mountpoint):
                return fields[5].split(",")
    raise AssertionError(f"{mountpoint} is not mounted")


def test_statfs_reports_a_read_only_filesystem(mounts, sample_model):
    mountpoint = mounts.mount(sample_model)
    status = os.statvfs(mountpoint)
    assert status.f_flag & os.ST_RDONLY
    assert status.f_namemax == 255
    # The tree below the root's directories is made when first looked at; statfs counts the
    # inodes made so far, every one of them once the tree has been walked.
    paths = sum(1 for _ in all_paths(mountpoint))
    assert status.f_files <= paths + 1
    status = os.statvfs(mountpoint)
    assert status.f_files == paths + 1
    assert status.f_blocks * status.f_frsize >= sum(len(data) for data in reference_bytes(sample_model).values())
    df = subprocess.run(["df", "--output=source,fstype", mountpoint], capture_output=True, text=True, check=True).stdout
    assert df.splitlines()[1].split() == [str(sample_model), "fuse.tensorfs"]
