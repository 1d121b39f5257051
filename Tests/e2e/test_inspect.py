"""`tensorfs inspect` against the reference library: same verdict on every file, same tensors,
dtypes, shapes and bytes on every valid one."""
import json
import random
import struct

import numpy as np
import pytest
from safetensors import safe_open

from conftest import run
from reference import WRITER_DTYPES, reference_tensors, serialize_raw

def reference_view(path):
    """What the reference sees: {name: (dtype, shape, bytes)} and the metadata."""
    with safe_open(str(path), "np") as handle:
        metadata = handle.metadata() or {}
    return {name: (tensor.dtype, list(tensor.shape), tensor.data) for name, tensor in reference_tensors(path).items()}, metadata


def inspect_json(tensorfs_bin, path):
    result = run(tensorfs_bin, "inspect", "--json", path)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def assert_agrees_with_reference(tensorfs_bin, path):
    expected, metadata = reference_view(path)
    report = inspect_json(tensorfs_bin, path)
    assert report["metadata"] == metadata
    data_start = 8 + struct.unpack("<Q", path.read_bytes()[:8])[0]
    contents = path.read_bytes()
    seen = {}
    for tensor in report["tensors"]:
        begin, end = tensor["data_offsets"]
        seen[tensor["name"]] = (tensor["dtype"], tensor["shape"], contents[data_start + begin:data_start + end])
        assert tensor["file"] == path.name
    assert seen == expected


def test_the_sample_model_is_seen_as_the_reference_sees_it(tensorfs_bin, sample_model):
    assert_agrees_with_reference(tensorfs_bin, sample_model)
    assert len(inspect_json(tensorfs_bin, sample_model)["tensors"]) == 104


@pytest.mark.parametrize("dtype", sorted(WRITER_DTYPES))
def test_every_writable_dtype_is_seen_as_the_reference_sees_it(tensorfs_bin, tmp_path, dtype):
    rng = np.random.default_rng(7)
    bits = WRITER_DTYPES[dtype]
    tensors = {}
    for index, shape in enumerate([(), (0,), (4,), (2, 3, 4), (8, 0, 2), (1, 1, 1, 6)]):
        elements = int(np.prod(shape)) if shape else 1
        if bits == 4 and (not shape or shape[-1] % 2):
            continue
        data = rng.integers(0, 256, size=elements * bits // 8, dtype=np.uint8).tobytes()
        tensors[f"layer.{index}.weight"] = (dtype, shape, data)
    path = tmp_path / f"{dtype}.safetensors"
    path.write_bytes(serialize_raw(tensors, metadata={"format": "pt", "dtype": dtype}))
    assert_agrees_with_reference(tensorfs_bin, path)


def test_the_human_table_lists_every_tensor_then_totals_and_a_summary(tensorfs_bin, sample_model):
    result = run(tensorfs_bin, "inspect", sample_model)
    assert result.returncode == 0
    tensors, dtypes, summary = result.stdout.rstrip("\n").split("\n\n")
    rows = tensors.splitlines()
    assert rows[0].split() == ["NAME", "DTYPE", "SHAPE", "SIZE"]
    assert len(rows) == 1 + 104
    assert [row.split()[0] for row in rows[1:]] == sorted(row.split()[0] for row in rows[1:])
    assert [line.split()[:2] for line in dtypes.splitlines()] == [["DTYPE", "TENSORS"], ["F32", "103"], ["I64", "1"]]
    assert summary.startswith("104 tensors, ") and "F32 103" in summary and "I64 1" in summary


def test_a_filter_sort_and_limit_select_what_is_listed(tensorfs_bin, sample_model):
    result = run(tensorfs_bin, "inspect", "--json", "--filter", "encoder.layer.0.*", "--sort", "size", "--limit", "3", sample_model)
    listed = json.loads(result.stdout)["tensors"]
    with safe_open(str(sample_model), "np") as reference:
        matching = [name for name in reference.keys() if name.startswith("encoder.layer.0.")]
        sizes = {name: reference.get_tensor(name).nbytes for name in matching}
    assert len(listed) == 3
    assert [tensor["name"] for tensor in listed] == sorted(matching, key=lambda name: (-sizes[name], name))[:3]
    table = run(tensorfs_bin, "inspect", "--filter", "encoder.layer.0.*", "--limit", "3", sample_model).stdout
    assert f"… {len(matching) - 3} more" in table
    assert table.rstrip().splitlines()[-1].startswith(f"{len(matching)} tensors (of 104)")


def test_summary_mode_prints_only_totals(tensorfs_bin, sample_model):
    output = run(tensorfs_bin, "inspect", "--summary", sample_model).stdout
    assert output.splitlines()[0].split() == ["DTYPE", "TENSORS", "SIZE"]
    assert "embeddings" not in output


# Crafted headers: (id, JSON header text, data length). The verdict comes from the reference.
def header_file(text, data_length=0, declared_length=None):
    header = text.encode() if isinstance(text, str) else text
    length = len(header) if declared_length is None else declared_length
    return struct.pack("<Q", length) + header + bytes(data_length)


CRAFTED = [
    ("empty object", header_file("{}")),
    ("one tensor", header_file('{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}', 8)),
    ("whitespace around", header_file(' \t\r\n{"a":{"dtype":"U8","shape":[1],"data_offsets":[0,1]}} \n', 1)),
    ("trailing garbage", header_file('{}x')),
    ("nul padding", header_file(b'{}\x00\x00')),
    ("byte order mark", header_file(b'\xef\xbb\xbf{}')),
    ("lower-case dtype", header_file('{"a":{"dtype":"f32","shape":[1],"data_offsets":[0,4]}}', 4)),
    ("unknown dtype", header_file('{"a":{"dtype":"F128","shape":[1],"data_offsets":[0,16]}}', 16)),
    ("three offsets", header_file('{"a":{"dtype":"U8","shape":[1],"data_offsets":[0,1,1]}}', 1)),
    ("float offset", header_file('{"a":{"dtype":"U8","shape":[1],"data_offsets":[0,1.0]}}', 1)),
    ("exponent shape", header_file('{"a":{"dtype":"U8","shape":[1e0],"data_offsets":[0,1]}}', 1)),
    ("string shape", header_file('{"a":{"dtype":"U8","shape":["1"],"data_offsets":[0,1]}}', 1)),
    ("negative zero", header_file('{"a":{"dtype":"U8","shape":[-0],"data_offsets":[0,0]}}')),
    ("huge number", header_file('{"a":{"dtype":"U8","shape":[18446744073709551616],"data_offsets":[0,0]}}')),
    ("missing shape", header_file('{"a":{"dtype":"U8","data_offsets":[0,0]}}')),
    ("null tensor", header_file('{"a":null}')),
    ("metadata null", header_file('{"__metadata__":null}')),
    ("metadata number", header_file('{"__metadata__":{"a":1}}')),
    ("metadata twice", header_file('{"__metadata__":{},"__metadata__":{}}')),
    ("unknown field", header_file('{"a":{"dtype":"U8","shape":[1],"data_offsets":[0,1],"x":[{"y":1e300}]}}', 1)),
    ("out of range float", header_file('{"a":{"dtype":"U8","shape":[1],"data_offsets":[0,1],"x":1e400}}', 1)),
    ("hole", header_file('{"a":{"dtype":"U8","shape":[1],"data_offsets":[0,1]},"b":{"dtype":"U8","shape":[1],"data_offsets":[2,3]}}', 3)),
    ("overlap", header_file('{"a":{"dtype":"U8","shape":[2],"data_offsets":[0,2]},"b":{"dtype":"U8","shape":[2],"data_offsets":[1,3]}}', 3)),
    ("end before begin", header_file('{"a":{"dtype":"U8","shape":[0],"data_offsets":[1,0]}}', 1)),
    ("size mismatch", header_file('{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,4]}}', 4)),
    ("odd F4 count", header_file('{"a":{"dtype":"F4","shape":[3],"data_offsets":[0,2]}}', 2)),
    ("F6 of four", header_file('{"a":{"dtype":"F6_E2M3","shape":[4],"data_offsets":[0,3]}}', 3)),
    ("F6 of two", header_file('{"a":{"dtype":"F6_E3M2","shape":[2],"data_offsets":[0,2]}}', 2)),
    ("shape overflow", header_file('{"a":{"dtype":"U8","shape":[4294967296,4294967296],"data_offsets":[0,0]}}')),
    ("scalar", header_file('{"a":{"dtype":"F64","shape":[],"data_offsets":[0,8]}}', 8)),
    ("zero-size tensors share an offset", header_file('{"a":{"dtype":"U8","shape":[0],"data_offsets":[0,0]},"b":{"dtype":"F32","shape":[5,0],"data_offsets":[0,0]}}')),
    ("trailing data", header_file('{}', 3)),
    ("short data", header_file('{"a":{"dtype":"U8","shape":[4],"data_offsets":[0,4]}}', 3)),
    ("header past end", header_file('{}', 0, declared_length=100)),
    ("too short", b"\x02\x00\x00"),
    ("lone surrogate", header_file('{"\\ud800":{"dtype":"U8","shape":[0],"data_offsets":[0,0]}}')),
    ("control character", header_file('{"a\x01":{"dtype":"U8","shape":[0],"data_offsets":[0,0]}}')),
    ("invalid utf-8", header_file(b'{"\xc0\xaf":{"dtype":"U8","shape":[0],"data_offsets":[0,0]}}')),
    ("array at top", header_file('[]')),
    ("escaped field name", header_file('{"a":{"dty\\u0070e":"U8","shape":[1],"data_offsets":[0,1]}}', 1)),
    ("deep unknown field", header_file('{"a":{"dtype":"U8","shape":[0],"data_offsets":[0,0],"x":' + "[" * 125 + "]" * 125 + "}}")),
    ("too deep unknown field", header_file('{"a":{"dtype":"U8","shape":[0],"data_offsets":[0,0],"x":' + "[" * 126 + "]" * 126 + "}}")),
]


def reference_accepts(contents):
    try:
        reference_tensors(contents)
        return True
    except Exception:
        return False


def check_verdict(tensorfs_bin, path, contents):
    path.write_bytes(contents)
    result = run(tensorfs_bin, "inspect", "--json", path)
    expected = reference_accepts(contents)
    assert (result.returncode == 0) == expected, (contents[:200], result.stderr)
    if not expected:
        assert result.returncode == 1
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith(f"tensorfs: {path}: "), result.stderr


@pytest.mark.parametrize("case", CRAFTED, ids=[case[0] for case in CRAFTED])
def test_crafted_files_get_the_reference_verdict(tensorfs_bin, tmp_path, case):
    check_verdict(tensorfs_bin, tmp_path / "crafted.safetensors", case[1])


def test_a_duplicated_tensor_name_is_refused_though_the_reference_keeps_the_last(tensorfs_bin, tmp_path):
    path = tmp_path / "dup.safetensors"
    path.write_bytes(header_file('{"a":{"dtype":"U8","shape":[0],"data_offsets":[0,0]},"a":{"dtype":"U8","shape":[0],"data_offsets":[0,0]}}'))
    assert reference_accepts(path.read_bytes())
    result = run(tensorfs_bin, "inspect", path)
    assert result.returncode == 1
    assert "defined more than once" in result.stderr


@pytest.mark.slow
def test_mutated_headers_get_the_reference_verdict(tensorfs_bin, tmp_path):
    """Random byte edits of valid files: tensorfs and the reference must agree on each."""
    rng = random.Random(20261125)
    base = serialize_raw({
        "model.embed.weight": ("bfloat16", (3, 4), bytes(24)),
        "model.norm": ("float32", (), bytes(4)),
        "x": ("float4_e2m1fn_x2", (2, 2), bytes(2)),
    }, metadata={"format": "pt"})
    header_end = 8 + struct.unpack("<Q", base[:8])[0]
    alphabet = b'{}[]",:0123456789-.eE \t\nabcdefFUIB_\\u'
    for round_number in range(300):
        contents = bytearray(base)
        for _ in range(rng.randint(1, 3)):
            position = rng.randrange(0, header_end)
            action = rng.random()
            if action < 0.5:
                contents[position] = rng.choice(alphabet)
            elif action < 0.75:
                del contents[position]
            else:
                contents.insert(position, rng.choice(alphabet))
        check_verdict(tensorfs_bin, tmp_path / f"mutated-{round_number}.safetensors", bytes(contents))
