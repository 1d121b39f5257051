"""Tensor-parallel views: tp-N/rank-R/ trees whose slices, put back together along their
dimension, are the model's tensors; per-rank model.safetensors files the reference library loads."""
import errno
import json
import os
import subprocess
import sys

import numpy as np
import pytest
from safetensors import safe_open

from conftest import is_mounted, run, write_model, write_raw_model
from foreground import daemons  # noqa: F401 (a fixture)
from reference import reference_tensors

BITS = {"BOOL": 8, "U8": 8, "I8": 8, "I16": 16, "U16": 16, "I32": 32, "U32": 32, "I64": 64, "U64": 64,
        "F16": 16, "BF16": 16, "F32": 32, "F64": 64, "C64": 64, "F8_E5M2": 8, "F8_E4M3": 8, "F8_E8M0": 8,
        "F8_E4M3FNUZ": 8, "F8_E5M2FNUZ": 8, "F6_E2M3": 6, "F6_E3M2": 6, "F4": 4}
# dtypes that safe_open(..., "np") turns into arrays; the others are checked through their bits.
NUMPY_DTYPES = {"BOOL", "U8", "I8", "I16", "U16", "I32", "U32", "I64", "U64", "F16", "F32", "F64", "C64"}

# Rule name -> (rules-file line pattern suffix, dimension, shape). The shapes keep every cut on a
# byte boundary for 2 and 4 ranks, F4 and F6 included.
RULES = {
    "rows": ("0", 0, (8, 16)),
    "columns": ("1", 1, (8, 16)),
    "last": ("-1", 2, (2, 4, 16)),
    "middle": ("1", 1, (4, 8, 16)),
    "replicated": ("replicate", None, (3, 8)),
}
DEGREES = (2, 4)


def elements(raw, dtype, shape):
    """The tensor as an integer array of its elements' bit patterns (sub-byte types unpacked)."""
    bits = BITS[dtype]
    if bits % 8 == 0:
        return np.frombuffer(bytes(raw), dtype=f"<u{bits // 8}").reshape(shape)
    unpacked = np.unpackbits(np.frombuffer(bytes(raw), np.uint8), bitorder="little").reshape(-1, bits)
    return (unpacked.astype(np.uint16) << np.arange(bits, dtype=np.uint16)).sum(axis=1).reshape(shape)


@pytest.fixture(scope="module")
def every_dtype_model(tmp_path_factory):
    directory = tmp_path_factory.mktemp("every-dtype")
    rng = np.random.default_rng(1)
    tensors = {}
    for dtype, bits in BITS.items():
        for rule, (_, _, shape) in RULES.items():
            count = int(np.prod(shape)) * bits // 8
            tensors[f"{dtype}.{rule}"] = (dtype, shape, rng.integers(0, 256, count, dtype=np.uint8).tobytes())
    rules = directory / "rules.txt"
    rules.write_text("# one rule per way of cutting\n" + "".join(f"*.{rule} {line}\n" for rule, (line, _, _) in RULES.items()))
    return write_raw_model(directory / "model.safetensors", [(name, *tensor) for name, tensor in tensors.items()]), rules


@pytest.fixture(scope="module")
def every_dtype_mount(every_dtype_model, tensorfs_bin, tmp_path_factory):
    from conftest import Mounts
    model, rules = every_dtype_model
    manager = Mounts(tensorfs_bin, tmp_path_factory.mktemp("every-dtype-mount"))
    options = ["--tp-rules", rules, "--tp-no-default-rules", "--tp-cache-mib", "1"]
    for degree in DEGREES:
        options += ["--tp", str(degree)]
    yield model, manager.mount(model, options=options)
    manager.close()


@pytest.mark.parametrize("dtype", BITS)
@pytest.mark.parametrize("rule", RULES)
def test_rank_slices_put_together_are_the_tensor(every_dtype_mount, dtype, rule):
    model, mountpoint = every_dtype_mount
    _, dimension, shape = RULES[rule]
    name = f"{dtype}.{rule}"
    full = elements(reference_tensors(model)[name].data, dtype, shape)
    for degree in DEGREES:
        parts = []
        for rank in range(degree):
            directory = mountpoint / f"tp-{degree}" / f"rank-{rank}" / dtype
            sidecar = json.loads((directory / f"{rule}.json").read_text())
            part_shape = tuple(sidecar["shape"])
            part = elements((directory / rule).read_bytes(), dtype, part_shape)
            assert sidecar["tensor_parallel"]["global_shape"] == list(shape)
            assert sidecar["tensor_parallel"]["dim"] == dimension
            if dimension is not None:
                assert sidecar["tensor_parallel"]["start"] == rank * shape[dimension] // degree
                assert sidecar["tensor_parallel"]["length"] == shape[dimension] // degree
            npy = np.load(directory / f"{rule}.npy")
            assert npy.tobytes() == (directory / rule).read_bytes()
            parts.append(part)
        if dimension is None:
            for part in parts:
                assert np.array_equal(part, full)
        else:
            assert np.array_equal(np.concatenate(parts, axis=dimension), full)


@pytest.mark.parametrize("degree", DEGREES)
def test_each_rank_model_loads_in_the_reference_library(every_dtype_mount, degree):
    model, mountpoint = every_dtype_mount
    reference = reference_tensors(model)
    for rank in range(degree):
        path = mountpoint / f"tp-{degree}" / f"rank-{rank}" / "model.safetensors"
        loaded = reference_tensors(path)
        assert sorted(loaded) == sorted(reference)
        with safe_open(str(path), "np") as opened:
            assert set(opened.keys()) == set(reference)
            for name, (dtype, shape, raw) in loaded.items():
                rule = name.split(".")[1]
                tensor_dir = mountpoint / f"tp-{degree}" / f"rank-{rank}" / name.split(".")[0]
                assert raw == (tensor_dir / rule).read_bytes(), name
                assert opened.get_slice(name).get_dtype() == dtype
                assert tuple(opened.get_slice(name).get_shape()) == shape
                if dtype in NUMPY_DTYPES:
                    assert opened.get_tensor(name).tobytes() == raw, name


def test_uneven_dimensions_are_refused_naming_the_tensor(mounts, tmp_path):
    model = write_model(tmp_path / "model.safetensors", {
        "model.embed_tokens.weight": np.arange(10 * 4, dtype=np.float32).reshape(10, 4),
        "model.norm.weight": np.ones(4, np.float32),
    })
    result = mounts.attempt(model, options=["--tp", "4"])
    mountpoint = tmp_path / "mnt"
    assert result.returncode != 0
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "model.safetensors: tensor `model.embed_tokens.weight`" in lines[0]
    assert "cannot be cut into 4 equal parts along dimension 0 of size 10" in lines[0]
    assert not is_mounted(mountpoint)


def test_uneven_split_gives_the_first_ranks_one_more_like_array_split(mounts, tmp_path):
    arrays = {"a.rows": np.arange(10 * 3, dtype=np.int32).reshape(10, 3),
              "a.columns": np.arange(3 * 7, dtype=np.float64).reshape(3, 7),
              "a.few": np.arange(2 * 5, dtype=np.int16).reshape(2, 5)}
    model = write_model(tmp_path / "model.safetensors", arrays)
    mountpoint = mounts.mount(model, options=["--tp", "4", "--tp-uneven", "array-split", "--tp-no-default-rules",
                                              "--tp-rule", "a.rows 0", "--tp-rule", "a.columns 1", "--tp-rule", "a.few 0"])
    for name, dimension in {"a.rows": 0, "a.columns": 1, "a.few": 0}.items():
        expected = np.array_split(arrays[name], 4, axis=dimension)
        for rank in range(4):
            with safe_open(str(mountpoint / "tp-4" / f"rank-{rank}" / "model.safetensors"), "np") as opened:
                assert np.array_equal(opened.get_tensor(name), expected[rank]), (name, rank)
            sidecar = json.loads((mountpoint / "tp-4" / f"rank-{rank}" / "a" / f"{name[2:]}.json").read_text())
            assert sidecar["tensor_parallel"]["length"] == expected[rank].shape[dimension]
    metadata = json.loads((mountpoint / "tp-4" / "rank-0" / "__metadata__.json").read_text())
    assert metadata["tensor_parallel"] == {"size": 4, "rank": 0, "uneven": "array-split"}


def test_a_rank_file_of_thousands_of_tiny_slices_reads_whole(mounts, tmp_path):
    # One read of the rank's file spans more slices than one FUSE reply may point at.
    arrays = {f"layers.{i}.q_proj.weight": np.arange(64 * 8, dtype=np.float16).reshape(64, 8) + i for i in range(2002)}
    model = write_model(tmp_path / "model.safetensors", arrays)
    mountpoint = mounts.mount(model, options=["--tp", "16"])
    path = mountpoint / "tp-16" / "rank-7" / "model.safetensors"
    with safe_open(str(path), "np") as opened:
        for name, array in arrays.items():
            assert np.array_equal(opened.get_tensor(name), array[28:32]), name
    with open(path, "rb") as whole:
        assert len(whole.read()) == os.path.getsize(path)


def test_thousands_of_ranks_cost_the_daemon_no_memory_per_rank(daemons, tmp_path):
    # Replicated tensors are shared by every rank: a rank's tree is made when it is looked at.
    arrays = {f"layers.{i}.norm_{j}.weight": np.full(16, i + j, dtype=np.float32) for i in range(182) for j in range(11)}
    model = write_model(tmp_path / "model.safetensors", arrays)
    memory = {}
    for degree in (1, 4096):
        daemon = daemons.start(model, options=["--tp", str(degree)], name=f"tp{degree}")
        memory[degree] = daemon.anonymous_memory_kib()
        rank = daemon.mountpoint / f"tp-{degree}" / f"rank-{degree - 1}"
        assert len(os.listdir(daemon.mountpoint / f"tp-{degree}")) == degree
        assert np.array_equal(np.load(rank / "layers" / "181" / "norm_10" / "weight.npy"), arrays["layers.181.norm_10.weight"])
        with safe_open(str(rank / "model.safetensors"), "np") as opened:
            assert len(opened.keys()) == len(arrays)
    assert memory[4096] - memory[1] < 8 * 1024, memory


@pytest.mark.parametrize("dtype, shape, rule, message", [
    ("F4", (2, 6), "x 1", "cannot be cut into 2 parts along dimension 1: a cut would fall inside a byte (3 indices of 4 bits are not whole bytes)"),
    ("F6_E2M3", (4, 4), "x -1", "cannot be cut into 2 parts along dimension -1: a cut would fall inside a byte (2 indices of 6 bits are not whole bytes)"),
    ("F4", (2, 3), "x 0", "cannot be cut into 2 parts along dimension 0: a cut would fall inside a byte (1 indices of 12 bits are not whole bytes)"),
])
def test_sub_byte_cuts_inside_a_byte_are_refused(mounts, tmp_path, dtype, shape, rule, message):
    raw = bytes(int(np.prod(shape)) * BITS[dtype] // 8)
    model = write_raw_model(tmp_path / "model.safetensors", [("x", dtype, shape, raw)])
    result = mounts.attempt(model, options=["--tp", "2", "--tp-rule", rule])
    mountpoint = tmp_path / "mnt"
    assert result.returncode != 0
    assert result.stderr.strip().splitlines() == [f"tensorfs: model.safetensors: tensor `x` ({dtype} [{', '.join(map(str, shape))}]), matched by rule `{rule}` (--tp-rule), {message}"]
    assert not is_mounted(mountpoint)


@pytest.mark.parametrize("text, message", [
    ("*.w 0\n*.v zero\n", "rules.txt:2: `zero` is neither a dimension"),
    ("\n\n*.w\n", "rules.txt:3: expected `PATTERN DIMENSION` or `PATTERN replicate`, found `*.w`"),
])
def test_a_bad_rules_file_fails_with_its_line(mounts, tmp_path, sample_model, text, message):
    rules = tmp_path / "rules.txt"
    rules.write_text(text)
    result = mounts.attempt(sample_model, options=["--tp", "2", "--tp-rules", rules])
    mountpoint = tmp_path / "mnt"
    assert result.returncode != 0
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("tensorfs: ") and message in lines[0], result.stderr
    assert str(rules) in lines[0]
    assert not is_mounted(mountpoint)


def test_a_tensor_named_like_a_tp_directory_is_escaped(mounts, tmp_path):
    model = write_model(tmp_path / "model.safetensors", {
        "tp-2.weight": np.arange(8, dtype=np.float32).reshape(2, 4), "tp-8": np.arange(3, dtype=np.int8)})
    mountpoint = mounts.mount(model, options=["--tp", "2"])
    assert sorted(os.listdir(mountpoint)) == ["__metadata__.json", "model.safetensors", "tp%2D2", "tp%2D8", "tp%2D8.json", "tp%2D8.npy", "tp-2"]
    assert sorted(os.listdir(mountpoint / "tp-2")) == ["rank-0", "rank-1"]
    assert (mountpoint / "tp%2D2" / "weight").read_bytes() == np.arange(8, dtype=np.float32).tobytes()
    assert (mountpoint / "tp-2" / "rank-1" / "tp%2D8").read_bytes() == np.arange(3, dtype=np.int8).tobytes()


def test_a_truncated_source_fails_reads_of_gathered_slices_without_killing_the_daemon(mounts, tmp_path):
    weight = np.arange(256 * 256, dtype=np.float32).reshape(256, 256)
    model = write_model(tmp_path / "model.safetensors", {"model.layers.0.self_attn.o_proj.weight": weight})
    mountpoint = mounts.mount(model, options=["--tp", "2"])
    strided = mountpoint / "tp-2" / "rank-1" / "model" / "layers" / "0" / "self_attn" / "o_proj" / "weight"
    os.truncate(model, 4096)
    with pytest.raises(OSError) as failure:
        strided.read_bytes()
    assert failure.value.errno == errno.EIO
    assert json.loads((strided.parent / "weight.json").read_text())["tensor_parallel"]["dim"] == 1
    assert is_mounted(mountpoint)


def test_slice_attributes_are_readable_as_extended_attributes(mounts, tmp_path):
    model = write_model(tmp_path / "model.safetensors", {"model.layers.0.mlp.down_proj.weight": np.zeros((4, 8), np.float16)})
    mountpoint = mounts.mount(model, options=["--tp", "4"])
    path = mountpoint / "tp-4" / "rank-2" / "model" / "layers" / "0" / "mlp" / "down_proj" / "weight"
    assert os.getxattr(path, "user.tensorfs.shape") == b"[4,2]"
    assert os.getxattr(path, "user.tensorfs.global_shape") == b"[4,8]"
    assert os.getxattr(path, "user.tensorfs.slice_dim") == b"1"
    assert os.getxattr(path, "user.tensorfs.slice_start") == b"4"
    assert os.getxattr(path, "user.tensorfs.slice_length") == b"2"


LOAD_RANK = """
import sys
import numpy as np
from safetensors import safe_open
with safe_open(sys.argv[1], "np") as opened:
    np.savez(sys.argv[2], **{name: opened.get_tensor(name) for name in opened.keys()})
"""


def llama_like(layers=2, hidden=256, intermediate=512, vocab=1024):
    rng = np.random.default_rng(0)
    tensors = {"model.embed_tokens.weight": rng.standard_normal((vocab, hidden)).astype(np.float16)}
    for layer in range(layers):
        prefix = f"model.layers.{layer}."
        for projection in ("q", "k", "v"):
            tensors[prefix + f"self_attn.{projection}_proj.weight"] = rng.standard_normal((hidden, hidden)).astype(np.float16)
            tensors[prefix + f"self_attn.{projection}_proj.bias"] = rng.standard_normal(hidden).astype(np.float16)
        tensors[prefix + "self_attn.o_proj.weight"] = rng.standard_normal((hidden, hidden)).astype(np.float16)
        tensors[prefix + "mlp.gate_proj.weight"] = rng.standard_normal((intermediate, hidden)).astype(np.float32)
        tensors[prefix + "mlp.up_proj.weight"] = rng.standard_normal((intermediate, hidden)).astype(np.float32)
        tensors[prefix + "mlp.down_proj.weight"] = rng.standard_normal((hidden, intermediate)).astype(np.float32)
        tensors[prefix + "input_layernorm.weight"] = rng.standard_normal(hidden).astype(np.float32)
        tensors[prefix + "post_attention_layernorm.weight"] = rng.standard_normal(hidden).astype(np.float32)
    tensors["model.norm.weight"] = rng.standard_normal(hidden).astype(np.float32)
    tensors["lm_head.weight"] = rng.standard_normal((vocab, hidden)).astype(np.float16)
    return tensors


def test_eight_processes_one_per_rank_together_hold_exactly_the_full_model(mounts, tmp_path):
    full = llama_like()
    model = write_model(tmp_path / "model.safetensors", full, metadata={"format": "pt"})
    mountpoint = mounts.mount(model, options=["--tp", "8"])
    processes = [subprocess.Popen([sys.executable, "-c", LOAD_RANK,
                                   str(mountpoint / "tp-8" / f"rank-{rank}" / "model.safetensors"), str(tmp_path / f"rank-{rank}.npz")])
                 for rank in range(8)]
    assert [process.wait(timeout=300) for process in processes] == [0] * 8
    ranks = [np.load(tmp_path / f"rank-{rank}.npz") for rank in range(8)]
    rows = {"embed_tokens", "lm_head", "q_proj", "k_proj", "v_proj", "gate_proj", "up_proj"}
    for name, tensor in full.items():
        parts = [held[name] for held in ranks]
        kind = name.split(".")[-2]
        if kind in rows:
            assert np.array_equal(np.concatenate(parts, axis=0), tensor), name
            assert all(part.shape[0] == tensor.shape[0] // 8 for part in parts), name
        elif kind in {"o_proj", "down_proj"}:
            assert np.array_equal(np.concatenate(parts, axis=1), tensor), name
            assert all(part.shape[1] == tensor.shape[1] // 8 for part in parts), name
        else:
            assert all(np.array_equal(part, tensor) for part in parts), name
    assert all(set(held.files) == set(full) for held in ranks)
    split = sum(tensor.nbytes for name, tensor in full.items() if name.split(".")[-2] in rows | {"o_proj", "down_proj"})
    replicated = sum(tensor.nbytes for tensor in full.values()) - split
    sizes = [json.loads((mountpoint / "tp-8" / f"rank-{rank}" / "__metadata__.json").read_text())["summary"]["bytes"] for rank in range(8)]
    assert sizes == [split // 8 + replicated] * 8
