"""A large sharded checkpoint (160 shards x 625 tensors, hub-style index) mounts, walks and
unmounts, every tensor in its place. No timing here: scripts/bench_mount.sh measures speed."""
import importlib.util
import json
import os
import random

import pytest
from safetensors import safe_open

from conftest import REPO

pytestmark = pytest.mark.slow

SHARDS = 160
TENSORS_PER_SHARD = 625


def load_generator():
    spec = importlib.util.spec_from_file_location("synthetic_sharded_model", REPO / "scripts/synthetic_sharded_model.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_a_model_of_160_shards_and_100k_tensors_mounts_and_walks(mounts, tmp_path):
    directory = tmp_path / "large"
    weight_map = load_generator().write(directory, SHARDS, TENSORS_PER_SHARD)
    assert len(weight_map) == SHARDS * TENSORS_PER_SHARD
    mountpoint = mounts.mount(directory)

    files = {}
    directories = 0
    for root, subdirectories, names in os.walk(mountpoint):
        directories += len(subdirectories)
        for name in names:
            files[os.path.relpath(os.path.join(root, name), mountpoint)] = name
    tensors = {path for path in files if not path.endswith((".json", ".npy")) and path != "model.safetensors"}
    assert len(tensors) == len(weight_map)
    assert tensors == {name.replace(".", "/") for name in weight_map}
    assert sum(path.endswith(".json") for path in files) == len(weight_map) + 1
    assert sum(path.endswith(".npy") for path in files) == len(weight_map)
    assert len(os.listdir(mountpoint / "model/layers")) == len({name.split(".")[2] for name in weight_map})

    rng = random.Random(160)
    for name in rng.sample(sorted(weight_map), 300):
        path = mountpoint / name.replace(".", "/")
        sidecar = json.loads(path.with_name(path.name + ".json").read_text())
        assert sidecar["name"] == name
        assert sidecar["file"] == weight_map[name]
        with safe_open(str(directory / weight_map[name]), "np") as shard:
            assert path.read_bytes() == shard.get_tensor(name).tobytes(), name

    metadata = json.loads((mountpoint / "__metadata__.json").read_text())
    assert metadata["summary"]["tensors"] == len(weight_map)
    assert metadata["summary"]["shards"] == SHARDS
    assert len(metadata["shards"]) == SHARDS
    assert metadata["warnings"] == []
    assert metadata["model.safetensors"]["present"] is True

    mounts.unmount(mountpoint)
    assert os.listdir(mountpoint) == []
