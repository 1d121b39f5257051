"""Writes the fuzzers' seed corpora and dictionary into OUTDIR: the crafted headers of the
end-to-end conformance tests, valid files from the reference writer, shard indexes, and lists
of hostile tensor names. Usage: python3 Fuzz/seeds.py OUTDIR"""
import json
import pathlib
import struct
import sys

import numpy as np
from safetensors.numpy import save

REPO = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "Tests/e2e"))
from test_inspect import CRAFTED  # noqa: E402

BITS = {"BOOL": 8, "U8": 8, "I8": 8, "I16": 16, "U16": 16, "I32": 32, "U32": 32, "I64": 64, "U64": 64, "F16": 16,
        "BF16": 16, "F32": 32, "F64": 64, "C64": 64, "F8_E5M2": 8, "F8_E4M3": 8, "F8_E8M0": 8, "F8_E4M3FNUZ": 8,
        "F8_E5M2FNUZ": 8, "F6_E2M3": 6, "F6_E3M2": 6, "F4": 4}

HOSTILE_NAMES = [
    "", ".", "..", "...", "a..b", ".a", "a.", "a/b/../c", "/etc/passwd", "../../x", "a\0b", "%", "%2F", "%2E%2E",
    "%+", "a%+", "x" * 600, "é" * 200, "model.safetensors", "__metadata__.json", "t", "t.json", "t.npy",
    "layer.0.weight", "layer.0.weight.absmax", "layer.0.weight.quant_state.bitsandbytes__nf4", "layer.0",
    "a.b.c.d.e.f.g.h", "\u2028", "\"quoted\"", "back\\slash", "e\u0301", "\u00e9", "A" * 250 + "%",
]


def header_file(header, data=b""):
    text = json.dumps(header).encode() if not isinstance(header, bytes) else header
    return struct.pack("<Q", len(text)) + text + data


def header_seeds():
    seeds = {f"crafted-{number}": contents for number, (_, contents) in enumerate(CRAFTED)}
    rng = np.random.default_rng(3)
    seeds["reference-mixed"] = save({
        "model.embed.weight": rng.random((3, 4), dtype=np.float32),
        "model.norm": np.array(1.5, dtype=np.float64),
        "ids": np.arange(6, dtype=np.int64).reshape(2, 3),
        "empty": np.zeros((0, 5), dtype=np.uint8),
    }, metadata={"format": "pt", "note": "line\nbreak \"quoted\""})
    for dtype, bits in BITS.items():
        # Eight elements: `bits` bytes.
        seeds[f"dtype-{dtype}"] = header_file({"x": {"dtype": dtype, "shape": [2, 4], "data_offsets": [0, bits]}}, bytes(bits))
    seeds["array-entry"] = header_file(b'{"a":["F32",[2],[0,8]],"b":[{"U8":null},[1],[8,9]]}', bytes(9))
    names = {name: {"dtype": "U8", "shape": [0], "data_offsets": [0, 0]} for name in HOSTILE_NAMES}
    seeds["hostile-names"] = header_file(names)
    seeds["index"] = json.dumps({"metadata": {"total_size": 16, "format": "pt"},
                                 "weight_map": {"a": "model-00001-of-00002.safetensors", "b": "sub/model-00002-of-00002.safetensors"}}).encode()
    seeds["index-unsafe"] = json.dumps({"weight_map": {"a": "../x.safetensors", "b": "/abs", "c": "a//b"}}).encode()
    header_text = {name: contents[8:] for name, contents in seeds.items() if contents[:1] != b"{"}
    seeds.update({f"text-{name}": text for name, text in header_text.items()})
    return seeds


def name_seeds():
    return {
        "hostile": b"\xff".join(name.encode() for name in HOSTILE_NAMES),
        "prefixes": b"\xff".join(name.encode() for name in ["a", "a.b", "a.b.c", "a.b.json", "a.b.c.npy", "a.json"]),
        "deep": b"\xff".join([b".".join([b"d"] * 300), b".".join([b"d"] * 299)]),
    }


DICTIONARY = ["dtype", "shape", "data_offsets", "__metadata__", "weight_map", "metadata", "total_size", "null",
              "\\u0000", "\\ud800\\udc00", "18446744073709551615", "18446744073709551616", "1e400", *BITS]


def main(outdir):
    out = pathlib.Path(outdir)
    for kind, seeds in [("header", header_seeds()), ("namespace", name_seeds())]:
        directory = out / kind
        directory.mkdir(parents=True, exist_ok=True)
        for name, contents in seeds.items():
            (directory / name).write_bytes(contents)
    (out / "header.dict").write_text("".join(f"{json.dumps(token)}\n" for token in DICTIONARY))


if __name__ == "__main__":
    main(sys.argv[1])
