"""Sharded checkpoints mount as one model: a real model split with the reference library and a
hub-style index mounts by directory, by index and by shard list alike, byte for byte; its
model.safetensors loads in the reference library; every inconsistent set is refused with one
line and nothing mounted; oddities the hub loader accepts are warnings."""
import json
import os
import shutil

import numpy as np
import pytest
from safetensors import safe_open
from safetensors.numpy import save_file

from conftest import is_mounted, run, tensor_path, write_model
from reference import reference_bytes

SHARD_COUNT = 3


def shard_model(source, directory, shard_count=SHARD_COUNT):
    """Splits the model at `source` into `shard_count` files of consecutive tensors (by name)
    with the reference writer, and writes a hub-style index (sorted keys, total_size). Returns
    the weight_map."""
    directory.mkdir(parents=True, exist_ok=True)
    with safe_open(str(source), "np") as handle:
        metadata = handle.metadata()
        tensors = {name: handle.get_tensor(name) for name in sorted(handle.keys())}
    total = sum(array.nbytes for array in tensors.values())
    names = list(tensors)
    per_shard = -(-len(names) // shard_count)
    shards = [{name: tensors[name] for name in names[start:start + per_shard]} for start in range(0, len(names), per_shard)]
    weight_map = {}
    for number, shard in enumerate(shards, start=1):
        file_name = f"model-{number:05d}-of-{len(shards):05d}.safetensors"
        save_file(shard, str(directory / file_name), metadata=metadata)
        weight_map.update({name: file_name for name in shard})
    index = {"metadata": {"total_size": total}, "weight_map": weight_map}
    (directory / "model.safetensors.index.json").write_text(json.dumps(index, indent=2, sort_keys=True) + "\n")
    return weight_map


@pytest.fixture(scope="module")
def sharded(sample_model, tmp_path_factory):
    """The sample model split into shards: (directory, weight_map)."""
    directory = tmp_path_factory.mktemp("sharded") / "minilm"
    weight_map = shard_model(sample_model, directory)
    assert len(set(weight_map.values())) == SHARD_COUNT
    return directory, weight_map


def tree(mountpoint):
    """{relative path: size, or None for a directory} of everything below `mountpoint`."""
    entries = {}
    for root, directories, files in os.walk(mountpoint):
        for name in directories:
            entries[os.path.relpath(os.path.join(root, name), mountpoint)] = None
        for name in files:
            path = os.path.join(root, name)
            entries[os.path.relpath(path, mountpoint)] = os.path.getsize(path)
    return entries


def test_directory_index_and_shard_list_mount_the_same_tree(mounts, sharded):
    directory, weight_map = sharded
    shard_files = sorted(set(weight_map.values()))
    by_directory = mounts.mount(directory, name="by-directory")
    by_index = mounts.mount(directory / "model.safetensors.index.json", name="by-index")
    by_list = mounts.mount(*[directory / name for name in shard_files], name="by-list")
    # __metadata__.json differs: the model's name, and whether there is an index.
    expected = tree(by_directory)
    del expected["__metadata__.json"]
    assert len([path for path, size in expected.items() if size is not None]) == 3 * len(weight_map) + 1
    for mountpoint in (by_index, by_list):
        entries = tree(mountpoint)
        assert entries.pop("__metadata__.json") > 0
        assert entries == expected
        for path, size in expected.items():
            if size is not None:
                assert (mountpoint / path).read_bytes() == (by_directory / path).read_bytes(), path


def test_every_tensor_reads_as_in_the_unsharded_original(mounts, sharded, sample_model):
    directory, weight_map = sharded
    mountpoint = mounts.mount(directory)
    with safe_open(str(sample_model), "np") as original:
        for name in original.keys():
            assert tensor_path(mountpoint, name).read_bytes() == original.get_tensor(name).tobytes(), name
            sidecar = json.loads(tensor_path(mountpoint, name).with_name(tensor_path(mountpoint, name).name + ".json").read_text())
            assert sidecar["file"] == weight_map[name]


def test_the_namespace_holds_every_layer_whatever_shard_holds_it(mounts, sharded):
    directory, weight_map = sharded
    layer_shards = {name.split(".")[2]: file for name, file in weight_map.items() if name.startswith("encoder.layer.")}
    assert len(set(layer_shards.values())) > 1, "the layers should be spread over several shards"
    mountpoint = mounts.mount(directory)
    assert sorted(os.listdir(mountpoint / "encoder/layer")) == sorted(layer_shards)
    assert sorted(os.listdir(mountpoint)) == ["__metadata__.json", "embeddings", "encoder", "model.safetensors", "pooler"]


def test_the_merged_model_loads_in_the_reference_library(mounts, sharded, sample_model):
    directory, _ = sharded
    mountpoint = mounts.mount(directory)
    merged = mountpoint / "model.safetensors"
    with safe_open(str(sample_model), "np") as original, safe_open(str(merged), "np") as mounted:
        assert sorted(mounted.keys()) == sorted(original.keys())
        assert mounted.metadata() == original.metadata()
        for name in original.keys():
            assert mounted.get_tensor(name).tobytes() == original.get_tensor(name).tobytes(), name
            assert mounted.get_tensor(name).dtype == original.get_tensor(name).dtype
    contents = merged.read_bytes()
    assert len(contents) == merged.stat().st_size
    assert (8 + int.from_bytes(contents[:8], "little")) % 8 == 0
    deserialized = reference_bytes(contents)
    with safe_open(str(sample_model), "np") as original:
        assert sorted(deserialized) == sorted(original.keys())
        for name in original.keys():
            assert deserialized[name] == original.get_tensor(name).tobytes(), name


def test_metadata_json_summarizes_the_sharded_model(mounts, sharded):
    directory, weight_map = sharded
    mountpoint = mounts.mount(directory)
    metadata = json.loads((mountpoint / "__metadata__.json").read_text())
    index = json.loads((directory / "model.safetensors.index.json").read_text())
    assert metadata["model"] == "minilm"
    assert metadata["summary"]["tensors"] == len(weight_map)
    assert metadata["summary"]["bytes"] == index["metadata"]["total_size"]
    assert metadata["summary"]["dtypes"] == {"F32": 103, "I64": 1}
    assert [shard["file"] for shard in metadata["shards"]] == sorted(set(weight_map.values()))
    assert [shard["size"] for shard in metadata["shards"]] == [(directory / shard["file"]).stat().st_size for shard in metadata["shards"]]
    assert all(shard["__metadata__"] == {"format": "pt"} for shard in metadata["shards"])
    assert metadata["indexes"] == [{"file": "model.safetensors.index.json", "metadata": index["metadata"]}]
    assert metadata["model.safetensors"]["present"] is True
    assert metadata["model.safetensors"]["size"] == (mountpoint / "model.safetensors").stat().st_size
    assert metadata["warnings"] == []


def test_inspect_lists_each_tensor_with_its_shard(tensorfs_bin, sharded):
    directory, weight_map = sharded
    result = run(tensorfs_bin, "inspect", "--json", directory)
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert {tensor["name"]: tensor["file"] for tensor in report["tensors"]} == weight_map
    for tensor in report["tensors"]:
        with safe_open(str(directory / tensor["file"]), "np") as shard:
            data = (directory / tensor["file"]).read_bytes()
            start = 8 + int.from_bytes(data[:8], "little")
            begin, end = tensor["data_offsets"]
            assert data[start + begin:start + end] == shard.get_tensor(tensor["name"]).tobytes()
    table = run(tensorfs_bin, "inspect", directory / "model.safetensors.index.json")
    assert table.returncode == 0
    assert f"in {SHARD_COUNT} files" in table.stdout


# A small sharded model for the error cases: three shards and a hub-style index.

SMALL = {
    "model.embed.weight": ("a.safetensors", np.arange(6, dtype=np.float32)),
    "model.layers.0.weight": ("a.safetensors", np.arange(4, dtype=np.float16)),
    "model.layers.1.weight": ("b.safetensors", np.arange(3, dtype=np.int32)),
    "lm_head.weight": ("c.safetensors", np.arange(2, dtype=np.float64)),
}


def write_small(directory, weight_map=None, metadata=None):
    """Writes the small model's shards and index; returns the index's path."""
    for file_name in sorted({file for file, _ in SMALL.values()}):
        write_model(directory / file_name, {name: array for name, (file, array) in SMALL.items() if file == file_name}, {"format": "pt"})
    total = sum(array.nbytes for _, array in SMALL.values())
    index = {
        "metadata": metadata if metadata is not None else {"total_size": total},
        "weight_map": weight_map if weight_map is not None else {name: file for name, (file, _) in SMALL.items()},
    }
    path = directory / "model.safetensors.index.json"
    path.write_text(json.dumps(index, indent=2, sort_keys=True))
    return path


def break_missing_shard(directory):
    (directory / "b.safetensors").unlink()
    return "model.safetensors.index.json: shard `b.safetensors` in the weight_map cannot be opened: "


def break_shard_is_a_directory(directory):
    (directory / "c.safetensors").unlink()
    (directory / "c.safetensors").mkdir()
    return "model.safetensors.index.json: shard `c.safetensors` in the weight_map cannot be opened: "


def break_truncated_shard(directory):
    data = (directory / "b.safetensors").read_bytes()
    (directory / "b.safetensors").write_bytes(data[:-2])
    return "b.safetensors: "


def break_misplaced_tensor(directory):
    write_small(directory, weight_map={**{name: file for name, (file, _) in SMALL.items()}, "model.layers.0.weight": "b.safetensors"})
    return "model.safetensors.index.json: the weight_map places tensor `model.layers.0.weight` in `b.safetensors`, but it is in `a.safetensors`"


def break_tensor_held_nowhere(directory):
    write_small(directory, weight_map={**{name: file for name, (file, _) in SMALL.items()}, "model.norm.weight": "c.safetensors"})
    return "model.safetensors.index.json: the weight_map places tensor `model.norm.weight` in `c.safetensors`, which does not hold it"


def break_tensor_in_two_shards(directory):
    # Shards load in the order the (sorted) weight_map first names them: c, then a.
    write_model(directory / "c.safetensors", {"lm_head.weight": SMALL["lm_head.weight"][1], "model.embed.weight": np.zeros(6, np.float32)}, {"format": "pt"})
    return f"a.safetensors: tensor `model.embed.weight` is also in {directory / 'c.safetensors'}"


def break_absolute_path(directory):
    write_small(directory, weight_map={"model.embed.weight": str(directory / "a.safetensors")})
    return "a path that is absolute"


def break_parent_path(directory):
    write_small(directory, weight_map={"model.embed.weight": "../outside/a.safetensors"})
    return "a path that contains `..`"


def break_symlink_outside(directory):
    outside = directory.parent / "outside"
    outside.mkdir()
    (directory / "b.safetensors").rename(outside / "b.safetensors")
    (directory / "b.safetensors").symlink_to(outside / "b.safetensors")
    return f"model.safetensors.index.json: the weight_map names shard `b.safetensors`, which resolves to {outside / 'b.safetensors'}, outside the model's directory"


def break_index_not_json(directory):
    (directory / "model.safetensors.index.json").write_text('{"weight_map": {"a": "a.safetensors",}}')
    return "model.safetensors.index.json: index is not valid JSON"


def break_index_without_weight_map(directory):
    (directory / "model.safetensors.index.json").write_text('{"metadata": {"total_size": 1}}')
    return "model.safetensors.index.json: index has no `weight_map`"


BREAKAGES = [
    break_missing_shard, break_shard_is_a_directory, break_truncated_shard, break_misplaced_tensor,
    break_tensor_held_nowhere, break_tensor_in_two_shards, break_absolute_path, break_parent_path,
    break_symlink_outside, break_index_not_json, break_index_without_weight_map,
]


@pytest.mark.parametrize("breakage", BREAKAGES, ids=lambda function: function.__name__[len("break_"):])
def test_an_inconsistent_set_is_refused_with_one_line_and_nothing_mounted(tensorfs_bin, tmp_path, breakage):
    directory = tmp_path / "model"
    write_small(directory)
    expected = breakage(directory)
    mountpoint = tmp_path / "mnt"
    mountpoint.mkdir()
    for command in (["mount", directory, mountpoint], ["inspect", directory]):
        result = run(tensorfs_bin, *command)
        assert result.returncode != 0, command
        lines = result.stderr.splitlines()
        assert len(lines) == 1, result.stderr
        assert lines[0].startswith("tensorfs: "), lines[0]
        assert expected in lines[0], lines[0]
    assert not is_mounted(mountpoint)
    assert os.listdir(mountpoint) == []


def test_oddities_the_hub_loader_accepts_are_warnings_and_the_mount_is_usable(mounts, tmp_path):
    directory = tmp_path / "model"
    listed = {name: file for name, (file, _) in SMALL.items() if name != "model.layers.0.weight"}
    write_small(directory, weight_map=listed, metadata={"total_size": 1})
    result = mounts.attempt(directory)
    assert result.returncode == 0, result.stderr
    mountpoint = tmp_path / "mnt"
    warnings = result.stderr.splitlines()
    assert len(warnings) == 2, result.stderr
    assert warnings[0].startswith("tensorfs: warning: ") and "1 tensor in the shards is missing from the weight_map (`model.layers.0.weight`)" in warnings[0]
    assert warnings[1].startswith("tensorfs: warning: ") and "metadata.total_size is 1 but the shards' tensors hold" in warnings[1]
    assert (mountpoint / "model/layers/0/weight").read_bytes() == SMALL["model.layers.0.weight"][1].tobytes()
    metadata = json.loads((mountpoint / "__metadata__.json").read_text())
    assert len(metadata["warnings"]) == 2
    inspected = run(mounts.bin, "inspect", directory)
    assert inspected.returncode == 0
    assert inspected.stderr.count("tensorfs: warning: ") == 2


def test_unrelated_models_that_collide_are_refused_with_a_hint_then_mount_apart(mounts, tmp_path):
    first = write_model(tmp_path / "bert.safetensors", {"encoder.weight": np.ones(3, np.float32)})
    second = write_model(tmp_path / "gpt/model.safetensors", {"encoder.weight": np.zeros(5, np.float16), "head": np.ones(1, np.int8)})
    result = mounts.attempt(first, second.parent)
    mountpoint = tmp_path / "mnt"
    assert result.returncode != 0
    assert result.stderr.splitlines() == [
        f"tensorfs: {second}: tensor `encoder.weight` is also in {first}; to mount each SOURCE in a directory of its own, add --separate"
    ]
    assert not is_mounted(mountpoint)
    separate = mounts.mount(first, second.parent, options=["--separate"])
    assert sorted(os.listdir(separate)) == ["bert", "gpt"]
    assert (separate / "bert/encoder/weight").read_bytes() == np.ones(3, np.float32).tobytes()
    assert (separate / "gpt/encoder/weight").read_bytes() == np.zeros(5, np.float16).tobytes()
    assert json.loads((separate / "gpt/__metadata__.json").read_text())["model"] == "gpt"
    with safe_open(str(separate / "bert/model.safetensors"), "np") as merged:
        assert list(merged.keys()) == ["encoder.weight"]


def test_a_merged_header_over_the_format_limit_leaves_model_safetensors_out(mounts, tmp_path):
    directory = tmp_path / "long-names"
    # The reference writes DEL raw, one byte; tensorfs escapes it as six (\u007f). Two shards
    # of 8.6 MB headers so make a merged header past the 100 MB limit, cheaply.
    for number in range(2):
        name = f"{number}." + "\x7f" * 8_600_000
        write_model(directory / f"part-{number}.safetensors", {name: np.ones(1, np.float32)})
    mountpoint = mounts.mount(directory)
    assert sorted(os.listdir(mountpoint)) == ["0", "1", "__metadata__.json"]
    metadata = json.loads((mountpoint / "__metadata__.json").read_text())
    assert metadata["model.safetensors"]["present"] is False
    assert "over the format's limit of 100000000" in metadata["model.safetensors"]["reason"]
    shutil.rmtree(directory)
