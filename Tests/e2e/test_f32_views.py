"""The opt-in f32 view: T.f32.npy beside narrow floats, widened exactly as ml_dtypes and numpy
widen them, and FP8 weights dequantized with their scales bit for bit as numpy computes
np.float32(x) * np.float32(s)."""
import errno
import json
import os

import ml_dtypes
import numpy as np
import pytest

from conftest import assert_nothing_left, assert_one_line_failure, run, write_raw_model

F32_VIEWS = ("--views", "raw,json,npy,f32")
ALL_BYTES = np.arange(256, dtype=np.uint8)
ALL_HALVES = np.arange(1 << 16, dtype=np.uint32).astype(np.uint16)
# Header dtype -> the ml_dtypes (or numpy) type whose astype(np.float32) is the reference.
BYTE_TYPES = {
    "F8_E4M3": ml_dtypes.float8_e4m3fn, "F8_E5M2": ml_dtypes.float8_e5m2, "F8_E8M0": ml_dtypes.float8_e8m0fnu,
    "F8_E4M3FNUZ": ml_dtypes.float8_e4m3fnuz, "F8_E5M2FNUZ": ml_dtypes.float8_e5m2fnuz,
}


def bits(array):
    return np.ascontiguousarray(array, dtype=np.float32).view(np.uint32)


def f4_reference(packed):
    """Packed F4 bytes as float32: two elements a byte, the first in the low nibble (PyTorch's
    float4_e2m1fn_x2), each nibble an ml_dtypes float4_e2m1fn."""
    nibbles = np.stack([packed & 0xF, packed >> 4], axis=-1).reshape(-1)
    return nibbles.view(ml_dtypes.float4_e2m1fn).astype(np.float32)


@pytest.fixture(scope="module")
def every_pattern(tmp_path_factory):
    """Every bit pattern of every narrow float: all bytes of the 8-bit and F4 types, all 65536
    halves of F16 and BF16, plus dtypes the view leaves alone."""
    path = tmp_path_factory.mktemp("patterns") / "patterns.safetensors"
    write_raw_model(path, [
        ("f16", "F16", [256, 256], ALL_HALVES.tobytes()),
        ("bf16", "BF16", [2, 128, 256], ALL_HALVES.tobytes()),
        *[(dtype.lower(), dtype, [16, 16], ALL_BYTES.tobytes()) for dtype in BYTE_TYPES],
        ("f4", "F4", [4, 256], np.concatenate([ALL_BYTES, ALL_BYTES[::-1]]).tobytes()),
        ("f4_odd", "F4", [6, 3], ALL_BYTES[17:26].tobytes()),
        ("f4_scalar_pair", "F4", [2], bytes([0x9F])),
        ("f32", "F32", [4], np.arange(4, dtype=np.float32).tobytes()),
        ("i8", "I8", [4], bytes(4)),
        ("f6", "F6_E2M3", [4], bytes(3)),
    ])
    return path


def test_every_bit_pattern_of_every_narrow_float_widens_as_ml_dtypes_does(mounts, every_pattern):
    mountpoint = mounts.mount(every_pattern, options=F32_VIEWS)
    expected = {
        "f16": ALL_HALVES.view(np.float16).astype(np.float32).reshape(256, 256),
        "bf16": ALL_HALVES.view(ml_dtypes.bfloat16).astype(np.float32).reshape(2, 128, 256),
        **{dtype.lower(): ALL_BYTES.view(kind).astype(np.float32).reshape(16, 16) for dtype, kind in BYTE_TYPES.items()},
        "f4": f4_reference(np.concatenate([ALL_BYTES, ALL_BYTES[::-1]])).reshape(4, 256),
        "f4_odd": f4_reference(ALL_BYTES[17:26]).reshape(6, 3),
        "f4_scalar_pair": f4_reference(np.array([0x9F], dtype=np.uint8)),
    }
    for name, values in expected.items():
        loaded = np.load(mountpoint / f"{name}.f32.npy")
        assert loaded.dtype == np.dtype("<f4") and loaded.shape == values.shape, name
        assert np.array_equal(bits(loaded), bits(values)), name
    # The landmarks are there: NaNs, infinities, subnormals and both zeros.
    e5m2 = np.load(mountpoint / "f8_e5m2.f32.npy").ravel()
    assert np.isinf(e5m2).sum() == 2 and np.isnan(e5m2).sum() == 6 and e5m2[1] == 2.0 ** -16
    assert bits(e5m2)[0x80] == 0x8000_0000
    assert np.load(mountpoint / "f8_e8m0.f32.npy").ravel()[0] == 2.0 ** -127
    for name in ("f32", "i8", "f6"):
        assert not (mountpoint / f"{name}.f32.npy").exists()


def test_without_the_view_there_are_no_f32_files(mounts, every_pattern):
    mountpoint = mounts.mount(every_pattern)
    assert not any(name.endswith(".f32.npy") for name in os.listdir(mountpoint))
    assert "views" not in json.loads((mountpoint / "bf16.json").read_text())


def test_views_load_memory_mapped_at_random_offsets(mounts, every_pattern):
    mountpoint = mounts.mount(every_pattern, options=F32_VIEWS)
    reference = ALL_HALVES.view(ml_dtypes.bfloat16).astype(np.float32).reshape(2, 128, 256)
    mapped = np.load(mountpoint / "bf16.f32.npy", mmap_mode="r")
    rng = np.random.default_rng(5)
    for _ in range(300):
        start = int(rng.integers(0, reference.size))
        stop = int(rng.integers(start, min(reference.size, start + 5000) + 1))
        assert np.array_equal(bits(mapped.ravel()[start:stop]), bits(reference.ravel()[start:stop]))
    del mapped
    data = (mountpoint / "bf16.f32.npy").read_bytes()
    descriptor = os.open(mountpoint / "bf16.f32.npy", os.O_RDONLY)
    try:
        for _ in range(300):
            offset = int(rng.integers(0, len(data)))
            length = int(rng.integers(0, 3000))
            assert os.pread(descriptor, length, offset) == data[offset:offset + length]
    finally:
        os.close(descriptor)


def deepseek_checkpoint(directory, weight_scale_shape=(3, 4), config=True):
    """A small DeepSeek-V3-style FP8 checkpoint in two shards with an index: a [300, 400]
    F8_E4M3 weight holding every code (NaNs too) and its 128x128 block scales (ragged at both
    edges), the scale in the other shard; a per-channel compressed-tensors weight; config.json."""
    rng = np.random.default_rng(21)
    weight = np.resize(ALL_BYTES, (300, 400))
    rng.shuffle(weight.reshape(-1))
    scales = (rng.standard_normal(weight_scale_shape) * 1e-3).astype(np.float32)
    scales.reshape(-1)[:3] = [np.float32(2.0 ** -140), np.float32(-3e36), np.float32(0.0)]
    channel_weight = rng.integers(0, 256, (64, 96), dtype=np.uint8)
    channel_scales = (rng.random((64, 1)) * 4).astype(np.float32)
    directory.mkdir(parents=True, exist_ok=True)
    write_raw_model(directory / "model-00001-of-00002.safetensors", [
        ("model.layers.0.mlp.gate_proj.weight", "F8_E4M3", [300, 400], weight.tobytes()),
        ("model.layers.0.mlp.up_proj.weight", "F8_E4M3", [64, 96], channel_weight.tobytes()),
    ], metadata={"format": "pt"})
    write_raw_model(directory / "model-00002-of-00002.safetensors", [
        ("model.layers.0.mlp.gate_proj.weight_scale_inv", "F32", list(weight_scale_shape), scales.tobytes()),
        ("model.layers.0.mlp.up_proj.weight_scale", "F32", [64, 1], channel_scales.tobytes()),
        ("model.norm.weight", "BF16", [400], rng.integers(0, 1 << 16, 400, dtype=np.uint16).tobytes()),
    ], metadata={"format": "pt"})
    weight_map = {"model.layers.0.mlp.gate_proj.weight": "model-00001-of-00002.safetensors",
                  "model.layers.0.mlp.up_proj.weight": "model-00001-of-00002.safetensors",
                  "model.layers.0.mlp.gate_proj.weight_scale_inv": "model-00002-of-00002.safetensors",
                  "model.layers.0.mlp.up_proj.weight_scale": "model-00002-of-00002.safetensors",
                  "model.norm.weight": "model-00002-of-00002.safetensors"}
    (directory / "model.safetensors.index.json").write_text(json.dumps({"metadata": {}, "weight_map": weight_map}))
    if config:
        (directory / "config.json").write_text(json.dumps({
            "architectures": ["DeepseekV3ForCausalLM"], "hidden_size": 400,
            "quantization_config": {"activation_scheme": "dynamic", "fmt": "e4m3", "quant_method": "fp8", "weight_block_size": [128, 128]}}))
    return weight, scales, channel_weight, channel_scales


def block_dequantized(weight, scales):
    """x * s of its 128x128 block, computed by numpy in float32."""
    expanded = np.repeat(np.repeat(scales, 128, axis=0), 128, axis=1)[:weight.shape[0], :weight.shape[1]]
    return weight.view(ml_dtypes.float8_e4m3fn).astype(np.float32) * expanded


def test_a_deepseek_fp8_checkpoint_dequantizes_with_its_block_scales_bit_for_bit(mounts, tmp_path):
    weight, scales, channel_weight, channel_scales = deepseek_checkpoint(tmp_path / "model")
    mountpoint = mounts.mount(tmp_path / "model", options=F32_VIEWS)
    with np.errstate(invalid="ignore", over="ignore"):
        expected = block_dequantized(weight, scales)
        channel = channel_weight.view(ml_dtypes.float8_e4m3fn).astype(np.float32) * channel_scales
    gate = mountpoint / "model/layers/0/mlp/gate_proj/weight.f32.npy"
    assert np.array_equal(bits(np.load(gate)), bits(expected))
    assert np.isnan(np.load(gate)).any() and np.isinf(np.load(gate)).any()
    mapped = np.load(gate, mmap_mode="r")
    rng = np.random.default_rng(8)
    for _ in range(200):
        rows = sorted(rng.integers(0, 301, 2))
        columns = sorted(rng.integers(0, 401, 2))
        assert np.array_equal(bits(mapped[rows[0]:rows[1], columns[0]:columns[1]]), bits(expected[rows[0]:rows[1], columns[0]:columns[1]]))
    del mapped
    assert np.array_equal(bits(np.load(mountpoint / "model/layers/0/mlp/up_proj/weight.f32.npy")), bits(channel))
    sidecar = json.loads((mountpoint / "model/layers/0/mlp/gate_proj/weight.json").read_text())
    assert sidecar["views"] == [{
        "view": "f32", "suffix": ".f32.npy", "dtype": "F32", "shape": [300, 400], "nbytes": 480000,
        "dequantized_with": "model.layers.0.mlp.gate_proj.weight_scale_inv",
        "scale": {"granularity": "block", "block_size": [128, 128], "dtype": "F32", "shape": [3, 4]}}]
    assert json.loads((mountpoint / "model/norm/weight.json").read_text())["views"][0]["dequantized_with"] is None


def test_a_rank_holds_its_slice_of_the_dequantized_weight_whether_or_not_its_cut_meets_the_blocks(mounts, tmp_path):
    weight, scales, _, _ = deepseek_checkpoint(tmp_path / "model")
    mountpoint = mounts.mount(tmp_path / "model", options=(*F32_VIEWS, "--tp", "4", "--tp-rule", "*.gate_proj.weight 1"))
    with np.errstate(invalid="ignore", over="ignore"):
        expected = block_dequantized(weight, scales)
    slices = [np.load(mountpoint / f"tp-4/rank-{rank}/model/layers/0/mlp/gate_proj/weight.f32.npy") for rank in range(4)]
    assert [part.shape for part in slices] == [(300, 100)] * 4
    assert np.array_equal(bits(np.concatenate(slices, axis=1)), bits(expected))


def test_a_scale_of_the_wrong_shape_refuses_the_mount_naming_the_file_and_tensors(mounts, tmp_path):
    deepseek_checkpoint(tmp_path / "model", weight_scale_shape=(2, 4))
    result = mounts.attempt(tmp_path / "model", options=F32_VIEWS)
    mountpoint = tmp_path / "mnt"
    assert_one_line_failure(result, "model-00001-of-00002.safetensors: tensor `model.layers.0.mlp.gate_proj.weight` (F8_E4M3 [300,400])",
                            "its scale `model.layers.0.mlp.gate_proj.weight_scale_inv` (in model-00002-of-00002.safetensors) has shape [2,4]",
                            "[3,4] (one per 128x128 block, from config.json's quantization_config.weight_block_size)")
    assert_nothing_left(mountpoint)
    # Without the view, the checkpoint mounts as stored.
    mounts.mount(tmp_path / "model", name="plain")


def test_block_scales_without_a_config_are_refused_saying_so(mounts, tmp_path):
    deepseek_checkpoint(tmp_path / "model", config=False)
    result = mounts.attempt(tmp_path / "model", options=F32_VIEWS)
    mountpoint = tmp_path / "mnt"
    assert_one_line_failure(result, "one per block (but the model has no config.json to give a block size: mount the model's directory, which brings it along)")
    assert_nothing_left(mountpoint)


def test_inspect_shows_which_tensors_carry_scales_and_the_block_size(tensorfs_bin, tmp_path):
    deepseek_checkpoint(tmp_path / "model")
    table = run(tensorfs_bin, "inspect", tmp_path / "model", check=True).stdout
    section = table.split("\n\n")[-2].splitlines()
    assert section[0].split() == ["SCALED", "TENSOR", "DTYPE", "SCALE", "GRANULARITY", "SCALE", "SHAPE"]
    assert section[1].split() == ["model.layers.0.mlp.gate_proj.weight", "F8_E4M3", "model.layers.0.mlp.gate_proj.weight_scale_inv", "block", "128x128", "[3,4]"]
    assert section[2].split() == ["model.layers.0.mlp.up_proj.weight", "F8_E4M3", "model.layers.0.mlp.up_proj.weight_scale", "channel", "[64,1]"]
    assert section[3] == "2 FP8 tensors carry scales; block size 128x128 (config.json quantization_config.weight_block_size)"
    report = json.loads(run(tensorfs_bin, "inspect", "--json", tmp_path / "model", check=True).stdout)
    assert report["weight_block_size"] == [128, 128]
    scaled = {tensor["name"]: (tensor["dequantized_with"], tensor["scale_granularity"]) for tensor in report["tensors"] if "dequantized_with" in tensor}
    assert scaled == {"model.layers.0.mlp.gate_proj.weight": ("model.layers.0.mlp.gate_proj.weight_scale_inv", "block"),
                      "model.layers.0.mlp.up_proj.weight": ("model.layers.0.mlp.up_proj.weight_scale", "channel")}


def test_a_truncated_source_fails_reads_of_converted_values_without_killing_the_daemon(mounts, tmp_path):
    source = tmp_path / "model.safetensors"
    halves = np.resize(ALL_HALVES, 1 << 20)
    write_raw_model(source, [("a", "BF16", [1 << 20], halves.tobytes()), ("b", "F8_E4M3", [1 << 20], np.resize(ALL_BYTES, 1 << 20).tobytes())])
    mountpoint = mounts.mount(source, options=F32_VIEWS)
    with open(source, "rb") as handle:
        data_start = 8 + int.from_bytes(handle.read(8), "little")
    # Cut inside `a`: its first half still converts, the rest and all of `b` fail.
    os.truncate(source, data_start + (1 << 20))
    with open(mountpoint / "a.f32.npy", "rb") as handle:
        preamble = handle.read(128)
        header = 10 + int.from_bytes(preamble[8:10], "little")
        assert np.array_equal(np.frombuffer(handle.read(1 << 20), dtype="<u4"), bits(halves[:1 << 18].view(ml_dtypes.bfloat16)))
    for name in ("a.f32.npy", "b.f32.npy"):
        with pytest.raises(OSError) as failure:
            (mountpoint / name).read_bytes()
        assert failure.value.errno == errno.EIO
    assert header == 128 and json.loads((mountpoint / "b.json").read_text())["views"][0]["view"] == "f32"
