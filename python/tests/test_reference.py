import numpy as np

from _support import token_ids
from mfc import ModelWeights, ReferenceModel, preset, ternarize
from mfc.reference import bitlinear, quantize_activations, rms_norm, ternary_matmul


def test_quantize_activations_hand_example():
    x = np.array([[127 / 64, -62.5 / 64, 2.5 / 64, 1.5 / 64], [0.0, 0.0, 0.0, 0.0]], np.float32)
    q, s_x = quantize_activations(x)
    # Row 0: s_x = 127 / (127/64) = 64 exactly, so x * s_x = [127, -62.5, 2.5, 1.5]:
    # ties round half to even (ONNX Round), not away from zero.
    np.testing.assert_array_equal(q, [[127, -62, 2, 2], [0, 0, 0, 0]])
    assert q.dtype == np.int8
    # Row 1: the absmax floor keeps the scale finite.
    np.testing.assert_allclose(s_x[:, 0], [64.0, 127.0 / 1e-5])


def test_ternary_matmul_is_exact_int32():
    rng = np.random.default_rng(0)
    q = rng.integers(-128, 128, (3, 300)).astype(np.int8)
    codes = rng.integers(-1, 2, (5, 300)).astype(np.int8)
    acc = ternary_matmul(q, codes)
    assert acc.dtype == np.int32
    expected = [[sum(int(a) * int(b) for a, b in zip(row, col)) for col in codes] for row in q]
    np.testing.assert_array_equal(acc, expected)


def test_bitlinear_matches_dequantized_float64_product():
    rng = np.random.default_rng(1)
    x = rng.standard_normal((4, 48)).astype(np.float32)
    norm = (1 + 0.1 * rng.standard_normal(48)).astype(np.float32)
    weight = ternarize(0.02 * rng.standard_normal((24, 48)).astype(np.float32))
    # The same BitLinear in float64, with activations and weights fake-quantized separately.
    xn = x.astype(np.float64) / np.sqrt((x.astype(np.float64) ** 2).mean(-1, keepdims=True) + 1e-6) * norm
    scale = 127 / np.abs(xn).max(-1, keepdims=True)
    x_fake = np.clip(np.round(xn * scale), -128, 127) / scale
    expected = x_fake @ weight.dequantize().astype(np.float64).T
    np.testing.assert_allclose(bitlinear(x, norm, weight, 1e-6), expected, rtol=1e-5, atol=1e-6)


def test_rms_norm_normalizes_and_scales():
    x = np.array([[3.0, 4.0]], np.float32)
    np.testing.assert_allclose(
        rms_norm(x, np.array([1.0, 2.0], np.float32), 0.0), [[3 / 12.5**0.5, 8 / 12.5**0.5]], rtol=1e-6
    )


def test_decode_steps_reproduce_prefill_exactly(tiny_weights):
    model = ReferenceModel(tiny_weights)
    ids = token_ids(256, 2, 7)
    logits, states = model.prefill(ids)
    assert logits.shape == (2, 7, 256) and logits.dtype == np.float32
    step_states = model.init_states(2)
    for t in range(7):
        step_logits, step_states = model.decode_step(ids[:, t : t + 1], step_states)
        # Same float32 ops per token and exact integer products: bitwise equal.
        np.testing.assert_array_equal(step_logits[:, 0], logits[:, t])
    for a, b in zip(step_states, states):
        np.testing.assert_array_equal(a, b)


def test_batch_rows_are_independent(tiny_weights):
    model = ReferenceModel(tiny_weights)
    ids = token_ids(256, 3, 5, seed=2)
    logits, states = model.prefill(ids)
    for row in range(3):
        row_logits, row_states = model.prefill(ids[row : row + 1])
        np.testing.assert_array_equal(row_logits[0], logits[row])
        np.testing.assert_array_equal(row_states[1][0], states[1][row])


def test_state_carries_the_past(tiny_weights):
    model = ReferenceModel(tiny_weights)
    ids = token_ids(256, 1, 6, seed=3)
    _, states = model.prefill(ids[:, :5])
    with_past, _ = model.decode_step(ids[:, 5:], states)
    without_past, _ = model.decode_step(ids[:, 5:], model.init_states(1))
    assert np.abs(with_past - without_past).max() > 1e-3


def test_lower_bound_changes_the_output():
    ids = token_ids(256, 1, 4, seed=4)
    weights = ModelWeights.random(preset("micro"), seed=5)
    without_lb = ModelWeights(preset("micro", use_lower_bound=False), weights.tensor)
    assert (
        np.abs(ReferenceModel(weights).prefill(ids)[0] - ReferenceModel(without_lb).prefill(ids)[0]).max()
        > 1e-3
    )
