#!/usr/bin/env python3
"""Writes a synthetic sharded checkpoint with the reference safetensors library: SHARDS files of
TENSORS_PER_SHARD small tensors each and a hub-style model.safetensors.index.json.

Usage: synthetic_sharded_model.py DIRECTORY [SHARDS] [TENSORS_PER_SHARD]

Names follow a mixture-of-experts layout (model.layers.L.mlp.experts.E.w1.weight, ...), so the
mounted tree is deep and wide; dtypes alternate so that the dtype histogram has several rows.
"""
import json
import pathlib
import sys

import numpy as np
from safetensors.numpy import save_file

EXPERTS = 8
PROJECTIONS = ("w1", "w2", "w3")
DTYPES = (np.float16, np.float32, np.int8)


def layer_tensor_names(layer):
    """The 25 names of one layer: 8 experts x 3 projections, then a norm."""
    names = [f"model.layers.{layer}.mlp.experts.{expert}.{projection}.weight"
             for expert in range(EXPERTS) for projection in PROJECTIONS]
    names.append(f"model.layers.{layer}.input_layernorm.weight")
    return names


def tensor_names(count):
    """The first `count` tensor names, layer by layer."""
    names = []
    layer = 0
    while len(names) < count:
        names += layer_tensor_names(layer)
        layer += 1
    return names[:count]


def write(directory, shards=160, tensors_per_shard=625):
    """Writes the model into `directory`; returns {tensor name: shard file name}."""
    directory = pathlib.Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    names = tensor_names(shards * tensors_per_shard)
    weight_map = {}
    total_size = 0
    for shard in range(shards):
        file_name = f"model-{shard + 1:05d}-of-{shards:05d}.safetensors"
        tensors = {}
        for position, name in enumerate(names[shard * tensors_per_shard:(shard + 1) * tensors_per_shard]):
            dtype = DTYPES[position % len(DTYPES)]
            tensors[name] = np.full((2, 2), position % 100, dtype=dtype)
            weight_map[name] = file_name
            total_size += tensors[name].nbytes
        save_file(tensors, str(directory / file_name), metadata={"format": "pt"})
    index = {"metadata": {"total_size": total_size}, "weight_map": weight_map}
    (directory / "model.safetensors.index.json").write_text(json.dumps(index, indent=2, sort_keys=True))
    return weight_map


if __name__ == "__main__":
    arguments = sys.argv[1:]
    if not 1 <= len(arguments) <= 3:
        sys.exit(__doc__)
    write(arguments[0], *map(int, arguments[1:]))
