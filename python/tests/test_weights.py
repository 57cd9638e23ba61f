import numpy as np
import pytest

from mfc import ModelWeights, preset, ternarize
from mfc.weights import bitlinear_names, lower_bound_table, parameter_shapes


def test_ternarize_hand_example():
    w = np.array([[0.1, -0.2], [0.05, 0.0]], np.float32)
    t = ternarize(w)
    # mean|W| = 0.0875, s_w = 1/0.0875 = 11.43; W*s_w = [1.14, -2.29, 0.57, 0] -> [1, -1, 1, 0]
    np.testing.assert_allclose(t.s_w, 1 / 0.0875, rtol=1e-6)
    np.testing.assert_array_equal(t.codes, [[1, -1], [1, 0]])
    assert t.codes.dtype == np.int8
    np.testing.assert_allclose(t.dequantize(), [[0.0875, -0.0875], [0.0875, 0.0]], rtol=1e-6)


def test_ternarize_matches_a_float64_formula():
    w = 0.02 * np.random.default_rng(0).standard_normal((96, 80)).astype(np.float32)
    t = ternarize(w)
    mean_abs = np.abs(w.astype(np.float64)).mean()
    np.testing.assert_allclose(t.s_w, 1 / mean_abs, rtol=1e-6)
    exact = w.astype(np.float64) / mean_abs
    near_tie = np.abs(np.abs(exact) - 0.5) < 1e-5
    np.testing.assert_array_equal(t.codes[~near_tie], np.clip(np.round(exact), -1, 1)[~near_tie])


def test_ternarize_floors_the_scale_of_a_zero_weight():
    t = ternarize(np.zeros((3, 4), np.float32))
    assert t.s_w == np.float32(1e5)
    assert not t.codes.any()


def test_absmean_is_not_idempotent_so_codes_are_stored_once(tiny_weights):
    module = "model.layers.0.attn.i_proj"
    t = tiny_weights.ternary(module)
    assert tiny_weights.ternary(module) is t  # quantized once, then reused
    again = ternarize(t.dequantize())  # re-quantizing the dequantized weight moves the scale
    assert again.s_w != t.s_w


def test_every_projection_takes_only_three_values(tiny_weights):
    for module in bitlinear_names(tiny_weights.config):
        t = tiny_weights.ternary(module)
        assert set(np.unique(t.codes)) <= {-1, 0, 1}
        assert set(np.unique(t.dequantize())) <= {-t.step, np.float32(0), t.step}
        assert (t.codes != 0).mean() > 0.3  # a real ternary matrix, not all zeros


def test_random_init_is_deterministic_and_order_independent():
    config = preset("micro")
    a, b = ModelWeights.random(config, seed=3), ModelWeights.random(config, seed=3)
    names = list(parameter_shapes(config))
    first = {n: a.tensor(n) for n in names}
    second = {n: b.tensor(n) for n in reversed(names)}
    for n in names:
        np.testing.assert_array_equal(first[n], second[n])
    other = ModelWeights.random(config, seed=4)
    assert not np.array_equal(other.tensor("model.embeddings.weight"), first["model.embeddings.weight"])


def test_reference_parameter_names_and_shapes():
    config = preset("tiny")
    shapes = parameter_shapes(config)
    h, i = 64, 256
    assert shapes["model.embeddings.weight"] == (256, h)
    assert shapes["model.lower_bounds"] == (2, h)
    assert shapes["model.layers.1.attn.i_proj.weight"] == (h, h)
    assert shapes["model.layers.1.attn.i_proj.norm.weight"] == (h,)
    assert shapes["model.layers.1.attn.g_norm.weight"] == (h,)
    assert shapes["model.layers.1.mlp.gate_proj.weight"] == (2 * i, h)
    assert shapes["model.layers.1.mlp.down_proj.norm.weight"] == (i,)
    assert shapes["lm_head.weight"] == (256, h)
    assert shapes["lm_head.norm.weight"] == (h,)
    # per layer: attn_norm, mlp_norm, g_norm and six BitLinears with their own norm
    assert len(shapes) == 2 + 2 * (3 + 6 * 2) + 3
    tied = parameter_shapes(preset("tiny", tie_word_embeddings=True))
    assert "lm_head.weight" not in tied


def test_tied_lm_head_reads_the_embeddings():
    weights = ModelWeights.random(preset("micro", tie_word_embeddings=True), seed=0)
    np.testing.assert_array_equal(weights.tensor("lm_head.weight"), weights.tensor("model.embeddings.weight"))


def test_lower_bound_table():
    # Two layers with equal logits: softmax [0.5, 0.5], cumsum [0.5, 1.0], minus the first row.
    np.testing.assert_allclose(lower_bound_table(np.zeros((2, 3))), [[0, 0, 0], [0.5, 0.5, 0.5]])
    raw = np.random.default_rng(0).standard_normal((5, 4))
    table = lower_bound_table(raw)
    p = np.exp(raw) / np.exp(raw).sum(axis=0)
    np.testing.assert_allclose(table[-1], 1 - p[0], rtol=1e-6)
    assert (table[0] == 0).all() and (np.diff(table, axis=0) > 0).all()


def test_lower_bounds_are_zero_when_disabled():
    weights = ModelWeights.random(preset("micro", use_lower_bound=False))
    assert not weights.lower_bounds().any()


def test_shape_mismatch_is_reported():
    config = preset("micro")
    tensors = ModelWeights.random(config).state_dict()
    tensors["model.norm.weight"] = np.ones(7, np.float32)
    with pytest.raises(ValueError, match="model.norm.weight"):
        ModelWeights.from_state_dict(config, tensors).tensor("model.norm.weight")
    del tensors["model.norm.weight"]
    with pytest.raises(ValueError, match="missing.*model.norm.weight"):
        ModelWeights.from_state_dict(config, tensors)
