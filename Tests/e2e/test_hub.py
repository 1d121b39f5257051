"""`hf://ORG/NAME` sources against two stand-ins for the Hugging Face Hub on 127.0.0.1 (nginx
laid out as the Hub, checked with huggingface_hub's own snapshot_download; olah, a mirror that
ignores byte ranges) and a local HF cache that huggingface_hub wrote: the mounts are model
directories sentence-transformers loads, reads move a small part of the weights, the token goes
to the Hub as a Bearer header and into no command line, revisions pin commits, and refusals
are one clear line each."""
import json
import os
import pathlib
import shutil
import subprocess

import pytest

from conftest import assert_nothing_left, assert_one_line_failure, run, tensor_path
from hub_servers import TOKEN, HubNginx, Olah, fake_commit, repository_files
from reference import reference_bytes
from remote_servers import no_proxies  # noqa: F401 (fixture)
from test_model_directories import LOADERS_PYTHON, SAMPLE_DIRECTORY, assert_a_model_directory, sharded_directory  # noqa: F401

OLD = fake_commit("old")
NEW = fake_commit("new")
HF_VARIABLES = ["HF_TOKEN", "HUGGING_FACE_HUB_TOKEN", "HF_TOKEN_PATH", "HF_ENDPOINT", "HF_HOME", "HF_HUB_CACHE",
                "HUGGINGFACE_HUB_CACHE", "HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE", "XDG_CACHE_HOME"]


@pytest.fixture(autouse=True)
def hugging_face_environment(monkeypatch, tmp_path):
    """No HF_* setting of the machine leaks in; an empty HF_HOME of the test's own."""
    for name in HF_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf-home"))
    monkeypatch.setenv("HF_HUB_DISABLE_TELEMETRY", "1")


@pytest.fixture(scope="module")
def old_directory(sharded_directory, tmp_path_factory):  # noqa: F811
    """The sharded model as an older commit had it: another README."""
    directory = tmp_path_factory.mktemp("old") / "model"
    shutil.copytree(sharded_directory, directory)
    (directory / "README.md").write_text("the old README\n")
    return directory


@pytest.fixture(scope="module")
def hub(sharded_directory, old_directory, tmp_path_factory):  # noqa: F811
    server = HubNginx(tmp_path_factory.mktemp("hub-nginx"))
    server.publish("org/minilm", {OLD: old_directory, NEW: sharded_directory}, NEW)
    server.publish("private-org/minilm", {NEW: sharded_directory}, NEW, private=True)
    server.publish("org/mislisted", {NEW: sharded_directory}, NEW, listing_sha256={"model-00002-of-00003.safetensors": "0" * 64})
    server.publish("org/on-cdn", {NEW: sharded_directory}, NEW, on_cdn=True)
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def olah(sharded_directory, tmp_path_factory):  # noqa: F811
    server = Olah(tmp_path_factory.mktemp("olah"), {"org/minilm": sharded_directory})
    yield server
    server.stop()


def hub_python(script, endpoint, cache, *arguments):
    """Runs `script` with huggingface_hub (from the loaders' virtualenv) against `endpoint`."""
    environment = dict(os.environ, HF_ENDPOINT=endpoint, HF_HUB_CACHE=str(cache))
    result = subprocess.run([LOADERS_PYTHON, "-c", script, *map(str, arguments)], capture_output=True, text=True, env=environment, timeout=300)
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


SNAPSHOT_DOWNLOAD = "import sys; from huggingface_hub import snapshot_download; print(snapshot_download(sys.argv[1]))"


def tensors_of(directory):
    """{name: bytes} of every tensor in the shards of `directory`, as the reference reads them."""
    return {name: data for shard in sorted(directory.glob("*.safetensors")) for name, data in reference_bytes(shard).items()}


def weight_bytes(requests):
    return sum(r["bytes"] for r in requests if r["uri"].endswith(".safetensors"))


def test_the_nginx_hub_is_laid_out_as_huggingface_hub_expects(hub, sharded_directory, tmp_path):  # noqa: F811
    snapshot = hub_python(SNAPSHOT_DOWNLOAD, hub.endpoint, tmp_path / "cache", "org/minilm")
    assert pathlib.Path(snapshot).name == NEW
    assert repository_files(snapshot) == repository_files(sharded_directory)


def test_an_hf_mount_is_a_model_directory_that_sentence_transformers_loads(mounts, hub, monkeypatch):
    monkeypatch.setenv("HF_ENDPOINT", hub.endpoint)
    mountpoint = mounts.mount("hf://org/minilm")
    assert_a_model_directory(mountpoint, SAMPLE_DIRECTORY)
    assert json.loads((mountpoint / "__metadata__.json").read_text())["model"] == "org--minilm"


def test_mounting_and_reading_one_tensor_moves_a_small_fraction_of_the_weights(mounts, hub, sharded_directory, monkeypatch):  # noqa: F811
    monkeypatch.setenv("HF_ENDPOINT", hub.endpoint)
    hub.clear_log()
    mountpoint = mounts.mount("hf://org/minilm")
    at_mount = weight_bytes(hub.requests())
    hub.clear_log()
    name = "embeddings.position_embeddings.weight"
    expected = tensors_of(sharded_directory)[name]
    assert tensor_path(mountpoint, name).read_bytes() == expected
    requests = hub.requests()
    weights = sum(path.stat().st_size for path in sharded_directory.glob("*.safetensors"))
    print(f"mount: {at_mount} B of weights; one {len(expected)}-byte tensor: {weight_bytes(requests)} B; weights: {weights} B")
    assert at_mount + weight_bytes(requests) < weights / 10
    # Every file is read at the commit main pointed at when mounted.
    assert requests and all(f"/resolve/{NEW}/" in r["uri"] for r in requests)


def test_the_token_reaches_the_hub_as_a_bearer_header_and_no_command_line(mounts, hub, monkeypatch, tmp_path, tensorfs_bin):
    monkeypatch.setenv("HF_ENDPOINT", hub.endpoint)
    (tmp_path / "mnt").mkdir()
    refused = run(tensorfs_bin, "mount", "hf://private-org/minilm", tmp_path / "mnt")
    assert_one_line_failure(refused, "hf://private-org/minilm", "401", "set HF_TOKEN")
    assert_nothing_left(tmp_path / "mnt")
    token_file = tmp_path / "hf-home" / "token"
    token_file.parent.mkdir(parents=True, exist_ok=True)
    token_file.write_text(TOKEN + "\n")
    hub.clear_log()
    mountpoint = mounts.mount("hf://private-org/minilm", options=["--log-file", tmp_path / "daemon.log"], name="private")
    assert (mountpoint / "config.json").read_bytes() == (SAMPLE_DIRECTORY / "config.json").read_bytes()
    requests = [r for r in hub.requests() if "private-org" in r["uri"]]
    assert requests and all(r["authorization"] == f"Bearer {TOKEN}" for r in requests)
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            assert TOKEN.encode() not in pathlib.Path(f"/proc/{pid}/cmdline").read_bytes(), pid
        except OSError:
            continue
    assert TOKEN not in (tmp_path / "daemon.log").read_text()
    monkeypatch.setenv("HF_TOKEN", "hf_wrong")
    wrong = run(tensorfs_bin, "inspect", "hf://private-org/minilm")
    assert_one_line_failure(wrong, "401", "the token from HF_TOKEN may not read it")
    assert "hf_wrong" not in wrong.stderr


def test_redirects_to_a_cdn_are_followed_without_the_token(mounts, hub, monkeypatch, sharded_directory):  # noqa: F811
    monkeypatch.setenv("HF_ENDPOINT", hub.endpoint)
    monkeypatch.setenv("HF_TOKEN", TOKEN)
    hub.clear_log()
    mountpoint = mounts.mount("hf://org/on-cdn")
    name = "encoder.layer.0.attention.self.query.weight"
    assert tensor_path(mountpoint, name).read_bytes() == tensors_of(sharded_directory)[name]
    assert (mountpoint / "tokenizer.json").read_bytes() == (sharded_directory / "tokenizer.json").read_bytes()
    requests = hub.requests()
    at_hub = [r for r in requests if r["host"] == "127.0.0.1"]
    at_cdn = [r for r in requests if r["host"] == "localhost"]
    assert at_cdn and all(r["authorization"] == "" for r in at_cdn)
    assert at_hub and all(r["authorization"] == f"Bearer {TOKEN}" for r in at_hub)
    assert all(r["status"] == 302 for r in at_hub if "/resolve/" in r["uri"])


def test_a_revision_by_commit_hash_mounts_that_commit(mounts, hub, monkeypatch, sharded_directory):  # noqa: F811
    monkeypatch.setenv("HF_ENDPOINT", hub.endpoint)
    hub.clear_log()
    old = mounts.mount(f"hf://org/minilm@{OLD}", name="old")
    assert (old / "README.md").read_text() == "the old README\n"
    assert all(f"/resolve/{OLD}/" in r["uri"] for r in hub.requests() if "/resolve/" in r["uri"])
    new = mounts.mount("hf://org/minilm@main", name="new")
    assert (new / "README.md").read_bytes() == (sharded_directory / "README.md").read_bytes()


def test_refusals_give_one_clear_line_each(hub, monkeypatch, tmp_path, tensorfs_bin):
    monkeypatch.setenv("HF_ENDPOINT", hub.endpoint)
    (tmp_path / "mnt").mkdir()
    for source, fragments in [
        ("hf://org/absent", ["hf://org/absent", "404", "RepoNotFound", "does not exist"]),
        ("hf://org/minilm@v9", ["hf://org/minilm@v9", "404", "RevisionNotFound", "no revision 'v9'"]),
        ("hf://org/minilm/onnx", ["hf://org/minilm/onnx", f"commit {NEW}", "no file or folder 'onnx'"]),
        ("hf://datasets/org/minilm", ["not model repositories"]),
        ("hf://org/mislisted", ["model-00002-of-00003.safetensors", "content hash", "0" * 64]),
    ]:
        result = run(tensorfs_bin, "mount", source, tmp_path / "mnt")
        assert_one_line_failure(result, *fragments)
        assert_nothing_left(tmp_path / "mnt")
    monkeypatch.setenv("HF_ENDPOINT", "http://127.0.0.1:1")
    assert_one_line_failure(run(tensorfs_bin, "inspect", "hf://org/minilm"), "hf://org/minilm", "127.0.0.1")


def test_inspect_takes_an_hf_source(hub, monkeypatch, tensorfs_bin, sharded_directory):  # noqa: F811
    monkeypatch.setenv("HF_ENDPOINT", hub.endpoint)
    result = run(tensorfs_bin, "inspect", "--json", "hf://org/minilm")
    assert result.returncode == 0, result.stderr
    listed = json.loads(result.stdout)["tensors"]
    assert sorted(t["name"] for t in listed) == sorted(tensors_of(sharded_directory))


def test_a_whole_snapshot_in_the_local_cache_mounts_offline_with_the_hub_unreachable(mounts, hub, monkeypatch, tmp_path, tensorfs_bin, sharded_directory):  # noqa: F811
    cache = tmp_path / "hf-cache"
    hub_python(SNAPSHOT_DOWNLOAD, hub.endpoint, cache, "org/minilm")
    partial = tmp_path / "partial-cache"
    hub_python("import sys; from huggingface_hub import hf_hub_download; print(hf_hub_download(sys.argv[1], 'config.json'))",
               hub.endpoint, partial, "org/minilm")
    before = {path: path.stat().st_mtime_ns for path in cache.rglob("*")}
    monkeypatch.setenv("HF_HUB_CACHE", str(cache))
    monkeypatch.setenv("HF_ENDPOINT", "http://127.0.0.1:1")
    mountpoint = mounts.mount("hf://org/minilm", name="online-but-cached")
    assert (mountpoint / "tokenizer.json").read_bytes() == (sharded_directory / "tokenizer.json").read_bytes()
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    mountpoint = mounts.mount(f"hf://org/minilm@{NEW}", name="offline")
    assert reference_bytes(mountpoint / "model.safetensors") == tensors_of(sharded_directory)
    assert {path: path.stat().st_mtime_ns for path in cache.rglob("*")} == before, "the HF cache was written to"
    (tmp_path / "mnt").mkdir()
    missing = run(tensorfs_bin, "mount", "hf://org/absent", tmp_path / "mnt")
    assert_one_line_failure(missing, "hf://org/absent", "HF_HUB_OFFLINE is set", "holds no models--org--absent")
    monkeypatch.setenv("HF_HUB_CACHE", str(partial))
    assert_one_line_failure(run(tensorfs_bin, "mount", "hf://org/minilm", tmp_path / "mnt"), "HF_HUB_OFFLINE is set", "holds no .safetensors weights")
    assert_nothing_left(tmp_path / "mnt")


def test_olah_which_ignores_ranges_serves_a_mount_that_sentence_transformers_loads(mounts, olah, monkeypatch, tmp_path):
    monkeypatch.setenv("HF_ENDPOINT", olah.endpoint)
    result = mounts.attempt("hf://org/minilm", options=["--cache-dir", tmp_path / "cache"], name="first", timeout=300)
    assert result.returncode == 0, result.stderr
    warnings = result.stderr.splitlines()
    assert len(warnings) == 1 and "ignores byte ranges" in warnings[0], result.stderr
    assert_a_model_directory(tmp_path / "first", SAMPLE_DIRECTORY)
    mounts.unmount(tmp_path / "first")
    # Fetched whole once: a second mount finds the weights in the cache directory.
    mountpoint = mounts.mount("hf://org/minilm", options=["--cache-dir", tmp_path / "cache"], name="second")
    assert (mountpoint / "model.safetensors").stat().st_size > 90_000_000
    assert (mountpoint / "vocab.txt").read_bytes() == (SAMPLE_DIRECTORY / "vocab.txt").read_bytes()


def test_olah_without_a_cache_directory_holds_the_files_in_memory_within_the_bound(mounts, olah, monkeypatch, tmp_path, tensorfs_bin, sharded_directory):  # noqa: F811
    monkeypatch.setenv("HF_ENDPOINT", olah.endpoint)
    mountpoint = mounts.mount("hf://org/minilm", name="in-memory")
    name = "encoder.layer.5.output.dense.weight"
    assert tensor_path(mountpoint, name).read_bytes() == tensors_of(sharded_directory)[name]
    (tmp_path / "mnt").mkdir()
    result = run(tensorfs_bin, "mount", "--prefetch-memory", "32M", "--part-size", "8M", "hf://org/minilm", tmp_path / "mnt", timeout=300)
    assert_one_line_failure(result, "ignores byte ranges", "--cache-dir")
    assert_nothing_left(tmp_path / "mnt")
