import json
import struct

import numpy as np
import pytest

from _support import write_checkpoint
from mfc import ModelWeights, ReferenceModel, preset
from mfc.checkpoint import SafetensorsFile, load_checkpoint

safetensors_numpy = pytest.importorskip("safetensors.numpy")


@pytest.mark.parametrize("shards", [1, 3])
def test_checkpoint_loads_the_saved_model(tmp_path, micro_weights, shards):
    write_checkpoint(tmp_path, micro_weights, shards)
    loaded = load_checkpoint(tmp_path)
    assert loaded.config == micro_weights.config
    for name, value in micro_weights.state_dict().items():
        np.testing.assert_array_equal(loaded.tensor(name), value)
    ids = np.array([[1, 2, 3, 250]], np.int64)
    np.testing.assert_array_equal(
        ReferenceModel(loaded).prefill(ids)[0], ReferenceModel(micro_weights).prefill(ids)[0]
    )


def test_bfloat16_tensors_widen_exactly(tmp_path):
    # safetensors' numpy API has no bfloat16, so this file is laid out by hand:
    # u64 header length, JSON header, then little-endian data.
    values = np.array([1.0, -2.5, 0.15625, 3.0e-3], np.float32)
    bf16 = (values.view(np.uint32) >> 16).astype("<u2")  # truncation: bf16 keeps the top 16 bits
    header = json.dumps({"x": {"dtype": "BF16", "shape": [2, 2], "data_offsets": [0, bf16.nbytes]}}).encode()
    path = tmp_path / "model.safetensors"
    path.write_bytes(struct.pack("<Q", len(header)) + header + bf16.tobytes())
    loaded = SafetensorsFile(str(path)).read("x")
    expected = (bf16.astype(np.uint32) << 16).view(np.float32).reshape(2, 2)
    np.testing.assert_array_equal(loaded, expected)
    np.testing.assert_allclose(loaded.reshape(-1), values, rtol=1 / 128)


def test_checkpoint_problems_are_listed(tmp_path):
    weights = ModelWeights.random(preset("micro"), seed=0)
    tensors = weights.state_dict()
    tensors.pop("model.layers.1.mlp.down_proj.norm.weight")
    tensors["model.layers.0.attn.h_conv1d.weight"] = np.zeros((32, 4), np.float32)
    tensors["model.norm.weight"] = np.ones(5, np.float32)
    weights.config.to_json(tmp_path / "config.json")
    safetensors_numpy.save_file(tensors, str(tmp_path / "model.safetensors"))
    with pytest.raises(ValueError) as error:
        load_checkpoint(tmp_path)
    message = str(error.value)
    assert "missing model.layers.1.mlp.down_proj.norm.weight" in message
    assert "unexpected model.layers.0.attn.h_conv1d.weight" in message
    assert "model.norm.weight has shape (5,)" in message


def test_directory_without_safetensors_is_explained(tmp_path):
    preset("micro").to_json(tmp_path / "config.json")
    with pytest.raises(FileNotFoundError, match="safetensors"):
        load_checkpoint(tmp_path)
