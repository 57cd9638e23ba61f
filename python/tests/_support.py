"""Shared helpers for the tests (imported, not collected)."""

from __future__ import annotations

import json

import numpy as np
from onnx import numpy_helper


def token_ids(vocab_size: int, batch: int, seq: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, vocab_size, (batch, seq)).astype(np.int64)


def initializer_arrays(model):
    return {t.name: numpy_helper.to_array(t) for t in model.graph.initializer}


def assert_same_graph(actual, expected):
    """Same nodes, interface and initializer values (a loaded copy of external data differs
    from the in-memory proto only in bookkeeping fields such as data_location)."""
    assert actual.graph.node == expected.graph.node
    assert actual.graph.input == expected.graph.input and actual.graph.output == expected.graph.output
    loaded, built = initializer_arrays(actual), initializer_arrays(expected)
    assert list(loaded) == list(built)
    for name, value in built.items():
        assert loaded[name].dtype == value.dtype
        np.testing.assert_array_equal(loaded[name], value)


def assert_close_up_to_rounding_flips(actual: np.ndarray, expected: np.ndarray) -> None:
    """Float outputs of two implementations of the same quantized model.

    Usually every element agrees to rtol 1e-4 / atol 1e-5. But per-token int8 rounding makes
    the model hypersensitive to float evaluation order: where x * s_x lands within an ulp of
    a .5 boundary, the two sides may round one activation differently (one quantum, ~1/127
    of that token's absmax), and the difference propagates through later layers and tokens.
    Observed: normwise error ~1e-3 and ~96% of elements still tight. A semantic error
    (wrong weight, gate, order, scale) moves outputs by O(1), far outside both bounds.
    """
    assert actual.shape == expected.shape
    relative = np.linalg.norm(actual - expected) / np.linalg.norm(expected)
    tight = np.isclose(actual, expected, rtol=1e-4, atol=1e-5).mean()
    assert (
        relative < 1e-2 and tight > 0.9
    ), f"normwise relative error {relative:.2e}, {tight:.2%} of elements tight"


def write_checkpoint(directory, weights, shards=1):
    """A checkpoint as HGRNBitForCausalLM.save_pretrained writes it (float32, reference names)."""
    import safetensors.numpy

    weights.config.to_json(directory / "config.json")
    tensors = weights.state_dict()
    if shards == 1:
        safetensors.numpy.save_file(tensors, str(directory / "model.safetensors"))
        return
    names = list(tensors)
    weight_map = {}
    for k in range(shards):
        file = f"model-{k + 1:05d}-of-{shards:05d}.safetensors"
        part = {n: tensors[n] for n in names[k::shards]}
        safetensors.numpy.save_file(part, str(directory / file))
        weight_map.update({n: file for n in part})
    (directory / "model.safetensors.index.json").write_text(
        json.dumps({"metadata": {}, "weight_map": weight_map})
    )
