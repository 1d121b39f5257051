"""Every byte read through the mount is the reference library's byte: whole files, arbitrary
offsets and lengths, every dtype, mmap, and many readers at once."""
import concurrent.futures
import mmap
import os
import random

import ml_dtypes
import numpy as np
import pytest
from safetensors import safe_open

from conftest import tensor_path, write_model, write_raw_model
from reference import reference_bytes, serialize_raw

# Every dtype the reference writer takes from a NumPy array (ml_dtypes supplies BF16 and F8).
NUMPY_DTYPES = {
    "BOOL": np.bool_, "U8": np.uint8, "I8": np.int8, "I16": np.int16, "U16": np.uint16,
    "I32": np.int32, "U32": np.uint32, "I64": np.int64, "U64": np.uint64, "F16": np.float16,
    "F32": np.float32, "F64": np.float64, "C64": np.complex64, "BF16": ml_dtypes.bfloat16,
    "F8_E5M2": ml_dtypes.float8_e5m2, "F8_E4M3": ml_dtypes.float8_e4m3fn,
    "F8_E4M3FNUZ": ml_dtypes.float8_e4m3fnuz, "F8_E5M2FNUZ": ml_dtypes.float8_e5m2fnuz,
    "F8_E8M0": ml_dtypes.float8_e8m0fnu,
}
SHAPES = [(), (0,), (1,), (7,), (3, 5), (2, 3, 4), (4, 0, 2), (129, 33)]


def random_array(rng, dtype, shape):
    """Random bits of the right width, NaNs and all: the comparison is of bytes."""
    itemsize = np.dtype(dtype).itemsize
    raw = rng.integers(0, 256, size=int(np.prod(shape)) * itemsize, dtype=np.uint8)
    if dtype is np.bool_:
        raw &= 1
    return raw.view(dtype).reshape(shape)


@pytest.fixture(scope="module")
def every_dtype(tmp_path_factory):
    """Files holding every dtype in several shapes: one from the reference writer's save_file,
    one with F4 from its serialize, one hand-crafted for what it cannot write."""
    directory = tmp_path_factory.mktemp("dtypes")
    rng = np.random.default_rng(3)
    arrays = {
        f"{dtype_name.lower()}.s{index}": random_array(rng, dtype, shape)
        for dtype_name, dtype in NUMPY_DTYPES.items() for index, shape in enumerate(SHAPES)
    }
    written = write_model(directory / "numpy.safetensors", arrays, metadata={"format": "np"})

    packed = {f"f4.s{index}": ("float4_e2m1fn_x2", [2 * size], rng.bytes(size)) for index, size in enumerate([0, 1, 3, 64, 1000])}
    serialized = directory / "f4.safetensors"
    serialized.write_bytes(bytes(serialize_raw(packed)))

    crafted = write_raw_model(directory / "crafted.safetensors", [
        ("f6_e2m3.a", "F6_E2M3", [4], rng.bytes(3)),
        ("f6_e2m3.b", "F6_E2M3", [2, 6, 4], rng.bytes(36)),
        ("f6_e3m2.a", "F6_E3M2", [8], rng.bytes(6)),
        ("f6_e3m2.empty", "F6_E3M2", [0, 4], b""),
        ("f4.odd", "F4", [3, 2], rng.bytes(3)),
        ("f4.large", "F4", [2, 4096], rng.bytes(4096)),
        ("f8_e8m0.a", "F8_E8M0", [5, 3], rng.bytes(15)),
        ("u8.tail", "U8", [13], rng.bytes(13)),
    ])
    return [written, serialized, crafted]


def read_ranges(size, rng):
    """Offsets and lengths as `dd` and loaders ask: empty, single bytes, unaligned, page-sized,
    across the end and wholly past it."""
    ranges = [(0, 0), (0, 1), (0, size), (0, size + 4096), (size, 1), (size + 100, 10)]
    if size:
        ranges += [(size - 1, 1), (size - 1, 2), (size // 2, size), (1, size - 1)]
    for _ in range(12):
        offset = int(rng.integers(0, size + 2))
        ranges.append((offset, int(rng.choice([1, 3, 7, 511, 4095, 4096, 4097, 65537, 1 << 20]))))
    return ranges


def assert_reads_match(path, expected, rng):
    """Reads `path` whole, then at many offsets both through the page cache and with O_DIRECT
    (which sends each request to the daemon exactly as asked)."""
    assert path.read_bytes() == expected, path
    for flags in (os.O_RDONLY, os.O_RDONLY | os.O_DIRECT):
        descriptor = os.open(path, flags)
        try:
            for offset, length in read_ranges(len(expected), rng):
                assert os.pread(descriptor, length, offset) == expected[offset:offset + length], (path, flags, offset, length)
        finally:
            os.close(descriptor)


def test_every_tensor_of_the_sample_model_reads_back_byte_identical(mounts, sample_model):
    mountpoint = mounts.mount(sample_model)
    expected = reference_bytes(sample_model)
    with safe_open(str(sample_model), "np") as reference:
        assert sorted(reference.keys()) == sorted(expected)
        for name in reference.keys():
            data = tensor_path(mountpoint, name).read_bytes()
            assert data == expected[name] == reference.get_tensor(name).tobytes(), name


def test_sample_model_tensors_read_at_arbitrary_offsets(mounts, sample_model):
    mountpoint = mounts.mount(sample_model)
    rng = np.random.default_rng(7)
    expected = reference_bytes(sample_model)
    names = sorted(expected)
    for name in names[:3] + random.Random(5).sample(names, 8):
        assert_reads_match(tensor_path(mountpoint, name), expected[name], rng)


def test_model_safetensors_is_the_source_file(mounts, sample_model):
    mountpoint = mounts.mount(sample_model, options=["--no-passthrough"])
    source = sample_model.read_bytes()
    assert (mountpoint / "model.safetensors").read_bytes() == source
    assert_reads_match(mountpoint / "model.safetensors", source, np.random.default_rng(11))


def test_model_safetensors_read_by_the_kernel_itself_reads_as_the_source_does(mounts, sample_model):
    # Through passthrough every read, O_DIRECT ones included, is a read of the source file: the
    # same bytes, or the same error (O_DIRECT wants the source filesystem's alignment).
    mountpoint = mounts.mount(sample_model)
    source = sample_model.read_bytes()
    assert (mountpoint / "model.safetensors").read_bytes() == source
    for flags in (os.O_RDONLY, os.O_RDONLY | os.O_DIRECT):
        mounted, original = os.open(mountpoint / "model.safetensors", flags), os.open(sample_model, flags)
        try:
            for offset, length in read_ranges(len(source), np.random.default_rng(11)) + [(0, 4096), (1 << 20, 1 << 20)]:
                outcomes = []
                for descriptor in (mounted, original):
                    buffer = mmap.mmap(-1, max(length, 1))
                    try:
                        outcomes.append(bytes(buffer[:os.preadv(descriptor, [memoryview(buffer)[:length]], offset)]))
                    except OSError as failure:
                        outcomes.append(failure.errno)
                    buffer.close()
                assert outcomes[0] == outcomes[1], (flags, offset, length, outcomes[0] if isinstance(outcomes[0], int) else len(outcomes[0]))
        finally:
            os.close(mounted)
            os.close(original)


def test_every_dtype_reads_back_byte_identical(mounts, every_dtype):
    rng = np.random.default_rng(13)
    for number, source in enumerate(every_dtype):
        mountpoint = mounts.mount(source, name=f"mnt{number}")
        expected = reference_bytes(source)
        assert expected, source
        for name, data in expected.items():
            assert_reads_match(tensor_path(mountpoint, name), data, rng)


def test_hand_crafted_tensors_are_the_bytes_written(mounts, tmp_path):
    entries = [("f6.x", "F6_E2M3", [4, 4], bytes(range(12))), ("f4.x", "F4", [6], b"\x10\x32\x54")]
    source = write_raw_model(tmp_path / "crafted.safetensors", entries)
    mountpoint = mounts.mount(source)
    for name, _, _, data in entries:
        assert tensor_path(mountpoint, name).read_bytes() == data


def test_tensor_files_can_be_mapped_into_memory(mounts, sample_model):
    mountpoint = mounts.mount(sample_model)
    expected = reference_bytes(sample_model)
    name = "encoder.layer.0.attention.self.query.weight"
    with open(tensor_path(mountpoint, name), "rb") as file:
        with mmap.mmap(file.fileno(), 0, prot=mmap.PROT_READ) as mapping:
            assert mapping[:] == expected[name]
            assert mapping[12345:12345 + 999] == expected[name][12345:12345 + 999]
    array = np.memmap(tensor_path(mountpoint, name), dtype=np.float32, mode="r", shape=(384, 384))
    assert array.tobytes() == expected[name]


def test_the_reference_loader_reads_the_mounted_model(mounts, sample_model):
    """safe_open maps the whole file: the mounted model.safetensors must allow that."""
    mountpoint = mounts.mount(sample_model)
    expected = reference_bytes(sample_model)
    with safe_open(str(mountpoint / "model.safetensors"), "np") as mounted:
        assert sorted(mounted.keys()) == sorted(expected)
        for name in mounted.keys():
            assert mounted.get_tensor(name).tobytes() == expected[name], name


def test_many_readers_at_once_read_the_right_bytes(mounts, sample_model):
    mountpoint = mounts.mount(sample_model)
    expected = reference_bytes(sample_model)
    names = sorted(expected)

    def read_direct(job):
        name, seed = job
        rng = np.random.default_rng(seed)
        data = expected[name]
        descriptor = os.open(tensor_path(mountpoint, name), os.O_RDONLY | os.O_DIRECT)
        try:
            for offset, length in read_ranges(len(data), rng):
                if os.pread(descriptor, length, offset) != data[offset:offset + length]:
                    return (name, offset, length)
        finally:
            os.close(descriptor)
        return None

    jobs = [(names[index % len(names)], index) for index in range(64)]
    with concurrent.futures.ThreadPoolExecutor(max_workers=16) as pool:
        failures = [failure for failure in pool.map(read_direct, jobs) if failure]
    assert failures == []
