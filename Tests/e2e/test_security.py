"""Hostile files: names and indexes written to escape the mount or the model's directory, and
strings written to break the JSON tensorfs generates. The mount holds only the tensors' bytes
and generated files, nothing is writable, and every string survives escaping exactly."""
import json
import os
import pathlib
import stat
import subprocess
import sys
import tempfile

import numpy as np
import pytest

from conftest import assert_one_line_failure, run, write_model
from reference import reference_bytes

HOSTILE_NAMES = [
    "../../../../etc/passwd", "/etc/shadow", "a/../../b", "..", ".", "", "x\0y", "%2E%2E", "%",
    'quote"d', "back\\slash", "line\nbreak", "tab\there", "\u2028sep", "\x7fdel", "\x1b[31mred", "é😀",
    "model.safetensors", "__metadata__.json", "t", "t.json", "t.npy",
]
HOSTILE_METADATA = {'key"with': 'value"with\\and\n', "\u2028": "\x00\x1f\x7f", "ok": "😀 \u00e9"}


def hostile_model(path):
    tensors = {name: np.full(3 + index, index, dtype=np.uint8) for index, name in enumerate(HOSTILE_NAMES)}
    write_model(path, tensors, metadata=HOSTILE_METADATA)
    return tensors


def walk(mountpoint):
    """Every path below the mount, as (relative path, lstat result)."""
    found = []
    for directory, subdirectories, files in os.walk(mountpoint):
        for name in subdirectories + files:
            path = pathlib.Path(directory) / name
            found.append((path.relative_to(mountpoint), os.lstat(path)))
    return found


@pytest.mark.parametrize("layout", ["tree", "flat"])
def test_hostile_names_stay_inside_the_mount_as_plain_files(mounts, tmp_path, layout):
    tensors = hostile_model(tmp_path / "model.safetensors")
    mountpoint = mounts.mount(tmp_path / "model.safetensors", options=("--layout", layout))
    entries = walk(mountpoint)
    files = [(path, status) for path, status in entries if not stat.S_ISDIR(status.st_mode)]
    # Exactly the tensor files with their two views, plus the two generated root files.
    assert len(files) == 3 * len(tensors) + 2
    for path, status in entries:
        assert stat.S_ISDIR(status.st_mode) or stat.S_ISREG(status.st_mode), path
        assert os.path.realpath(mountpoint / path).startswith(str(mountpoint) + "/"), path
    # Each tensor's bytes appear once, in the raw file (the one with a sidecar) that names it.
    seen = {}
    for path, _ in files:
        if (mountpoint / f"{path}.json").exists():
            name = os.getxattr(mountpoint / path, "user.tensorfs.name").decode()
            assert name not in seen, name
            seen[name] = (mountpoint / path).read_bytes()
    assert seen == {name: array.tobytes() for name, array in tensors.items()}


def test_generated_json_escapes_every_name_and_metadata_string(mounts, tmp_path):
    tensors = hostile_model(tmp_path / "model.safetensors")
    mountpoint = mounts.mount(tmp_path / "model.safetensors", options=("--layout", "flat"))
    names = set()
    for path in mountpoint.iterdir():
        if path.name.endswith(".json") and path.name != "__metadata__.json":
            sidecar = json.loads(path.read_bytes())
            names.add(sidecar["name"])
            assert sidecar["nbytes"] == tensors[sidecar["name"]].nbytes
    assert names == set(tensors)
    metadata = json.loads((mountpoint / "__metadata__.json").read_bytes())
    assert metadata["shards"][0]["__metadata__"] == HOSTILE_METADATA


def test_the_merged_header_escapes_names_and_metadata_for_the_reference_reader(mounts, tmp_path):
    tensors = {name: np.full(2, index, dtype=np.int16) for index, name in enumerate(HOSTILE_NAMES)}
    first = dict(list(tensors.items())[::2])
    second = dict(list(tensors.items())[1::2])
    write_model(tmp_path / "model" / "a.safetensors", first, metadata=HOSTILE_METADATA)
    write_model(tmp_path / "model" / "b.safetensors", second)
    mountpoint = mounts.mount(tmp_path / "model")
    merged = (mountpoint / "model.safetensors").read_bytes()
    assert reference_bytes(merged) == {
        name: array.tobytes() for name, array in tensors.items()}
    header = json.loads(merged[8:8 + int.from_bytes(merged[:8], "little")])
    assert header["__metadata__"] == HOSTILE_METADATA


def write_index(directory, weight_map):
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "model.safetensors.index.json").write_text(json.dumps({"metadata": {}, "weight_map": weight_map}))


@pytest.mark.parametrize("shard", ["../outside.safetensors", "/etc/passwd", "sub/../../outside.safetensors", "a//b.safetensors"])
def test_an_index_cannot_name_a_file_outside_its_directory(tensorfs_bin, tmp_path, shard):
    write_model(tmp_path / "outside.safetensors", {"w": np.zeros(2, dtype=np.float32)})
    write_index(tmp_path / "model", {"w": shard})
    (tmp_path / "mnt").mkdir()
    result = run(tensorfs_bin, "mount", tmp_path / "model", tmp_path / "mnt")
    assert_one_line_failure(result, f"tensorfs: {tmp_path / 'model' / 'model.safetensors.index.json'}: ")


def test_an_index_cannot_reach_outside_through_a_symlink(tensorfs_bin, tmp_path):
    write_model(tmp_path / "secret" / "weights.safetensors", {"w": np.zeros(2, dtype=np.float32)})
    write_index(tmp_path / "model", {"w": "link/weights.safetensors"})
    os.symlink(tmp_path / "secret", tmp_path / "model" / "link")
    (tmp_path / "mnt").mkdir()
    result = run(tensorfs_bin, "mount", tmp_path / "model", tmp_path / "mnt")
    assert_one_line_failure(result, "outside the model's directory")


def test_a_symlink_flipped_while_mounting_never_serves_the_outside_file(mounts, tmp_path):
    # The containment check is made on the file as opened: flipping the link between a check
    # of the path and the open cannot get an outside file through.
    inside = write_model(tmp_path / "model" / "inside.safetensors", {"w": np.zeros(4, dtype=np.float32)})
    write_model(tmp_path / "secret.safetensors", {"w": np.ones(4, dtype=np.float32)})
    write_index(tmp_path / "model", {"w": "shard.safetensors"})
    link = tmp_path / "model" / "shard.safetensors"
    targets = [inside, tmp_path / "secret.safetensors"]
    flipping = subprocess.Popen([sys.executable, "-c", FLIPPER, str(link), *map(str, targets)])
    try:
        outcomes = {"mounted": 0, "refused": 0}
        for attempt in range(40):
            mountpoint = tmp_path / f"mnt{attempt}"
            result = mounts.attempt(tmp_path / "model", name=mountpoint.name)
            if result.returncode == 0:
                assert np.array_equal(np.fromfile(mountpoint / "w", dtype=np.float32), np.zeros(4, dtype=np.float32))
                mounts.unmount(mountpoint)
                outcomes["mounted"] += 1
            else:
                assert "outside the model's directory" in result.stderr or "cannot be opened" in result.stderr, result.stderr
                outcomes["refused"] += 1
    finally:
        flipping.kill()
        flipping.wait()
    assert outcomes["mounted"] > 0 and outcomes["refused"] > 0, outcomes


# Replaces the link argv[1] with a link to argv[2], then argv[3], and so on, without pause. The
# new link is made beside the model's directory, not in it, where the mount would list it as a
# companion file that vanishes.
FLIPPER = """
import itertools, os, sys
link, targets = sys.argv[1], sys.argv[2:]
staging = os.path.join(os.path.dirname(os.path.dirname(link)), "flipping")
for number, target in enumerate(itertools.cycle(targets)):
    os.symlink(target, f"{staging}.{number % 2}")
    os.replace(f"{staging}.{number % 2}", link)
"""


def test_one_shard_spelled_two_ways_in_the_index_is_one_shard(mounts, tmp_path):
    write_model(tmp_path / "model" / "a.safetensors", {"x": np.arange(3, dtype=np.int32), "y": np.arange(2, dtype=np.int8)})
    write_index(tmp_path / "model", {"x": "a.safetensors", "y": "./a.safetensors"})
    mountpoint = mounts.mount(tmp_path / "model")
    assert np.array_equal(np.load(mountpoint / "x.npy"), np.arange(3, dtype=np.int32))
    assert json.loads((mountpoint / "y.json").read_text())["file"] == "a.safetensors"


def test_a_fifo_named_like_a_model_file_fails_instead_of_hanging(tensorfs_bin, tmp_path):
    (tmp_path / "model").mkdir()
    os.mkfifo(tmp_path / "model" / "model.safetensors")
    (tmp_path / "mnt").mkdir()
    result = run(tensorfs_bin, "mount", tmp_path / "model", tmp_path / "mnt", timeout=60)
    assert_one_line_failure(result, "model.safetensors")


# Run as another user: tries to read and to change the mount, one line per attempt.
OTHER_USER_PROBE = """
attempt() { name=$1; shift; if "$@" >/dev/null 2>&1; then echo "$name ok"; else echo "$name failed"; fi; }
attempt read cat "$0/w"
attempt write sh -c 'echo x >> "$0"' "$0/w"
attempt create touch "$0/new"
attempt chmod chmod 666 "$0/w"
attempt mkdir mkdir "$0/d"
attempt unlink rm "$0/w.json"
"""


def probe_as_nobody(mountpoint):
    result = subprocess.run(["sh", "-c", OTHER_USER_PROBE, str(mountpoint)], user="nobody",
                            capture_output=True, text=True, timeout=60)
    return dict(line.split() for line in result.stdout.splitlines())


@pytest.fixture
def public_mounts(mounts):
    """`mounts` whose mountpoints another user can reach (pytest's directories are private)."""
    public = pathlib.Path(tempfile.mkdtemp(prefix="tensorfs-security-"))
    os.chmod(public, 0o755)
    mounts.tmp = public
    yield mounts
    mounts.close()
    mounts.active = []
    for leftover in public.iterdir():
        leftover.rmdir()
    public.rmdir()


def test_with_allow_other_another_user_reads_but_changes_nothing(public_mounts, tmp_path):
    write_model(tmp_path / "model.safetensors", {"w": np.arange(4, dtype=np.float32)})
    mountpoint = public_mounts.mount(tmp_path / "model.safetensors", options=("-o", "allow_other"))
    for path, status in walk(mountpoint):
        assert stat.S_IMODE(status.st_mode) == (0o555 if stat.S_ISDIR(status.st_mode) else 0o444), path
    assert probe_as_nobody(mountpoint) == {
        "read": "ok", "write": "failed", "create": "failed", "chmod": "failed", "mkdir": "failed", "unlink": "failed"}


def test_without_allow_other_another_user_cannot_look_inside(public_mounts, tmp_path):
    write_model(tmp_path / "model.safetensors", {"w": np.arange(4, dtype=np.float32)})
    mountpoint = public_mounts.mount(tmp_path / "model.safetensors")
    assert probe_as_nobody(mountpoint)["read"] == "failed"
