"""The reference library (safetensors), as the tests use it: reading every tensor of a file, and
writing files, including dtypes numpy cannot hold."""
import pathlib
from typing import NamedTuple

import numpy as np
from safetensors import TensorSpec, deserialize, serialize

from conftest import tensor_path

# Every dtype the reference writer accepts, by its writer name (F6 is not writable there).
WRITER_DTYPES = {
    "bool": 8, "uint8": 8, "int8": 8, "int16": 16, "uint16": 16, "int32": 32, "uint32": 32,
    "int64": 64, "uint64": 64, "float16": 16, "bfloat16": 16, "float32": 32, "float64": 64,
    "complex64": 64, "float8_e5m2": 8, "float8_e4m3fn": 8, "float8_e8m0fnu": 8,
    "float8_e4m3fnuz": 8, "float8_e5m2fnuz": 8, "float4_e2m1fn_x2": 4,
}


def serialize_raw(tensors, metadata=None):
    """Serializes {name: (writer dtype, shape, bytes)} with the reference writer. For the packed
    F4 type the writer takes the storage shape (two elements per byte in the last dimension)."""
    buffers = {name: np.frombuffer(data, dtype=np.uint8).copy() for name, (_, _, data) in tensors.items()}
    specs = {
        name: TensorSpec(dtype=dtype, shape=storage_shape(dtype, shape), data_ptr=buffers[name].ctypes.data, data_len=len(data))
        for name, (dtype, shape, data) in tensors.items()
    }
    return serialize(specs, metadata=metadata)


def storage_shape(dtype, shape):
    if dtype == "float4_e2m1fn_x2":
        return [*shape[:-1], shape[-1] // 2]
    return list(shape)


class ReferenceTensor(NamedTuple):
    """One tensor as the reference library reads it."""
    dtype: str
    """The header's dtype: `F32`, `BF16`, `F4`, ..."""
    shape: tuple
    data: bytes


def reference_tensors(source):
    """{name: ReferenceTensor} of every tensor in `source` (a path, or a whole file's bytes), as
    the reference library reads it; fails as it does on a file it refuses."""
    contents = source if isinstance(source, (bytes, bytearray)) else pathlib.Path(source).read_bytes()
    return {name: ReferenceTensor(entry["dtype"], tuple(entry["shape"]), bytes(entry["data"]))
            for name, entry in deserialize(contents)}


def reference_bytes(source):
    """{name: raw bytes} of every tensor in `source`, as `reference_tensors` reads them."""
    return {name: tensor.data for name, tensor in reference_tensors(source).items()}


def assert_reads_back(mountpoint, source):
    """Every tensor of the file `source` reads through `mountpoint` as the reference reads it."""
    for name, data in reference_bytes(source).items():
        assert tensor_path(mountpoint, name).read_bytes() == data, name
