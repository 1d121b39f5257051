"""The `.npy` view and extended attributes of tensor files, and choosing views at mount."""
import errno
import json
import os
import warnings

import ml_dtypes
import numpy as np
import pytest

from conftest import write_model, write_raw_model
from reference import WRITER_DTYPES, reference_tensors, serialize_raw

# Header dtype -> (npy descr, ml_dtypes type that views the bytes, or None).
PRESENTATION = {
    "BOOL": ("|b1", None), "U8": ("|u1", None), "I8": ("|i1", None), "I16": ("<i2", None),
    "U16": ("<u2", None), "I32": ("<i4", None), "U32": ("<u4", None), "I64": ("<i8", None),
    "U64": ("<u8", None), "F16": ("<f2", None), "F32": ("<f4", None), "F64": ("<f8", None),
    "C64": ("<c8", None), "BF16": ("<u2", ml_dtypes.bfloat16),
    "F8_E5M2": ("|u1", ml_dtypes.float8_e5m2), "F8_E4M3": ("|u1", ml_dtypes.float8_e4m3fn),
    "F8_E8M0": ("|u1", ml_dtypes.float8_e8m0fnu), "F8_E4M3FNUZ": ("|u1", ml_dtypes.float8_e4m3fnuz),
    "F8_E5M2FNUZ": ("|u1", ml_dtypes.float8_e5m2fnuz), "F4": ("|u1", None),
    "F6_E2M3": ("|u1", None), "F6_E3M2": ("|u1", None),
}


def npy_shape(dtype, shape, nbytes):
    """The documented shape of a tensor's .npy: packed sub-byte types count bytes."""
    if dtype == "F4":
        return (*shape[:-1], shape[-1] // 2) if shape and shape[-1] % 2 == 0 else (nbytes,)
    if dtype in ("F6_E2M3", "F6_E3M2"):
        return (*shape[:-1], shape[-1] // 4 * 3) if shape and shape[-1] % 4 == 0 else (nbytes,)
    return tuple(shape)


def crafted_f6_file(path):
    """The reference cannot write F6: hand-craft a file with F6 tensors of both kinds."""
    return write_raw_model(path, [
        ("a", "F6_E2M3", [2, 8], bytes(range(7, 19))),
        ("b", "F6_E3M2", [4], bytes(range(19, 22))),
        ("c", "F6_E2M3", [2, 2], bytes(range(22, 25))),
    ])


@pytest.fixture(scope="module")
def every_dtype(tmp_path_factory):
    """Files covering all 22 dtypes, with scalar, empty and multi-dimensional tensors."""
    directory = tmp_path_factory.mktemp("dtypes")
    rng = np.random.default_rng(11)
    tensors = {}
    for dtype, bits in WRITER_DTYPES.items():
        for index, shape in enumerate([(), (0, 4), (6,), (2, 3, 4)]):
            elements = int(np.prod(shape)) if shape else 1
            if bits == 4 and (not shape or shape[-1] % 2):
                continue
            tensors[f"{dtype}.t{index}"] = (dtype, shape, rng.integers(0, 256, elements * bits // 8, dtype=np.uint8).tobytes())
    (directory / "all.safetensors").write_bytes(serialize_raw(tensors))
    crafted_f6_file(directory / "f6.safetensors")
    return directory


def test_every_dtype_loads_from_npy_bit_for_bit_plain_and_memory_mapped(mounts, every_dtype):
    mountpoint = mounts.mount(every_dtype)
    checked = set()
    for source in sorted(every_dtype.iterdir()):
        for name, entry in reference_tensors(source).items():
            path = str(mountpoint / name.replace(".", "/")) + ".npy"
            descr, _ = PRESENTATION[entry.dtype]
            expected_shape = npy_shape(entry.dtype, entry.shape, len(entry.data))
            with warnings.catch_warnings():
                warnings.simplefilter("error")
                with open(path, "rb") as handle:
                    version = np.lib.format.read_magic(handle)
                    read_header = np.lib.format.read_array_header_1_0 if version == (1, 0) else np.lib.format.read_array_header_2_0
                    shape, fortran, dtype = read_header(handle)
                    data_start = handle.tell()
                    assert data_start % 64 == 0
                plain = np.load(path)
                mapped = np.load(path, mmap_mode="r")
            assert (shape, fortran, dtype) == (expected_shape, False, np.dtype(descr)), name
            for array in (plain, mapped):
                assert array.dtype == np.dtype(descr) and array.shape == expected_shape, name
                assert array.tobytes() == entry.data, name
            assert os.path.getsize(path) == data_start + len(entry.data)
            checked.add(entry.dtype)
    assert checked == set(PRESENTATION)


def test_ml_dtypes_views_the_npy_bytes_in_one_step(mounts, every_dtype):
    mountpoint = mounts.mount(every_dtype)
    for name, entry in reference_tensors(every_dtype / "all.safetensors").items():
        _, ml_type = PRESENTATION[entry.dtype]
        if ml_type is None:
            continue
        viewed = np.load(str(mountpoint / name.replace(".", "/")) + ".npy").view(ml_type)
        expected = np.frombuffer(entry.data, dtype=ml_type).reshape(entry.shape)
        assert viewed.shape == expected.shape
        assert viewed.tobytes() == expected.tobytes()


def test_the_sample_model_loads_from_npy(mounts, sample_model):
    mountpoint = mounts.mount(sample_model)
    for name, entry in reference_tensors(sample_model).items():
        array = np.load(str(mountpoint / name.replace(".", "/")) + ".npy", mmap_mode="r")
        expected = np.frombuffer(entry.data, dtype=PRESENTATION[entry.dtype][0]).reshape(entry.shape)
        assert np.array_equal(array, expected), name


def test_tensor_files_carry_extended_attributes_that_cannot_be_set(mounts, tmp_path):
    source = write_model(tmp_path / "x.safetensors", {"a.b": np.arange(6, dtype=np.float32).reshape(2, 3), "c": np.zeros(2, np.int8)})
    mountpoint = mounts.mount(source)
    path = str(mountpoint / "a/b")
    assert sorted(os.listxattr(path)) == sorted(f"user.tensorfs.{key}" for key in ["name", "dtype", "shape", "file", "offset"])
    assert os.getxattr(path, "user.tensorfs.name") == b"a.b"
    assert os.getxattr(path, "user.tensorfs.dtype") == b"F32"
    assert json.loads(os.getxattr(path, "user.tensorfs.shape")) == [2, 3]
    assert os.getxattr(path, "user.tensorfs.file") == b"x.safetensors"
    offset = int(os.getxattr(path, "user.tensorfs.offset"))
    with open(source, "rb") as original:
        original.seek(offset)
        assert original.read(24) == np.arange(6, dtype=np.float32).tobytes()
    with pytest.raises(OSError) as missing:
        os.getxattr(path, "user.other")
    assert missing.value.errno == errno.ENODATA
    for attempt in (lambda: os.setxattr(path, "user.tensorfs.dtype", b"F16"), lambda: os.removexattr(path, "user.tensorfs.dtype")):
        with pytest.raises(OSError) as refused:
            attempt()
        assert refused.value.errno in (errno.EROFS, errno.EPERM, errno.EACCES)
    assert os.listxattr(str(mountpoint / "a")) == []


@pytest.mark.parametrize("views, expected", [
    ("raw", ["c"]),
    ("json", ["c.json"]),
    ("npy", ["c.npy"]),
    ("raw,npy", ["c", "c.npy"]),
])
def test_views_choose_which_files_appear(mounts, tmp_path, views, expected):
    source = write_model(tmp_path / "x.safetensors", {"c": np.zeros(2, np.int8)})
    mountpoint = mounts.mount(source, options=["--views", views])
    assert sorted(os.listdir(mountpoint)) == sorted(expected + ["__metadata__.json", "model.safetensors"])


def test_an_unknown_view_is_refused(tensorfs_bin, tmp_path):
    from conftest import run
    source = write_model(tmp_path / "x.safetensors", {"c": np.zeros(2, np.int8)})
    (tmp_path / "mnt").mkdir()
    result = run(tensorfs_bin, "mount", "--views", "raw,csv", source, tmp_path / "mnt")
    assert result.returncode != 0 and "csv" in result.stderr
