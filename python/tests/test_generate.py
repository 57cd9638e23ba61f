import numpy as np
import pytest

from mfc import ReferenceModel
from mfc.export import build_model
from mfc.generate import ByteTokenizer, OnnxRuntimeBackend, ReferenceBackend, generate, select_tokens

pytest.importorskip("onnxruntime")

PROMPT = ByteTokenizer().encode("Hello, MatMul-free")


def test_byte_tokenizer_round_trips_utf8():
    tokenizer = ByteTokenizer()
    text = "ternary ±1 · Grüße"
    ids = tokenizer.encode(text)
    assert max(ids) < tokenizer.vocab_size and len(ids) > len(text)  # multi-byte characters
    assert tokenizer.decode(ids) == text


def test_greedy_tokens_are_the_reference_argmax(tiny_weights):
    tokens = generate(ReferenceBackend(tiny_weights), PROMPT, max_new_tokens=6)
    assert tokens.shape == (len(PROMPT) + 6,)
    np.testing.assert_array_equal(tokens[: len(PROMPT)], PROMPT)
    # Rerun the whole sequence as one prefill: each new token is the argmax after its prefix.
    logits, _ = ReferenceModel(tiny_weights).prefill(tokens[None, :-1])
    np.testing.assert_array_equal(logits[0, len(PROMPT) - 1 :].argmax(-1), tokens[len(PROMPT) :])


@pytest.mark.parametrize("fmt", ["fakequant", "qdq"])
def test_numpy_and_onnxruntime_generate_the_same_greedy_tokens(tiny_weights, fmt):
    onnx_backend = OnnxRuntimeBackend(build_model(tiny_weights, "decode", fmt))
    assert onnx_backend.vocab_size == 256
    prompts = np.array([PROMPT, PROMPT[::-1]])  # a batch of two
    from_numpy = generate(ReferenceBackend(tiny_weights), prompts, max_new_tokens=8)
    from_onnx = generate(onnx_backend, prompts, max_new_tokens=8)
    np.testing.assert_array_equal(from_onnx, from_numpy)


def test_top_k_sampling(tiny_weights):
    backend = ReferenceBackend(tiny_weights)
    sampled = generate(backend, PROMPT, max_new_tokens=8, top_k=5, temperature=1.5, seed=1)
    np.testing.assert_array_equal(
        generate(backend, PROMPT, max_new_tokens=8, top_k=5, temperature=1.5, seed=1), sampled
    )
    logits, _ = ReferenceModel(tiny_weights).prefill(sampled[None, :-1])
    top5 = np.argsort(-logits[0, len(PROMPT) - 1 :], axis=-1)[:, :5]
    assert all(token in row for token, row in zip(sampled[len(PROMPT) :], top5))
    greedy = generate(backend, PROMPT, max_new_tokens=8)
    assert not np.array_equal(sampled, greedy)  # with these seeds sampling leaves the argmax path
    np.testing.assert_array_equal(generate(backend, PROMPT, max_new_tokens=8, top_k=1, seed=1), greedy)


def test_select_tokens_distribution():
    logits = np.log(np.array([[0.7, 0.2, 0.1, 1e-9]]))
    rng = np.random.default_rng(0)
    draws = np.array([select_tokens(logits, top_k=2, temperature=1.0, rng=rng)[0] for _ in range(3000)])
    assert set(draws) == {0, 1}  # token 2 is outside the top 2
    assert abs((draws == 0).mean() - 0.7 / 0.9) < 0.03


def test_generation_stops_at_eos(tiny_weights):
    backend = ReferenceBackend(tiny_weights)
    first = generate(backend, PROMPT, max_new_tokens=1)[-1]
    tokens = generate(backend, PROMPT, max_new_tokens=10, eos_token_id=int(first))
    assert len(tokens) == len(PROMPT) + 1 and tokens[-1] == first


def test_onnxruntime_backend_needs_a_decode_graph(tiny_weights):
    with pytest.raises(ValueError, match="decode-step"):
        OnnxRuntimeBackend(build_model(tiny_weights, "prefill", "qdq"))
