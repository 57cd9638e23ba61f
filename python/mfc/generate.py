"""Token generation over any backend that runs one decode step.

A backend is anything with `vocab_size`, `init_states(batch)` and
`step(token_ids [batch] int64, states) -> (logits [batch, vocab], new states)`: the numpy
reference, onnxruntime on the decode-step ONNX graph, or (later) the compiled library.
"""

from __future__ import annotations

import os
from typing import List, Optional, Protocol, Sequence, Tuple, Union

import numpy as np
import onnx

from .reference import ReferenceModel
from .weights import ModelWeights

States = List[np.ndarray]


class DecodeBackend(Protocol):
    vocab_size: int

    def init_states(self, batch: int) -> States: ...

    def step(self, token_ids: np.ndarray, states: States) -> Tuple[np.ndarray, States]: ...


class ByteTokenizer:
    """UTF-8 bytes as token ids: the vocabulary of the 256-entry test models."""

    vocab_size = 256

    def encode(self, text: str) -> List[int]:
        return list(text.encode("utf-8"))

    def decode(self, ids: Sequence[int]) -> str:
        return bytes(int(i) for i in ids).decode("utf-8", errors="replace")


class ReferenceBackend:
    """The numpy reference model."""

    def __init__(self, weights: ModelWeights):
        self.model = ReferenceModel(weights)
        self.vocab_size = weights.config.vocab_size

    def init_states(self, batch: int) -> States:
        return self.model.init_states(batch)

    def step(self, token_ids: np.ndarray, states: States) -> Tuple[np.ndarray, States]:
        logits, states = self.model.decode_step(np.asarray(token_ids, np.int64)[:, None], states)
        return logits[:, 0], states


def onnxruntime_session(model: Union[str, os.PathLike, bytes, onnx.ModelProto], threads: int = 1):
    """An onnxruntime CPU session that evaluates the graph as written.

    onnxruntime's QDQ fusions (on by default) turn DequantizeLinear(int8 codes) -> MatMul
    into MatMulNBits, which re-quantizes the activations blockwise and moves outputs by
    ~3%; `session.disable_quant_qdq` keeps the float MatMul of the graph.
    """
    import onnxruntime as ort  # optional dependency

    if isinstance(model, onnx.ModelProto):
        model = model.SerializeToString()
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.add_session_config_entry("session.disable_quant_qdq", "1")
    source = model if isinstance(model, bytes) else os.fspath(model)
    return ort.InferenceSession(source, options, providers=["CPUExecutionProvider"])


class OnnxRuntimeBackend:
    """onnxruntime running a decode-step graph (inputs input_ids, h_prev_{l}; outputs logits, h_{l})."""

    def __init__(self, model: Union[str, os.PathLike, bytes, onnx.ModelProto], threads: int = 1):
        self.session = onnxruntime_session(model, threads)
        inputs = {i.name: i for i in self.session.get_inputs()}
        self._state_inputs = sorted(
            (n for n in inputs if n.startswith("h_prev_")), key=lambda n: int(n[len("h_prev_") :])
        )
        if "input_ids" not in inputs or not self._state_inputs:
            raise ValueError("not a decode-step graph: expected inputs input_ids and h_prev_{l}")
        self._state_dims = [inputs[n].shape[1] for n in self._state_inputs]
        self._outputs = ["logits"] + [f"h_{n[len('h_prev_'):]}" for n in self._state_inputs]
        self.vocab_size = self.session.get_outputs()[0].shape[-1]

    def init_states(self, batch: int) -> States:
        return [np.zeros((batch, d), np.float32) for d in self._state_dims]

    def step(self, token_ids: np.ndarray, states: States) -> Tuple[np.ndarray, States]:
        feeds = {"input_ids": np.asarray(token_ids, np.int64)[:, None]}
        feeds.update(zip(self._state_inputs, states))
        logits, *states = self.session.run(self._outputs, feeds)
        return logits[:, 0], states


def select_tokens(
    logits: np.ndarray, top_k: Optional[int], temperature: float, rng: np.random.Generator
) -> np.ndarray:
    """Greedy argmax when top_k is None or 1; else sample among the k largest logits."""
    if top_k is None or top_k <= 1:
        return logits.argmax(axis=-1)
    if temperature <= 0:
        raise ValueError("temperature must be positive for sampling")
    k = min(top_k, logits.shape[-1])
    candidates = np.argsort(-logits, axis=-1, kind="stable")[:, :k]  # ties broken by token id
    scaled = np.take_along_axis(logits, candidates, axis=-1).astype(np.float64) / temperature
    probs = np.exp(scaled - scaled.max(axis=-1, keepdims=True))
    probs /= probs.sum(axis=-1, keepdims=True)
    draws = rng.random((logits.shape[0], 1))
    picks = np.minimum((probs.cumsum(axis=-1) < draws).sum(axis=-1), k - 1)
    return candidates[np.arange(logits.shape[0]), picks]


def generate(
    backend: DecodeBackend,
    prompt: Union[Sequence[int], np.ndarray],
    max_new_tokens: int,
    top_k: Optional[int] = None,
    temperature: float = 1.0,
    seed: int = 0,
    eos_token_id: Optional[int] = None,
) -> np.ndarray:
    """Feed the prompt token by token, then extend it by up to `max_new_tokens`.

    `prompt` is [prompt_len] or [batch, prompt_len] (one length for all rows). Returns
    [batch, prompt_len + generated] (or 1-D for a 1-D prompt). Generation stops early once
    every row has produced `eos_token_id`; rows that finished earlier repeat it.
    """
    tokens = np.asarray(prompt, dtype=np.int64)
    squeeze = tokens.ndim == 1
    tokens = np.atleast_2d(tokens)
    if tokens.shape[1] == 0:
        raise ValueError("the prompt needs at least one token")
    rng = np.random.default_rng(seed)
    states = backend.init_states(tokens.shape[0])
    for t in range(tokens.shape[1]):
        logits, states = backend.step(tokens[:, t], states)
    finished = np.zeros(tokens.shape[0], bool)
    for n in range(max_new_tokens):
        next_tokens = select_tokens(logits, top_k, temperature, rng)
        if eos_token_id is not None:
            next_tokens = np.where(finished, eos_token_id, next_tokens)
            finished |= next_tokens == eos_token_id
        tokens = np.concatenate([tokens, next_tokens[:, None]], axis=1)
        if finished.all() or n == max_new_tokens - 1:
            break
        logits, states = backend.step(next_tokens, states)
    return tokens[0] if squeeze else tokens
