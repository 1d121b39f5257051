"""The mounted tree: where each tensor's files are, the escaping rule on hostile names and on
names that are prefixes of others, sidecars, the root files, and stable inode numbers."""
import json
import os
import struct

import numpy as np

from conftest import write_model, write_raw_model
from reference import reference_bytes

HOSTILE_NAMES = [
    "", ".", "..", "...", "a/b", "/", "a\x00b", "%", "%2E", "100%.x", "a..b", "trailing.", "a.json",
    "model.safetensors", "__metadata__.json", "n" * 600, "d." + "é" * 200 + ".w", "p" * 250 + "..",
    "é", "e\u0301", "日本.語", "🙂", "tab\tnew\nline", "sp ace",
]
BITSANDBYTES_NAMES = [
    "x.weight", "x.weight.absmax", "x.weight.quant_map", "x.weight.nested_absmax",
    "x.weight.quant_state.bitsandbytes__nf4", "x.bias",
]


def decode(components):
    """The tensor name a path below the root stands for, by the rule in docs/SEMANTICS.md: join the
    components with '.', except after one ending in '%+' (drop it, join with nothing), then
    decode each %XX escape; a lone '%' is the empty string."""
    name = b""
    for position, component in enumerate(components):
        raw = os.fsencode(component)
        continued = raw.endswith(b"%+")
        if continued:
            raw = raw[:-2]
        if raw != b"%":
            index = 0
            while index < len(raw):
                if raw[index:index + 1] == b"%":
                    name += bytes([int(raw[index + 1:index + 3], 16)])
                    index += 3
                else:
                    name += raw[index:index + 1]
                    index += 1
        if not continued and position < len(components) - 1:
            name += b"."
    return name.decode()


def tensor_files(mountpoint):
    """{path below the root: components} of every tensor file: those with a sidecar and a NumPy
    view beside them."""
    found = {}
    for directory, _, files in os.walk(mountpoint):
        present = set(files)
        for file in files:
            if file + ".json" in present and file + ".npy" in present:
                relative = os.path.relpath(os.path.join(directory, file), mountpoint)
                found[relative] = relative.split("/")
    return found


def write_hostile_model(path, names):
    rng = np.random.default_rng(len(names))
    return write_raw_model(path, [(name, "U8", [3], rng.bytes(3)) for name in names])


def assert_every_tensor_reachable(mountpoint, source):
    """Each tensor file decodes to its name, its sidecar agrees, its bytes are the reference's,
    and no tensor is missing or shown twice."""
    expected = reference_bytes(source)
    files = tensor_files(mountpoint)
    decoded = {}
    for relative, components in files.items():
        name = decode(components)
        assert name not in decoded, (relative, decoded.get(name))
        decoded[name] = relative
        sidecar = json.loads((mountpoint / (relative + ".json")).read_bytes())
        assert sidecar["name"] == name
        assert (mountpoint / relative).read_bytes() == expected[name], relative
    assert sorted(decoded) == sorted(expected)
    return decoded


def test_the_sample_model_is_a_tree_split_at_dots(mounts, sample_model):
    mountpoint = mounts.mount(sample_model)
    assert sorted(os.listdir(mountpoint)) == ["__metadata__.json", "embeddings", "encoder", "model.safetensors", "pooler"]
    assert sorted(os.listdir(mountpoint / "encoder/layer/0/attention/self/query")) == [
        "bias", "bias.json", "bias.npy", "weight", "weight.json", "weight.npy",
    ]
    decoded = assert_every_tensor_reachable(mountpoint, sample_model)
    assert all(relative == name.replace(".", "/") for name, relative in decoded.items())


def test_the_flat_layout_puts_every_tensor_at_the_root(mounts, sample_model):
    mountpoint = mounts.mount(sample_model, options=["--layout", "flat"])
    expected = reference_bytes(sample_model)
    listing = set(os.listdir(mountpoint))
    assert listing == {"__metadata__.json", "model.safetensors"} | {name + suffix for name in expected for suffix in ("", ".json", ".npy")}
    for name, data in expected.items():
        assert (mountpoint / name).read_bytes() == data


def test_hostile_names_are_escaped_reversibly_in_the_tree(mounts, tmp_path):
    source = write_hostile_model(tmp_path / "hostile.safetensors", HOSTILE_NAMES)
    assert sorted(reference_bytes(source)) == sorted(HOSTILE_NAMES)
    mountpoint = mounts.mount(source)
    decoded = assert_every_tensor_reachable(mountpoint, source)
    # The empty name is a tensor, so names that start with "." stay whole beside it.
    assert decoded[""] == "%"
    assert decoded["."] == "%2E"
    assert decoded[".."] == "%2E%2E"
    assert decoded["..."] == "..."
    assert decoded["trailing."] == "trailing/%"
    assert decoded["a/b"] == "a%2Fb"
    assert decoded["a\x00b"] == "a%00b"
    assert decoded["%"] == "%25"
    assert decoded["a..b"] == "a/%/b"
    assert decoded["model.safetensors"] == "model/safetensors"
    assert decoded["n" * 600] == "n" * 250 + "%+/" + "n" * 250 + "%+/" + "n" * 100
    assert decoded["p" * 250 + ".."] == "p" * 250 + "/%/%"
    assert decoded["é"] != decoded["e\u0301"]
    assert decoded["日本.語"] == "日本/語"


def test_hostile_names_are_escaped_reversibly_in_the_flat_layout(mounts, tmp_path):
    source = write_hostile_model(tmp_path / "hostile.safetensors", HOSTILE_NAMES)
    mountpoint = mounts.mount(source, options=["--layout", "flat"])
    decoded = assert_every_tensor_reachable(mountpoint, source)
    assert decoded[".."] == "%2E%2E"
    assert decoded["."] == "%2E"
    assert decoded["model.safetensors"] == "model%2Esafetensors"
    assert decoded["__metadata__.json"] == "__metadata__%2Ejson"
    assert decoded["a.json"] == "a.json"
    assert decoded["p" * 250 + ".."] == "p" * 250 + "%+/%2E%2E"


def test_the_documented_escaping_examples_hold(mounts, tmp_path):
    """The examples of the escaping rule's table in docs/SEMANTICS.md."""
    examples = {
        "model.layers.0.mlp.up_proj.weight": "model/layers/0/mlp/up_proj/weight",
        "x.weight": "x/weight",
        "x.weight.absmax": "x/weight.absmax",
        "w": "w",
        "w.json": "w%2Ejson",
        "w.json.json": "w%2Ejson%2Ejson",
        "a/b.c": "a%2Fb/c",
        "a..b": "a/%/b",
        "": "%",
        "100%.x": "100%25/x",
        "a\x00b": "a%00b",
        "tp-2.weight": "tp%2D2/weight",
        "n" * 600: "n" * 250 + "%+/" + "n" * 250 + "%+/" + "n" * 100,
    }
    source = write_hostile_model(tmp_path / "readme.safetensors", list(examples))
    decoded = assert_every_tensor_reachable(mounts.mount(source), source)
    assert decoded == examples


def test_bitsandbytes_names_stay_natural(mounts, tmp_path):
    rng = np.random.default_rng(1)
    source = write_model(tmp_path / "nf4.safetensors", {name: rng.integers(0, 255, 8, dtype=np.uint8) for name in BITSANDBYTES_NAMES})
    mountpoint = mounts.mount(source)
    assert sorted(os.listdir(mountpoint / "x")) == sorted(
        name + suffix
        for name in ["weight", "weight.absmax", "weight.quant_map", "weight.nested_absmax", "weight.quant_state.bitsandbytes__nf4", "bias"]
        for suffix in ("", ".json", ".npy")
    )
    decoded = assert_every_tensor_reachable(mountpoint, source)
    assert decoded["x.weight.quant_state.bitsandbytes__nf4"] == "x/weight.quant_state.bitsandbytes__nf4"


def test_a_tensor_named_like_a_sidecar_does_not_clash_with_it(mounts, tmp_path):
    names = ["w", "w.json", "w.npy", "v.b", "v.b.json"]
    source = write_hostile_model(tmp_path / "clash.safetensors", names)
    mountpoint = mounts.mount(source)
    decoded = assert_every_tensor_reachable(mountpoint, source)
    assert decoded["w.json"] == "w%2Ejson"
    assert decoded["w.npy"] == "w%2Enpy"
    assert decoded["v.b.json"] == "v/b%2Ejson"
    assert json.loads((mountpoint / "w.json").read_bytes())["name"] == "w"


def test_sidecars_describe_each_tensor_as_the_header_does(mounts, sample_model):
    mountpoint = mounts.mount(sample_model)
    raw = sample_model.read_bytes()
    header_length = struct.unpack("<Q", raw[:8])[0]
    header = json.loads(raw[8:8 + header_length])
    for name, entry in header.items():
        if name == "__metadata__":
            continue
        begin, end = entry["data_offsets"]
        sidecar_path = mountpoint / (name.replace(".", "/") + ".json")
        sidecar = json.loads(sidecar_path.read_bytes())
        assert sidecar == {
            "name": name, "dtype": entry["dtype"], "shape": entry["shape"], "nbytes": end - begin,
            "file": "model.safetensors", "data_offsets": [begin, end], "file_offset": 8 + header_length + begin,
        }
        assert raw[sidecar["file_offset"]:sidecar["file_offset"] + sidecar["nbytes"]] == (mountpoint / name.replace(".", "/")).read_bytes()
        assert os.stat(sidecar_path).st_size == len(sidecar_path.read_bytes())


def test_the_root_holds_the_metadata_and_the_whole_model(mounts, sample_model):
    mountpoint = mounts.mount(sample_model)
    metadata = json.loads((mountpoint / "__metadata__.json").read_bytes())
    assert {"format": "pt"} in list(walk_json(metadata))
    assert (mountpoint / "model.safetensors").stat().st_size == sample_model.stat().st_size


def walk_json(value):
    yield value
    children = value.values() if isinstance(value, dict) else value if isinstance(value, list) else []
    for child in children:
        yield from walk_json(child)


def test_inode_numbers_are_the_same_after_a_remount(mounts, sample_model, tmp_path):
    def inodes(mountpoint):
        numbers = {}
        for directory, subdirectories, files in os.walk(mountpoint):
            for name in subdirectories + files:
                path = os.path.join(directory, name)
                numbers[os.path.relpath(path, mountpoint)] = os.stat(path).st_ino
        return numbers

    mountpoint = mounts.mount(sample_model)
    first = inodes(mountpoint)
    mounts.unmount(mountpoint)
    second = inodes(mounts.mount(sample_model))
    assert first == second
    assert len(set(first.values())) == len(first)
