"""A mounted directory is a model directory that real loaders open as they are: every file that
travels with the weights (config, tokenizer, 1_Pooling/, dotfiles) appears byte for byte at its
path, the weights appear once, as model.safetensors, and sentence-transformers, run from its own
virtualenv, encodes sentences through the mount exactly as from the source directory. Plain
directories, sharded ones, Hugging Face cache folders and S3 prefixes; and hostile directories."""
import json
import os
import pathlib
import shutil
import socket
import subprocess

import numpy as np
import pytest

from conftest import REPO, SAMPLE_MODEL, assert_nothing_left, assert_one_line_failure, run, write_model
from remote_servers import clean_aws_environment, moto, no_proxies, shard_model, use_moto  # noqa: F401 (fixtures)
from system_setup import as_user, ordinary_user, shared_directory  # noqa: F401 (fixtures)

SAMPLE_DIRECTORY = SAMPLE_MODEL.parent
LOADERS_PYTHON = REPO / ".cache/loaders-venv/bin/python"
COMMIT = "0123456789abcdef0123456789abcdef01234567"

# Encodes the same sentences with sentence-transformers from two directories and prints whether
# the embeddings are identical (numpy.array_equal), and their shape.
ENCODE_BOTH = """
import sys
import numpy as np
from sentence_transformers import SentenceTransformer
sentences = ["tensorfs mounts safetensors weights as files.", "A second, longer sentence about loaders and mounts."]
embeddings = [SentenceTransformer(path, device="cpu").encode(sentences) for path in sys.argv[1:3]]
print(np.array_equal(*embeddings), embeddings[0].shape)
"""


def companions(directory):
    """{relative path: bytes} of the files that travel with the weights in `directory`."""
    found = {}
    for path in pathlib.Path(directory).rglob("*"):
        relative = str(path.relative_to(directory))
        if path.is_file() and not (("/" not in relative) and (relative.endswith(".safetensors") or relative.endswith(".index.json"))):
            found[relative] = path.read_bytes()
    return found


def assert_a_model_directory(mountpoint, source_directory):
    """Every companion file of the source is in the mount, byte for byte; the weights are there
    once, as model.safetensors; and sentence-transformers encodes identically from both."""
    expected = companions(source_directory)
    assert expected and "1_Pooling/config.json" in expected and ".gitattributes" in expected
    for relative, data in expected.items():
        assert (mountpoint / relative).read_bytes() == data, relative
    top = set(os.listdir(mountpoint))
    assert "model.safetensors" in top and not any(name.endswith(".index.json") or name.startswith("model-0") for name in top)
    assert LOADERS_PYTHON.exists(), "scripts/setup.sh makes the loaders' virtualenv"
    result = subprocess.run([LOADERS_PYTHON, "-c", ENCODE_BOTH, str(mountpoint), str(source_directory)],
                            capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split()[0] == "True", result.stdout


def copy_companions(target):
    for relative, data in companions(SAMPLE_DIRECTORY).items():
        (target / relative).parent.mkdir(parents=True, exist_ok=True)
        (target / relative).write_bytes(data)


@pytest.fixture(scope="module")
def sharded_directory(tmp_path_factory):
    """The sample model's directory with its weights split into 3 shards and a hub-style index."""
    directory = tmp_path_factory.mktemp("sharded") / "all-MiniLM-L6-v2"
    shard_model(SAMPLE_MODEL, directory, 3)
    copy_companions(directory)
    return directory


def make_hub_cache_folder(root, source_directory, commit=COMMIT):
    """A Hugging Face cache folder of `source_directory`: blobs, a snapshot of relative links
    into them, and refs/main."""
    folder = root / "models--sentence-transformers--all-MiniLM-L6-v2"
    (folder / "refs").mkdir(parents=True)
    (folder / "refs" / "main").write_text(commit)
    (folder / "blobs").mkdir()
    files = [path for path in sorted(pathlib.Path(source_directory).rglob("*")) if path.is_file()]
    for number, path in enumerate(files):
        relative = path.relative_to(source_directory)
        blob = folder / "blobs" / f"{number:040x}"
        shutil.copyfile(path, blob)
        link = folder / "snapshots" / commit / relative
        link.parent.mkdir(parents=True, exist_ok=True)
        link.symlink_to(os.path.relpath(blob, link.parent))
    return folder


@pytest.mark.parametrize("planted", ["fifo", "link"])
def test_a_ref_that_is_a_fifo_or_a_link_is_no_ref(sharded_directory, tmp_path, tensorfs_bin, planted):
    # refs/main is read without waiting on a FIFO and without following a link out of the folder
    # (here to a file naming a snapshot): either way the folder has no usable refs/main.
    folder = make_hub_cache_folder(tmp_path, sharded_directory)
    other = "fedcba9876543210fedcba9876543210fedcba98"
    shutil.copytree(folder / "snapshots" / COMMIT, folder / "snapshots" / other, symlinks=True)
    (folder / "refs" / "main").unlink()
    if planted == "fifo":
        os.mkfifo(folder / "refs" / "main")
    else:
        (tmp_path / "outside-ref").write_text(COMMIT)
        (folder / "refs" / "main").symlink_to(tmp_path / "outside-ref")
    (tmp_path / "mnt").mkdir()
    result = run(tensorfs_bin, "mount", folder, tmp_path / "mnt", timeout=60)
    assert_one_line_failure(result, str(folder), "has no refs/main", COMMIT, other, "--revision")


def test_the_sample_models_directory_is_a_model_directory(mounts):
    assert_a_model_directory(mounts.mount(SAMPLE_DIRECTORY), SAMPLE_DIRECTORY)


def test_a_sharded_directory_is_one_model_directory(mounts, sharded_directory):
    assert_a_model_directory(mounts.mount(sharded_directory), SAMPLE_DIRECTORY)


def test_a_hugging_face_cache_folder_mounts_its_main_snapshot(mounts, sharded_directory, tmp_path):
    folder = make_hub_cache_folder(tmp_path, sharded_directory)
    mountpoint = mounts.mount(folder)
    assert_a_model_directory(mountpoint, SAMPLE_DIRECTORY)
    assert json.loads((mountpoint / "__metadata__.json").read_text())["model"] == "sentence-transformers--all-MiniLM-L6-v2"


def test_a_revision_chooses_among_several_snapshots(mounts, sharded_directory, tmp_path, tensorfs_bin):
    folder = make_hub_cache_folder(tmp_path, sharded_directory)
    other = "fedcba9876543210fedcba9876543210fedcba98"
    shutil.copytree(folder / "snapshots" / COMMIT, folder / "snapshots" / other, symlinks=True)
    (folder / "snapshots" / other / "config.json").unlink()
    (folder / "refs" / "main").unlink()
    (tmp_path / "mnt").mkdir()
    result = run(tensorfs_bin, "mount", folder, tmp_path / "mnt")
    assert_one_line_failure(result, str(folder), "has no refs/main", COMMIT, other, "--revision")
    mountpoint = mounts.mount(folder, options=["--revision", other], name="by-hash")
    assert not (mountpoint / "config.json").exists() and (mountpoint / "tokenizer.json").exists()
    (folder / "refs" / "pr").mkdir()
    (folder / "refs" / "pr" / "7").write_text(COMMIT + "\n")
    mountpoint = mounts.mount(folder, options=["--revision", "pr/7"], name="by-branch")
    assert (mountpoint / "config.json").read_bytes() == (SAMPLE_DIRECTORY / "config.json").read_bytes()


def test_an_s3_prefix_holding_a_model_directory_is_one(mounts, moto, clean_aws_environment, sharded_directory, monkeypatch):
    s3 = moto.client()
    s3.create_bucket(Bucket="directories")
    for path in sharded_directory.rglob("*"):
        if path.is_file():
            s3.upload_file(str(path), "directories", f"minilm/{path.relative_to(sharded_directory)}")
    use_moto(monkeypatch, moto)
    assert_a_model_directory(mounts.mount("s3://directories/minilm/"), SAMPLE_DIRECTORY)


def test_rank_directories_carry_the_companion_files(mounts):
    mountpoint = mounts.mount(SAMPLE_DIRECTORY, options=["--tp", "2", "--tp-uneven", "array-split"])
    for rank in range(2):
        directory = mountpoint / "tp-2" / f"rank-{rank}"
        assert (directory / "1_Pooling" / "config.json").read_bytes() == (SAMPLE_DIRECTORY / "1_Pooling" / "config.json").read_bytes()
        assert (directory / "tokenizer.json").read_bytes() == (SAMPLE_DIRECTORY / "tokenizer.json").read_bytes()


def test_weights_in_other_formats_are_left_out_and_subfolders_pass_whole(mounts, tmp_path):
    directory = tmp_path / "model"
    write_model(directory / "model.safetensors", {"w": np.arange(4, dtype=np.float32)})
    (directory / "pytorch_model.bin").write_bytes(b"pickle")
    (directory / "model.gguf").write_bytes(b"gguf")
    write_model(directory / "2_Dense" / "model.safetensors", {"linear.weight": np.ones((2, 2), dtype=np.float32)})
    (directory / "2_Dense" / "config.json").write_text("{}")
    mountpoint = mounts.mount(directory)
    assert not (mountpoint / "pytorch_model.bin").exists() and not (mountpoint / "model.gguf").exists()
    assert (mountpoint / "2_Dense" / "model.safetensors").read_bytes() == (directory / "2_Dense" / "model.safetensors").read_bytes()
    mountpoint = mounts.mount(directory, options=["--include-other-weights"], name="all")
    assert (mountpoint / "pytorch_model.bin").read_bytes() == b"pickle"


def test_a_tensor_named_like_a_companion_file_gives_way(mounts, tmp_path):
    directory = tmp_path / "model"
    write_model(directory / "model.safetensors", {"config.json": np.zeros(1, np.int8), "config": np.ones(1, np.int8),
                                                  "vocab.size": np.full(1, 2, np.int8)})
    (directory / "config.json").write_text('{"model_type": "bert"}')
    (directory / "vocab").write_text("a\nb\n")
    mountpoint = mounts.mount(directory, options=["--layout", "tree"])
    assert (mountpoint / "config.json").read_text() == '{"model_type": "bert"}'
    assert (mountpoint / "vocab").read_text() == "a\nb\n"
    names = sorted(os.listdir(mountpoint))
    # `config` would have a sidecar config.json: its first byte is escaped. `config.json` sits
    # beside the tensor `config` (its name starts another's) and is named like its sidecar: its
    # dots are escaped. The directory `vocab` of `vocab.size` would be the companion `vocab`.
    assert {"%63onfig", "%63onfig.json", "config%2Ejson", "%76ocab"} <= set(names), names
    assert os.getxattr(mountpoint / "%63onfig", "user.tensorfs.name") == b"config"
    assert (mountpoint / "config%2Ejson").read_bytes() == b"\x00"
    assert (mountpoint / "%76ocab" / "size").read_bytes() == b"\x02"


def test_inspect_lists_the_companion_files_and_sizes(tensorfs_bin):
    result = run(tensorfs_bin, "inspect", "--summary", SAMPLE_DIRECTORY)
    assert result.returncode == 0, result.stderr
    assert "1_Pooling/config.json" in result.stdout and "tokenizer.json" in result.stdout
    result = run(tensorfs_bin, "inspect", "--json", SAMPLE_DIRECTORY)
    files = {entry["path"]: entry["size"] for entry in json.loads(result.stdout)["files"]}
    assert files["vocab.txt"] == (SAMPLE_DIRECTORY / "vocab.txt").stat().st_size


def hostile_directory(tmp_path):
    directory = tmp_path / "model"
    write_model(directory / "model.safetensors", {"w": np.zeros(2, np.float32)})
    (directory / "config.json").write_text("{}")
    return directory


def link_outside(directory):
    (directory.parent / "secret").write_text("secret")
    (directory / "tokenizer.json").symlink_to(directory.parent / "secret")
    return "outside the model's directory"


def dangling_link(directory):
    (directory / "tokenizer.json").symlink_to(directory / "absent.json")
    return "No such file or directory"


def fifo(directory):
    os.mkfifo(directory / "tokenizer.json")
    return "not a regular file"


def unix_socket(directory):
    listener = socket.socket(socket.AF_UNIX)
    listener.bind(str(directory / "tokenizer.json"))
    listener.close()
    return "not a regular file"


@pytest.mark.parametrize("breakage", [link_outside, dangling_link, fifo, unix_socket])
def test_a_hostile_file_in_a_model_directory_fails_the_mount_with_one_line(tensorfs_bin, tmp_path, breakage):
    directory = hostile_directory(tmp_path)
    reason = breakage(directory)
    (tmp_path / "mnt").mkdir()
    result = run(tensorfs_bin, "mount", directory, tmp_path / "mnt", timeout=60)
    assert_one_line_failure(result, "tokenizer.json", reason)
    assert_nothing_left(tmp_path / "mnt")


def test_a_snapshot_link_outside_the_cache_folder_fails_the_mount(tensorfs_bin, tmp_path):
    folder = make_hub_cache_folder(tmp_path / "cache", SAMPLE_DIRECTORY)
    (tmp_path / "elsewhere.json").write_text("{}")
    link = folder / "snapshots" / COMMIT / "config.json"
    link.unlink()
    link.symlink_to(os.path.relpath(tmp_path / "elsewhere.json", link.parent))
    (tmp_path / "mnt").mkdir()
    result = run(tensorfs_bin, "mount", folder, tmp_path / "mnt")
    assert_one_line_failure(result, "config.json", "outside the model's directory", str(folder))


def test_an_unreadable_companion_is_left_out_with_a_warning(ordinary_user, shared_directory):
    # Root reads every file: an ordinary user meets the unreadable one, in a directory it can
    # reach, with a copy of the binary it can run (the build may sit below a private home).
    directory = hostile_directory(shared_directory.path)
    (directory / "private.json").write_text("{}")
    for path in [directory, directory / "model.safetensors", directory / "config.json"]:
        os.chmod(path, 0o755 if path.is_dir() else 0o644)
    os.chmod(directory / "private.json", 0)
    result = as_user(ordinary_user, shared_directory.binary, "inspect", "--summary", directory)
    assert result.returncode == 0, result.stderr
    assert "private.json" in result.stderr and "left out" in result.stderr and "Permission denied" in result.stderr
    assert "private.json" not in result.stdout and "config.json" in result.stdout
