"""Loading matmulfreellm / Hugging Face checkpoint directories.

A directory holds `config.json` and either `model.safetensors` or shards listed in
`model.safetensors.index.json`. The safetensors format is read here directly (an 8-byte
header length, a JSON header, raw little-endian data) so that tensors are memory-mapped one
at a time and bfloat16 checkpoints load without torch.
"""

from __future__ import annotations

import json
import os
from typing import Dict, Tuple

import numpy as np

from .config import HGRNBitConfig
from .weights import ModelWeights, parameter_shapes

SINGLE_FILE = "model.safetensors"
INDEX_FILE = "model.safetensors.index.json"

_NUMPY_DTYPES = {
    "F64": "<f8",
    "F32": "<f4",
    "F16": "<f2",
    "I64": "<i8",
    "I32": "<i4",
    "I16": "<i2",
    "I8": "i1",
    "U8": "u1",
}


class SafetensorsFile:
    """Random access to the tensors of one .safetensors file."""

    def __init__(self, path: str):
        self.path = path
        with open(path, "rb") as f:
            header_len = int.from_bytes(f.read(8), "little")
            header = json.loads(f.read(header_len))
        self._data_start = 8 + header_len
        header.pop("__metadata__", None)
        self.entries: Dict[str, Tuple[str, Tuple[int, ...], Tuple[int, int]]] = {
            name: (e["dtype"], tuple(e["shape"]), tuple(e["data_offsets"])) for name, e in header.items()
        }

    def shape(self, name: str) -> Tuple[int, ...]:
        return self.entries[name][1]

    def read(self, name: str) -> np.ndarray:
        """The tensor as float32 (bfloat16 widened exactly by a 16-bit shift)."""
        dtype, shape, (begin, end) = self.entries[name]
        if begin == end:
            return np.zeros(shape, np.float32)
        raw = np.memmap(self.path, np.uint8, "r", offset=self._data_start + begin, shape=(end - begin,))
        if dtype == "BF16":
            return (raw.view("<u2").astype(np.uint32) << 16).view(np.float32).reshape(shape)
        if dtype not in _NUMPY_DTYPES:
            raise ValueError(f"{self.path}: tensor {name!r} has unsupported dtype {dtype}")
        return raw.view(_NUMPY_DTYPES[dtype]).reshape(shape).astype(np.float32)


def _tensor_files(directory: str) -> Dict[str, SafetensorsFile]:
    """Map every tensor name to the open file that holds it."""
    index_path = os.path.join(directory, INDEX_FILE)
    if os.path.exists(index_path):
        with open(index_path, encoding="utf-8") as f:
            weight_map: Dict[str, str] = json.load(f)["weight_map"]
        shards = {
            file: SafetensorsFile(os.path.join(directory, file)) for file in sorted(set(weight_map.values()))
        }
        return {name: shards[file] for name, file in weight_map.items()}
    single_path = os.path.join(directory, SINGLE_FILE)
    if os.path.exists(single_path):
        single = SafetensorsFile(single_path)
        return {name: single for name in single.entries}
    raise FileNotFoundError(
        f"{directory}: no {SINGLE_FILE} or {INDEX_FILE}; convert a PyTorch .bin checkpoint to safetensors first"
    )


def load_checkpoint(directory: str | os.PathLike, cache: bool = True) -> ModelWeights:
    """Open a checkpoint directory; tensors are read lazily, names and shapes checked now."""
    directory = os.fspath(directory)
    config = HGRNBitConfig.from_json(os.path.join(directory, "config.json"))
    files = _tensor_files(directory)
    expected = parameter_shapes(config)
    problems = [f"missing {name}" for name in expected if name not in files]
    problems += [f"unexpected {name}" for name in files if name not in expected]
    problems += [
        f"{name} has shape {files[name].shape(name)}, config expects {shape}"
        for name, shape in expected.items()
        if name in files and files[name].shape(name) != shape
    ]
    if problems:
        raise ValueError(f"checkpoint {directory} does not match its config.json: " + "; ".join(problems))
    return ModelWeights(config, lambda name: files[name].read(name), cache=cache)
