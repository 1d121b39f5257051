"""What tests of tensorfs as a system tool need: an installation under a temporary prefix, an
ordinary user, a /dev/fuse that user may open (for the test only), and private mount namespaces
in which mount(8) finds that installation, a temporary /etc/fstab, or a helper in /sbin, while
the machine's own files stay untouched."""
import fcntl
import os
import pathlib
import pwd
import shutil
import subprocess
import tempfile
import types

import numpy as np
import pytest

from conftest import REPO, write_model

USER = "tensorfs-e2e"


@pytest.fixture(scope="session")
def ordinary_user():
    """A user without privileges (created once, left for later runs: no home, no login)."""
    try:
        entry = pwd.getpwnam(USER)
    except KeyError:
        subprocess.run(["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", USER], check=True)
        entry = pwd.getpwnam(USER)
    return types.SimpleNamespace(name=USER, uid=entry.pw_uid, gid=entry.pw_gid)


@pytest.fixture
def fuse_device_for_user(ordinary_user):
    """/dev/fuse readable and writable by the ordinary user, through an ACL entry that is
    removed afterwards (its ACL restored exactly); a lock keeps concurrent runs from restoring
    under each other."""
    with open("/tmp/tensorfs-e2e-dev-fuse.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        saved = subprocess.run(["getfacl", "--omit-header", "--absolute-names", "/dev/fuse"], capture_output=True, text=True, check=True).stdout
        subprocess.run(["setfacl", "-m", f"u:{USER}:rw", "/dev/fuse"], check=True)
        try:
            yield
        finally:
            subprocess.run(["setfacl", "--set-file=-", "/dev/fuse"], input=saved, text=True, check=True)


@pytest.fixture
def shared_directory(tensorfs_bin):
    """A directory every user may enter, holding a small model readable by all and a copy of
    the binary; removed afterwards."""
    path = pathlib.Path(tempfile.mkdtemp(prefix="tensorfs-e2e-"))
    path.chmod(0o755)
    model = write_model(path / "m.safetensors", {"w": np.arange(1024, dtype=np.float32), "b": np.ones(8, dtype=np.float16)})
    model.chmod(0o644)
    yield types.SimpleNamespace(path=path, model=model, binary=shutil.copy(tensorfs_bin, path / "tensorfs"))
    for line in open("/proc/self/mountinfo").read().splitlines():
        if line.split()[4].startswith(str(path) + "/"):
            subprocess.run(["umount", "-l", line.split()[4]], capture_output=True)
    shutil.rmtree(path)


def as_user(user, *arguments, text=True):
    """Runs a command as `user`, with its own group only; returns the CompletedProcess."""
    return subprocess.run([*map(str, arguments)], capture_output=True, text=text, user=user.uid, group=user.gid, extra_groups=[], timeout=120)


def directory_for(owner, path):
    """A new directory at `path` owned by `owner`."""
    path.mkdir()
    os.chown(path, owner.uid, owner.gid)
    return path


@pytest.fixture
def installed(tensorfs_bin, shared_directory):
    """tensorfs installed by scripts/install.sh under a temporary prefix (the built binary,
    not a new release build)."""
    prefix = shared_directory.path / "prefix"
    result = subprocess.run([REPO / "scripts/install.sh", prefix], capture_output=True, text=True,
                            env={**os.environ, "TENSORFS_BIN": tensorfs_bin}, timeout=300)
    assert result.returncode == 0, result.stderr
    return prefix


def in_mount_namespace(script, *, user=None, binds=(), overlays=(), timeout=120):
    """Runs the shell `script` in a private mount namespace, after bind-mounting each
    (source, target) of `binds` and laying each (directory, target) of `overlays` over its
    target; as `user` (su-less: setpriv) if given. Mounts made there vanish with it."""
    setup = [f"mount --bind '{source}' '{target}'" for source, target in binds]
    setup += [f"mount -t overlay overlay -o lowerdir='{directory}':'{target}' '{target}'" for directory, target in overlays]
    body = script
    if user is not None:
        body = f"exec setpriv --reuid={user.uid} --regid={user.gid} --clear-groups sh -c {shell_quote(script)}"
    return subprocess.run(["unshare", "--mount", "sh", "-c", " && ".join(setup + ["true"]) + " || exit 99\n" + body],
                          capture_output=True, text=True, timeout=timeout)


def shell_quote(text):
    return "'" + text.replace("'", "'\\''") + "'"
