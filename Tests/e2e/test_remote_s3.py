"""Models in S3 (moto's server) mount as objects, as prefixes with an index or without, with
credentials from the environment or a profile, signed (and checked) or unsigned."""
import json
import os

import pytest

from conftest import is_mounted, run
from reference import assert_reads_back
from remote_servers import Moto, clean_aws_environment, moto, no_proxies, shard_model, use_moto  # noqa: F401 (fixtures)

pytestmark = pytest.mark.usefixtures("clean_aws_environment")


@pytest.fixture(scope="module")
def bucket(moto, sample_model, tmp_path_factory):
    """A bucket holding the sample model as one object, as a sharded model with its index, and
    as a prefix of shards without an index."""
    s3 = moto.client()
    s3.create_bucket(Bucket="models")
    s3.upload_file(str(sample_model), "models", "single/model.safetensors")
    sharded = tmp_path_factory.mktemp("sharded")
    shard_model(sample_model, sharded, 3)
    for path in sharded.iterdir():
        s3.upload_file(str(path), "models", f"sharded/{path.name}")
        if path.suffix == ".safetensors":
            s3.upload_file(str(path), "models", f"loose shards/{path.name}")
    return "models"


@pytest.mark.parametrize("source", [
    "s3://models/single/model.safetensors",
    "s3://models/sharded/model.safetensors.index.json",
    "s3://models/sharded/",
    "s3://models/loose shards/",
])
def test_an_s3_source_reads_back_byte_identical(mounts, moto, bucket, sample_model, monkeypatch, source):
    use_moto(monkeypatch, moto)
    mountpoint = mounts.mount(source)
    assert_reads_back(mountpoint, sample_model)


@pytest.fixture(scope="module")
def logged_moto(sample_model, tmp_path_factory):
    """A moto server that logs every request, with the sample model sharded under a prefix."""
    server = Moto(request_log=tmp_path_factory.mktemp("moto-log") / "requests.jsonl")
    try:
        s3 = server.client()
        s3.create_bucket(Bucket="logged")
        sharded = tmp_path_factory.mktemp("logged-sharded")
        shard_model(sample_model, sharded, 3)
        for path in sharded.iterdir():
            s3.upload_file(str(path), "logged", f"sharded/{path.name}")
            if path.suffix == ".safetensors":
                s3.upload_file(str(path), "logged", f"loose shards/{path.name}")
        yield server
    finally:
        server.stop()


@pytest.mark.parametrize("source", ["s3://logged/sharded/", "s3://logged/loose shards/"])
def test_a_prefix_is_listed_once_while_mounting(mounts, logged_moto, sample_model, monkeypatch, source):
    """The entries of the directory and its companion files come from one listing."""
    use_moto(monkeypatch, logged_moto)
    logged_moto.clear_log()
    mountpoint = mounts.mount(source)
    listings = [r for r in logged_moto.requests() if r["method"] == "GET" and r["uri"].rstrip("/") == "/logged"]
    assert len(listings) == 1, logged_moto.requests()
    assert_reads_back(mountpoint, sample_model)


def test_inspect_lists_an_s3_model_as_it_lists_the_local_file(tensorfs_bin, moto, bucket, sample_model, monkeypatch):
    use_moto(monkeypatch, moto)
    remote = run(tensorfs_bin, "inspect", "--json", "s3://models/single/model.safetensors", check=True)
    local = run(tensorfs_bin, "inspect", "--json", sample_model, check=True)
    assert json.loads(remote.stdout) == json.loads(local.stdout)


def test_credentials_and_region_come_from_a_profile(mounts, moto, bucket, sample_model, monkeypatch, tmp_path):
    credentials = tmp_path / "credentials"
    credentials.write_text("[default]\naws_access_key_id = wrong\naws_secret_access_key = wrong\n\n"
                           "[models]\naws_access_key_id = test\naws_secret_access_key = test\n")
    config = tmp_path / "config"
    config.write_text(f"[profile models]\nregion = us-east-1\nendpoint_url = {moto.endpoint}\n")
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(credentials))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(config))
    monkeypatch.setenv("AWS_PROFILE", "models")
    mountpoint = mounts.mount("s3://models/single/model.safetensors")
    assert_reads_back(mountpoint, sample_model)


def test_profile_files_that_are_fifos_are_passed_over_without_waiting(mounts, moto, bucket, sample_model, monkeypatch, tmp_path):
    # Credentials come from the environment; the profile files, read for a region or an
    # endpoint, are FIFOs nobody writes: opened without blocking, they are passed over.
    use_moto(monkeypatch, moto)
    for variable, name in [("AWS_SHARED_CREDENTIALS_FILE", "credentials"), ("AWS_CONFIG_FILE", "config")]:
        os.mkfifo(tmp_path / name)
        monkeypatch.setenv(variable, str(tmp_path / name))
    mountpoint = mounts.mount("s3://models/single/model.safetensors")
    assert_reads_back(mountpoint, sample_model)


def test_a_public_bucket_mounts_without_credentials(mounts, moto, bucket, sample_model, monkeypatch):
    monkeypatch.setenv("AWS_ENDPOINT_URL", moto.endpoint)
    mountpoint = mounts.mount("s3://models/single/model.safetensors", options=["--no-sign-request"])
    assert_reads_back(mountpoint, sample_model)


@pytest.mark.parametrize("source, variables, expected", [
    ("s3://models/nothing-here.safetensors", {}, "NoSuchKey"),
    ("s3://no-such-bucket/model.safetensors", {}, "NoSuchBucket"),
    ("s3://models/empty-prefix/", {}, "no objects under this prefix"),
    ("s3://models/single/model.safetensors", {"AWS_ACCESS_KEY_ID": "", "AWS_SECRET_ACCESS_KEY": ""}, "no AWS credentials"),
    ("s3://models/single/model.safetensors", {"AWS_PROFILE": "absent"}, "absent"),
    ("s3:///model.safetensors", {}, "bad bucket name"),
])
def test_a_bad_s3_source_fails_with_one_line_and_mounts_nothing(tensorfs_bin, moto, bucket, monkeypatch, tmp_path, source, variables, expected):
    use_moto(monkeypatch, moto)
    for name, value in variables.items():
        monkeypatch.setenv(name, value)
    mountpoint = tmp_path / "mnt"
    mountpoint.mkdir()
    result = run(tensorfs_bin, "mount", source, mountpoint)
    assert result.returncode != 0
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and expected in lines[0], result.stderr
    assert not is_mounted(mountpoint)


@pytest.fixture(scope="module")
def checking_moto(sample_model):
    """A moto server that checks every request's signature against IAM keys it issued."""
    server = Moto({"INITIAL_NO_AUTH_ACTION_COUNT": "3"})
    try:
        iam = server.client(service="iam")
        iam.create_user(UserName="reader")
        iam.put_user_policy(UserName="reader", PolicyName="everything", PolicyDocument=json.dumps(
            {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}))
        key = iam.create_access_key(UserName="reader")["AccessKey"]
        s3 = server.client(key["AccessKeyId"], key["SecretAccessKey"])
        s3.create_bucket(Bucket="signed")
        # (moto's signature check fails on some requests boto3 signs correctly, such as
        # multipart uploads and keys with '+'; plain uploads and reads pass.)
        s3.upload_file(str(sample_model), "signed", "a dir/model-1.safetensors")
        yield server, key["AccessKeyId"], key["SecretAccessKey"]
    finally:
        server.stop()


def test_requests_are_signed_as_s3_checks_them(mounts, checking_moto, sample_model, monkeypatch):
    server, key_id, secret = checking_moto
    use_moto(monkeypatch, server, key_id, secret)
    mountpoint = mounts.mount("s3://signed/a dir/model-1.safetensors")
    assert_reads_back(mountpoint, sample_model)


def test_a_wrong_secret_fails_with_one_line_that_does_not_show_it(tensorfs_bin, checking_moto, monkeypatch, tmp_path):
    server, key_id, _ = checking_moto
    use_moto(monkeypatch, server, key_id, "not-the-secret-0460")
    mountpoint = tmp_path / "mnt"
    mountpoint.mkdir()
    result = run(tensorfs_bin, "mount", "s3://signed/a dir/model-1.safetensors", mountpoint)
    assert result.returncode != 0
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "SignatureDoesNotMatch" in lines[0] and "403" in lines[0], result.stderr
    assert "not-the-secret-0460" not in result.stderr
    assert not is_mounted(mountpoint)
