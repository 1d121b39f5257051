"""Models served over HTTP by nginx mount, read back byte-identical, transfer only what is read,
and fail at mount with one clear line; secrets stay out of logs, messages and `ps`."""
import json
import os
import shutil

import numpy as np
import pytest
from safetensors import safe_open

from conftest import is_mounted, run, tensor_path, write_model
from reference import assert_reads_back
from remote_servers import daemon_command_lines, nginx, no_proxies, shard_model  # noqa: F401 (fixtures)

MiB = 1 << 20


def publish(nginx, source, name):
    target = nginx.root / name
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(source, target)
    return nginx.url(name)


def data_requests(nginx, probe=256 << 10):
    """Requests after the first (header) request of each file."""
    return [r for r in nginx.requests() if r["range"] != f"bytes=0-{probe - 1}"]


def test_the_sample_model_over_http_reads_back_byte_identical(mounts, nginx, sample_model):
    url = publish(nginx, sample_model, "sample/model.safetensors")
    mountpoint = mounts.mount(url)
    assert_reads_back(mountpoint, sample_model)
    assert (mountpoint / "model.safetensors").read_bytes() == sample_model.read_bytes()


def test_a_sharded_model_over_http_mounts_from_its_index(mounts, nginx, sample_model, tmp_path):
    index = shard_model(sample_model, nginx.root / "sharded", 3)
    mountpoint = mounts.mount(nginx.url("sharded/" + index.name))
    assert_reads_back(mountpoint, sample_model)
    with safe_open(str(mountpoint / "model.safetensors"), "np") as merged, safe_open(str(sample_model), "np") as reference:
        assert sorted(merged.keys()) == sorted(reference.keys())
        for name in reference.keys():
            assert np.array_equal(merged.get_tensor(name), reference.get_tensor(name)), name


def test_mounting_fetches_headers_only_and_the_tree_needs_no_data(mounts, nginx, sample_model):
    index = shard_model(sample_model, nginx.root / "headers-only", 4)
    nginx.clear_log()
    mountpoint = mounts.mount(nginx.url("headers-only/" + index.name))
    for path in mountpoint.rglob("*"):
        if path.is_file() and (path.suffix == ".json"):
            json.loads(path.read_text())
    # The merged file's header is generated; without read-ahead its first pages need no data.
    descriptor = os.open(mountpoint / "model.safetensors", os.O_RDONLY)
    try:
        os.posix_fadvise(descriptor, 0, 0, os.POSIX_FADV_RANDOM)
        start = os.pread(descriptor, 8192, 0)
    finally:
        os.close(descriptor)
    assert int.from_bytes(start[:8], "little") > 8192 and start[8:9] == b"{"
    requests = nginx.requests()
    assert sorted(r["uri"] for r in requests) == sorted(
        ["/headers-only/model.safetensors.index.json"] + [f"/headers-only/model-{n:05d}-of-00004.safetensors" for n in range(1, 5)])
    assert all(r["range"] == "bytes=0-262143" for r in requests)


def test_reading_one_tensor_transfers_at_most_the_tensor_and_one_part(mounts, nginx, tmp_path):
    rng = np.random.default_rng(3)
    tensors = {
        "before": rng.integers(0, 255, size=20 * MiB + 12345, dtype=np.uint8),
        "target": rng.integers(0, 255, size=MiB, dtype=np.uint8),
        "after": rng.integers(0, 255, size=20 * MiB, dtype=np.uint8),
    }
    url = publish(nginx, write_model(tmp_path / "m.safetensors", tensors), "one-tensor/m.safetensors")
    part = 8 * MiB
    mountpoint = mounts.mount(url, options=["--part-size", "8M"])
    nginx.clear_log()
    assert (mountpoint / "target").read_bytes() == tensors["target"].tobytes()
    transferred = sum(r["bytes"] for r in nginx.requests())
    assert MiB <= transferred <= MiB + part


def test_a_small_random_read_fetches_little(mounts, nginx, tmp_path):
    rng = np.random.default_rng(4)
    big = rng.integers(0, 255, size=64 * MiB, dtype=np.uint8)
    url = publish(nginx, write_model(tmp_path / "r.safetensors", {"big": big}), "random/r.safetensors")
    mountpoint = mounts.mount(url)
    nginx.clear_log()
    descriptor = os.open(mountpoint / "big", os.O_RDONLY)
    try:
        # Without the kernel's own read-ahead, what is fetched is tensorfs's choice alone.
        os.posix_fadvise(descriptor, 0, 0, os.POSIX_FADV_RANDOM)
        for offset in (40 * MiB + 777, 7 * MiB, 63 * MiB):
            assert os.pread(descriptor, 4096, offset) == big[offset:offset + 4096].tobytes()
    finally:
        os.close(descriptor)
    requests = nginx.requests()
    assert len(requests) == 3 and all(r["bytes"] <= MiB for r in requests)


def test_local_and_remote_sources_mix_in_one_mount(mounts, nginx, tmp_path):
    local = write_model(tmp_path / "local.safetensors", {"local.weight": np.arange(10, dtype=np.float32)})
    remote = write_model(tmp_path / "remote.safetensors", {"remote.weight": np.arange(20, dtype=np.int64)})
    mountpoint = mounts.mount(local, publish(nginx, remote, "mix/remote.safetensors"))
    assert (mountpoint / "local/weight").read_bytes() == np.arange(10, dtype=np.float32).tobytes()
    assert (mountpoint / "remote/weight").read_bytes() == np.arange(20, dtype=np.int64).tobytes()
    sidecar = json.loads((mountpoint / "remote/weight.json").read_text())
    assert sidecar["file"] == "remote.safetensors"


def test_inspect_lists_a_remote_model_as_it_lists_the_local_file(tensorfs_bin, nginx, sample_model):
    url = publish(nginx, sample_model, "inspect/model.safetensors")
    remote = run(tensorfs_bin, "inspect", "--json", url, check=True)
    local = run(tensorfs_bin, "inspect", "--json", sample_model, check=True)
    assert json.loads(remote.stdout) == json.loads(local.stdout)


def test_redirects_are_followed_on_the_same_host_with_the_header(mounts, nginx, sample_model):
    publish(nginx, sample_model, "redirected/model.safetensors")
    nginx.clear_log()
    mountpoint = mounts.mount(nginx.url("moved/redirected/model.safetensors"), options=["--header", "Authorization: Bearer same-host"])
    assert_reads_back(mountpoint, sample_model)
    final = [r for r in nginx.requests() if r["uri"] == "/redirected/model.safetensors"]
    assert final and all(r["authorization"] == "Bearer same-host" for r in final)


def test_credentials_never_follow_a_redirect_to_another_host(mounts, nginx, sample_model):
    publish(nginx, sample_model, "elsewhere/model.safetensors")
    nginx.clear_log()
    mountpoint = mounts.mount(nginx.url("redirect-elsewhere/elsewhere/model.safetensors"),
                              options=["--header", "Authorization: Bearer do-not-forward"])
    assert_reads_back(mountpoint, sample_model)
    requests = nginx.requests()
    first = [r for r in requests if r["uri"].startswith("/redirect-elsewhere/")]
    redirected = [r for r in requests if r["uri"] == "/elsewhere/model.safetensors"]
    assert first and all(r["authorization"] == "Bearer do-not-forward" for r in first)
    assert redirected and all(r["authorization"] == "" for r in redirected)


@pytest.mark.parametrize("path, expected", [
    ("missing/model.safetensors", "404"),
    ("forbidden/model.safetensors", "403"),
])
def test_a_refused_url_fails_with_one_line_and_mounts_nothing(tensorfs_bin, nginx, tmp_path, path, expected):
    mountpoint = tmp_path / "mnt"
    mountpoint.mkdir()
    result = run(tensorfs_bin, "mount", nginx.url(path), mountpoint)
    assert result.returncode != 0
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and nginx.url(path) in lines[0] and expected in lines[0], result.stderr
    assert not is_mounted(mountpoint)


@pytest.mark.parametrize("source, expected", [
    ("http://127.0.0.1:9/model.safetensors", "127.0.0.1"),
    ("http://[::1/model.safetensors", "bad URL"),
    ("http:///model.safetensors", "bad URL"),
    ("https://127.0.0.1:99999/model.safetensors", "bad port"),
])
def test_an_unusable_url_fails_at_once_with_one_line(tensorfs_bin, tmp_path, source, expected):
    mountpoint = tmp_path / "mnt"
    mountpoint.mkdir()
    result = run(tensorfs_bin, "mount", source, mountpoint, timeout=30)
    assert result.returncode != 0
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and expected in lines[0], result.stderr
    assert not is_mounted(mountpoint)


def test_secrets_stay_out_of_the_command_line_logs_messages_and_sidecars(mounts, nginx, sample_model, tmp_path):
    url = publish(nginx, sample_model, "secret/model.safetensors")
    header_file = tmp_path / "headers"
    header_file.write_text("X-Api-Key: key-from-a-file-0451\n")
    log = tmp_path / "daemon.log"
    signed = url + "?X-Amz-Signature=query-secret-0452"
    mountpoint = mounts.mount(signed, options=[
        "--header", "Authorization: Bearer header-secret-0453", "--header", f"@{header_file}",
        "--debug", "--log-file", log])
    assert_reads_back(mountpoint, sample_model)
    secrets = ["key-from-a-file-0451", "query-secret-0452", "header-secret-0453"]
    command_lines = daemon_command_lines()
    assert any(str(mountpoint) in line for line in command_lines)
    generated = [log.read_text(), (mountpoint / "__metadata__.json").read_text(),
                 (mountpoint / "embeddings/word_embeddings/weight.json").read_text(), *command_lines]
    for secret in secrets:
        assert all(secret not in text for text in generated), secret
    sent = [r for r in nginx.requests() if r["uri"] == "/secret/model.safetensors"]
    assert sent and all(r["authorization"] == "Bearer header-secret-0453" for r in sent)
    failed = run(mounts.bin, "mount", "--header", "Authorization: Bearer header-secret-0453",
                 nginx.url("missing.safetensors") + "?sig=query-secret-0452", mountpoint.parent)
    assert failed.returncode != 0 and all(secret not in failed.stderr for secret in secrets), failed.stderr


def test_a_rank_gathers_its_strided_slices_through_the_parts(mounts, nginx, sample_model):
    # Each layer's output.dense.weight is 384 rows of 6144 bytes; a quarter of a row is a run
    # of 1536 bytes with 4608 bytes of other ranks' data between runs.
    url = publish(nginx, sample_model, "tp/model.safetensors")
    mountpoint = mounts.mount(url, options=["--tp", "4", "--tp-rule", "encoder.layer.?.output.dense.weight 1"])
    nginx.clear_log()
    with safe_open(str(sample_model), "np") as reference:
        names = [f"encoder.layer.{layer}.output.dense.weight" for layer in range(6)]
        for name in names:
            for rank, quarter in enumerate(np.split(reference.get_tensor(name), 4, axis=1)):
                path = tensor_path(mountpoint / "tp-4" / f"rank-{rank}", name)
                assert path.read_bytes() == np.ascontiguousarray(quarter).tobytes(), (name, rank)
    # Fetched run by run, that would be 384 requests per slice (9216 in all); through the
    # object's parts, one or two.
    requests = len(data_requests(nginx))
    assert requests <= 2 * 4 * len(names), requests
