"""A mount running as root keeps its --cache-dir to itself: it refuses a directory another user
made or may write to, keeps entries private (0600 in 0700 folders) so that no one else reads the
bytes of a model fetched with a bearer token, and never follows a link or waits on a FIFO that
someone put in the cache: what is neither a file nor a folder is removed, and the log says so."""
import os
import pathlib
import shutil
import stat
import subprocess
import tempfile

import pytest

from conftest import assert_one_line_failure, force_unmount, is_mounted, run
from remote_servers import fill_cache, nginx, no_proxies, publish_random_model  # noqa: F401 (fixtures)

MiB = 1 << 20
NOBODY = 65534


@pytest.fixture
def model(nginx, tmp_path):
    return publish_random_model(nginx, f"safety/{tmp_path.name}.safetensors", "block", count=3, size=2 * MiB, step=1021, seed=23)


@pytest.fixture
def public(tmp_path):
    """A directory every user may enter (pytest's own are private), removed afterwards."""
    path = pathlib.Path(tempfile.mkdtemp(prefix="tensorfs-cache-safety-"))
    path.chmod(0o755)
    yield path
    force_unmount(path / "mnt")
    shutil.rmtree(path)


def as_nobody(*command):
    """Runs `command` as user nobody; returns the CompletedProcess (text mode)."""
    return subprocess.run([str(word) for word in command], user=NOBODY, group=NOBODY, extra_groups=[],
                          capture_output=True, text=True, timeout=60)


def plant_victim(directory):
    """Files a link in the cache may point at: a dot-file the scan would take for a leftover,
    a file the size bound would evict, and a file named like a cache entry."""
    directory.mkdir()
    for name, data in ((".tmp-looking", b"dot"), ("big", b"x" * MiB), ("0", b"mine")):
        (directory / name).write_bytes(data)
    return {name: (directory / name).read_bytes() for name in (".tmp-looking", "big", "0")}


@pytest.mark.parametrize("owner, mode, expected", [
    (NOBODY, 0o777, f"belongs to user {NOBODY}"),
    (NOBODY, 0o755, f"belongs to user {NOBODY}"),
    (0, 0o777, "other users may write"),
])
def test_a_cache_dir_another_user_made_or_may_write_is_refused_and_its_links_never_followed(tensorfs_bin, nginx, model, public, owner, mode, expected):
    name, _ = model
    cache = public / "shared-cache"
    cache.mkdir(mode=0o777)
    cache.chmod(0o777)
    os.chown(cache, owner, owner)
    victim = public / "victim"
    before = plant_victim(victim)
    # The other user prepares the directory: links where root's mount would delete and write.
    for command in (["mkdir", "-m", "777", cache / "v1"], ["ln", "-s", victim, cache / "v1" / "evil"]):
        result = as_nobody(*command)
        assert result.returncode == 0, result.stderr
    cache.chmod(mode)
    mountpoint = public / "mnt"
    mountpoint.mkdir()
    result = run(tensorfs_bin, "mount", "--cache-dir", cache, "--cache-size", "64K", nginx.url(name), mountpoint)
    assert_one_line_failure(result, str(cache), expected)
    assert not is_mounted(mountpoint)
    assert {path.name: path.read_bytes() for path in victim.iterdir()} == before


def test_another_user_can_neither_read_nor_change_roots_cache(mounts, nginx, model, public):
    name, tensors = model
    cache = public / "cache"
    fill_cache(mounts, nginx.url(name), ["--cache-dir", cache, "--part-size", "1M", "--header", "Authorization: Bearer private-0519"], tensors)
    entries = [path for path in cache.rglob("*")]
    assert any(path.is_file() for path in entries)
    assert stat.S_IMODE(cache.stat().st_mode) == 0o700
    for path in entries:
        assert stat.S_IMODE(path.stat().st_mode) == (0o700 if path.is_dir() else 0o600), path
    some_entry = next(path for path in entries if path.is_file())
    for command in (["cat", some_entry], ["ls", cache / "v1"], ["ln", "-s", "/etc", cache / "v1" / "evil"], ["touch", cache / "planted"]):
        assert as_nobody(*command).returncode != 0, command
    assert not (cache / "planted").exists() and not (cache / "v1" / "evil").exists()


def test_links_and_fifos_in_the_cache_are_removed_never_followed_or_waited_on(mounts, nginx, model, public):
    name, tensors = model
    cache = public / "cache"
    fill_cache(mounts, nginx.url(name), ["--cache-dir", cache, "--part-size", "1M"], tensors)
    root = cache / "v1"
    [folder] = [path for path in root.iterdir() if path.is_dir()]
    entries = sorted(folder.iterdir(), key=lambda path: int(path.name))
    # What root's cache could hold from a time it was shared, or from an older version:
    victim = public / "victim"
    before = plant_victim(victim)
    (root / "evil").symlink_to(victim)
    entries[1].unlink()
    os.mkfifo(entries[1])
    entries[2].unlink()
    entries[2].symlink_to(victim / "big")
    log = public / "daemon.log"
    fill_cache(mounts, nginx.url(name), ["--cache-dir", cache, "--part-size", "1M", "--log-file", log], tensors)
    assert {path.name: path.read_bytes() for path in victim.iterdir()} == before
    for path in root.rglob("*"):
        assert path.is_dir() and not path.is_symlink() or stat.S_ISREG(path.lstat().st_mode), path
    # An object folder replaced by a link to a directory holding a file named like an entry:
    # the next read writes through the link no more.
    shutil.rmtree(folder)
    folder.symlink_to(victim)
    fill_cache(mounts, nginx.url(name), ["--cache-dir", cache, "--part-size", "1M", "--log-file", log], tensors)
    assert {path.name: path.read_bytes() for path in victim.iterdir()} == before
    assert folder.is_dir() and not folder.is_symlink()
    text = log.read_text()
    assert "evil (a symbolic link)" in text and "(a FIFO)" in text and "never followed" in text, text
